"""Translating a WHERE condition into parameterised DuckDB SQL.

Every value the user wrote becomes a ``?`` parameter; names reach SQL only
as the expressions :mod:`openefd.query.fields` builds for fields that exist
in the topic (quoted with ``quote_ident``). Semantics follow InfluxDB:

- ``time`` comparisons take UTC times and are compared in TAI (the stored
  scale); they may appear anywhere, under AND or OR;
- a field compared with a value of another type, or a field the topic does
  not have, matches no row (``FALSE``), as a missing value does in InfluxDB;
- ``=~``/``!~`` match string fields against a regular expression (RE2,
  unanchored, as InfluxDB's Go regexps), and nothing else;
- comparisons of two literals are evaluated here.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from openefd.errors import QueryError
from openefd.query.fields import ColumnRef
from openefd.query.influxql import ast
from openefd.query.influxql.render import format_expr
from openefd.query.influxql.selection import field_kind
from openefd.query.influxql.timerange import (
    TIME_OPS,
    is_time,
    mirror,
    time_value,
    utc_to_tai_bound,
)
from openefd.store.columns import TIME_COLUMN

__all__ = ["condition_sql"]

Lookup = Callable[[str], ColumnRef | None]

_SQL_OPS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_PY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_NUMBERS = (ast.IntegerLiteral, ast.NumberLiteral, ast.DurationLiteral)


class _Builder:
    def __init__(self, lookup: Lookup, now_ns: int) -> None:
        self.lookup = lookup
        self.now_ns = now_ns
        self.params: list[object] = []

    def param(self, value: object) -> str:
        self.params.append(value)
        return "?"

    def sql(self, expr: ast.Expr) -> str:
        if isinstance(expr, ast.BinaryExpr) and expr.op in ("AND", "OR"):
            return f"({self.sql(expr.lhs)} {expr.op} {self.sql(expr.rhs)})"
        if isinstance(expr, ast.BinaryExpr) and expr.op in ("=~", "!~"):
            return self.regex(expr)
        if isinstance(expr, ast.BinaryExpr) and expr.op in TIME_OPS:
            return self.comparison(expr)
        if isinstance(expr, ast.BooleanLiteral):
            return "TRUE" if expr.value else "FALSE"
        raise QueryError(
            f"invalid condition {format_expr(expr)}: use comparisons such as "
            'time > now() - 1h, "salIndex" = 1 or "name" =~ /re/ joined by AND and OR'
        )

    def regex(self, expr: ast.BinaryExpr) -> str:
        target, pattern = expr.lhs, expr.rhs
        if isinstance(target, ast.RegexLiteral):
            target, pattern = pattern, target
        if not isinstance(pattern, ast.RegexLiteral) or not isinstance(target, ast.VarRef):
            raise QueryError(
                f"invalid condition {format_expr(expr)}: {expr.op} compares a field with /regex/"
            )
        if is_time(target):
            raise QueryError(f"invalid condition {format_expr(expr)}: time cannot match a regex")
        ref = self.lookup(target.name)
        if ref is None or field_kind(ref.field.type) != "string":
            return "FALSE"
        match = f"regexp_matches({ref.sql}, {self.param(pattern.pattern)})"
        return match if expr.op == "=~" else f"NOT {match}"

    def comparison(self, expr: ast.BinaryExpr) -> str:
        op: str = expr.op
        lhs, rhs = expr.lhs, expr.rhs
        if is_time(lhs) and is_time(rhs):
            raise QueryError(f"invalid condition {format_expr(expr)}: compare time with a time")
        if is_time(rhs):
            op, lhs, rhs = mirror(op), rhs, lhs
        if is_time(lhs):
            tai = utc_to_tai_bound(time_value(rhs, self.now_ns))
            return f"{TIME_COLUMN} {_SQL_OPS[op]} {self.param(tai)}"
        if not isinstance(lhs, ast.VarRef) and isinstance(rhs, ast.VarRef):
            op, lhs, rhs = mirror(op), rhs, lhs
        if not isinstance(lhs, ast.VarRef):
            return self.constant(op, lhs, rhs, expr)
        left = self.lookup(lhs.name)
        if isinstance(rhs, ast.VarRef):
            right = self.lookup(rhs.name)
            if left is None or right is None or not _comparable(left, right):
                return "FALSE"
            return f"{left.sql} {_SQL_OPS[op]} {right.sql}"
        value = _literal(rhs, expr)
        if left is None or not _fits(left, value, op):
            return "FALSE"
        return f"{left.sql} {_SQL_OPS[op]} {self.param(value)}"

    def constant(self, op: str, lhs: ast.Expr, rhs: ast.Expr, expr: ast.BinaryExpr) -> str:
        a, b = _literal(lhs, expr), _literal(rhs, expr)
        same = isinstance(a, str) == isinstance(b, str) and isinstance(a, bool) == isinstance(
            b, bool
        )
        if not same:
            return "FALSE"
        try:
            return "TRUE" if _PY_OPS[op](a, b) else "FALSE"
        except TypeError:
            return "FALSE"


def _literal(expr: ast.Expr, whole: ast.BinaryExpr) -> int | float | str | bool:
    if isinstance(expr, ast.StringLiteral):
        return expr.value
    if isinstance(expr, ast.BooleanLiteral):
        return expr.value
    if isinstance(expr, ast.IntegerLiteral | ast.NumberLiteral):
        return expr.value
    if isinstance(expr, ast.DurationLiteral):
        return expr.ns
    raise QueryError(
        f"invalid condition {format_expr(whole)}: openefd compares a field with a value or "
        "another field, without arithmetic or functions"
    )


def _comparable(a: ColumnRef, b: ColumnRef) -> bool:
    ka, kb = field_kind(a.field.type), field_kind(b.field.type)
    numeric = ("float", "integer")
    return ka == kb or (ka in numeric and kb in numeric)


def _fits(ref: ColumnRef, value: int | float | str | bool, op: str) -> bool:
    kind = field_kind(ref.field.type)
    if isinstance(value, bool):
        return kind == "boolean" and op in ("=", "!=")
    if isinstance(value, str):
        return kind == "string"
    if kind == "integer" and isinstance(value, int) and not -(2**63) <= value < 2**64:
        return False
    return kind in ("float", "integer")


def condition_sql(
    condition: ast.Expr | None, lookup: Lookup, now_ns: int
) -> tuple[str, list[object]]:
    """SQL for ``condition`` (``"TRUE"`` for none) and its parameters, in order.

    Raises
    ------
    QueryError
        For conditions InfluxDB rejects or openefd does not answer (arithmetic
        on fields, functions other than ``now()`` in time values).
    """
    if condition is None:
        return "TRUE", []
    builder = _Builder(lookup, now_ns)
    sql = builder.sql(condition)
    return sql, builder.params
