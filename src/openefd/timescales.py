"""Leap-second-correct conversion between UTC and TAI, as integer nanoseconds.

openefd's canonical time is **TAI nanoseconds since 1970-01-01T00:00:00 TAI**
(astropy's ``unix_tai`` scaled to ns; SAL's ``private_sndStamp`` × 10⁹).
UTC values are **POSIX nanoseconds** (``unix`` × 10⁹): 86 400 s a day, leap
seconds not counted — what InfluxDB, pandas and ``private_efdStamp`` use.

For any UTC instant from 1972-01-01 on, ``tai = utc + (TAI − UTC)``, with
TAI − UTC taken from astropy's leap-second table (the IERS list shipped in
``astropy-iers-data``; never downloaded at run time). TAI instants inside a
leap second (23:59:60.x UTC) have no POSIX value of their own: they map to
23:59:59.x, as astropy's ``unix`` does, so UTC→TAI→UTC is exact everywhere
and TAI→UTC→TAI is exact everywhere but inside leap seconds.
Before 1972 UTC had non-integral offsets; such times are rejected.
"""

from __future__ import annotations

import calendar
import time
import warnings
from bisect import bisect_right
from functools import cache

import numpy as np
import numpy.typing as npt

from openefd.errors import TimeValueError

__all__ = [
    "NS_PER_S",
    "UTC_EARLIEST_NS",
    "LeapTable",
    "leap_table",
    "now_tai_ns",
    "seconds_to_ns",
    "tai_to_utc_ns",
    "utc_offset_ns",
    "utc_to_tai_ns",
]

NS_PER_S = 1_000_000_000
UTC_EARLIEST_NS = calendar.timegm((1972, 1, 1, 0, 0, 0)) * NS_PER_S

IntArray = npt.NDArray[np.int64]


class LeapTable:
    """TAI − UTC steps: ``utc_ns[i]`` is when offset ``offset_ns[i]`` starts (UTC, POSIX ns)."""

    def __init__(self, utc_ns: IntArray, offset_ns: IntArray) -> None:
        self.utc_ns = utc_ns
        self.offset_ns = offset_ns
        self.tai_ns = utc_ns + offset_ns
        self.utc_starts: list[int] = [int(v) for v in utc_ns]  # for bisect on scalars


@cache
def leap_table() -> LeapTable:
    """The leap-second table from astropy's bundled IERS data (read once)."""
    from astropy.utils import iers

    with warnings.catch_warnings():
        # An expired table still holds every past leap second; astropy warns about it.
        warnings.simplefilter("ignore")
        with iers.conf.set_temp("auto_download", False):
            table = iers.LeapSeconds.auto_open()
    starts: list[int] = []
    offsets: list[int] = []
    for year, month, tai_utc in zip(table["year"], table["month"], table["tai_utc"], strict=True):
        if int(year) < 1972:
            continue
        starts.append(calendar.timegm((int(year), int(month), 1, 0, 0, 0)) * NS_PER_S)
        offsets.append(round(float(tai_utc)) * NS_PER_S)
    return LeapTable(np.asarray(starts, dtype=np.int64), np.asarray(offsets, dtype=np.int64))


def _as_int_array(values: npt.ArrayLike) -> IntArray:
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise TimeValueError(f"nanosecond times must be integers, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def utc_to_tai_ns(utc_ns: npt.ArrayLike) -> IntArray:
    """TAI ns for UTC (POSIX) ns; raises TimeValueError before 1972-01-01 UTC."""
    utc = _as_int_array(utc_ns)
    table = leap_table()
    if utc.size and int(utc.min()) < UTC_EARLIEST_NS:
        raise TimeValueError(
            "times before 1972-01-01T00:00:00 UTC are not supported "
            "(UTC then had no whole-second offset from TAI)"
        )
    idx = np.searchsorted(table.utc_ns, utc, side="right") - 1
    return utc + table.offset_ns[idx]


def utc_offset_ns(lo_utc_ns: int, hi_utc_ns: int) -> int | None:
    """TAI − UTC in ns when it is the same for every UTC ns in ``[lo, hi]``, else None.

    For a small batch of times this is cheaper than :func:`utc_to_tai_ns`: one
    scalar lookup, after which ``tai = utc + offset`` for the whole batch.
    None also when ``lo`` is before 1972 (:func:`utc_to_tai_ns` says why).
    """
    if lo_utc_ns < UTC_EARLIEST_NS:
        return None
    table = leap_table()
    first = bisect_right(table.utc_starts, lo_utc_ns) - 1
    if first + 1 < len(table.utc_starts) and hi_utc_ns >= table.utc_starts[first + 1]:
        return None  # a leap second lies inside the range
    return int(table.offset_ns[first])


def now_tai_ns() -> int:
    """The current time (the system's UTC clock) as TAI ns."""
    return int(utc_to_tai_ns(time.time_ns())[()])


def tai_to_utc_ns(tai_ns: npt.ArrayLike) -> IntArray:
    """UTC (POSIX) ns for TAI ns; inside a leap second, 23:59:59.x is repeated."""
    tai = _as_int_array(tai_ns)
    table = leap_table()
    if not tai.size:
        return tai.copy()
    lo, hi = int(tai.min()), int(tai.max())
    if lo < int(table.tai_ns[0]):
        raise TimeValueError("TAI times before 1972-01-01T00:00:10 TAI are not supported")
    first = int(np.searchsorted(table.tai_ns, lo, side="right")) - 1
    # Fast path: every value in one offset interval, none inside the leap second ending it.
    if first + 1 == len(table.tai_ns) or hi < int(table.tai_ns[first + 1]) - NS_PER_S:
        return np.asarray(tai - table.offset_ns[first], dtype=np.int64)
    idx = np.searchsorted(table.tai_ns, tai, side="right") - 1
    utc = tai - table.offset_ns[idx]
    # Inside a leap second the candidate lands in the next day's first second.
    nxt = np.minimum(idx + 1, len(table.utc_ns) - 1)
    in_leap = (idx + 1 < len(table.utc_ns)) & (utc >= table.utc_ns[nxt])
    step = table.offset_ns[nxt] - table.offset_ns[idx]
    return np.where(in_leap, utc - step, utc)


def seconds_to_ns(seconds: npt.ArrayLike, *, checked: bool = False) -> IntArray:
    """Float seconds (SAL stamps) to integer ns, rounded to the microsecond.

    A float64 of ~1.7e9 s resolves ~0.24 µs, so finer digits would be noise.
    NaN or infinite values raise TimeValueError (``checked=True``: the caller
    has already made sure every value is finite and within ±9.2e9 s).
    """
    arr = np.asarray(seconds, dtype=np.float64)
    if checked:
        return np.round(arr * 1e6).astype(np.int64) * 1000
    if arr.size and not np.isfinite(arr).all():
        raise TimeValueError("time stamps in seconds must be finite numbers")
    if arr.size and np.abs(arr).max() > 9.2e9:
        raise TimeValueError("time stamps in seconds are out of range (beyond year 2262)")
    return np.round(arr * 1e6).astype(np.int64) * 1000
