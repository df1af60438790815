"""What a SELECT asks for: its output columns, checked and named as InfluxDB names them.

:func:`check_select` applies InfluxDB's rules that need no data (functions
known, arguments right, no aggregates mixed with plain fields, ``GROUP BY
time()`` only with an aggregate). :func:`plan_columns` expands ``*`` and
``/regex/`` against one topic's fields (arrays flattened as the EFD names
them: ``xForces0`` …) and names the columns: the field, the function
(``mean``), ``mean_<field>`` for a wildcard argument, the ``AS`` alias;
repeats get ``_1``, ``_2`` ….
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from openefd.errors import QueryError, UnknownFieldError
from openefd.query.downsample import INFLUXQL_FUNCTIONS
from openefd.query.fields import ColumnRef, resolve_fields
from openefd.query.influxql import ast
from openefd.query.influxql.render import format_expr
from openefd.schema.model import FieldType, TopicSchema

__all__ = [
    "SELECTORS",
    "Column",
    "check_select",
    "field_kind",
    "is_aggregate",
    "lookup_field",
    "plan_columns",
    "uses_field_set",
]

SELECTORS = frozenset({"first", "last", "min", "max", "percentile"})
_ANY_TYPE = frozenset({"count", "first", "last"})
_NOT_STRING = frozenset({"min", "max"})


@dataclass(frozen=True, slots=True)
class Column:
    """One output column: its name, the field it reads (None: not in the topic), its function."""

    name: str
    ref: ColumnRef | None
    function: str | None = None
    argument: float | None = None


def field_kind(ftype: FieldType) -> str:
    """InfluxDB's name for a field type: float, integer, string or boolean."""
    if ftype.is_float:
        return "float"
    if ftype.is_integer:
        return "integer"
    return "boolean" if ftype is FieldType.BOOLEAN else "string"


def is_aggregate(stmt: ast.SelectStatement) -> bool:
    return any(isinstance(f.expr, ast.Call) for f in stmt.fields)


def _check_call(call: ast.Call) -> None:
    if call.name not in INFLUXQL_FUNCTIONS:
        known = ", ".join(INFLUXQL_FUNCTIONS)
        raise QueryError(f"unsupported call: {call.name} (openefd supports {known})")
    wanted = 2 if call.name == "percentile" else 1
    if len(call.args) != wanted:
        raise QueryError(
            f"invalid number of arguments for {call.name}, expected {wanted}, got {len(call.args)}"
        )
    if not isinstance(call.args[0], ast.VarRef | ast.Wildcard | ast.RegexLiteral):
        raise QueryError(
            f"expected field argument in {call.name}(), found {format_expr(call.args[0])}"
        )
    if call.name == "percentile":
        n = call.args[1]
        if not isinstance(n, ast.IntegerLiteral | ast.NumberLiteral):
            raise QueryError(f"expected float argument in percentile(), found {format_expr(n)}")
        if not 0 <= n.value <= 100:
            raise QueryError(f"percentile must be between 0 and 100, got {n.value}")


def check_select(stmt: ast.SelectStatement) -> None:
    """InfluxDB's checks of a SELECT that need no data.

    Raises
    ------
    QueryError
        With InfluxDB's message where it has one.
    """
    calls: list[ast.Call] = []
    plain = 0
    for f in stmt.fields:
        expr = f.expr
        if isinstance(expr, ast.Call):
            _check_call(expr)
            calls.append(expr)
        elif isinstance(expr, ast.VarRef):
            plain += expr.name.lower() != "time"
        elif isinstance(expr, ast.Wildcard | ast.RegexLiteral):
            plain += 1
        else:
            raise QueryError(
                f"unsupported expression in SELECT: {format_expr(expr)} (openefd answers "
                "fields, *, /regex/ and aggregate functions, without arithmetic)"
            )
    if not calls and not plain:
        raise QueryError("at least 1 non-time field must be queried")
    if plain and calls:
        if any(c.name not in SELECTORS for c in calls):
            raise QueryError("mixing aggregate and non-aggregate queries is not supported")
        wide = not isinstance(calls[0].args[0], ast.VarRef)
        if len(calls) > 1 or wide:
            raise QueryError(
                "mixing multiple selector functions with tags or fields is not supported"
            )
        if stmt.time_dimension is not None:
            raise QueryError(
                "a selector with other fields and GROUP BY time() is not supported by openefd; "
                "select the fields with the same function, e.g. last(a), last(b)"
            )
    if not calls:
        if stmt.fill.mode in ("none", "linear"):
            raise QueryError(f"fill({stmt.fill.mode}) must be used with a function")
        if stmt.time_dimension is not None:
            raise QueryError("GROUP BY requires at least one aggregate function")


