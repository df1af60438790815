"""InfluxQL literals: durations, quoted strings and identifiers, time strings.

Durations are integer nanoseconds (``1h30m``, ``500ms``; units ``ns``, ``u``
or ``µ``, ``ms``, ``s``, ``m``, ``h``, ``d``, ``w``). Time strings are read as
InfluxDB 1.x reads them, to **UTC** nanoseconds since 1970 (POSIX, no leap
seconds): RFC 3339 with a zone (``2020-01-01T00:00:00.123Z``, ``…+02:00``),
a space and no zone (``2020-01-01 00:00:00.123``, UTC) and a bare date.
Nothing here touches TAI: the executor converts.
"""

from __future__ import annotations

import calendar
import re

__all__ = [
    "DURATION_UNITS_NS",
    "format_duration",
    "parse_duration",
    "parse_time_string",
    "unescape_quoted",
    "unescape_regex",
]

INT64_MAX = 2**63 - 1

DURATION_UNITS_NS: dict[str, int] = {
    "ns": 1,
    "u": 1_000,
    "µ": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 604_800_000_000_000,
}

_SEGMENT = re.compile(r"(\d+)(ns|ms|u|µ|s|m|h|d|w)")
_ESCAPES = {"n": "\n", "\\": "\\", '"': '"', "'": "'"}
_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:\d{2})?",
    re.ASCII,
)


def parse_duration(text: str) -> int:
    """Nanoseconds in an InfluxQL duration such as ``1h30m``.

    Raises
    ------
    ValueError
        If ``text`` is not a duration or overflows 64 bits.
    """
    pos, total = 0, 0
    while pos < len(text):
        match = _SEGMENT.match(text, pos)
        if match is None:
            raise ValueError(f"invalid duration {text!r}")
        total += int(match.group(1)) * DURATION_UNITS_NS[match.group(2)]
        pos = match.end()
    if pos == 0:
        raise ValueError(f"invalid duration {text!r}")
    if total > INT64_MAX:
        raise ValueError(f"overflowed duration {text!r}")
    return total


def format_duration(ns: int) -> str:
    """The shortest InfluxQL spelling of ``ns`` (≥ 0), e.g. ``90m`` → ``"90m"``."""
    if ns == 0:
        return "0s"
    for unit in ("w", "d", "h", "m", "s", "ms", "u", "ns"):
        size = DURATION_UNITS_NS[unit]
        if ns % size == 0:
            return f"{ns // size}{unit}"
    raise AssertionError("unreachable: 1 ns divides everything")


def unescape_quoted(body: str) -> str:
    """The text of a quoted string or identifier body: ``\\n``, ``\\\\``, ``\\"``, ``\\'``.

    Raises
    ------
    ValueError
        For any other backslash escape ("bad escape", as InfluxDB says).
    """
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1] if i + 1 < len(body) else ""
            if nxt not in _ESCAPES:
                raise ValueError(f"bad escape \\{nxt}")
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def unescape_regex(body: str) -> str:
    """The pattern of a ``/regex/`` body: ``\\/`` becomes ``/``, other escapes stay."""
    return body.replace("\\/", "/")


def parse_time_string(text: str) -> int:
    """UTC (POSIX) nanoseconds for an InfluxQL time string.

    As InfluxQL 1.x reads them: RFC 3339 with a zone (``…T…Z``, ``…T…+02:00``),
    ``YYYY-MM-DD HH:MM:SS[.f]`` without one (UTC), or a bare date; a ``T``
    without a zone, or a space with one, is refused.

    Raises
    ------
    ValueError
        If ``text`` is not one of the accepted forms or names no real date.
    """
    match = _TIME.fullmatch(text)
    clock, zone = match.group(4) if match else None, match.group(8) if match else None
    separator = text[10:11]
    if (
        match is None
        or (clock is not None and separator == "T" and zone is None)
        or (zone is not None and (clock is None or separator == " "))
    ):
        raise ValueError(
            f"invalid timestamp string {text!r}: use RFC 3339 with a zone such as "
            "'2020-01-01T00:00:00Z', or '2020-01-01 00:00:00.123' (UTC)"
        )
    year, month, day, hour, minute, second = (int(g or 0) for g in match.groups()[:6])
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]) or (
        hour > 23 or minute > 59 or second > 59
    ):
        raise ValueError(f"invalid timestamp string {text!r}: not a valid date and time")
    fraction = (match.group(7) or "").ljust(9, "0")
    ns = calendar.timegm((year, month, day, hour, minute, second)) * 1_000_000_000
    ns += int(fraction)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        offset_min = int(zone[1:3]) * 60 + int(zone[4:6])
        ns -= sign * offset_min * 60_000_000_000
    return ns
