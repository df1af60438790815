"""The InfluxQL syntax tree: what :func:`~openefd.query.influxql.parse` returns.

Frozen dataclasses, no behaviour: the parser builds them, the executor reads
them. Times and durations are integer nanoseconds; a time written as a string
(``'2020-01-01T00:00:00Z'``) stays a :class:`StringLiteral` until the executor
reads it as UTC. Identifiers are unquoted and unescaped; regular expressions
are kept as written (Go/RE2 syntax) and checked to compile when parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BinaryExpr",
    "BooleanLiteral",
    "Call",
    "Dimension",
    "DurationLiteral",
    "Expr",
    "Field",
    "FillMode",
    "FillOption",
    "IntegerLiteral",
    "Measurement",
    "NumberLiteral",
    "RegexDimension",
    "RegexLiteral",
    "SelectStatement",
    "ShowDatabases",
    "ShowFieldKeys",
    "ShowMeasurements",
    "ShowRetentionPolicies",
    "ShowSeries",
    "ShowTagKeys",
    "ShowTagValues",
    "Statement",
    "StringLiteral",
    "TagDimension",
    "TimeDimension",
    "VarRef",
    "Wildcard",
    "WildcardDimension",
]


@dataclass(frozen=True, slots=True)
class VarRef:
    """A field (or tag) name, with an optional ``::type`` cast as written."""

    name: str
    cast: str | None = None


@dataclass(frozen=True, slots=True)
class Wildcard:
    """``*``: every field."""


@dataclass(frozen=True, slots=True)
class RegexLiteral:
    """``/pattern/``; ``pattern`` with ``\\/`` already turned into ``/``."""

    pattern: str


@dataclass(frozen=True, slots=True)
class StringLiteral:
    value: str


@dataclass(frozen=True, slots=True)
class IntegerLiteral:
    value: int


@dataclass(frozen=True, slots=True)
class NumberLiteral:
    value: float


@dataclass(frozen=True, slots=True)
class DurationLiteral:
    """``10m``, ``1h30m``: a duration in nanoseconds (negative after a unary minus)."""

    ns: int


@dataclass(frozen=True, slots=True)
class BooleanLiteral:
    value: bool


@dataclass(frozen=True, slots=True)
class Call:
    """``name(args)``: an aggregate (``mean(x)``), ``now()`` or ``time(10m)``; name lowercased."""

    name: str
    args: tuple[Expr, ...] = ()


BinaryOp = Literal["AND", "OR", "=", "!=", "<", "<=", ">", ">=", "=~", "!~", "+", "-"]


@dataclass(frozen=True, slots=True)
class BinaryExpr:
    """``lhs op rhs``; ``<>`` is read as ``!=``."""

    op: BinaryOp
    lhs: Expr
    rhs: Expr


Expr = (
    VarRef
    | Wildcard
    | RegexLiteral
    | StringLiteral
    | IntegerLiteral
    | NumberLiteral
    | DurationLiteral
    | BooleanLiteral
    | Call
    | BinaryExpr
)


@dataclass(frozen=True, slots=True)
class Field:
    """One item of a SELECT list and its ``AS`` alias."""

    expr: Expr
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class Measurement:
    """A FROM source: ``"db"."rp"."name"``, ``db..name``, ``name`` or ``/regex/``.

    Exactly one of ``name`` and ``regex`` is set.
    """

    name: str | None = None
    regex: RegexLiteral | None = None
    database: str | None = None
    retention_policy: str | None = None


@dataclass(frozen=True, slots=True)
class TimeDimension:
    """``GROUP BY time(interval[, offset])``; ``offset_ns`` in ``[0, interval_ns)``."""

    interval_ns: int
    offset_ns: int = 0


@dataclass(frozen=True, slots=True)
class TagDimension:
    name: str


@dataclass(frozen=True, slots=True)
class WildcardDimension:
    """``GROUP BY *``."""


@dataclass(frozen=True, slots=True)
class RegexDimension:
    pattern: str


Dimension = TimeDimension | TagDimension | WildcardDimension | RegexDimension

FillMode = Literal["null", "none", "previous", "linear", "number"]


@dataclass(frozen=True, slots=True)
class FillOption:
    """``fill(...)``; ``value`` only for ``number``."""

    mode: FillMode = "null"
    value: int | float | None = None


@dataclass(frozen=True, slots=True)
class SelectStatement:
    """A SELECT. ``limit``/``offset``/``slimit``/``soffset`` of 0 mean none, as in InfluxDB."""

    fields: tuple[Field, ...]
    sources: tuple[Measurement, ...]
    condition: Expr | None = None
    dimensions: tuple[Dimension, ...] = ()
    fill: FillOption = FillOption()
    descending: bool = False
    limit: int = 0
    offset: int = 0
    slimit: int = 0
    soffset: int = 0

    @property
    def time_dimension(self) -> TimeDimension | None:
        for d in self.dimensions:
            if isinstance(d, TimeDimension):
                return d
        return None


@dataclass(frozen=True, slots=True)
class ShowDatabases:
    pass


@dataclass(frozen=True, slots=True)
class ShowRetentionPolicies:
    database: str | None = None


NameOp = Literal["=", "!=", "=~", "!~"]


@dataclass(frozen=True, slots=True)
class ShowMeasurements:
    """``SHOW MEASUREMENTS [ON db] [WITH MEASUREMENT op value] [WHERE …] [LIMIT] [OFFSET]``."""

    database: str | None = None
    name_op: NameOp | None = None
    name_value: str | RegexLiteral | None = None
    condition: Expr | None = None
    limit: int = 0
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ShowFieldKeys:
    database: str | None = None
    sources: tuple[Measurement, ...] = ()
    limit: int = 0
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ShowTagKeys:
    database: str | None = None
    sources: tuple[Measurement, ...] = ()
    condition: Expr | None = None
    limit: int = 0
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ShowTagValues:
    """``SHOW TAG VALUES … WITH KEY op value``; ``key_values`` holds one item unless ``IN``."""

    key_op: Literal["=", "!=", "=~", "!~", "IN"]
    key_values: tuple[str | RegexLiteral, ...]
    database: str | None = None
    sources: tuple[Measurement, ...] = ()
    condition: Expr | None = None
    limit: int = 0
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ShowSeries:
    database: str | None = None
    sources: tuple[Measurement, ...] = ()
    condition: Expr | None = None
    limit: int = 0
    offset: int = 0


Statement = (
    SelectStatement
    | ShowDatabases
    | ShowRetentionPolicies
    | ShowMeasurements
    | ShowFieldKeys
    | ShowTagKeys
    | ShowTagValues
    | ShowSeries
)
