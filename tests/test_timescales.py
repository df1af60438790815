"""UTC ↔ TAI conversion, checked against astropy across leap seconds."""

from __future__ import annotations

import calendar
import datetime as dt
import time
import warnings

import numpy as np
import pytest
from astropy.time import Time
from hypothesis import given, settings
from hypothesis import strategies as st

from openefd.errors import TimeValueError
from openefd.timescales import (
    NS_PER_S,
    UTC_EARLIEST_NS,
    leap_table,
    now_tai_ns,
    seconds_to_ns,
    tai_to_utc_ns,
    utc_offset_ns,
    utc_to_tai_ns,
)

LEAP_2016_UTC_NS = calendar.timegm((2017, 1, 1, 0, 0, 0)) * NS_PER_S
UTC_2100_NS = calendar.timegm((2100, 1, 1, 0, 0, 0)) * NS_PER_S
utc_ns = st.integers(min_value=UTC_EARLIEST_NS, max_value=UTC_2100_NS)
near_2016_leap = st.integers(
    min_value=LEAP_2016_UTC_NS - 5 * NS_PER_S, max_value=LEAP_2016_UTC_NS + 5 * NS_PER_S
)


def astropy_unix_tai(utc: int) -> float:
    """astropy's TAI for a POSIX UTC instant, given as an ISO string.

    (astropy's own ``unix`` format spreads a leap second over its whole day,
    so it is not POSIX time on such days; a calendar string is unambiguous.)
    """
    seconds, ns = divmod(utc, NS_PER_S)
    iso = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy's dubious-year warning for far futures
        return float(Time(f"{iso}.{ns:09d}", format="isot", scale="utc").unix_tai)


def test_offsets_known_values() -> None:
    assert int(utc_to_tai_ns(LEAP_2016_UTC_NS - 1)) - (LEAP_2016_UTC_NS - 1) == 36 * NS_PER_S
    assert int(utc_to_tai_ns(LEAP_2016_UTC_NS)) - LEAP_2016_UTC_NS == 37 * NS_PER_S
    assert int(utc_to_tai_ns(UTC_EARLIEST_NS)) - UTC_EARLIEST_NS == 10 * NS_PER_S
    assert len(leap_table().utc_ns) >= 28  # 1972 plus 27 leap seconds


@settings(max_examples=300)
@given(utc_ns)
def test_utc_to_tai_matches_astropy(utc: int) -> None:
    ours = int(utc_to_tai_ns(utc)) / NS_PER_S
    assert ours == pytest.approx(astropy_unix_tai(utc), abs=2e-6)


@settings(max_examples=300)
@given(near_2016_leap)
def test_utc_to_tai_across_2016_leap_second(utc: int) -> None:
    ours = int(utc_to_tai_ns(utc)) / NS_PER_S
    assert ours == pytest.approx(astropy_unix_tai(utc), abs=2e-6)


@given(utc_ns)
def test_utc_round_trip_is_exact(utc: int) -> None:
    assert int(tai_to_utc_ns(utc_to_tai_ns(utc))) == utc


@given(st.integers(min_value=int(utc_to_tai_ns(UTC_EARLIEST_NS)), max_value=UTC_2100_NS))
def test_tai_round_trip_exact_outside_leap_seconds(tai: int) -> None:
    table = leap_table()
    in_leap = np.any((tai >= table.tai_ns[1:] - NS_PER_S) & (tai < table.tai_ns[1:]))
    back = int(utc_to_tai_ns(tai_to_utc_ns(tai)))
    if in_leap:
        assert back == tai - NS_PER_S  # 23:59:60.x reads as 23:59:59.x
    else:
        assert back == tai


def test_inside_the_leap_second_utc_repeats_23_59_59() -> None:
    leap_tai = int(utc_to_tai_ns(LEAP_2016_UTC_NS)) - NS_PER_S  # 2016-12-31T23:59:60 UTC
    utc = tai_to_utc_ns(np.array([leap_tai, leap_tai + NS_PER_S // 2, leap_tai + NS_PER_S]))
    assert list(utc) == [
        LEAP_2016_UTC_NS - NS_PER_S,
        LEAP_2016_UTC_NS - NS_PER_S // 2,
        LEAP_2016_UTC_NS,
    ]
    iso = Time(leap_tai / NS_PER_S + 0.5, format="unix_tai", scale="tai").utc.isot
    assert iso == "2016-12-31T23:59:60.500"


@given(st.lists(utc_ns, min_size=2, max_size=50))
def test_tai_to_utc_is_monotonic(values: list[int]) -> None:
    tai = np.sort(utc_to_tai_ns(np.array(values)))
    assert np.all(np.diff(tai_to_utc_ns(tai)) >= 0)


def test_before_1972_is_rejected() -> None:
    with pytest.raises(TimeValueError, match="1972"):
        utc_to_tai_ns(UTC_EARLIEST_NS - 1)


def test_float_times_are_rejected() -> None:
    with pytest.raises(TimeValueError, match="integers"):
        utc_to_tai_ns(np.array([1.5]))


def test_seconds_to_ns_rounds_to_microseconds() -> None:
    assert list(seconds_to_ns([1.0000004, 1714532400.123456])) == [
        1_000_000_000,
        1_714_532_400_123_456_000,
    ]
    with pytest.raises(TimeValueError, match="finite"):
        seconds_to_ns([float("nan")])


def test_now_is_the_system_clock_in_tai() -> None:
    before = int(utc_to_tai_ns(time.time_ns())[()])
    now = now_tai_ns()
    after = int(utc_to_tai_ns(time.time_ns())[()])
    assert isinstance(now, int)
    assert before <= now <= after


@settings(max_examples=300, deadline=None)
@given(lo=st.one_of(near_2016_leap, utc_ns), width=st.integers(0, 3 * NS_PER_S))
def test_utc_offset_ns_is_the_one_offset_of_a_range_or_none(lo: int, width: int) -> None:
    hi = lo + width
    offset = utc_offset_ns(lo, hi)
    tai = utc_to_tai_ns(np.array([lo, hi]))
    if offset is None:  # only when a leap second starts inside the range
        assert tai[1] - hi != tai[0] - lo
    else:
        assert [int(tai[0]) - lo, int(tai[1]) - hi] == [offset, offset]


def test_utc_offset_ns_before_1972_is_none() -> None:
    assert utc_offset_ns(UTC_EARLIEST_NS - 1, UTC_EARLIEST_NS) is None
    assert utc_offset_ns(UTC_EARLIEST_NS, UTC_EARLIEST_NS) == 10 * NS_PER_S
