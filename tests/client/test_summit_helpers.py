"""``getEfdData`` and ``getMostRecentRowWithDataBefore`` against planted rows.

The store holds rows of ``MTMount.azimuth`` whose times are known exactly: a
one-minute grid over 2024-05-01T11:00Z … 2024-05-02T13:00Z plus rows on and
1 ns either side of each boundary that matters (noon UTC of both days, noon
TAI, an exposure's begin and end, a bias), with ``actualPosition`` numbering
them. ``ESS.temperature`` holds sparse rows of salIndex 1, 2 and 3 for the
as-of lookups. Every window is checked against the rows it must hold,
computed from the planted UTC times alone. Each behaviour is run on the
in-process client and on the HTTP client of a real ``openefd serve``, and
the two must give identical frames.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from astropy import units as u
from astropy.time import Time, TimeDelta
from hypothesis import given, settings
from hypothesis import strategies as st

from openefd.client import EfdClient, EfdClientSync, RemoteEfdClientSync
from openefd.client.summit_helpers import (
    TopicNotInSchemaError,
    day_obs_window_tai_ns,
    efd_data_window_tai_ns,
    getEfdData,
    getMostRecentRowWithDataBefore,
)
from openefd.errors import QueryError, TimeValueError, UnknownFieldError, UnknownTopicError
from openefd.ingest.exposure_loader import load_exposures
from openefd.server.app import create_app
from openefd.server.runner import serve_in_thread
from openefd.server.state import ServerState
from openefd.server.tokens import TokenBook
from openefd.settings import SchemaMode, Settings
from openefd.store.duckdb_store import Store
from openefd.timeinput import tai_ns_to_astropy, to_tai_ns
from openefd.timescales import NS_PER_S, tai_to_utc_ns, utc_to_tai_ns

AZ = "lsst.sal.MTMount.azimuth"
ESS = "lsst.sal.ESS.temperature"
EMPTY = "lsst.sal.MTMount.elevation"  # registered, never written
LOGGER = "openefd.client.summit_helpers"
ONE_NS = pd.Timedelta(1, "ns")
TWO_S = pd.Timedelta(2, "s")


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC")


NOON_1 = utc("2024-05-01T12:00:00Z")
NOON_2 = utc("2024-05-02T12:00:00Z")
NOON_TAI = utc("2024-05-01T11:59:23Z")  # 12:00:00 TAI (TAI − UTC = 37 s in 2024)
SCI_BEGIN = utc("2024-05-01T23:30:10.5Z")
SCI_END = utc("2024-05-01T23:30:40.5Z")
BIAS = utc("2024-05-01T23:31:00.25Z")
SCI_ID, BIAS_ID = 2024050100011, 2024050100012

AZ_TIMES = (
    pd.date_range("2024-05-01T11:00:00Z", "2024-05-02T13:00:00Z", freq="60s")
    .append(
        pd.DatetimeIndex(
            [
                *(NOON_1 - ONE_NS, NOON_1 + ONE_NS, NOON_2 - ONE_NS, NOON_2 + ONE_NS, NOON_TAI),
                *(SCI_BEGIN - TWO_S, SCI_BEGIN - ONE_NS, SCI_BEGIN),
                *(SCI_END, SCI_END + ONE_NS, SCI_END + TWO_S),
                *(BIAS - ONE_NS, BIAS, BIAS + ONE_NS),
            ]
        )
    )
    .sort_values()
    .as_unit("ns")
)
AZ_VALUES = np.arange(len(AZ_TIMES), dtype=np.float64)

ESS_1 = pd.date_range("2024-05-01T20:00:00Z", "2024-05-01T23:00:00Z", freq="5min")
ESS_2 = pd.DatetimeIndex([utc("2024-05-01T21:02:30Z"), utc("2024-05-01T21:47:30Z")])
ESS_3 = utc("2024-04-20T00:00:00Z")


def tai(ts: pd.Timestamp) -> int:
    return to_tai_ns(ts)


def expected(lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DatetimeIndex:
    """The planted azimuth rows with ``lo <= time <= hi``."""
    times = AZ_TIMES
    return times[(times >= lo) & (times <= hi)]


def assert_rows(frame: pd.DataFrame, lo: pd.Timestamp, hi: pd.Timestamp) -> None:
    want = expected(lo, hi)
    assert len(want) > 0
    assert str(frame.index.dtype) == "datetime64[ns, UTC]"
    assert list(frame.index) == list(want)
    positions = AZ_TIMES.get_indexer(want)
    np.testing.assert_array_equal(frame["actualPosition"].to_numpy(), AZ_VALUES[positions])


# --- the store, its server, the clients ---------------------------------------------


@dataclass(frozen=True)
class Planted:
    store: Store
    url: str


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory, template_store: Path) -> Iterator[Planted]:
    path = tmp_path_factory.mktemp("summit_helpers") / "store"
    shutil.copytree(template_store, path)
    settings_ = Settings(store=path, schema_mode=SchemaMode.STRICT)
    store = Store(path, settings=settings_)
    writer = EfdClientSync.from_store(store)
    writer.write(AZ, pd.DataFrame({"actualPosition": AZ_VALUES}, index=AZ_TIMES))
    ess_times = ESS_1.append(ESS_2).append(pd.DatetimeIndex([ESS_3])).as_unit("ns")
    n1, n2 = len(ESS_1), len(ESS_2)
    writer.write(
        ESS,
        pd.DataFrame(
            {
                "salIndex": [1] * n1 + [2] * n2 + [3],
                "private_identity": ["ESS:1"] * n1 + ["ESS:2"] * n2 + ["ESS:3"],
                "temperatureItem0": np.arange(n1 + n2 + 1, dtype=np.float64),
            },
            index=ess_times,
        ),
    )
    load_exposures(
        store,
        pd.DataFrame(
            {
                "instrument": ["LSSTCam", "LSSTCam"],
                "id": [SCI_ID, BIAS_ID],
                "day_obs": [20240501, 20240501],
                "observation_type": ["science", "bias"],
                "timespan_begin_tai_ns": [tai(SCI_BEGIN), tai(BIAS)],
                "timespan_end_tai_ns": [tai(SCI_END), tai(BIAS)],
            }
        ),
    )
    try:
        state = ServerState(store, settings_, TokenBook.for_store(path))  # no tokens: open
        with serve_in_thread(create_app(state)) as server:
            yield Planted(store, server.url)
    finally:
        store.close()


@pytest.fixture(scope="module")
def local(planted: Planted) -> EfdClientSync:
    return EfdClientSync.from_store(planted.store)


@pytest.fixture(scope="module")
def remote(planted: Planted) -> Iterator[EfdClientSync]:
    with EfdClientSync(planted.url) as client:
        assert isinstance(client, RemoteEfdClientSync)
        yield client


@pytest.fixture(scope="module", params=["in-process", "http"])
def efd(request: pytest.FixtureRequest, local: EfdClientSync, remote: EfdClientSync) -> Any:
    return local if request.param == "in-process" else remote


@pytest.fixture(scope="module")
def exposures(local: EfdClientSync) -> pd.DataFrame:
    frame = local.get_exposures(day_obs=20240501).set_index("exposure_id", drop=False)
    assert list(frame.index) == [SCI_ID, BIAS_ID]
    return frame


def butler_record(exposure_id: int, begin: pd.Timestamp, end: pd.Timestamp) -> Any:
    """A real ``lsst.daf.butler`` exposure record (its timespan: astropy Times in TAI)."""
    from lsst.daf.butler import DimensionUniverse, Timespan

    record_class = DimensionUniverse()["exposure"].RecordClass
    span = Timespan(tai_ns_to_astropy(tai(begin)), tai_ns_to_astropy(tai(end)))
    return record_class(instrument="LSSTCam", id=exposure_id, day_obs=20240501, timespan=span)


# --- windows: pure arithmetic ---------------------------------------------------------


def test_day_obs_is_noon_to_noon_utc() -> None:
    want = (tai(NOON_1), tai(NOON_2))
    for day in (20240501, "20240501", "2024-05-01"):
        assert day_obs_window_tai_ns(day) == want
        assert efd_data_window_tai_ns(dayObs=day) == want


def test_day_obs_holding_a_leap_second_lasts_86401_s() -> None:
    lo, hi = day_obs_window_tai_ns(20161231)
    assert hi - lo == 86_401 * NS_PER_S
    ends = tai_to_utc_ns(np.array([lo, hi], dtype=np.int64))
    assert list(pd.to_datetime(ends, utc=True)) == [
        utc("2016-12-31T12:00:00Z"),
        utc("2017-01-01T12:00:00Z"),
    ]


@pytest.mark.parametrize(
    "begin",
    [
        Time("2024-05-01T23:30:10.5", scale="utc"),
        Time("2024-05-01T23:30:47.5", scale="tai"),
        Time("2024-05-01T23:31:19.684", scale="tt"),
        "2024-05-01T23:30:10.5Z",
        "2024-05-01T20:30:10.5-03:00",
        dt.datetime(2024, 5, 1, 23, 30, 10, 500000, tzinfo=dt.UTC),
        SCI_BEGIN,
    ],
    ids=["utc", "tai", "tt", "iso", "offset", "datetime", "timestamp"],
)
def test_begin_in_any_scale_or_form(begin: Any) -> None:
    lo, hi = efd_data_window_tai_ns(begin=begin, timespan=TimeDelta(30, format="sec"))
    assert (lo, hi) == (tai(SCI_BEGIN), tai(SCI_END))


@pytest.mark.parametrize(
    "span",
    [
        TimeDelta(30, format="sec"),
        dt.timedelta(seconds=30),
        pd.Timedelta(30, "s"),
        0.5 * u.min,
    ],
    ids=["TimeDelta", "timedelta", "Timedelta", "Quantity"],
)
def test_timespan_forms_and_sign(span: Any) -> None:
    assert efd_data_window_tai_ns(begin=SCI_BEGIN, timespan=span) == (tai(SCI_BEGIN), tai(SCI_END))
    # A negative timespan is the span that ends at begin.
    assert efd_data_window_tai_ns(begin=SCI_END, timespan=-span) == (tai(SCI_BEGIN), tai(SCI_END))


def test_zero_timespan_is_the_instant() -> None:
    got = efd_data_window_tai_ns(begin=BIAS, timespan=TimeDelta(0, format="sec"))
    assert got == (tai(BIAS), tai(BIAS))


@pytest.mark.parametrize(
    "pad", [2, 2.0, TimeDelta(2, format="sec"), dt.timedelta(seconds=2), 2 * u.s]
)
def test_padding_in_seconds_or_a_duration(pad: Any) -> None:
    got = efd_data_window_tai_ns(begin=SCI_BEGIN, end=SCI_END, prePadding=pad, postPadding=pad)
    assert got == (tai(SCI_BEGIN - TWO_S), tai(SCI_END + TWO_S))


def test_butler_record_window_and_its_bias_convention() -> None:
    sci = butler_record(SCI_ID, SCI_BEGIN, SCI_END)
    assert efd_data_window_tai_ns(expRecord=sci) == (tai(SCI_BEGIN), tai(SCI_END))
    # The butler stores an empty timespan as [begin, begin + 1 ns).
    bias = butler_record(BIAS_ID, BIAS, BIAS)
    assert efd_data_window_tai_ns(expRecord=bias) == (tai(BIAS), tai(BIAS) + 1)


_EXP = {"timespan_begin_tai_ns": 1, "timespan_end_tai_ns": 2}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"expRecord": _EXP, "begin": SCI_BEGIN}, "both an expRecord and begin"),
        ({"expRecord": _EXP, "dayObs": 20240501}, "both an expRecord and dayObs"),
        ({"expRecord": _EXP, "event": SimpleNamespace()}, "both an expRecord and event"),
        ({"event": SimpleNamespace(), "dayObs": 20240501}, "both an event and dayObs"),
        ({"dayObs": 20240501, "begin": SCI_BEGIN}, "both a dayObs and begin"),
        ({"dayObs": 20240501, "timespan": TWO_S}, "both a dayObs and timespan"),
        ({}, "must specify either a dayObs"),
        ({"end": SCI_END}, "must specify either a dayObs"),
        ({"timespan": TWO_S}, "must specify either a dayObs"),
        ({"begin": SCI_BEGIN}, "either an end or a timespan"),
        ({"begin": SCI_BEGIN, "end": SCI_END, "timespan": TWO_S}, "both an end and a timespan"),
    ],
)
def test_illegal_combinations(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(QueryError, match=message) as caught:
        efd_data_window_tai_ns(**kwargs)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"begin": dt.datetime(2024, 5, 1), "end": SCI_END}, TimeValueError, "naive"),
        (
            {"begin": Time([60000.0, 60001.0], format="mjd"), "end": SCI_END},
            TimeValueError,
            "one time",
        ),
        ({"begin": 1714606247, "end": SCI_END}, TimeValueError, "unsupported time"),
        ({"begin": SCI_BEGIN, "timespan": 30}, TimeValueError, "not a duration"),
        ({"begin": SCI_BEGIN, "timespan": 3 * u.m}, TimeValueError, "one duration"),
        ({"begin": SCI_END, "end": SCI_BEGIN}, QueryError, "ends before it begins"),
        ({"begin": SCI_BEGIN, "end": SCI_END, "prePadding": -31}, QueryError, "before it begins"),
        ({"begin": SCI_BEGIN, "end": SCI_END, "prePadding": math.nan}, TimeValueError, "finite"),
        ({"begin": SCI_BEGIN, "end": SCI_END, "postPadding": True}, TimeValueError, "seconds"),
        ({"begin": SCI_BEGIN, "end": SCI_END, "postPadding": "2"}, TimeValueError, "duration"),
        ({"begin": SCI_BEGIN, "end": SCI_END, "postPadding": 1e12}, TimeValueError, "2262"),
        ({"dayObs": 20240231}, QueryError, "not a valid date"),
        ({"dayObs": "yesterday"}, QueryError, "YYYYMMDD"),
        ({"dayObs": 19600101}, TimeValueError, "before 1972"),
        ({"expRecord": "2024050100011"}, QueryError, "exposure record with a timespan"),
        ({"expRecord": {"exposure_id": 1}}, QueryError, "needs timespan_begin_tai_ns"),
        (
            {"expRecord": {"timespan_begin_tai_ns": pd.NA, "timespan_end_tai_ns": 2}},
            QueryError,
            "not known",
        ),
        (
            {"expRecord": {"timespan_begin_tai_ns": 1.5, "timespan_end_tai_ns": 2}},
            QueryError,
            "integers",
        ),
        ({"expRecord": pd.DataFrame([_EXP, _EXP])}, QueryError, "a frame of 2 exposures"),
        (
            {"expRecord": SimpleNamespace(timespan=SimpleNamespace(begin=None, end=None))},
            QueryError,
            "unbounded",
        ),
        ({"event": SimpleNamespace(begin=SCI_BEGIN)}, QueryError, "begin and end"),
    ],
)
def test_bad_values(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message) as caught:
        efd_data_window_tai_ns(**kwargs)
    assert isinstance(caught.value, ValueError)


_UTC_NS = st.integers(
    int(pd.Timestamp("2000-01-01T00:00Z").value), int(pd.Timestamp("2100-01-01T00:00Z").value)
)
_DAY_NS = 86_400 * NS_PER_S


@settings(max_examples=300, deadline=None)
@given(
    begin=_UTC_NS,
    span_ns=st.integers(-10 * _DAY_NS, 10 * _DAY_NS),
    pre_ms=st.integers(-(10**6), 10**7),
    post_ms=st.integers(-(10**6), 10**7),
)
def test_window_arithmetic(begin: int, span_ns: int, pre_ms: int, post_ms: int) -> None:
    start = int(utc_to_tai_ns(np.int64(begin)))
    lo = min(start, start + span_ns) - pre_ms * 1_000_000
    hi = max(start, start + span_ns) + post_ms * 1_000_000
    kwargs: dict[str, Any] = {
        "begin": pd.Timestamp(begin, tz="UTC"),
        "timespan": pd.Timedelta(span_ns, "ns"),
        "prePadding": pre_ms / 1000,
        "postPadding": post_ms / 1000,
    }
    if lo > hi:
        with pytest.raises(QueryError, match="ends before it begins"):
            efd_data_window_tai_ns(**kwargs)
    else:
        assert efd_data_window_tai_ns(**kwargs) == (lo, hi)


@settings(max_examples=300, deadline=None)
@given(instant=_UTC_NS)
def test_day_obs_holds_every_instant_of_its_utc_minus_12h_date(instant: int) -> None:
    day = int((pd.Timestamp(instant, tz="UTC") - pd.Timedelta(12, "h")).strftime("%Y%m%d"))
    lo, hi = day_obs_window_tai_ns(day)
    assert lo <= int(utc_to_tai_ns(np.int64(instant))) <= hi
    starts = tai_to_utc_ns(np.array([lo, hi], dtype=np.int64))
    assert all(int(s) % _DAY_NS == 12 * 3600 * NS_PER_S for s in starts)
    assert hi - lo in (_DAY_NS, _DAY_NS + NS_PER_S)  # a leap second makes 86 401 s


@settings(max_examples=200, deadline=None)
@given(
    begin=st.integers(1_000_000_000 * NS_PER_S, 4_000_000_000 * NS_PER_S),
    length=st.integers(0, _DAY_NS),
    pre_ms=st.integers(0, 10**6),
    post_ms=st.integers(0, 10**6),
)
def test_registry_row_window(begin: int, length: int, pre_ms: int, post_ms: int) -> None:
    row = pd.Series({"timespan_begin_tai_ns": begin, "timespan_end_tai_ns": begin + length})
    got = efd_data_window_tai_ns(
        expRecord=row, prePadding=pre_ms / 1000, postPadding=post_ms / 1000
    )
    assert got == (begin - pre_ms * 1_000_000, begin + length + post_ms * 1_000_000)


# --- getEfdData on the planted rows -------------------------------------------------


def test_day_obs_selects_noon_to_noon_both_ends(efd: EfdClientSync) -> None:
    frame = getEfdData(efd, AZ, dayObs=20240501)
    assert_rows(frame, NOON_1, NOON_2)
    assert frame.index[0] == NOON_1 and frame.index[-1] == NOON_2
    assert NOON_TAI not in frame.index and NOON_1 - ONE_NS not in frame.index
    before = getEfdData(efd, AZ, dayObs="2024-04-30")
    assert_rows(before, utc("2024-04-30T12:00:00Z"), NOON_1)
    assert NOON_TAI in before.index and before.index[-1] == NOON_1  # noon is in both days


def test_begin_end_both_included_any_scale(efd: EfdClientSync) -> None:
    begin = Time(SCI_BEGIN.to_pydatetime()).tai  # TAI scale, same instant
    end = Time(SCI_END.tz_localize(None).isoformat(), scale="utc")
    frame = getEfdData(efd, AZ, begin=begin, end=end)
    assert_rows(frame, SCI_BEGIN, SCI_END)
    assert frame.index[0] == SCI_BEGIN and frame.index[-1] == SCI_END


def test_negative_timespan_ends_at_begin(efd: EfdClientSync) -> None:
    frame = getEfdData(efd, AZ, begin=NOON_2, timespan=-TimeDelta(600, format="sec"))
    assert_rows(frame, NOON_2 - pd.Timedelta(600, "s"), NOON_2)
    assert len(frame) == 12  # grid rows 11:50 … 12:00, and 12:00 − 1 ns


def test_padding_widens_both_ends(efd: EfdClientSync) -> None:
    frame = getEfdData(efd, AZ, begin=SCI_BEGIN, end=SCI_END, prePadding=2, postPadding=2.0)
    assert_rows(frame, SCI_BEGIN - TWO_S, SCI_END + TWO_S)
    assert frame.index[0] == SCI_BEGIN - TWO_S and frame.index[-1] == SCI_END + TWO_S
    narrow = getEfdData(efd, AZ, begin=SCI_BEGIN, end=SCI_END, prePadding=-1e-9, postPadding=-1e-9)
    assert SCI_BEGIN not in narrow.index and SCI_END not in narrow.index


def test_exp_record_from_the_registry(efd: EfdClientSync, exposures: pd.DataFrame) -> None:
    row = exposures.loc[SCI_ID]
    frame = getEfdData(efd, AZ, expRecord=row)
    assert_rows(frame, SCI_BEGIN, SCI_END)
    assert frame.index[-1] == SCI_END  # the end is included, as summit_utils selects
    pd.testing.assert_frame_equal(getEfdData(efd, AZ, expRecord=row.to_dict()), frame)
    pd.testing.assert_frame_equal(getEfdData(efd, AZ, expRecord=exposures.loc[[SCI_ID]]), frame)
    padded = getEfdData(efd, AZ, expRecord=row, prePadding=2, postPadding=2)
    assert_rows(padded, SCI_BEGIN - TWO_S, SCI_END + TWO_S)
    bias = getEfdData(efd, AZ, expRecord=exposures.loc[BIAS_ID])
    assert list(bias.index) == [BIAS]


def test_exp_record_from_the_butler(efd: EfdClientSync, exposures: pd.DataFrame) -> None:
    frame = getEfdData(efd, AZ, expRecord=butler_record(SCI_ID, SCI_BEGIN, SCI_END))
    pd.testing.assert_frame_equal(frame, getEfdData(efd, AZ, expRecord=exposures.loc[SCI_ID]))
    bias = getEfdData(efd, AZ, expRecord=butler_record(BIAS_ID, BIAS, BIAS))
    assert list(bias.index) == [BIAS, BIAS + ONE_NS]  # the butler's [begin, begin + 1 ns)


def test_exp_record_and_event_duck_typed(efd: EfdClientSync) -> None:
    span = SimpleNamespace(
        begin=Time(SCI_BEGIN.to_pydatetime()), end=Time(SCI_END.to_pydatetime()).tt
    )
    frame = getEfdData(efd, AZ, expRecord=SimpleNamespace(timespan=span), columns="actualPosition")
    assert_rows(frame, SCI_BEGIN, SCI_END)
    assert list(frame.columns) == ["actualPosition"]
    event = SimpleNamespace(begin=span.begin, end=span.end)
    pd.testing.assert_frame_equal(
        getEfdData(efd, AZ, event=event, columns=["actualPosition"]), frame
    )


def test_columns_default_to_every_field(efd: EfdClientSync) -> None:
    every = getEfdData(efd, AZ, begin=SCI_BEGIN, end=SCI_END)
    assert set(every.columns) == set(efd.get_fields(AZ))
    some = getEfdData(
        efd, AZ, begin=SCI_BEGIN, end=SCI_END, columns=["actualPosition", "demandPosition"]
    )
    assert list(some.columns) == ["actualPosition", "demandPosition"]
    assert some["demandPosition"].isna().all()  # planted without it
    with pytest.raises(UnknownFieldError, match="noSuchField"):
        getEfdData(efd, AZ, begin=SCI_BEGIN, end=SCI_END, columns=["noSuchField"])


def test_empty_window_warns(efd: EfdClientSync, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        frame = getEfdData(efd, EMPTY, dayObs=20240501)
    assert frame.empty and "actualPosition" in frame.columns
    assert str(frame.index.dtype) == "datetime64[ns, UTC]"
    assert [r.getMessage() for r in caplog.records] == [
        f"Topic {EMPTY} is in the schema, but no data was returned by the query for the "
        "specified time range (2024-05-01T12:00:00+00:00 to 2024-05-02T12:00:00+00:00 UTC)"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert getEfdData(efd, AZ, dayObs=20240601, warn=False).empty
    assert caplog.records == []


def test_topic_not_in_schema(efd: EfdClientSync, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(
        TopicNotInSchemaError, match="Topic lsst.sal.Nope.topic not in EFD schema"
    ) as caught:
        getEfdData(efd, "lsst.sal.Nope.topic", dayObs=20240501)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, UnknownTopicError)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        frame = getEfdData(
            efd, "lsst.sal.Nope.topic", dayObs=20240501, raiseIfTopicNotInSchema=False
        )
    assert frame.empty and str(frame.index.dtype) == "datetime64[ns, UTC]"
    assert [r.getMessage() for r in caplog.records] == [
        "Topic lsst.sal.Nope.topic is not in the schema: no data was returned"
    ]


def test_any_openefd_client(local: EfdClientSync, planted: Planted) -> None:
    want = getEfdData(local, AZ, dayObs=20240501)
    pd.testing.assert_frame_equal(
        getEfdData(EfdClient.from_store(planted.store), AZ, dayObs=20240501), want
    )
    with pytest.raises(QueryError, match="must be an openefd EfdClientSync"):
        getEfdData(object(), AZ, dayObs=20240501)  # type: ignore[arg-type]


# --- getMostRecentRowWithDataBefore -----------------------------------------------


def test_most_recent_row_at_or_before(efd: EfdClientSync) -> None:
    at = utc("2024-05-01T22:05:00Z")
    row = getMostRecentRowWithDataBefore(efd, ESS, Time(at.to_pydatetime()))
    assert isinstance(row, pd.Series)
    assert row.name == at and Time(row.name).isot == "2024-05-01T22:05:00.000"
    assert row["salIndex"] == 1 and row["private_identity"] == "ESS:1"
    assert set(row.index) == set(efd.get_fields(ESS))
    earlier = getMostRecentRowWithDataBefore(efd, ESS, at - ONE_NS)
    assert earlier.name == utc("2024-05-01T22:00:00Z")
    # The same row getEfdData's frame ends with.
    frame = getEfdData(efd, AZ, begin=SCI_BEGIN - TWO_S, end=SCI_END)
    last = getMostRecentRowWithDataBefore(efd, AZ, SCI_END)
    assert last.name == frame.index[-1] == SCI_END
    assert last["actualPosition"] == frame["actualPosition"].iloc[-1]


def test_max_search_is_the_exact_look_back(efd: EfdClientSync) -> None:
    at = utc("2024-05-01T20:07:00Z")  # salIndex 1 rows at 20:05 and 20:10
    assert getMostRecentRowWithDataBefore(efd, ESS, at, maxSearchNMinutes=2).name == utc(
        "2024-05-01T20:05:00Z"
    )
    with pytest.raises(
        QueryError, match=r"no data in .* within 1.99 minutes at or before"
    ) as caught:
        getMostRecentRowWithDataBefore(efd, ESS, at, maxSearchNMinutes=1.99)
    assert isinstance(caught.value, ValueError)
    exact = utc("2024-05-01T20:10:00Z")
    assert getMostRecentRowWithDataBefore(efd, ESS, exact, maxSearchNMinutes=0).name == exact


def test_nothing_before_is_an_error(efd: EfdClientSync) -> None:
    with pytest.raises(
        QueryError, match=r"no data in lsst.sal.MTMount.azimuth at or before 2024-05-01T10:59:00"
    ):
        getMostRecentRowWithDataBefore(efd, AZ, utc("2024-05-01T10:59:00Z"))
    with pytest.raises(QueryError, match="no data in lsst.sal.MTMount.elevation"):
        getMostRecentRowWithDataBefore(efd, EMPTY, utc("2024-05-01T12:00:00Z"))


def test_stale_row_warns(efd: EfdClientSync, caplog: pytest.LogCaptureFixture) -> None:
    late = utc("2024-05-02T11:00:01Z")  # 12 h 0 m 1 s after the last ESS row
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        row = getMostRecentRowWithDataBefore(efd, ESS, late)
    assert row.name == utc("2024-05-01T23:00:00Z")
    assert [r.getMessage() for r in caplog.records] == [
        f"Component {ESS} was last set 720.0 minutes before the requested time"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        getMostRecentRowWithDataBefore(efd, ESS, late - TWO_S)
        getMostRecentRowWithDataBefore(efd, ESS, late, warnStaleAfterNMinutes=721)
        getMostRecentRowWithDataBefore(efd, ESS, row.name, warnStaleAfterNMinutes=0)
    assert caplog.records == []


@pytest.mark.parametrize(
    "where",
    [
        {"salIndex": 2},
        {"private_identity": "ESS:2"},
        lambda df: df["salIndex"] == 2,
        lambda df: (df["private_identity"] == "ESS:2").to_list(),
    ],
    ids=["salIndex", "identity", "callable", "list"],
)
def test_where_picks_the_newest_matching_row(efd: EfdClientSync, where: Any) -> None:
    at = utc("2024-05-01T23:00:00Z")  # newest row: salIndex 1 at 23:00
    row = getMostRecentRowWithDataBefore(efd, ESS, at, where=where)
    assert row.name == utc("2024-05-01T21:47:30Z") and row["salIndex"] == 2
    # 72.5 minutes back: beyond a one-hour look-back.
    with pytest.raises(QueryError, match="no data matching `where` in .* within 60 minutes"):
        getMostRecentRowWithDataBefore(efd, ESS, at, where=where, maxSearchNMinutes=60)
    assert (
        getMostRecentRowWithDataBefore(efd, ESS, at, where=where, maxSearchNMinutes=73).name
        == row.name
    )


def test_where_searches_far_back_and_fails_clearly(efd: EfdClientSync) -> None:
    at = utc("2024-05-01T23:00:00Z")
    old = getMostRecentRowWithDataBefore(efd, ESS, at, where=lambda df: df["salIndex"] == 3)
    assert old.name == ESS_3
    assert getMostRecentRowWithDataBefore(efd, ESS, at, where={"salIndex": 3}).name == ESS_3
    with pytest.raises(
        QueryError, match="no data matching `where` in lsst.sal.ESS.temperature at or"
    ):
        getMostRecentRowWithDataBefore(efd, ESS, at, where=lambda df: df["salIndex"] == 4)
    with pytest.raises(QueryError, match="no data matching `where`"):
        getMostRecentRowWithDataBefore(efd, ESS, at, where={"salIndex": 4})


@pytest.mark.parametrize(
    ("where", "error", "message"),
    [
        (lambda df: df["temperatureItem0"], QueryError, "booleans"),
        (lambda df: [True, False], QueryError, "one boolean per row"),
        (lambda df: 1, QueryError, "booleans"),
        ({"noSuchField": 1}, UnknownFieldError, "noSuchField"),
        (5, QueryError, "callable"),
    ],
)
def test_bad_where(efd: EfdClientSync, where: Any, error: type[Exception], message: str) -> None:
    at = utc("2024-05-01T23:00:00Z")
    with pytest.raises(error, match=message):
        # A row of salIndex 1 is found first, so every where is tried on rows.
        getMostRecentRowWithDataBefore(efd, ESS, at, where=where, maxSearchNMinutes=20)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"warnStaleAfterNMinutes": -1}, "≥ 0"),
        ({"warnStaleAfterNMinutes": "12h"}, "number of minutes"),
        ({"maxSearchNMinutes": math.inf}, "finite"),
        ({"maxSearchNMinutes": True}, "number of minutes"),
    ],
)
def test_bad_minutes(efd: EfdClientSync, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(QueryError, match=message):
        getMostRecentRowWithDataBefore(efd, ESS, utc("2024-05-01T23:00:00Z"), **kwargs)


def test_most_recent_topic_not_in_schema(efd: EfdClientSync) -> None:
    at = utc("2024-05-01T23:00:00Z")
    with pytest.raises(TopicNotInSchemaError, match="not in EFD schema"):
        getMostRecentRowWithDataBefore(efd, "lsst.sal.Nope.topic", at)
    with pytest.raises(QueryError, match="no data in lsst.sal.Nope.topic") as caught:
        getMostRecentRowWithDataBefore(
            efd, "lsst.sal.Nope.topic", at, raiseIfTopicNotInSchema=False
        )
    assert not isinstance(caught.value, UnknownTopicError)
    with pytest.raises(TimeValueError, match="timeToLookBefore"):
        getMostRecentRowWithDataBefore(efd, ESS, dt.datetime(2024, 5, 1))


# --- one query each ---------------------------------------------------------------


class CountingClient(EfdClientSync):
    """The in-process client, counting the canonical-layer calls the helpers make."""

    calls: list[str]

    def select_range_tai(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        self.calls.append("range")
        return super().select_range_tai(*args, **kwargs)

    def select_asof_tai(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        self.calls.append("asof")
        return super().select_asof_tai(*args, **kwargs)

    def get_topics(self) -> list[str]:
        self.calls.append("topics")
        return super().get_topics()


@pytest.mark.parametrize(
    ("call", "calls"),
    [
        (lambda c: getEfdData(c, AZ, dayObs=20240501, prePadding=5), ["range"]),
        (lambda c: getEfdData(c, EMPTY, dayObs=20240501, warn=False), ["range"]),
        (lambda c: getMostRecentRowWithDataBefore(c, ESS, NOON_2), ["asof"]),
        (
            lambda c: getMostRecentRowWithDataBefore(c, ESS, NOON_2, where={"salIndex": 2}),
            ["asof"],
        ),
        (
            lambda c: getMostRecentRowWithDataBefore(
                c, ESS, NOON_2, where=lambda d: d.salIndex < 2
            ),
            ["asof"],
        ),
        # A callable refusing the newest row: range queries of 15 min, 4 h, then 64 h.
        (
            lambda c: getMostRecentRowWithDataBefore(
                c, ESS, NOON_2, where=lambda d: d.salIndex == 2
            ),
            ["asof", "range", "range", "range"],
        ),
    ],
)
def test_one_query_each(planted: Planted, call: Callable[[Any], Any], calls: list[str]) -> None:
    client = CountingClient.from_store(planted.store)
    assert isinstance(client, CountingClient)
    client.calls = []
    call(client)
    assert client.calls == calls


# --- the same answers over HTTP ---------------------------------------------------


CALLS: list[tuple[str, Callable[[Any], Any]]] = [
    ("dayObs", lambda c: getEfdData(c, AZ, dayObs=20240501)),
    (
        "padded",
        lambda c: getEfdData(c, AZ, begin=SCI_BEGIN, end=SCI_END, prePadding=2, postPadding=2),
    ),
    (
        "timespan",
        lambda c: getEfdData(c, AZ, begin=NOON_2, timespan=-TimeDelta(900, format="sec")),
    ),
    ("record", lambda c: getEfdData(c, AZ, expRecord=butler_record(BIAS_ID, BIAS, BIAS))),
    (
        "columns",
        lambda c: getEfdData(c, ESS, dayObs=20240501, columns=["salIndex", "temperatureItem0"]),
    ),
    ("empty", lambda c: getEfdData(c, EMPTY, dayObs=20240501, warn=False)),
    ("unknown", lambda c: getEfdData(c, "lsst.sal.Nope.topic", dayObs=20240501)),
    ("bad column", lambda c: getEfdData(c, AZ, dayObs=20240501, columns="nope")),
    ("row", lambda c: getMostRecentRowWithDataBefore(c, ESS, NOON_2)),
    (
        "row where",
        lambda c: getMostRecentRowWithDataBefore(c, ESS, NOON_2, where=lambda d: d.salIndex == 2),
    ),
    ("row none", lambda c: getMostRecentRowWithDataBefore(c, ESS, ESS_3 - ONE_NS)),
]


@pytest.mark.parametrize("call", [c for _, c in CALLS], ids=[n for n, _ in CALLS])
def test_http_gives_what_in_process_gives(
    local: EfdClientSync, remote: EfdClientSync, call: Callable[[Any], Any]
) -> None:
    def outcome(client: EfdClientSync) -> Any:
        try:
            return call(client)
        except Exception as exc:  # the error itself is the outcome compared
            return exc

    want, got = outcome(local), outcome(remote)
    assert type(got) is type(want)
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    elif isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want, check_exact=True)
        assert got.name == want.name
    else:
        assert isinstance(want, Exception) and str(got) == str(want)


# --- the guide's worked example runs ----------------------------------------------


DOC = Path(__file__).resolve().parents[2] / "docs" / "summit-helpers.md"
BLOCK = re.compile(r"(<!-- not run -->\n)?```python\n(.*?)```", re.DOTALL)


def test_guide_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import doctest

    monkeypatch.chdir(tmp_path)
    blocks = [b for skip, b in BLOCK.findall(DOC.read_text()) if not skip and ">>>" in b]
    assert blocks, "no runnable example in the guide"
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    globs: dict[str, object] = {}
    for i, block in enumerate(blocks):
        test = parser.get_doctest(block, globs, f"summit-helpers.md[{i}]", str(DOC), 0)
        result = runner.run(test, clear_globs=False)
        assert result.failed == 0, f"block {i} of {DOC.name} failed (see the output above)"
        globs = test.globs  # a DocTest works on a copy: carry the names to the next block
