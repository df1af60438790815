"""The parsed point and the fast path that builds most of them.

:func:`parse_simple` takes ASCII lines without backslashes (the common
case) with ``str.split`` and ``str.partition``; it gives
up on anything unusual, and :func:`~openefd.ingest._lp_scan.scan_line`
parses that line instead. The two agree on every line the fast path
accepts; the tests check this on generated lines. The fast path never
raises, so every error message comes from the scanner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from openefd.ingest._lp_values import (
    BOOLEANS,
    MAX_TIME_NS,
    MIN_TIME_NS,
    RESERVED_KEYS,
    FieldValue,
    LineSyntaxError,
    parse_scalar,
)

__all__ = ["LinePoint", "make_point", "parse_simple"]


@dataclass(frozen=True, slots=True)
class LinePoint:
    """One point of line protocol.

    ``timestamp`` is integer nanoseconds since the Unix epoch, as written
    and scaled by the parse ``precision`` (InfluxDB treats it as UTC);
    ``None`` when the line has none (InfluxDB would use its clock).
    ``line_number`` is 1-based: the physical line the point starts on.
    Unsigned (``u``) field values are
    :class:`~openefd.ingest.line_protocol.UnsignedInt`, an ``int``.
    """

    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    timestamp: int | None
    line_number: int


def _slot_setter(name: str) -> Callable[[LinePoint, Any], None]:
    setter: Callable[[LinePoint, Any], None] = getattr(LinePoint, name).__set__
    return setter


# LinePoint(...) makes five object.__setattr__ calls to get past frozen=True;
# setting the slots through their descriptors builds the same object in
# about half the time, which counts at millions of lines. A test checks
# that these cover every field of LinePoint.
_new_object: Final = object.__new__
_set_measurement: Final = _slot_setter("measurement")
_set_tags: Final = _slot_setter("tags")
_set_fields: Final = _slot_setter("fields")
_set_timestamp: Final = _slot_setter("timestamp")
_set_line_number: Final = _slot_setter("line_number")


def make_point(
    measurement: str,
    tags: dict[str, str],
    fields: dict[str, FieldValue],
    timestamp: int | None,
    line_number: int,
) -> LinePoint:
    """``LinePoint(...)``, faster."""
    point: LinePoint = _new_object(LinePoint)
    _set_measurement(point, measurement)
    _set_tags(point, tags)
    _set_fields(point, fields)
    _set_timestamp(point, timestamp)
    _set_line_number(point, line_number)
    return point


# float() takes a text made only of these exactly when line protocol does.
_FLOAT_TEXT: Final = "0123456789.eE-"
_DIGITS: Final = frozenset("0123456789")
_SIGNED_DIGITS: Final = frozenset("-0123456789")


def parse_simple(line: str, line_number: int, multiplier: int) -> LinePoint | None:
    """Parse an ASCII ``line`` without backslashes, or ``None``: "use the scanner".

    The line must not start with whitespace or ``#``. Never raises: for a
    malformed line the scanner finds the first fault and says what it is.
    A string value holding a space or a comma is cut apart by the splits,
    fails the quote checks and goes to the scanner too.
    """
    parts = line.split(" ")
    if len(parts) == 3:
        key, field_set, stamp = parts
        # int() also takes "+1", "1_0" and surrounding whitespace.
        if stamp[-1:] not in _DIGITS or stamp[0] not in _SIGNED_DIGITS or "_" in stamp:
            return None
        try:
            nanoseconds = int(stamp) * multiplier
        except ValueError:  # "1.5", "--1"
            return None
        if not MIN_TIME_NS <= nanoseconds <= MAX_TIME_NS:
            return None
        timestamp: int | None = nanoseconds
    elif len(parts) == 2:
        key, field_set = parts
        timestamp = None
    else:
        return None
    tags: dict[str, str] = {}
    if "," in key:
        names = key.split(",")
        measurement = names[0]
        for pair in names[1:]:
            tag, _, value = pair.partition("=")
            if not tag or not value or "=" in value or tag in tags or tag in RESERVED_KEYS:
                return None
            tags[tag] = value
    else:
        measurement = key
    if not measurement:
        return None
    fields: dict[str, FieldValue] = {}
    try:
        for pair in field_set.split(","):
            name, _, text = pair.partition("=")
            last = text[-1]  # IndexError: no value
            if last in "0123456789.":
                number = float(text)
                # float() also takes "+1", "1_0", " 1", and overflows to inf.
                if text.strip(_FLOAT_TEXT) or number - number:
                    number = float(parse_scalar(text, name))
                fields[name] = number
            elif last == '"':
                if text[0] != '"' or text.count('"') != 2:
                    return None
                fields[name] = text[1:-1]
            elif last == "i" and len(text) < 20 and (digits := text[:-1]).isdigit():
                fields[name] = int(digits)  # below 20 characters: no overflow
            else:
                boolean = BOOLEANS.get(text)
                fields[name] = parse_scalar(text, name) if boolean is None else boolean
    except (IndexError, ValueError, LineSyntaxError):
        return None
    # Once per line rather than per field: an empty key, RESERVED_KEYS.
    if "" in fields or "time" in fields or "_field" in fields or "_measurement" in fields:
        return None
    point: LinePoint = _new_object(LinePoint)
    _set_measurement(point, measurement)
    _set_tags(point, tags)
    _set_fields(point, fields)
    _set_timestamp(point, timestamp)
    _set_line_number(point, line_number)
    return point
