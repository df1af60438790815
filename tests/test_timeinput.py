"""User time values → canonical TAI ns; DataFrame indexes back."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from astropy.time import Time, TimeDelta
from hypothesis import given
from hypothesis import strategies as st

from openefd.errors import TimeValueError
from openefd.timeinput import duration_to_ns, tai_ns_to_astropy, tai_ns_to_index, to_tai_ns

T2020_TAI_NS = (1577836800 + 37) * 1_000_000_000  # 2020-01-01T00:00:00 UTC


@pytest.mark.parametrize(
    "value",
    [
        Time("2020-01-01T00:00:00", scale="utc"),
        Time("2020-01-01T00:00:37", scale="tai"),
        Time("2020-01-01T00:01:09.184", scale="tt"),
        dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2019, 12, 31, 21, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
        pd.Timestamp("2020-01-01", tz="UTC"),
        "2020-01-01T00:00:00",
        "2020-01-01 00:00:00",
        "2020-01-01T00:00:00Z",
        "2020-01-01T01:00:00+01:00",
    ],
)
def test_every_accepted_form_gives_the_same_instant(value: object) -> None:
    assert to_tai_ns(value) == T2020_TAI_NS


def test_leap_second_string() -> None:
    assert to_tai_ns("2016-12-31T23:59:60.5") == (1483228836 * 10**9) + 500_000_000


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (dt.datetime(2020, 1, 1), "naive"),
        (pd.Timestamp("2020-01-01"), "naive"),
        ("yesterday", "ISO 8601"),
        (1577836800, "unsupported"),
        (Time(["2020-01-01", "2020-01-02"]), "one time"),
    ],
)
def test_bad_times_say_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(TimeValueError, match=message):
        to_tai_ns(value, "start")


@given(st.integers(min_value=100_000_000 * 10**9, max_value=4_000_000_000 * 10**9))
def test_astropy_round_trip(tai_ns: int) -> None:
    assert abs(to_tai_ns(tai_ns_to_astropy(tai_ns)) - tai_ns) <= 1


def test_durations() -> None:
    assert duration_to_ns(TimeDelta(1.5, format="sec")) == 1_500_000_000
    assert duration_to_ns(dt.timedelta(minutes=1)) == 60 * 10**9
    assert duration_to_ns(pd.Timedelta("10ms")) == 10**7
    with pytest.raises(TimeValueError):
        duration_to_ns(5)


def test_index_scales() -> None:
    utc = tai_ns_to_index(np.array([T2020_TAI_NS]))
    assert str(utc.tz) == "UTC"
    assert utc[0] == pd.Timestamp("2020-01-01", tz="UTC")
    tai = tai_ns_to_index(np.array([T2020_TAI_NS]), "tai")
    assert tai.tz is None and tai.name == "time_tai"
    assert tai[0] == pd.Timestamp("2020-01-01T00:00:37")
    with pytest.raises(TimeValueError):
        tai_ns_to_index(np.array([T2020_TAI_NS]), "tt")


@pytest.mark.parametrize("value", ["1970-01-01T00:00:00", Time("1971-06-01", scale="utc")])
def test_times_before_1972_are_rejected(value: object) -> None:
    with pytest.raises(TimeValueError, match="before 1972"):
        to_tai_ns(value, "start")
