"""UTC days of canonical TAI times: the unit of the Parquet cold tier.

A row belongs to the UTC calendar day of its time: day *d* (days since
1970-01-01) holds the TAI instants ``[tai(d 00:00 UTC), tai(d+1 00:00 UTC))``,
half-open, leap-second-correct. A leap second (23:59:60.x UTC) belongs to the
day it ends, as :func:`openefd.timescales.tai_to_utc_ns` maps it to 23:59:59.x.
Pure logic: no I/O.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import numpy.typing as npt

from openefd.errors import TimeValueError
from openefd.timescales import NS_PER_S, leap_table, tai_to_utc_ns, utc_to_tai_ns

__all__ = [
    "DAY_NS",
    "EPOCH_DAY",
    "day_bounds_tai_ns",
    "day_number",
    "day_of_number",
    "parse_day",
    "utc_day_sql",
    "utc_days",
]

DAY_NS = 86_400 * NS_PER_S
EPOCH_DAY = dt.date(1970, 1, 1)


def utc_days(tai_ns: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """UTC day numbers (days since 1970-01-01) of TAI ns times."""
    return np.asarray(tai_to_utc_ns(tai_ns) // DAY_NS, dtype=np.int64)


def day_bounds_tai_ns(day: int) -> tuple[int, int]:
    """``[start, end)`` in TAI ns of UTC day number ``day``."""
    start, end = utc_to_tai_ns(np.array([day * DAY_NS, (day + 1) * DAY_NS], dtype=np.int64))
    return int(start), int(end)


def day_number(day: dt.date) -> int:
    return (day - EPOCH_DAY).days


def day_of_number(number: int) -> dt.date:
    return EPOCH_DAY + dt.timedelta(days=number)


def parse_day(text: str, what: str = "day") -> dt.date:
    """A UTC day written ``YYYY-MM-DD``; TimeValueError names ``what`` otherwise."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError as exc:
        raise TimeValueError(
            f"{what}: {text!r} is not a UTC day; write it as YYYY-MM-DD (e.g. 2024-05-01)"
        ) from exc
    if day.year < 1972:
        raise TimeValueError(f"{what}: days before 1972-01-01 are not supported, got {day}")
    return day


@cache
def _offset_case(column: str) -> str:
    table = leap_table()
    # From the newest offset down, so present-day rows match the first branch. A leap
    # second (the last TAI second before an offset starts) takes the new offset: its
    # UTC time then falls on 23:59:59 of the day it ends, as tai_to_utc_ns has it.
    branches = " ".join(
        f"WHEN {column} >= {int(tai) - NS_PER_S} THEN {int(offset)}"
        for tai, offset in zip(table.tai_ns[::-1], table.offset_ns[::-1], strict=True)
    )
    return f"CASE {branches} ELSE {int(table.offset_ns[0])} END"


def utc_day_sql(column: str) -> str:
    """A DuckDB expression for the UTC day number of TAI ns ``column`` (from 1972 on)."""
    return f"(({column} - {_offset_case(column)}) // {DAY_NS})"
