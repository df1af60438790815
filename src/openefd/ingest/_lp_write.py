"""The line protocol writer: one point to one line that InfluxDB 1.x reads back.

Everything :func:`format_line` writes, :func:`~openefd.ingest.line_protocol.parse_line_protocol`
parses back to the same point (NaN compares by NaN-ness). What line protocol
cannot express is refused with ValueError (or TypeError for a value of an
unsupported type) instead of being written wrongly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from openefd.ingest._lp_values import (
    INT64_MAX,
    INT64_MIN,
    MAX_TIME_NS,
    MIN_TIME_NS,
    RESERVED_KEYS,
    FieldValue,
    UnsignedInt,
)

__all__ = ["format_line"]

_MEASUREMENT_ESCAPES: Final = str.maketrans({",": "\\,", " ": "\\ "})
_KEY_ESCAPES: Final = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_STRING_ESCAPES: Final = str.maketrans({"\\": "\\\\", '"': '\\"'})


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, not {type(name).__name__}")
    if not name:
        raise ValueError(f"{what} must not be empty")
    if "\n" in name:
        raise ValueError(f"{what} {name!r} contains a newline, which line protocol cannot carry")
    if name.endswith("\\"):
        # "a\" followed by a separator would read as an escaped separator.
        raise ValueError(
            f"{what} {name!r} ends with a backslash, which line protocol cannot carry"
        )
    return name


def _key(name: object, what: str) -> str:
    key = _check_name(name, what)
    if key in RESERVED_KEYS:
        raise ValueError(f"{what} {key!r} is reserved by InfluxDB; rename it")
    return key.translate(_KEY_ESCAPES)


def _measurement(name: object) -> str:
    measurement = _check_name(name, "measurement")
    if measurement[0] in "#\t":
        # A leading '#' makes a comment line, a leading tab is skipped as whitespace.
        raise ValueError(f"measurement {measurement!r} cannot start with {measurement[0]!r}")
    return measurement.translate(_MEASUREMENT_ESCAPES)


def _float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return float.__repr__(value)  # shortest text that reads back to the same float


def _value(key: str, value: FieldValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, UnsignedInt):
        return f"{int(value)}u"
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(
                f"field {key!r}: integer {value} is outside int64; "
                "wrap values up to 2**64 - 1 in UnsignedInt to write them as unsigned"
            )
        return f"{int(value)}i"
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        # Raw newlines stay raw: InfluxDB 1.x reads them inside quotes.
        return '"' + value.translate(_STRING_ESCAPES) + '"'
    raise TypeError(
        f"field {key!r}: cannot write a {type(value).__name__} value; "
        "use float, int, bool or str (numpy scalars: call .item())"
    )


def format_line(
    measurement: str,
    fields: Mapping[str, FieldValue],
    tags: Mapping[str, str] | None = None,
    timestamp: int | None = None,
) -> str:
    """One line of InfluxDB 1.x line protocol, without the trailing newline.

    Tags are written sorted as InfluxDB sorts them (by escaped key), fields
    in the given order. ``timestamp`` is integer nanoseconds (precision
    ``ns``). Integers get ``i`` (:class:`UnsignedInt` gets ``u``), booleans
    ``true``/``false``, floats their shortest exact form or ``NaN``,
    ``Inf``, ``-Inf`` (openefd's extension: stock InfluxDB refuses those
    three); strings are double-quoted with ``\\`` and ``"`` escaped, other
    characters, line breaks included, as they are.
    """
    parts = [_measurement(measurement)]
    if tags:
        escaped = sorted(
            (_key(key, "tag key"), _check_name(value, f"value of tag {key!r}"))
            for key, value in tags.items()
        )
        parts.extend(f",{key}={value.translate(_KEY_ESCAPES)}" for key, value in escaped)
    if not fields:
        raise ValueError(f"a point needs at least one field (measurement {measurement!r})")
    field_text = ",".join(f"{_key(k, 'field key')}={_value(k, v)}" for k, v in fields.items())
    parts.append(" " + field_text)
    if timestamp is not None:
        if isinstance(timestamp, bool) or not isinstance(timestamp, int):
            raise TypeError(f"timestamp must be an int of nanoseconds, not {timestamp!r}")
        if not MIN_TIME_NS <= timestamp <= MAX_TIME_NS:
            raise ValueError(
                f"timestamp {timestamp} ns is outside InfluxDB's [{MIN_TIME_NS}, {MAX_TIME_NS}]"
            )
        parts.append(f" {int(timestamp)}")
    return "".join(parts)
