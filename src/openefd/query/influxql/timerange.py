"""Time in WHERE clauses: reading time values, the query's range, UTC ↔ TAI.

InfluxQL times are **UTC** (POSIX ns); openefd stores **TAI** ns. A time
value is a string (``'2020-01-01T00:00:00Z'``), an integer (ns), a duration
literal used as an epoch (``1577836800s``), ``now()``, or a sum or difference
of these (``now() - 20h``). The query's range is what the top-level
AND-ed time comparisons allow, as a half-open UTC interval ``[start, end)``;
comparisons under an OR still filter rows (in SQL) but do not bound it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openefd.errors import QueryError
from openefd.query.influxql import ast
from openefd.query.influxql.literals import parse_time_string
from openefd.query.influxql.render import format_expr
from openefd.timescales import leap_table

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "TimeRange",
    "is_time",
    "mirror",
    "time_range",
    "time_value",
    "utc_to_tai_bound",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
TIME_OPS = ("=", "!=", "<", "<=", ">", ">=")
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}


@dataclass(frozen=True, slots=True)
class TimeRange:
    """UTC ns ``[start_ns, end_ns)``; ``None`` leaves a side open."""

    start_ns: int | None = None
    end_ns: int | None = None

    def intersect(self, start_ns: int | None, end_ns: int | None) -> TimeRange:
        start = self.start_ns
        if start_ns is not None:
            start = start_ns if start is None else max(start, start_ns)
        end = self.end_ns
        if end_ns is not None:
            end = end_ns if end is None else min(end, end_ns)
        return TimeRange(start, end)

    @property
    def empty(self) -> bool:
        return (
            self.start_ns is not None and self.end_ns is not None and self.start_ns >= self.end_ns
        )


def is_time(expr: ast.Expr) -> bool:
    """Whether ``expr`` is the ``time`` column."""
    return isinstance(expr, ast.VarRef) and expr.name.lower() == "time"


def mirror(op: str) -> str:
    """The operator with its sides swapped: ``5 < time`` is ``time > 5``."""
    return _MIRROR.get(op, op)


def time_value(expr: ast.Expr, now_ns: int) -> int:
    """UTC ns that ``expr`` stands for.

    Raises
    ------
    QueryError
        If ``expr`` is not a time (a field, a regex, an unreadable string).
    """
    if isinstance(expr, ast.StringLiteral):
        try:
            return parse_time_string(expr.value)
        except ValueError as exc:
            raise QueryError(str(exc)) from None
    if isinstance(expr, ast.IntegerLiteral):
        return expr.value
    if isinstance(expr, ast.DurationLiteral):
        return expr.ns
    if isinstance(expr, ast.NumberLiteral):
        if not np.isfinite(expr.value):
            raise QueryError(f"invalid time value {expr.value}")
        return int(expr.value)
    if isinstance(expr, ast.Call) and expr.name == "now":
        if expr.args:
            raise QueryError("now() takes no arguments")
        return now_ns
    if isinstance(expr, ast.BinaryExpr) and expr.op in ("+", "-"):
        lhs, rhs = time_value(expr.lhs, now_ns), time_value(expr.rhs, now_ns)
        return lhs + rhs if expr.op == "+" else lhs - rhs
    raise QueryError(
        f"invalid time value {format_expr(expr)}: use an RFC 3339 string such as "
        "'2020-01-01T00:00:00Z', an integer epoch (ns, or with a unit: 1577836800s) "
        "or now() - 1h"
    )


def _bound(op: str, value: int) -> tuple[int | None, int | None]:
    if op == ">":
        return value + 1, None
    if op == ">=":
        return value, None
    if op == "<":
        return None, value
    if op == "<=":
        return None, value + 1
    if op == "=":
        return value, value + 1
    return None, None


def time_range(condition: ast.Expr | None, now_ns: int) -> TimeRange:
    """The UTC range the top-level AND-ed time comparisons of ``condition`` allow."""
    found = TimeRange()
    stack = [condition] if condition is not None else []
    while stack:
        expr = stack.pop()
        if not isinstance(expr, ast.BinaryExpr):
            continue
        if expr.op == "AND":
            stack.extend((expr.lhs, expr.rhs))
            continue
        if expr.op not in TIME_OPS:
            continue
        if is_time(expr.lhs) and not is_time(expr.rhs):
            found = found.intersect(*_bound(expr.op, time_value(expr.rhs, now_ns)))
        elif is_time(expr.rhs) and not is_time(expr.lhs):
            found = found.intersect(*_bound(mirror(expr.op), time_value(expr.lhs, now_ns)))
    return found


def utc_to_tai_bound(utc_ns: int) -> int:
    """TAI ns for a UTC bound; monotonic for any integer, clamped to 64 bits.

    Before 1972 (where UTC had no whole-second offset) the 1972 offset is used:
    no stored row is that old, so only the order of the bound matters.
    """
    table = leap_table()
    index = int(np.searchsorted(table.utc_ns, min(max(utc_ns, INT64_MIN), INT64_MAX), "right"))
    offset = int(table.offset_ns[max(index - 1, 0)])
    return min(max(utc_ns + offset, INT64_MIN), INT64_MAX)
