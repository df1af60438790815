"""Parse-tree callbacks for InfluxQL expressions, literals and identifiers.

The half of the transformer (see :mod:`.transform`) that builds
:mod:`.ast` expressions: literals are checked as InfluxDB checks them while
parsing (integer range, escapes, durations, regular expressions), failures
located at the offending token.
"""

from __future__ import annotations

import re
from typing import Any

from lark import Token, Transformer

from openefd.errors import InfluxQLError
from openefd.query.influxql import ast
from openefd.query.influxql.literals import parse_duration, unescape_quoted, unescape_regex

__all__ = ["ExpressionCallbacks", "integer_token", "token_error"]

INT64_MAX = 2**63 - 1
_CASTS = {"float", "integer", "unsigned", "string", "boolean", "field", "tag"}
OPS = {"<>": "!=", "and": "AND", "or": "OR"}


def token_error(token: Token, message: str) -> InfluxQLError:
    """An :class:`InfluxQLError` located at ``token``."""
    return InfluxQLError(
        f"{message} at line {token.line}, char {token.column}",
        position=token.start_pos or 0,
    )


def integer_token(token: Token) -> int:
    value = int(token)
    if value > INT64_MAX:
        raise token_error(token, f"unable to parse integer {token}: out of range")
    return value


def _regex(token: Token) -> ast.RegexLiteral:
    pattern = unescape_regex(str(token)[1:-1])
    try:
        re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        raise token_error(token, f"invalid regex {token}: {exc}") from None
    return ast.RegexLiteral(pattern)


class ExpressionCallbacks(Transformer[Token, Any]):
    """Callbacks of the expression rules."""

    def binary(self, children: list[Any]) -> ast.BinaryExpr:
        lhs, op, rhs = children
        text = str(op)
        return ast.BinaryExpr(OPS.get(text.lower(), text), lhs, rhs)  # type: ignore[arg-type]

    def negate(self, children: list[Any]) -> ast.Expr:
        operand = children[1]
        if isinstance(operand, ast.IntegerLiteral):
            return ast.IntegerLiteral(-operand.value)
        if isinstance(operand, ast.NumberLiteral):
            return ast.NumberLiteral(-operand.value)
        if isinstance(operand, ast.DurationLiteral):
            return ast.DurationLiteral(-operand.ns)
        return ast.BinaryExpr("-", ast.IntegerLiteral(0), operand)

    def paren(self, children: list[Any]) -> ast.Expr:
        expr: ast.Expr = children[1]
        return expr

    def var_ref(self, children: list[Any]) -> ast.VarRef:
        if len(children) == 1:
            return ast.VarRef(children[0])
        cast: Token = children[2]
        if cast.lower() not in _CASTS:
            raise token_error(cast, f"found {cast}, expected {', '.join(sorted(_CASTS))}")
        return ast.VarRef(children[0], cast.lower())

    def call(self, children: list[Any]) -> ast.Call:
        return ast.Call(
            str(children[0]).lower(), tuple(c for c in children if not isinstance(c, Token))
        )

    def string(self, children: list[Any]) -> ast.StringLiteral:
        token: Token = children[0]
        try:
            return ast.StringLiteral(unescape_quoted(str(token)[1:-1]))
        except ValueError as exc:
            raise token_error(token, str(exc)) from None

    def integer(self, children: list[Any]) -> ast.IntegerLiteral:
        return ast.IntegerLiteral(integer_token(children[0]))

    def number(self, children: list[Any]) -> ast.NumberLiteral:
        return ast.NumberLiteral(float(children[0]))

    def duration(self, children: list[Any]) -> ast.DurationLiteral:
        token: Token = children[0]
        try:
            return ast.DurationLiteral(parse_duration(str(token)))
        except ValueError as exc:
            raise token_error(token, str(exc)) from None

    def true(self, children: list[Any]) -> ast.BooleanLiteral:
        return ast.BooleanLiteral(True)

    def false(self, children: list[Any]) -> ast.BooleanLiteral:
        return ast.BooleanLiteral(False)

    def regex(self, children: list[Any]) -> ast.RegexLiteral:
        return _regex(children[0])

    def ident(self, children: list[Any]) -> str:
        token: Token = children[0]
        if token.type == "IDENT":
            return str(token)
        try:
            return unescape_quoted(str(token)[1:-1])
        except ValueError as exc:
            raise token_error(token, str(exc)) from None
