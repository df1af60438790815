"""The lark transformer that turns parse-tree nodes into :mod:`.ast` statements.

lark calls one method per rule (by rule or alias name) with the node's
children, innermost first, while it parses. Clauses come back as tagged
tuples (``("limit", 10)``) that the statement rules gather; expressions are
built by :class:`~.expressions.ExpressionCallbacks`. Checks InfluxDB makes
while parsing (``ORDER BY time`` only, ``time()`` arguments, ``fill()``
words) raise :class:`~openefd.errors.InfluxQLError`.
"""

from __future__ import annotations

from typing import Any

from lark import Token

from openefd.errors import InfluxQLError
from openefd.query.influxql import ast
from openefd.query.influxql.expressions import (
    OPS,
    ExpressionCallbacks,
    integer_token,
    token_error,
)

__all__ = ["ToAst", "token_error"]

_FILL_WORDS = {"null", "none", "previous", "linear"}


def _values(children: list[Any]) -> list[Any]:
    """Children that are not bare keyword or punctuation tokens."""
    return [c for c in children if not isinstance(c, Token)]


def _clauses(children: list[Any]) -> dict[str, Any]:
    return {c[0]: c[1:] if len(c) > 2 else c[1] for c in children if isinstance(c, tuple)}


class ToAst(ExpressionCallbacks):
    """Parse-tree callbacks; see the module docstring."""

    # -- statements --------------------------------------------------------
    def start(self, children: list[Any]) -> list[ast.Statement]:
        return _values(children)

    def select_stmt(self, children: list[Any]) -> ast.SelectStatement:
        fields, sources = children[1], children[2][1]
        c = _clauses(children[3:])
        return ast.SelectStatement(
            fields=tuple(fields),
            sources=sources,
            condition=c.get("where"),
            dimensions=c.get("group", ()),
            fill=c.get("fill", ast.FillOption()),
            descending=c.get("order", False),
            limit=c.get("limit", 0),
            offset=c.get("offset", 0),
            slimit=c.get("slimit", 0),
            soffset=c.get("soffset", 0),
        )

    def show_databases(self, children: list[Any]) -> ast.ShowDatabases:
        return ast.ShowDatabases()

    def show_retention_policies(self, children: list[Any]) -> ast.ShowRetentionPolicies:
        return ast.ShowRetentionPolicies(database=_clauses(children).get("on"))

    def show_measurements(self, children: list[Any]) -> ast.ShowMeasurements:
        c = _clauses(children)
        op, value = c.get("with", (None, None))
        return ast.ShowMeasurements(
            database=c.get("on"),
            name_op=op,
            name_value=value,
            condition=c.get("where"),
            limit=c.get("limit", 0),
            offset=c.get("offset", 0),
        )

    def show_field_keys(self, children: list[Any]) -> ast.ShowFieldKeys:
        c = _clauses(children)
        return ast.ShowFieldKeys(
            database=c.get("on"),
            sources=c.get("from", ()),
            limit=c.get("limit", 0),
            offset=c.get("offset", 0),
        )

    def show_tag_keys(self, children: list[Any]) -> ast.ShowTagKeys:
        c = _clauses(children)
        return ast.ShowTagKeys(
            database=c.get("on"),
            sources=c.get("from", ()),
            condition=c.get("where"),
            limit=c.get("limit", 0),
            offset=c.get("offset", 0),
        )

    def show_tag_values(self, children: list[Any]) -> ast.ShowTagValues:
        c = _clauses(children)
        op, values = c["key"]
        return ast.ShowTagValues(
            key_op=op,
            key_values=values,
            database=c.get("on"),
            sources=c.get("from", ()),
            condition=c.get("where"),
            limit=c.get("limit", 0),
            offset=c.get("offset", 0),
        )

    def show_series(self, children: list[Any]) -> ast.ShowSeries:
        c = _clauses(children)
        return ast.ShowSeries(
            database=c.get("on"),
            sources=c.get("from", ()),
            condition=c.get("where"),
            limit=c.get("limit", 0),
            offset=c.get("offset", 0),
        )

    # -- clauses -----------------------------------------------------------
    def fields(self, children: list[Any]) -> list[ast.Field]:
        return _values(children)

    def field(self, children: list[Any]) -> ast.Field:
        values = _values(children)
        return ast.Field(values[0], values[1] if len(values) > 1 else None)

    def wildcard(self, children: list[Any]) -> ast.Wildcard:
        return ast.Wildcard()

    def from_clause(self, children: list[Any]) -> tuple[str, tuple[ast.Measurement, ...]]:
        return ("from", tuple(_values(children)))

    def source(self, children: list[Any]) -> ast.Measurement:
        dots = sum(1 for c in children if isinstance(c, Token) and c.type == "DOT")
        parts = _values(children)
        last = parts[-1]
        database = retention_policy = None
        if dots == 2 and len(parts) == 3:
            database, retention_policy = parts[0], parts[1]
        elif dots == 2:
            database = parts[0]
        elif dots == 1:
            retention_policy = parts[0]
        if isinstance(last, ast.RegexLiteral):
            return ast.Measurement(None, last, database, retention_policy)
        return ast.Measurement(last, None, database, retention_policy)

    def where_clause(self, children: list[Any]) -> tuple[str, ast.Expr]:
        return ("where", children[1])

    def group_clause(self, children: list[Any]) -> tuple[str, tuple[ast.Dimension, ...]]:
        dims = tuple(_values(children))
        if sum(isinstance(d, ast.TimeDimension) for d in dims) > 1:
            raise InfluxQLError("multiple time dimensions not allowed")
        return ("group", dims)

    def dim_wildcard(self, children: list[Any]) -> ast.WildcardDimension:
        return ast.WildcardDimension()

    def dim_regex(self, children: list[Any]) -> ast.RegexDimension:
        return ast.RegexDimension(children[0].pattern)

    def dim_tag(self, children: list[Any]) -> ast.TagDimension:
        if children[0].lower() == "time":
            raise InfluxQLError("time() is a function and expects at least one argument")
        return ast.TagDimension(children[0])

    def dim_call(self, children: list[Any]) -> ast.TimeDimension:
        call: ast.Call = children[0]
        if call.name != "time":
            raise InfluxQLError("only time() calls allowed in dimensions")
        if not 1 <= len(call.args) <= 2:
            raise InfluxQLError("time dimension expected 1 or 2 arguments")
        interval = call.args[0]
        if not isinstance(interval, ast.DurationLiteral):
            raise InfluxQLError("time dimension must have duration argument")
        if interval.ns <= 0:
            raise InfluxQLError("time dimension must have a positive duration")
        offset = 0
        if len(call.args) == 2:
            arg = call.args[1]
            if not isinstance(arg, ast.DurationLiteral):
                raise InfluxQLError("time dimension offset must be a duration")
            offset = arg.ns % interval.ns
        return ast.TimeDimension(interval.ns, offset)

    def fill_clause(self, children: list[Any]) -> tuple[str, ast.FillOption]:
        name: Token = children[0]
        if name.lower() != "fill":
            raise token_error(name, f"found {name}, expected fill, ORDER, LIMIT, OFFSET, ;, EOF")
        option: ast.FillOption = children[2]
        return ("fill", option)

    def fill_word(self, children: list[Any]) -> ast.FillOption:
        word: Token = children[0]
        if word.lower() not in _FILL_WORDS:
            raise token_error(
                word, f"found {word}, expected null, none, previous, linear or a number in fill()"
            )
        mode: ast.FillMode = word.lower()  # type: ignore[assignment]  # checked above
        return ast.FillOption(mode)

    def fill_number(self, children: list[Any]) -> ast.FillOption:
        return ast.FillOption("number", children[0])

    def signed_number(self, children: list[Any]) -> int | float:
        token: Token = children[-1]
        value: int | float = integer_token(token) if token.type == "INTEGER" else float(token)
        return -value if len(children) == 2 else value

    def order_clause(self, children: list[Any]) -> tuple[str, bool]:
        fields = _values(children)
        if len(fields) != 1 or fields[0][0] not in (None, "time"):
            raise InfluxQLError("only ORDER BY time supported at this time")
        return ("order", fields[0][1])

    def sort_field(self, children: list[Any]) -> tuple[str | None, bool]:
        name = None if isinstance(children[0], Token) else str(children[0]).lower()
        last = children[-1]
        descending = isinstance(last, Token) and last.type == "DESC"
        return (name, descending)

    def limit_clause(self, children: list[Any]) -> tuple[str, int]:
        return ("limit", integer_token(children[1]))

    def offset_clause(self, children: list[Any]) -> tuple[str, int]:
        return ("offset", integer_token(children[1]))

    def slimit_clause(self, children: list[Any]) -> tuple[str, int]:
        return ("slimit", integer_token(children[1]))

    def soffset_clause(self, children: list[Any]) -> tuple[str, int]:
        return ("soffset", integer_token(children[1]))

    def on_clause(self, children: list[Any]) -> tuple[str, str]:
        return ("on", children[1])

    def with_measurement(self, children: list[Any]) -> tuple[str, str, str | ast.RegexLiteral]:
        op = OPS.get(str(children[2]), str(children[2]))
        return ("with", op, children[3])

    def key_condition(self, children: list[Any]) -> tuple[str, str, tuple[Any, ...]]:
        op = OPS.get(str(children[0]), str(children[0]))
        return ("key", op, (children[1],))

    def key_in(self, children: list[Any]) -> tuple[str, str, tuple[Any, ...]]:
        return ("key", "IN", tuple(_values(children)))
