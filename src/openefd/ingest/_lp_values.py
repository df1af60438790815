"""Values of InfluxDB 1.x line protocol: field values, timestamps, precision.

Shared by the fast path and the careful scanner of
:mod:`openefd.ingest.line_protocol` and by its writer. Nothing here knows
about lines, sources or line numbers: a malformed value raises
:class:`LineSyntaxError` with the reason only, and the caller adds where.
"""

from __future__ import annotations

import re
from typing import Final, TypeAlias

__all__ = [
    "BOOLEANS",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_TIME_NS",
    "MIN_TIME_NS",
    "PRECISION_NS",
    "RESERVED_KEYS",
    "UINT64_MAX",
    "FieldValue",
    "LineSyntaxError",
    "UnsignedInt",
    "UnterminatedStringError",
    "parse_scalar",
    "parse_timestamp",
    "precision_multiplier",
]

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
UINT64_MAX: Final = 2**64 - 1

#: InfluxDB 1.x keeps the two lowest int64 values as sentinels and the highest
#: as an exclusive bound, so points may only carry times in this closed range.
MIN_TIME_NS: Final = INT64_MIN + 2
MAX_TIME_NS: Final = INT64_MAX - 1

#: Nanoseconds per unit of InfluxDB's ``precision`` write parameter.
PRECISION_NS: Final[dict[str, int]] = {
    "ns": 1,
    "n": 1,
    "u": 1_000,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}

#: Tag and field keys InfluxDB 1.x refuses (``time``) or silently drops the
#: point for (``_field``, ``_measurement``); openefd rejects all three.
RESERVED_KEYS: Final = frozenset({"time", "_field", "_measurement"})

#: Every boolean spelling InfluxDB 1.x accepts, and nothing else.
BOOLEANS: Final[dict[str, bool]] = {
    "t": True,
    "T": True,
    "true": True,
    "True": True,
    "TRUE": True,
    "f": False,
    "F": False,
    "false": False,
    "False": False,
    "FALSE": False,
}

# Characters a line protocol float is made of; ``float()`` checks the order.
_FLOAT_CHARS: Final = "0123456789.eE+-"
# The NaN/Inf extension: case-insensitive, optionally signed.
_SPECIAL_FLOAT: Final = re.compile(r"[+-]?(?:nan|inf(?:inity)?)", re.IGNORECASE)
_VALUE_HINT: Final = (
    "expected a float (1.5), an integer (1i), an unsigned integer (1u), "
    'a boolean (true/false) or a double-quoted string ("text")'
)


class UnsignedInt(int):
    """An integer field value written with the ``u`` suffix (0 to 2**64 - 1).

    It is an ``int`` in every other respect; the subclass only remembers the
    suffix so that :func:`~openefd.ingest.line_protocol.format_line` writes
    it back as ``u``.
    """

    __slots__ = ()

    def __new__(cls, value: int) -> UnsignedInt:
        if not 0 <= value <= UINT64_MAX:
            raise ValueError(f"unsigned integer {value} is outside [0, {UINT64_MAX}]")
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return f"UnsignedInt({int(self)})"


#: A parsed field value. Unsigned (``u``) integers are :class:`UnsignedInt`.
FieldValue: TypeAlias = float | int | bool | str


class LineSyntaxError(Exception):
    """A line is malformed; ``reason`` says how. Internal: callers wrap it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnterminatedStringError(LineSyntaxError):
    """A double-quoted field value runs to the end of the text seen so far."""

    def __init__(self, field: str) -> None:
        super().__init__(f"unterminated string in field {field!r}")
        self.field = field


def precision_multiplier(precision: str) -> int:
    """Nanoseconds per timestamp unit; ValueError for an unknown precision."""
    try:
        return PRECISION_NS[precision]
    except (KeyError, TypeError):
        choices = ", ".join(repr(p) for p in PRECISION_NS)
        raise ValueError(f"invalid precision {precision!r}: use one of {choices}") from None


def _is_decimal(digits: str) -> bool:
    """True for one or more ASCII digits (``int()`` also takes ``_``, ``+``, spaces)."""
    return digits.isascii() and digits.isdecimal()


def _parse_int(text: str, field: str) -> int:
    body = text[:-1]
    if not _is_decimal(body[1:] if body[:1] == "-" else body):
        raise LineSyntaxError(f"invalid integer {text!r} for field {field!r}")
    value = int(body)
    if not INT64_MIN <= value <= INT64_MAX:
        raise LineSyntaxError(
            f"integer out of range: {text!r} for field {field!r} is outside int64 "
            f"[{INT64_MIN}, {INT64_MAX}]"
        )
    return value


def _parse_uint(text: str, field: str) -> UnsignedInt:
    body = text[:-1]
    if not _is_decimal(body):
        raise LineSyntaxError(f"invalid unsigned integer {text!r} for field {field!r}")
    value = int(body)
    if value > UINT64_MAX:
        raise LineSyntaxError(
            f"integer out of range: {text!r} for field {field!r} is outside uint64 "
            f"[0, {UINT64_MAX}]"
        )
    return UnsignedInt(value)


def _invalid_value(text: str, field: str) -> LineSyntaxError:
    return LineSyntaxError(f"invalid field value {text!r} for field {field!r}: {_VALUE_HINT}")


def parse_scalar(text: str, field: str) -> FieldValue:
    """Parse an unquoted field value: float, ``i`` integer, ``u`` unsigned or boolean.

    ``text`` must not be empty. Floats follow the InfluxDB grammar
    (``-?digits[.digits][e[+-]digits]``, also ``1.`` and ``.5``) plus the
    NaN/Inf extension; a finite literal too large for float64 is an error.
    """
    last = text[-1]
    if last == "i" and text[0] in "-.0123456789":
        return _parse_int(text, field)
    if last == "u" and text[0] in "-.0123456789":
        return _parse_uint(text, field)
    boolean = BOOLEANS.get(text)
    if boolean is not None:
        return boolean
    try:
        value = float(text)
    except ValueError:
        raise _invalid_value(text, field) from None
    # float() also takes "+1", "1_0", " 1", "١" and spellings of inf/nan.
    if text.strip(_FLOAT_CHARS) or text[0] == "+":
        if _SPECIAL_FLOAT.fullmatch(text):
            return value
        raise _invalid_value(text, field)
    if value - value != 0.0:  # only digits, so this is an overflow to inf
        raise LineSyntaxError(
            f"float out of range: {text!r} for field {field!r} does not fit a float64"
        )
    return value


def parse_timestamp(text: str, multiplier: int) -> int:
    """Integer timestamp ``text`` in units of ``multiplier`` ns, as nanoseconds."""
    if not _is_decimal(text[1:] if text[:1] == "-" else text):
        raise LineSyntaxError(f"invalid timestamp {text!r}: expected an integer")
    value = int(text) * multiplier
    if not MIN_TIME_NS <= value <= MAX_TIME_NS:
        raise LineSyntaxError(
            f"timestamp out of range: {text!r} is {value} ns, outside InfluxDB's "
            f"[{MIN_TIME_NS}, {MAX_TIME_NS}] ns"
        )
    return value
