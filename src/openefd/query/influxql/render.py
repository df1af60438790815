"""Writing a syntax tree back as InfluxQL text.

Used in error messages and by the tests (``parse(render(s)) == s``).
Identifiers are always double-quoted and strings single-quoted, escaped so
that the text parses back to the same tree; binary expressions are fully
parenthesised.
"""

from __future__ import annotations

import numpy as np

from openefd.query.influxql import ast
from openefd.query.influxql.literals import format_duration

__all__ = ["format_expr", "format_number", "format_statement", "quote_name", "quote_string"]


def quote_name(name: str) -> str:
    """``name`` as a double-quoted InfluxQL identifier."""
    return '"' + _escape(name).replace('"', '\\"') + '"'


def quote_string(value: str) -> str:
    """``value`` as a single-quoted InfluxQL string."""
    return "'" + _escape(value).replace("'", "\\'") + "'"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_number(value: float) -> str:
    """A number as InfluxQL writes it: positional, never with an exponent."""
    if isinstance(value, int):
        return str(value)
    return str(np.format_float_positional(value, trim="."))


def _regex(pattern: str) -> str:
    return "/" + pattern.replace("/", "\\/") + "/"


def _duration(ns: int) -> str:
    return ("-" if ns < 0 else "") + format_duration(abs(ns))


def format_expr(expr: ast.Expr) -> str:
    """InfluxQL text for an expression."""
    match expr:
        case ast.VarRef(name, cast):
            return quote_name(name) + (f"::{cast}" if cast else "")
        case ast.Wildcard():
            return "*"
        case ast.RegexLiteral(pattern):
            return _regex(pattern)
        case ast.StringLiteral(value):
            return quote_string(value)
        case ast.IntegerLiteral(value):
            return str(value)
        case ast.NumberLiteral(value):
            return format_number(value)
        case ast.DurationLiteral(ns):
            return _duration(ns)
        case ast.BooleanLiteral(value):
            return "true" if value else "false"
        case ast.Call(name, args):
            return f"{name}({', '.join(format_expr(a) for a in args)})"
        case ast.BinaryExpr(op, lhs, rhs):
            return f"({format_expr(lhs)} {op} {format_expr(rhs)})"
    raise TypeError(f"not an InfluxQL expression: {expr!r}")


def _source(m: ast.Measurement) -> str:
    last = _regex(m.regex.pattern) if m.regex is not None else quote_name(m.name or "")
    if m.database is not None:
        rp = quote_name(m.retention_policy) if m.retention_policy is not None else ""
        return f"{quote_name(m.database)}.{rp}.{last}"
    if m.retention_policy is not None:
        return f"{quote_name(m.retention_policy)}.{last}"
    return last


def _dimension(d: ast.Dimension) -> str:
    match d:
        case ast.TimeDimension(interval, offset):
            return f"time({_duration(interval)}" + (f", {_duration(offset)})" if offset else ")")
        case ast.TagDimension(name):
            return quote_name(name)
        case ast.WildcardDimension():
            return "*"
        case ast.RegexDimension(pattern):
            return _regex(pattern)
    raise TypeError(f"not a dimension: {d!r}")


def _tail(parts: list[str], condition: ast.Expr | None, limit: int, offset: int) -> list[str]:
    if condition is not None:
        parts.append(f"WHERE {format_expr(condition)}")
    if limit:
        parts.append(f"LIMIT {limit}")
    if offset:
        parts.append(f"OFFSET {offset}")
    return parts


def _on(database: str | None) -> list[str]:
    return [f"ON {quote_name(database)}"] if database is not None else []


def _from(sources: tuple[ast.Measurement, ...]) -> list[str]:
    return [f"FROM {', '.join(_source(s) for s in sources)}"] if sources else []


def _select(s: ast.SelectStatement) -> str:
    fields = ", ".join(
        format_expr(f.expr) + (f" AS {quote_name(f.alias)}" if f.alias is not None else "")
        for f in s.fields
    )
    parts = [f"SELECT {fields}", *_from(s.sources)]
    if s.condition is not None:
        parts.append(f"WHERE {format_expr(s.condition)}")
    if s.dimensions:
        parts.append("GROUP BY " + ", ".join(_dimension(d) for d in s.dimensions))
    if s.fill != ast.FillOption():
        arg = s.fill.mode if s.fill.mode != "number" else format_number(s.fill.value or 0)
        parts.append(f"fill({arg})")
    if s.descending:
        parts.append("ORDER BY time DESC")
    for word, value in (
        ("LIMIT", s.limit),
        ("OFFSET", s.offset),
        ("SLIMIT", s.slimit),
        ("SOFFSET", s.soffset),
    ):
        if value:
            parts.append(f"{word} {value}")
    return " ".join(parts)


def _name_value(value: str | ast.RegexLiteral) -> str:
    return _regex(value.pattern) if isinstance(value, ast.RegexLiteral) else quote_name(value)


def format_statement(statement: ast.Statement) -> str:
    """InfluxQL text for a statement; parsing it gives ``statement`` back."""
    match statement:
        case ast.SelectStatement():
            return _select(statement)
        case ast.ShowDatabases():
            return "SHOW DATABASES"
        case ast.ShowRetentionPolicies(database):
            return " ".join(["SHOW RETENTION POLICIES", *_on(database)])
        case ast.ShowMeasurements(database, op, value, condition, limit, offset):
            parts = ["SHOW MEASUREMENTS", *_on(database)]
            if op is not None and value is not None:
                parts.append(f"WITH MEASUREMENT {op} {_name_value(value)}")
            return " ".join(_tail(parts, condition, limit, offset))
        case ast.ShowFieldKeys(database, sources, limit, offset):
            parts = ["SHOW FIELD KEYS", *_on(database), *_from(sources)]
            return " ".join(_tail(parts, None, limit, offset))
        case ast.ShowTagKeys(database, sources, condition, limit, offset):
            parts = ["SHOW TAG KEYS", *_on(database), *_from(sources)]
            return " ".join(_tail(parts, condition, limit, offset))
        case ast.ShowTagValues(op, values, database, sources, condition, limit, offset):
            parts = ["SHOW TAG VALUES", *_on(database), *_from(sources)]
            if op == "IN":
                names = ", ".join(quote_name(str(v)) for v in values)
                parts.append(f"WITH KEY IN ({names})")
            else:
                parts.append(f"WITH KEY {op} {_name_value(values[0])}")
            return " ".join(_tail(parts, condition, limit, offset))
        case ast.ShowSeries(database, sources, condition, limit, offset):
            parts = ["SHOW SERIES", *_on(database), *_from(sources)]
            return " ".join(_tail(parts, condition, limit, offset))
    raise TypeError(f"not an InfluxQL statement: {statement!r}")