def lookup_field(layout: TopicSchema, name: str, lengths: dict[str, int]) -> ColumnRef | None:
    """The column of flat field ``name`` (``xForces12``), or None if the topic has none."""
    if name == "*":
        return None
    try:
        refs = resolve_fields(layout, [name], lengths)
    except UnknownFieldError:
        return None
    return refs[0] if len(refs) == 1 and refs[0].name == name else None


def uses_field_set(stmt: ast.SelectStatement) -> bool:
    """Whether ``stmt`` expands ``*`` or ``/regex/`` (in a field or a function argument)."""
    for f in stmt.fields:
        expr = f.expr
        if isinstance(expr, ast.Call) and expr.args:
            expr = expr.args[0]
        if isinstance(expr, ast.Wildcard | ast.RegexLiteral):
            return True
    return False


def _matching(arg: ast.Wildcard | ast.RegexLiteral, field_set: list[ColumnRef]) -> list[ColumnRef]:
    if isinstance(arg, ast.RegexLiteral):
        pattern = re.compile(arg.pattern)
        return [r for r in field_set if pattern.search(r.name)]
    return list(field_set)


def _fits(function: str, ref: ColumnRef) -> bool:
    kind = field_kind(ref.field.type)
    if function in _ANY_TYPE:
        return True
    if function in _NOT_STRING:
        return kind != "string"
    return kind in ("float", "integer")


def _call_columns(
    call: ast.Call,
    alias: str | None,
    layout: TopicSchema,
    lengths: dict[str, int],
    field_set: list[ColumnRef],
) -> list[Column]:
    arg = call.args[0]
    argument = None
    if call.name == "percentile":
        n = call.args[1]
        assert isinstance(n, ast.IntegerLiteral | ast.NumberLiteral)
        argument = float(n.value)
    if isinstance(arg, ast.VarRef):
        ref = None if arg.cast == "tag" else lookup_field(layout, arg.name, lengths)
        if ref is not None and not _fits(call.name, ref):
            kind = field_kind(ref.field.type)
            raise QueryError(
                f"unsupported {call.name}() of {kind} field {arg.name!r}: {call.name} needs "
                f"{'numeric or boolean' if call.name in _NOT_STRING else 'numeric'} values"
            )
        return [Column(alias or call.name, ref, call.name, argument)]
    assert isinstance(arg, ast.Wildcard | ast.RegexLiteral)
    prefix = alias or call.name
    return [
        Column(f"{prefix}_{ref.name}", ref, call.name, argument)
        for ref in _matching(arg, field_set)
        if _fits(call.name, ref)
    ]


def _unique(columns: list[Column]) -> list[Column]:
    seen: set[str] = {"time"}
    out: list[Column] = []
    for c in columns:
        name, n = c.name, 0
        while name in seen:
            n += 1
            name = f"{c.name}_{n}"
        seen.add(name)
        out.append(c if name == c.name else Column(name, c.ref, c.function, c.argument))
    return out


def plan_columns(
    stmt: ast.SelectStatement,
    layout: TopicSchema,
    lengths: dict[str, int],
    field_set: list[ColumnRef],
) -> list[Column]:
    """The output columns of ``stmt`` on ``layout`` (after :func:`check_select`).

    ``*`` and ``/regex/`` expand to the fields of ``field_set`` (sorted), the
    topic's field keys (:func:`~.fieldset.written_fields`).
    """
    columns: list[Column] = []
    for f in stmt.fields:
        expr = f.expr
        if isinstance(expr, ast.Call):
            columns.extend(_call_columns(expr, f.alias, layout, lengths, field_set))
        elif isinstance(expr, ast.VarRef):
            if expr.name.lower() == "time":
                continue
            ref = None if expr.cast == "tag" else lookup_field(layout, expr.name, lengths)
            columns.append(Column(f.alias or expr.name, ref))
        elif isinstance(expr, ast.Wildcard | ast.RegexLiteral):
            columns.extend(Column(r.name, r) for r in _matching(expr, field_set))
    return _unique(columns)
