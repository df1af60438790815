"""Parsing InfluxQL text into the syntax tree of :mod:`.ast`.

lark's LALR parser (one pass, no backtracking) with the tree built by a
transformer as it parses. Every failure, whatever its cause, is an
:class:`~openefd.errors.InfluxQLError` whose message reads as InfluxDB's
after its ``error parsing query:`` prefix (which the HTTP server adds):
``found FORM, expected AS, FROM, ',' at line 1, char 10`` (``char``
1-based; the error's ``position`` is the 0-based offset, -1 when unknown).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import cast

from lark import Lark
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedToken

from openefd.errors import InfluxQLError
from openefd.query.influxql import ast
from openefd.query.influxql.grammar import GRAMMAR
from openefd.query.influxql.transform import ToAst

__all__ = ["parse"]

MAX_QUERY_CHARS = 1_000_000

_NAMES = {
    "IDENT": "identifier",
    "QUOTED_IDENT": "identifier",
    "STRING": "string",
    "INTEGER": "integer",
    "NUMBER": "number",
    "DURATION": "duration",
    "REGEX": "regex",
    "TRUE": "bool",
    "FALSE": "bool",
    "SEMICOLON": ";",
    "COMMA": ",",
    "DOT": ".",
    "LPAR": "(",
    "RPAR": ")",
    "STAR": "*",
    "PLUS": "+",
    "MINUS": "-",
    "CAST": "::",
    "EQ": "=",
    "NEQ": "!=",
    "LT": "<",
    "LTE": "<=",
    "GT": ">",
    "GTE": ">=",
    "EQ_REGEX": "=~",
    "NEQ_REGEX": "!~",
    "$END": "EOF",
}
_ORDER = ["identifier", "string", "number", "integer", "duration", "bool", "regex"]
_WORD = re.compile(r"\S+?(?=[\s,;()]|$)|\S")


@cache
def _lark() -> Lark:
    return Lark(
        GRAMMAR,
        parser="lalr",
        lexer="basic",
        transformer=ToAst(),
        maybe_placeholders=False,
    )


def parse(text: str) -> list[ast.Statement]:
    """The statements of ``text`` (separated by ``;``), in order.

    Raises
    ------
    InfluxQLError
        For anything that is not valid InfluxQL of the supported subset,
        naming what was found, what was expected, and where.
    """
    if not isinstance(text, str):
        raise InfluxQLError(f"query must be text, not {type(text).__name__}")
    if len(text) > MAX_QUERY_CHARS:
        raise InfluxQLError(
            f"query is {len(text)} characters long, more than {MAX_QUERY_CHARS}",
            position=MAX_QUERY_CHARS,
        )
    try:
        statements = cast(list[ast.Statement], _lark().parse(text))
    except InfluxQLError:
        raise
    except UnexpectedToken as exc:
        raise _unexpected_token(text, exc) from None
    except UnexpectedCharacters as exc:
        raise _unexpected_characters(text, exc) from None
    except (LarkError, RecursionError, ValueError, OverflowError) as exc:
        raise InfluxQLError(f"{exc}") from None
    if not statements:
        raise InfluxQLError("found EOF, expected SELECT, SHOW at line 1, char 1", position=0)
    return statements


def _expected(names: Iterable[str]) -> str:
    shown = {_NAMES.get(n, n) for n in names}
    if "identifier" in shown and "SELECT" in shown:  # a statement starts here
        shown.discard("identifier")
    literals = [n for n in _ORDER if n in shown]
    words = sorted(n for n in shown if n.isalpha() and n not in _ORDER and n != "EOF")
    symbols = sorted(f"'{n}'" for n in shown if not n.isalpha())
    return ", ".join(literals + words + symbols + (["EOF"] if "EOF" in shown else []))


def _acceptable(exc: UnexpectedToken) -> set[str]:
    """The tokens the parser would take where it stopped (exact, unlike LALR's lookahead)."""
    try:
        accepted: set[str] = exc.interactive_parser.accepts()  # type: ignore[no-untyped-call]
    except Exception:  # a trial token may fail in a rule callback: fall back to lark's set
        return set(exc.expected)
    return accepted or set(exc.expected)


def _where(line: int, column: int) -> str:
    return f"at line {line}, char {column}"


def _unexpected_token(text: str, exc: UnexpectedToken) -> InfluxQLError:
    token = exc.token
    if token.type == "$END":
        lines = text.split("\n")
        line, column, pos = len(lines), len(lines[-1]) + 1, len(text)
        found = "EOF"
    else:
        line, column, pos = token.line or 1, token.column or 1, token.start_pos or 0
        found = str(token)
    expected = _expected(_acceptable(exc))
    return InfluxQLError(
        f"found {found}, expected {expected} {_where(line, column)}", position=pos
    )


def _unexpected_characters(text: str, exc: UnexpectedCharacters) -> InfluxQLError:
    pos = exc.pos_in_stream or 0
    rest = text[pos:]
    match = _WORD.match(rest)
    word = match.group(0) if match else rest[:1]
    if rest[:1] in ("'", '"'):
        problem = f"found unterminated string {word}, expected closing {rest[0]}"
    elif rest[:1] == "/":
        problem = f"found unterminated regex {word}, expected closing /"
    else:
        problem = f"found {word}, which is not a valid InfluxQL token"
    return InfluxQLError(
        f"{problem} {_where(exc.line, exc.column)}",
        position=pos,
    )
