"""The careful line protocol scanner: escapes, quoted strings, exact errors.

:func:`scan_line` handles every line; :mod:`openefd.ingest.line_protocol`
calls it only for lines its fast path does not take (backslashes, leading
whitespace, anything unusual) and for every malformed line, so the error
messages come from here.

Escapes, as InfluxDB 1.x reads them:

* measurement: ``\\,`` and ``\\ `` (comma, space);
* tag keys, tag values, field keys: ``\\,``, ``\\=``, ``\\ ``;
* string field values: ``\\"`` and ``\\\\``.

Any other backslash is a literal backslash. A double-quoted string ends at
the first unescaped ``"``; it may contain raw newlines (the caller joins the
physical lines, see :class:`~openefd.ingest._lp_values.UnterminatedStringError`).
"""

from __future__ import annotations

import re
from typing import Final, TypeAlias

from openefd.ingest._lp_values import (
    RESERVED_KEYS,
    FieldValue,
    LineSyntaxError,
    UnterminatedStringError,
    parse_scalar,
)

__all__ = ["ScannedLine", "scan_line"]

#: measurement, tags, fields, timestamp text (``None`` when absent).
ScannedLine: TypeAlias = tuple[str, dict[str, str], dict[str, FieldValue], str | None]

# A name runs to the first unescaped separator; a backslash not followed by a
# character it escapes is literal. The look-aheads keep matching deterministic.
_MEASUREMENT: Final = re.compile(r"(?:[^\\, ]|\\[, ]|\\(?![, ]))*")
_KEY: Final = re.compile(r"(?:[^\\,= ]|\\[,= ]|\\(?![,= ]))*")
_STRING: Final = re.compile(r'"((?:[^"\\]|\\["\\]|\\(?!["\\]))*)"')
_UNQUOTED: Final = re.compile(r"[^, ]*")
_TOKEN: Final = re.compile(r"[^ ]*")
_NAME_ESCAPE: Final = re.compile(r"\\([, ])")
_KEY_ESCAPE: Final = re.compile(r"\\([,= ])")
_STRING_ESCAPE: Final = re.compile(r'\\(["\\])')


def _unescape(raw: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(r"\1", raw) if "\\" in raw else raw


def _skip_spaces(line: str, pos: int) -> int:
    n = len(line)
    while pos < n and line[pos] == " ":
        pos += 1
    return pos


def _check_key(key: str, kind: str) -> None:
    if key in RESERVED_KEYS:
        raise LineSyntaxError(
            f"{kind} key {key!r} is reserved by InfluxDB and cannot be written; rename it"
        )


def _scan_tags(line: str, pos: int, tags: dict[str, str]) -> int:
    """Scan ``,key=value`` pairs from ``pos`` (at a comma); return the end."""
    n = len(line)
    while pos < n and line[pos] == ",":
        match = _KEY.match(line, pos + 1)
        assert match is not None  # the pattern matches the empty string
        key = _unescape(match.group(), _KEY_ESCAPE)
        pos = match.end()
        if not key:
            raise LineSyntaxError("missing tag key: a comma must be followed by key=value")
        if pos >= n or line[pos] != "=":
            raise LineSyntaxError(f"missing tag value for tag key {key!r}: expected {key}=value")
        match = _KEY.match(line, pos + 1)
        assert match is not None
        value = _unescape(match.group(), _KEY_ESCAPE)
        pos = match.end()
        if not value:
            raise LineSyntaxError(
                f"missing tag value for tag key {key!r}: tag values cannot be empty, "
                "leave the tag out instead"
            )
        if pos < n and line[pos] == "=":
            raise LineSyntaxError(
                f"invalid tag value for tag key {key!r}: unescaped '=' (write it as '\\=')"
            )
        if key in tags:
            raise LineSyntaxError(f"duplicate tag key {key!r}")
        _check_key(key, "tag")
        tags[key] = value
    return pos


def _scan_value(line: str, pos: int, key: str) -> tuple[FieldValue, int]:
    """Scan the value of field ``key`` starting at ``pos``; return it and the end."""
    n = len(line)
    if pos < n and line[pos] == '"':
        match = _STRING.match(line, pos)
        if match is None:
            raise UnterminatedStringError(key)
        end = match.end()
        if end < n and line[end] not in ", ":
            raise LineSyntaxError(
                f"unexpected {line[end]!r} after the closing quote of field {key!r}: "
                'escape a double quote inside a string as \\"'
            )
        return _unescape(match.group(1), _STRING_ESCAPE), end
    match = _UNQUOTED.match(line, pos)
    assert match is not None
    text = match.group()
    if not text:
        raise LineSyntaxError(f"missing value for field {key!r}")
    return parse_scalar(text, key), match.end()


def _scan_fields(line: str, pos: int, fields: dict[str, FieldValue]) -> int:
    """Scan the field set from ``pos``; return the position after it."""
    n = len(line)
    while True:
        match = _KEY.match(line, pos)
        assert match is not None
        key = _unescape(match.group(), _KEY_ESCAPE)
        pos = match.end()
        if not key:
            raise LineSyntaxError("missing field key: expected key=value")
        if pos >= n or line[pos] != "=":
            raise LineSyntaxError(f"invalid field {key!r}: expected {key}=value")
        value, pos = _scan_value(line, pos + 1, key)
        _check_key(key, "field")
        fields[key] = value  # a repeated key: the last value wins
        if pos >= n or line[pos] == " ":
            return pos
        pos += 1  # the comma before the next field


def scan_line(line: str) -> ScannedLine | None:
    """Scan one line (no line terminator); ``None`` for a blank or comment line.

    Raises :class:`LineSyntaxError`, or :class:`UnterminatedStringError`
    when a double-quoted value is still open at the end of ``line``.
    """
    n = len(line)
    pos = 0
    while pos < n and line[pos] in " \t":
        pos += 1
    if pos >= n or line[pos] == "#":
        return None
    match = _MEASUREMENT.match(line, pos)
    assert match is not None
    measurement = _unescape(match.group(), _NAME_ESCAPE)
    pos = match.end()
    if not measurement:
        raise LineSyntaxError("missing measurement: a line must start with a measurement name")
    tags: dict[str, str] = {}
    pos = _scan_tags(line, pos, tags)
    pos = _skip_spaces(line, pos)
    if pos >= n:
        raise LineSyntaxError(
            "missing field set: a point needs at least one field after the measurement "
            "and tags, separated by a space"
        )
    fields: dict[str, FieldValue] = {}
    pos = _skip_spaces(line, _scan_fields(line, pos, fields))
    if pos >= n:
        return measurement, tags, fields, None
    match = _TOKEN.match(line, pos)
    assert match is not None
    rest = line[match.end() :].strip(" ")
    if rest:
        raise LineSyntaxError(f"unexpected text after the timestamp: {rest!r}")
    return measurement, tags, fields, match.group()
