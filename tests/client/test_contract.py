"""One contract for every client flavour: in-process and over HTTP, blocking and async.

Each case is a call of the public API with its argument variants. Every
flavour must give what the in-process client gives on the same store — the
same DataFrame (index, columns, dtypes, values: ``assert_frame_equal``), the
same list, or the same error class with the same message — and each case
also asserts facts about its result, so the in-process flavour is checked
too. The HTTP flavours talk to a real uvicorn server on 127.0.0.1 serving the
very store the in-process client reads. The store also holds a simulated
quarter hour of exposures and image arrivals (day_obs 20240501, seed 1) for
the exposure registry's methods and the latency report.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from astropy.time import Time, TimeDelta

from openefd.analysis.latency import LatencyReport
from openefd.client import EfdClient, EfdClientSync, RemoteEfdClientSync
from openefd.errors import (
    ConfigurationError,
    LineProtocolError,
    QueryError,
    RecordError,
    TimeValueError,
    UnknownFieldError,
    UnknownTopicError,
)
from openefd.ingest.exposure_loader import load_exposures
from openefd.ingest.writer import WriteResult
from openefd.sample import sample_topics
from openefd.server.app import create_app
from openefd.server.runner import serve_in_thread
from openefd.server.state import ServerState
from openefd.server.tokens import TokenBook
from openefd.settings import SchemaMode, Settings
from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures as stored_exposures

AZ = "lsst.sal.MTMount.azimuth"
EL = "lsst.sal.MTMount.elevation"
ESS = "lsst.sal.ESS.temperature"
HEARTBEAT = "lsst.sal.MTMount.logevent_heartbeat"
M1M3 = "lsst.sal.MTM1M3.forceActuatorData"
ACCEL = "lsst.sal.MTM1M3.accelerometerData"
START = Time("2024-05-01T03:10:00", scale="utc")
SEC = TimeDelta(1, format="sec")
PACKED_T0 = 1714532437.0  # TAI unix s: 2024-05-01T03:00:00 UTC
FLAVOURS = ["in-process", "in-process-async", "http", "http-async"]
DAY = 20240501  # the simulated quarter hour from 2024-05-01T23:30Z: 27 exposures
FIRST_BIAS = 2024050100001  # an empty timespan at 2024-05-01T23:30:45 UTC
SCIENCE = [2024050100011 + i for i in range(17)]


class AsyncAdapter:
    """Runs every EfdClient coroutine to completion, so one suite tests both APIs."""

    def __init__(self, client: EfdClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return asyncio.run(method(*args, **kwargs))

        return call


@dataclass(frozen=True)
class Served:
    store: Store
    url: str


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, template_store: Path, sal_xml_dir: Path
) -> Iterator[Served]:
    """The sample night, a packed topic and a simulated quarter hour's exposures and image
    arrivals in a store, served on 127.0.0.1."""
    path = tmp_path_factory.mktemp("contract") / "store"
    shutil.copytree(template_store, path)
    settings = Settings(store=path, schema_mode=SchemaMode.STRICT)
    store = Store(path, settings=settings)
    writer = EfdClientSync.from_store(store)
    for topic, frame in sample_topics(hours=0.5, mount_hz=10).items():
        writer.write(topic, frame)
    rows, n = 6, 8
    writer.write(
        ACCEL,
        pd.DataFrame(
            {
                "timestamp": PACKED_T0 + np.arange(rows) * 0.5,
                "private_sndStamp": PACKED_T0 + np.arange(rows) * 0.5,
                **{f"rawAccelerometer{i}": np.arange(rows) * 10.0 + i for i in range(n)},
                **{f"accelerometer{i}": np.arange(rows) * -1.0 - i for i in range(n)},
            }
        ),
    )
    sim = NightSimulator(
        SimConfig(sal_xml_dir, "2024-05-01T23:30:00Z", hours=0.25, seed=1, profile=Profile.DEMO)
    )
    load_exposures(store, sim.exposures(), sim.arrivals())
    try:
        state = ServerState(store, settings, TokenBook.for_store(path))  # no tokens: open
        with serve_in_thread(create_app(state)) as server:
            yield Served(store, server.url)
    finally:
        store.close()


@pytest.fixture(scope="module")
def reference(served: Served) -> EfdClientSync:
    """The in-process client every flavour must agree with."""
    return EfdClientSync.from_store(served.store)


@pytest.fixture(scope="module", params=FLAVOURS)
def efd(request: pytest.FixtureRequest, served: Served) -> Iterator[Any]:
    if request.param == "in-process":
        yield EfdClientSync.from_store(served.store)
    elif request.param == "in-process-async":
        yield AsyncAdapter(EfdClient.from_store(served.store))
    elif request.param == "http":
        with EfdClientSync(served.url) as remote:
            assert isinstance(remote, RemoteEfdClientSync)
            yield remote
    else:
        client = EfdClient(served.url)
        assert isinstance(client.sync, RemoteEfdClientSync)
        yield AsyncAdapter(client)
        client.close()


def assert_same(got: Any, want: Any) -> None:
    """Results equal in every respect a caller can see."""
    assert type(got) is type(want)
    if isinstance(want, LatencyReport):
        for name in LatencyReport.__dataclass_fields__:
            assert_same(getattr(got, name), getattr(want, name))
    elif isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert list(got.dtypes) == list(want.dtypes)
        assert type(got.index) is type(want.index) and got.index.name == want.index.name
        assert got.columns.dtype == want.columns.dtype and got.index.dtype == want.index.dtype
    else:
        assert got == want


@dataclass(frozen=True)
class Case:
    """A call of the public API, facts about its result, or the error it must raise."""

    id: str
    call: Callable[[Any], Any]
    check: Callable[[Any], object] | None = None
    raises: type[Exception] | None = None
    match: str | None = None


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def _frame_check(
    columns: list[str] | None = None,
    rows: int | None = None,
    index: str = "datetime64[ns, UTC]",
    **dtypes: str,
) -> Callable[[Any], None]:
    def check(frame: Any) -> None:
        assert isinstance(frame, pd.DataFrame)
        if columns is not None:
            assert list(frame.columns) == columns
        if rows is not None:
            assert len(frame) == rows
        assert str(frame.index.dtype) == index
        for name, dtype in dtypes.items():
            assert str(frame[name].dtype) == dtype, name

    return check


def _schema_check(frame: Any) -> None:
    assert list(frame.columns) == ["name", "description", "units", "aunits", "is_array"]
    row = frame.set_index("name").loc["temperatureItem"]
    assert row["is_array"] and row["units"] == "deg_C" and str(row["aunits"]) == "deg_C"
    assert frame["description"].dtype == object and frame["aunits"].dtype == object
    assert frame["units"].map(type).isin([str, type(None)]).all()


def _ids(frame: Any) -> list[int]:
    return [int(i) for i in frame["exposure_id"]]


def _registry_check(rows: int, ids: list[int] | None = None) -> Callable[[Any], None]:
    """A registry frame: default index, nullable integer times, ``rows`` rows."""

    def check(frame: Any) -> None:
        assert isinstance(frame, pd.DataFrame) and len(frame) == rows
        assert isinstance(frame.index, pd.RangeIndex)
        assert str(frame["exposure_id"].dtype) == "Int64"
        if "timespan_begin_tai_ns" in frame.columns:
            assert str(frame["timespan_end_tai_ns"].dtype) == "Int64"
        if ids is not None:
            assert _ids(frame) == ids

    return check


def _report_check(
    exposures: int, images: int, slow: list[str], day_obs: int = DAY, **options: Any
) -> Callable[[Any], None]:
    def check(report: Any) -> None:
        assert isinstance(report, LatencyReport) and report.day_obs == day_obs
        assert (report.counts["exposures"], report.counts["images"]) == (exposures, images)
        assert len(report.per_image) == images and len(report.per_exposure) == exposures
        assert report.slow_detectors == slow
        for name, value in options.items():
            assert getattr(report.options, name) == value, name

    return check


_LP = "lsst.sal.MTMount.azimuth actualPosition=1.5,private_seqNum=1i 1714532400000\n"

CASES = [
    # --- topics, fields, schema
    Case("topics", lambda c: c.get_topics(), lambda r: r == sorted(r) and AZ in r and ACCEL in r),
    Case(
        "fields",
        lambda c: c.get_fields(ESS),
        lambda r: (
            {"temperatureItem0", "temperatureItem15", "salIndex"} <= set(r)
            and "temperatureItem16" not in r
        ),
    ),
    Case("fields-never-written", lambda c: c.get_fields(M1M3), lambda r: "zForce155" in r),
    Case(
        "fields-unknown-topic", lambda c: c.get_fields("lsst.sal.Nope.x"), raises=UnknownTopicError
    ),
    Case("schema", lambda c: c.get_schema(ESS), _schema_check),
    Case(
        "schema-unknown-topic", lambda c: c.get_schema("lsst.sal.No.x"), raises=UnknownTopicError
    ),
    # --- select_time_series: time forms
    Case(
        "select-astropy",
        lambda c: c.select_time_series(
            AZ, ["actualVelocity", "actualPosition", "private_seqNum"], START, START + 120 * SEC
        ),
        _frame_check(
            ["actualVelocity", "actualPosition", "private_seqNum"],
            1201,
            actualPosition="float64",
            private_seqNum="int64",
        ),
    ),
    Case(
        "select-timedelta-end",
        lambda c: c.select_time_series(AZ, "actualPosition", START, 10 * SEC),
        _frame_check(["actualPosition"], 101),
    ),
    Case(
        "select-window",
        lambda c: c.select_time_series(AZ, "actualPosition", START, 10 * SEC, is_window=True),
        lambda r: r.index[0] == _utc("2024-05-01T03:09:55") and len(r) == 101,
    ),
    Case(
        "select-tai-input",
        lambda c: c.select_time_series(AZ, ["actualPosition"], START.tai, START.tai + 5 * SEC),
        _frame_check(["actualPosition"], 51),
    ),
    Case(
        "select-strings-and-datetime",
        lambda c: c.select_time_series(
            AZ,
            ["actualPosition"],
            "2024-05-01T03:10:00",
            dt.datetime(2024, 5, 1, 3, 10, 5, tzinfo=dt.UTC),
        ),
        _frame_check(["actualPosition"], 51),
    ),
    Case(
        "select-timestamps-and-timedeltas",
        lambda c: c.select_time_series(
            AZ, ["actualPosition"], _utc("2024-05-01T03:10:00"), pd.Timedelta(seconds=2)
        ),
        _frame_check(["actualPosition"], 21),
    ),
    Case(
        "select-iso-offset",
        lambda c: c.select_time_series(
            AZ, ["actualPosition"], "2024-05-01T05:10:00+02:00", dt.timedelta(seconds=1)
        ),
        lambda r: r.index[0] == _utc("2024-05-01T03:10:00") and len(r) == 11,
    ),
    Case(
        "select-star-strings-arrays",
        lambda c: c.select_time_series(ESS, "*", START, 3 * SEC),
        _frame_check(rows=4, sensorName="str", temperatureItem3="float64", salIndex="int64"),
    ),
    Case(
        "select-bool-event",
        lambda c: c.select_time_series(HEARTBEAT, ["heartbeat"], START, 3 * SEC),
        _frame_check(["heartbeat"], 4, heartbeat="bool"),
    ),
    Case(
        "select-index",
        lambda c: c.select_time_series(ESS, ["temperatureItem3"], START, 2 * SEC, index=1),
        _frame_check(["temperatureItem3"], 3),
    ),
    Case(
        "select-index-other",
        lambda c: c.select_time_series(ESS, ["temperatureItem3"], START, 2 * SEC, index=2),
        _frame_check(["temperatureItem3"], 0),
    ),
    Case(
        "select-index-zero-ignored",
        lambda c: c.select_time_series(ESS, "location", START, 2 * SEC, index=0),
        _frame_check(["location"], 3, location="str"),
    ),
    Case(
        "select-old-csc-indexing-unfiltered",
        lambda c: c.select_time_series(
            ESS, "salIndex", START, 2 * SEC, None, False, True, use_old_csc_indexing=True
        ),
        _frame_check(["salIndex"], 3),
    ),
    Case(
        "select-old-csc-indexing",
        lambda c: c.select_time_series(
            ESS, "salIndex", START, 2 * SEC, index=1, use_old_csc_indexing=True
        ),
        raises=UnknownFieldError,
        match="ESSID",
    ),
    Case(
        "select-tai-index",
        lambda c: c.select_time_series(AZ, ["actualPosition"], START, SEC, time_scale="tai"),
        lambda r: (
            r.index.name == "time_tai"
            and r.index[0] == pd.Timestamp("2024-05-01T03:10:37")
            and len(r) == 11
        ),
    ),
    Case(
        "select-empty-range",
        lambda c: c.select_time_series(
            AZ, ["actualPosition", "private_seqNum"], "2025-01-01", SEC
        ),
        _frame_check(["actualPosition", "private_seqNum"], 0, private_seqNum="int64"),
    ),
    Case(
        "select-never-written",
        lambda c: c.select_time_series(M1M3, ["zForce0", "xForce1"], START, START),
        _frame_check(["zForce0", "xForce1"], 0),
    ),
    Case(
        "select-array-name",
        lambda c: c.select_time_series(ESS, "temperatureItem", START, SEC),
        lambda r: list(r.columns) == [f"temperatureItem{i}" for i in range(16)] and len(r) == 2,
    ),
    # --- aggregates and downsampling
    Case(
        "resolution-mean",
        lambda c: c.select_time_series(AZ, ["actualPosition"], START, 10 * SEC, resolution="1s"),
        _frame_check(["actualPosition"], 11),
    ),
    Case(
        "resolution-stats-list",
        lambda c: c.select_time_series(
            AZ, ["actualPosition"], START, 5 * SEC, resolution="1s", stats=("min", "max", "count")
        ),
        _frame_check(["actualPosition_min", "actualPosition_max", "actualPosition_count"]),
    ),
    Case(
        "resolution-event",
        lambda c: c.select_time_series(HEARTBEAT, "heartbeat", START, 5 * SEC, resolution="1s"),
        lambda r: "repeats" in r.columns and len(r) > 0,
    ),
    Case(
        "resolution-unknown",
        lambda c: c.select_time_series(AZ, "actualPosition", START, SEC, resolution="1m"),
        raises=QueryError,
        match="is not kept",
    ),
    Case(
        "resolution-and-downsample",
        lambda c: c.select_time_series(
            AZ, "actualPosition", START, SEC, resolution="1s", downsample="mean_10"
        ),
        raises=QueryError,
        match="not both",
    ),
    Case(
        "resolution-bad-stat",
        lambda c: c.select_time_series(
            AZ, "actualPosition", START, SEC, resolution="1s", stats="x"
        ),
        raises=QueryError,
        match="unknown statistic",
    ),
    Case(
        "downsample-mean",
        lambda c: c.select_time_series(
            AZ, ["actualPosition"], START, 60 * SEC, downsample="mean_10"
        ),
        _frame_check(["actualPosition"]),
    ),
    Case(
        "downsample-max-tai",
        lambda c: c.select_time_series(
            AZ, ["actualPosition"], START, 60 * SEC, downsample="max_5", time_scale="tai"
        ),
        lambda r: r.index.name == "time_tai" and len(r) > 0,
    ),
    *[
        Case(
            f"downsample-fill-{fill}",
            lambda c, fill=fill: c.select_time_series(
                HEARTBEAT,
                ["heartbeat"],
                "2024-05-01T03:29:50",
                60 * SEC,
                downsample="count_5",
                fill=fill,
            ),
            lambda r: len(r) > 0,
        )
        for fill in ["none", "null", "previous", "linear", 0, 1.5]
    ],
    Case(
        "downsample-bad-operator",
        lambda c: c.select_time_series(AZ, "actualPosition", START, SEC, downsample="nope_3"),
        raises=QueryError,
    ),
    Case(
        "downsample-bad-fill",
        lambda c: c.select_time_series(
            AZ, "actualPosition", START, SEC, downsample="mean_1", fill="sideways"
        ),
        raises=QueryError,
    ),
    # --- errors of select_time_series
    Case(
        "unknown-topic",
        lambda c: c.select_time_series("lsst.sal.Nope.x", ["a"], START, START),
        raises=UnknownTopicError,
        match="lsst.sal.Nope.x",
    ),
    Case(
        "misspelt-field",
        lambda c: c.select_time_series(AZ, ["actualPositon"], START, START),
        raises=UnknownFieldError,
        match="did you mean actualPosition",
    ),
    Case(
        "array-element-out-of-range",
        lambda c: c.select_time_series(ESS, ["temperatureItem16"], START, START),
        raises=UnknownFieldError,
        match="temperatureItem16",
    ),
    Case(
        "no-fields",
        lambda c: c.select_time_series(AZ, [], START, START),
        raises=QueryError,
        match="no fields",
    ),
    Case(
        "naive-datetime",
        lambda c: c.select_time_series(AZ, ["actualPosition"], dt.datetime(2024, 5, 1), START),
        raises=TimeValueError,
        match="naive",
    ),
    Case(
        "bad-time-string",
        lambda c: c.select_time_series(AZ, ["actualPosition"], "yesterday", START),
        raises=TimeValueError,
        match="yesterday",
    ),
    Case(
        "time-of-wrong-type",
        lambda c: c.select_time_series(AZ, ["actualPosition"], 1714532400, START),
        raises=TimeValueError,
        match="unsupported time value",
    ),
    Case(
        "time-before-1972",
        lambda c: c.select_time_series(AZ, ["actualPosition"], "1970-01-01", START),
        raises=TimeValueError,
        match="1972",
    ),
    Case(
        "bad-time-scale",
        lambda c: c.select_time_series(AZ, ["actualPosition"], START, SEC, time_scale="gps"),
        raises=TimeValueError,
        match="gps",
    ),
    # --- select_asof
    Case(
        "asof-single",
        lambda c: c.select_asof(AZ, ["actualPosition", "private_seqNum"], START + 0.05 * SEC),
        lambda r: len(r) == 1 and r["sample_time"].iloc[0] == _utc("2024-05-01T03:10:00"),
    ),
    Case(
        "asof-many-list",
        lambda c: c.select_asof(
            ESS, "temperatureItem0", ["2024-05-01T03:10:00.5", START, "2024-05-01T02:00:00"]
        ),
        lambda r: len(r) == 3 and r["sample_time"].isna().tolist() == [False, False, True],
    ),
    Case(
        "asof-astropy-array",
        lambda c: c.select_asof(AZ, "actualPosition", Time(["2024-05-01T03:10:00.05"] * 2)),
        lambda r: len(r) == 2,
    ),
    Case(
        "asof-datetimeindex-max-age",
        lambda c: c.select_asof(
            ESS,
            ["location", "temperatureItem0"],
            pd.date_range("2024-05-01T03:29:58Z", periods=4, freq="1s"),
            max_age=dt.timedelta(seconds=1.5),
        ),
        lambda r: (
            r["sample_time"].isna().tolist() == [False, False, False, True]
            and str(r["location"].dtype) == "str"
        ),
    ),
    Case(
        "asof-index-tai",
        lambda c: c.select_asof(ESS, "temperatureItem0", START, index=1, time_scale="tai"),
        lambda r: r.index.name == "time_tai" and len(r) == 1,
    ),
    Case(
        "asof-nothing-before",
        lambda c: c.select_asof(AZ, "actualPosition", "2024-05-01T02:00:00"),
        raises=QueryError,
        match="no earlier row",
    ),
    Case(
        "asof-too-old",
        lambda c: c.select_asof(
            AZ, "actualPosition", "2024-05-01T05:00:00", max_age=TimeDelta(60, format="sec")
        ),
        raises=QueryError,
        match="within max_age 60 s: no data since",
    ),
    Case(
        "asof-naive-index",
        lambda c: c.select_asof(AZ, "actualPosition", pd.date_range("2024-05-01", periods=2)),
        raises=TimeValueError,
        match="localize",
    ),
    Case(
        "asof-bad-max-age",
        lambda c: c.select_asof(AZ, "actualPosition", START, max_age=5),
        raises=TimeValueError,
        match="max_age",
    ),
    # --- select_top_n
    Case(
        "top-n",
        lambda c: c.select_top_n(AZ, ["actualPosition", "private_seqNum"], 3),
        lambda r: len(r) == 3 and r.index.is_monotonic_decreasing,
    ),
    Case(
        "top-n-cut",
        lambda c: c.select_top_n(AZ, "private_seqNum", 1, time_cut=START),
        lambda r: r.index[0] == _utc("2024-05-01T03:09:59.9"),
    ),
    Case(
        "top-n-cut-string-index-tai",
        lambda c: c.select_top_n(
            ESS, ["temperatureItem0", "sensorName"], 2, "2024-05-01T03:10:00", 1, time_scale="tai"
        ),
        lambda r: len(r) == 2 and r.index.name == "time_tai",
    ),
    Case("top-n-zero", lambda c: c.select_top_n(AZ, "actualPosition", 0), _frame_check(rows=0)),
    Case(
        "top-n-negative",
        lambda c: c.select_top_n(AZ, "actualPosition", -1),
        raises=QueryError,
        match="whole number",
    ),
    Case(
        "top-n-fraction",
        lambda c: c.select_top_n(AZ, "actualPosition", 2.5),
        raises=QueryError,
        match="whole number",
    ),
    Case(
        "top-n-old-csc-indexing",
        lambda c: c.select_top_n(ESS, "salIndex", 1, None, 1, False, True),
        raises=UnknownFieldError,
    ),
    # --- select_packed_time_series
    Case(
        "packed",
        lambda c: c.select_packed_time_series(
            ACCEL,
            ["rawAccelerometer", "accelerometer"],
            Time(PACKED_T0, format="unix_tai"),
            Time(PACKED_T0 + 2, format="unix_tai"),
            ref_timestamp_col="timestamp",
        ),
        lambda r: (
            len(r) == 5 * 8
            and list(r.columns) == ["rawAccelerometer", "accelerometer", "times"]
            and r.index[1] == pd.Timestamp("2024-05-01T03:00:00.0625")
        ),
    ),
    Case(
        "packed-window-utc-unix",
        lambda c: c.select_packed_time_series(
            ACCEL,
            "rawAccelerometer",
            "2024-05-01T03:00:01",
            TimeDelta(2, format="sec"),
            True,
            ref_timestamp_col="private_sndStamp",
            ref_timestamp_fmt="unix",
            ref_timestamp_scale="utc",
        ),
        lambda r: len(r) == 5 * 8,
    ),
    Case(
        "packed-astropy-format",
        lambda c: c.select_packed_time_series(
            ACCEL,
            "rawAccelerometer",
            "2024-05-01T03:00:00",
            "2024-05-01T03:00:01",
            ref_timestamp_col="timestamp",
            ref_timestamp_fmt="unix_tai",
            ref_timestamp_scale="utc",
        ),
        lambda r: len(r) == 3 * 8,
    ),
    Case(
        "packed-no-such-base",
        lambda c: c.select_packed_time_series(
            ACCEL, "nothing", "2024-05-01T03:00:00", 2 * SEC, ref_timestamp_col="timestamp"
        ),
        raises=QueryError,
        match="no packed fields",
    ),
    Case(
        "packed-bad-format",
        lambda c: c.select_packed_time_series(
            ACCEL,
            "rawAccelerometer",
            "2024-05-01T03:00:00",
            2 * SEC,
            ref_timestamp_col="timestamp",
            ref_timestamp_fmt="nonsense",
        ),
        raises=TimeValueError,
        match="nonsense",
    ),
    # --- get
    Case(
        "get-array",
        lambda c: c.get("ESS.temperature.temperatureItem", START, SEC),
        lambda r: list(r.columns) == [f"temperatureItem{i}" for i in range(16)],
    ),
    Case(
        "get-full-name-tai",
        lambda c: c.get(f"{AZ}.actualPosition", START, SEC, index=None, time_scale="tai"),
        lambda r: r.index.name == "time_tai" and len(r) == 11,
    ),
    Case(
        "get-bad-name",
        lambda c: c.get("temperatureItem", START, START),
        raises=QueryError,
        match="CSC.topic.field",
    ),
    # --- the exposure registry: exposures
    Case("exposures-day", lambda c: c.get_exposures(DAY), _registry_check(27)),
    Case(
        "exposures-iso-day-science",
        lambda c: c.get_exposures("2024-05-01", observation_types=["science"]),
        _registry_check(17, SCIENCE),
    ),
    Case(
        "exposures-one-type-alone",
        lambda c: c.get_exposures(observation_types="bias"),
        _registry_check(5, [FIRST_BIAS + i for i in range(5)]),
    ),
    Case(
        "exposures-begin-end",
        lambda c: c.get_exposures(
            begin=Time("2024-05-01T23:40:00", scale="utc"),
            end=dt.datetime(2024, 5, 1, 23, 41, tzinfo=dt.UTC),
        ),
        _registry_check(1, [2024050100022]),
    ),
    Case(
        "exposures-begin-only-tai",
        lambda c: c.get_exposures(DAY, begin=Time("2024-05-01T23:44:00", scale="utc").tai),
        _registry_check(1, [2024050100027]),
    ),
    Case(
        "exposures-ids-instrument",
        lambda c: c.get_exposures(
            instrument="LSSTCam", exposure_ids=(np.int64(2024050100027), 2024050100011)
        ),
        _registry_check(2, [2024050100011, 2024050100027]),
    ),
    Case(
        "exposures-other-instrument",
        lambda c: c.get_exposures(DAY, instrument="LATISS"),
        _registry_check(0),
    ),
    Case("exposures-other-night", lambda c: c.get_exposures("20240502"), _registry_check(0)),
    Case(
        "exposures-day-obs-not-a-date",
        lambda c: c.get_exposures("2024-13-01"),
        raises=QueryError,
        match="not a valid date",
    ),
    Case(
        "exposures-day-obs-garbage",
        lambda c: c.get_exposures("yesterday"),
        raises=QueryError,
        match="give YYYYMMDD or YYYY-MM-DD",
    ),
    Case(
        "exposures-naive-begin",
        lambda c: c.get_exposures(begin=dt.datetime(2024, 5, 1)),
        raises=TimeValueError,
        match="begin: naive",
    ),
    Case(
        "exposures-bad-ids",
        lambda c: c.get_exposures(exposure_ids=["2024050100011"]),
        raises=QueryError,
        match="whole numbers",
    ),
    Case(
        "exposures-id-over-bigint",
        lambda c: c.get_exposures(exposure_ids=[2**70]),
        raises=QueryError,
        match="whole numbers",
    ),
    Case(
        "exposures-after-2262",
        lambda c: c.get_exposures(end=Time("2300-01-01T00:00:00", scale="tai")),
        raises=TimeValueError,
        match="end: times after 2262-04-11",
    ),
    Case(
        "exposures-bad-instrument",
        lambda c: c.get_exposures(instrument=1),
        raises=QueryError,
        match="instrument",
    ),
    # --- exposures overlapping a time range: half-open
    Case(
        "overlapping-bias-instant",
        lambda c: c.get_exposures_overlapping("2024-05-01T23:30:45", "2024-05-01T23:30:46"),
        _registry_check(1, [FIRST_BIAS]),
    ),
    Case(
        "overlapping-end-excluded",
        lambda c: c.get_exposures_overlapping("2024-05-01T23:30:40", "2024-05-01T23:30:45"),
        _registry_check(0),
    ),
    Case(
        "overlapping-duration",
        lambda c: c.get_exposures_overlapping(
            Time("2024-05-01T23:31:00", scale="utc"), TimeDelta(60, format="sec")
        ),
        _registry_check(2, [2024050100006, 2024050100007]),
    ),
    Case(
        "overlapping-timestamps-instrument",
        lambda c: c.get_exposures_overlapping(
            _utc("2024-05-01T23:40:00"), pd.Timedelta(minutes=1), instrument="LSSTCam"
        ),
        _registry_check(1, [2024050100022]),
    ),
    Case(
        "overlapping-reversed",
        lambda c: c.get_exposures_overlapping("2024-05-01T23:41:00", "2024-05-01T23:40:00"),
        raises=QueryError,
        match="end is before begin",
    ),
    Case(
        "overlapping-bad-time",
        lambda c: c.get_exposures_overlapping(1714606282, "2024-05-01T23:40:00"),
        raises=TimeValueError,
        match="begin: unsupported time value",
    ),
    # --- image arrivals
    Case(
        "arrivals-day",
        lambda c: c.get_image_arrivals(DAY),
        lambda r: (
            len(r) == 5550 and int(r["resend"].sum()) == 15 and r["resend"].dtype == "boolean"
        ),
    ),
    Case(
        "arrivals-first-delivery",
        lambda c: c.get_image_arrivals("2024-05-01", first_delivery_only=True),
        lambda r: len(r) == 27 * 205 and not r["resend"].any(),
    ),
    Case(
        "arrivals-detectors-by-name-and-id",
        lambda c: c.get_image_arrivals(exposure_ids=[FIRST_BIAS], detectors=["R30_S22", 94]),
        lambda r: (
            r["detector_name"].tolist() == ["R22_S11", "R30_S22", "R30_S22"]
            and r["delivery"].tolist() == [0, 0, 1]
        ),
    ),
    Case(
        "arrivals-one-detector-digits",
        lambda c: c.get_image_arrivals(DAY, detectors="94", instrument="LSSTCam"),
        lambda r: len(r) == 27 and set(r["detector_name"]) == {"R22_S11"},
    ),
    Case(
        "arrivals-bad-detector",
        lambda c: c.get_image_arrivals(detectors=[1.5]),
        raises=QueryError,
        match="detectors must be ids",
    ),
    Case(
        "arrivals-detector-over-integer",
        lambda c: c.get_image_arrivals(detectors=[2**40]),
        raises=QueryError,
        match="detectors must be ids",
    ),
    Case(
        "arrivals-bad-day-obs",
        lambda c: c.get_image_arrivals("2024-02-30"),
        raises=QueryError,
        match="not a valid date",
    ),
    # --- the night's latency report
    Case(
        "latency-night",
        lambda c: c.night_latency(DAY),
        _report_check(27, 27 * 205, ["R03_S12"], transfer_target_s=7.0, cadence_target_s=34.0),
    ),
    Case(
        "latency-subset",
        lambda c: c.night_latency(
            "2024-05-01",
            instrument="LSSTCam",
            transfer_target_s=10,
            cadence_target_s=40.5,
            science_only=True,
            exposure_ids=[*SCIENCE[:3], FIRST_BIAS],
            detectors=["R22_S11", "R03_S12", 0],
        ),
        _report_check(
            3,
            9,
            ["R03_S12"],
            transfer_target_s=10.0,
            cadence_target_s=40.5,
            science_only=True,
            exposure_ids=(*SCIENCE[:3], FIRST_BIAS),
            detectors=("R22_S11", "R03_S12", 0),
        ),
    ),
    Case(
        "latency-empty-night",
        lambda c: c.night_latency(20240502),
        _report_check(0, 0, [], 20240502),
    ),
    Case(
        "latency-bad-target",
        lambda c: c.night_latency(DAY, transfer_target_s=0),
        raises=QueryError,
        match="transfer_target_s must be a positive number",
    ),
    Case(
        "latency-nan-cadence",
        lambda c: c.night_latency(DAY, cadence_target_s=float("nan")),
        raises=QueryError,
        match="cadence_target_s must be a positive number",
    ),
    Case(
        "latency-bad-day-obs",
        lambda c: c.night_latency("2024/05/01"),
        raises=QueryError,
        match="is not a date",
    ),
    # --- write errors (nothing is written)
    Case(
        "write-naive-index",
        lambda c: c.write(
            AZ,
            pd.DataFrame({"actualPosition": [1.0]}, index=pd.date_range("2024-05-03", periods=1)),
        ),
        raises=RecordError,
        match="naive",
    ),
    Case(
        "write-unknown-field",
        lambda c: c.write(
            AZ,
            pd.DataFrame({"nope": [1.0]}, index=pd.date_range("2024-05-03", periods=1, tz="UTC")),
        ),
        raises=RecordError,
        match="nope",
    ),
    Case(
        "write-unknown-topic",
        lambda c: c.write("lsst.sal.Custom.x", [{"time": "2024-05-03T00:00:00Z", "a": 1.0}]),
        raises=UnknownTopicError,
        match="schema mode strict",
    ),
    Case(
        "write-mixed-records",
        lambda c: c.write(AZ, [{"actualPosition": 1.0}, {"actualPosition": "high"}]),
        raises=RecordError,
        match="row 1",
    ),
    Case(
        "write-wrong-type",
        lambda c: c.write(AZ, {"time": ["2024-05-03T00:00:00Z"], "private_seqNum": ["seven"]}),
        raises=RecordError,
        match="private_seqNum",
    ),
    Case(
        "write-index-and-time-column",
        lambda c: c.write(
            AZ,
            pd.DataFrame(
                {"time": ["2024-05-03T00:00:00Z"], "actualPosition": [1.0]},
                index=pd.date_range("2024-05-03", periods=1, tz="UTC"),
            ),
        ),
        raises=RecordError,
        match="either as index or as 'time' column",
    ),
    Case(
        "write-lp-before-1972",
        lambda c: c.write_line_protocol(_LP),
        raises=RecordError,
        match="before 1972",
    ),
    Case(
        "write-lp-malformed",
        lambda c: c.write_line_protocol("lsst.sal.MTMount.azimuth a=1 1\nbroken\n"),
        raises=LineProtocolError,
        match="<text>:2",
    ),
    Case(
        "write-lp-bad-precision",
        lambda c: c.write_line_protocol(_LP, precision="fortnight"),
        raises=ValueError,
        match="invalid precision",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_contract(case: Case, efd: Any, reference: EfdClientSync) -> None:
    if case.raises is not None:
        with pytest.raises(case.raises, match=case.match) as got:
            case.call(efd)
        with pytest.raises(case.raises) as want:
            case.call(reference)
        assert type(got.value) is type(want.value)
        assert str(got.value) == str(want.value)
        if isinstance(want.value, LineProtocolError):
            assert isinstance(got.value, LineProtocolError)
            assert (got.value.source, got.value.line_number, got.value.reason) == (
                want.value.source,
                want.value.line_number,
                want.value.reason,
            )
        return
    got = case.call(efd)
    assert_same(got, case.call(reference))
    assert case.check is not None
    result = case.check(got)
    assert result is None or bool(result) is True


def test_every_public_method_is_covered() -> None:
    """The cases call every public method of the client (new methods need cases)."""
    public = {
        name
        for name in dir(EfdClientSync)
        if not name.startswith("_") and callable(getattr(EfdClientSync, name))
    }
    canonical = {"select_range_tai", "select_asof_tai", "select_top_n_tai", "select_packed_tai"}
    canonical |= {"schema_frame", "write_table", "from_store", "close"}
    canonical |= {
        "exposures_frame",
        "exposures_overlapping_tai",
        "image_arrivals_frame",
        "night_latency_report",
    }

    class Recorder:
        def __init__(self) -> None:
            self.called: set[str] = set()

        def __getattr__(self, name: str) -> Any:
            self.called.add(name)
            return lambda *a, **k: None

    recorder = Recorder()
    for case in CASES:
        case.call(recorder)
    assert public - canonical <= recorder.called


@pytest.mark.parametrize(
    ("begin", "end", "rows"),
    [
        ("2024-05-01T23:30:45", None, 27),  # from the first bias's instant
        (None, "2024-05-01T23:30:45", 0),  # up to it, excluded
        ("2024-05-01T23:30:59", "2024-05-01T23:31:00", 1),  # inside a dark
        ("2024-05-01T23:40:00", "2024-05-01T23:49:00", 6),
    ],
)
def test_exposures_time_filter_is_the_stores(
    reference: EfdClientSync, begin: str | None, end: str | None, rows: int
) -> None:
    """The client's TAI ns range filter gives what the store's SQL gives for the same times."""
    got = reference.get_exposures(DAY, begin=begin, end=end)
    want = stored_exposures(reference.store, day_obs=DAY, begin=begin, end=end)
    assert_same(got, want)
    assert len(got) == rows


# --- writes: each flavour writes its own rows, read back through the others


def _hour_of(flavour: str) -> str:
    return f"2024-05-0{2 + FLAVOURS.index(flavour)}T10:00:00Z"


@pytest.fixture
def flavour(efd: Any, request: pytest.FixtureRequest) -> str:
    flavour: str = request.node.callspec.params["efd"]
    return flavour


def test_write_dataframe_then_read_back(efd: Any, reference: EfdClientSync, flavour: str) -> None:
    idx = pd.date_range(_hour_of(flavour), periods=3, freq="1s")
    frame = pd.DataFrame(
        {"actualPosition": [45.0, 45.1, 45.2], "private_seqNum": [1, 2, 3]}, index=idx
    )
    result = efd.write(EL, frame)
    assert isinstance(result, WriteResult)
    assert (result.received[EL], result.written[EL]) == (3, 3)
    again = efd.write(EL, frame)
    assert (again.rows_received, again.rows_written) == (3, 0)  # idempotent
    got = efd.select_time_series(EL, ["actualPosition", "private_seqNum"], idx[0], idx[-1])
    want = reference.select_time_series(EL, ["actualPosition", "private_seqNum"], idx[0], idx[-1])
    assert_same(got, want)
    pd.testing.assert_frame_equal(got, frame.set_axis(idx.as_unit("ns")), check_freq=False)


def test_write_records_arrow_and_line_protocol(
    efd: Any, reference: EfdClientSync, flavour: str
) -> None:
    base = pd.Timestamp(_hour_of(flavour)) + pd.Timedelta(minutes=5)
    records = [
        {"time": (base + pd.Timedelta(seconds=i)).isoformat(), "actualPosition": float(i)}
        for i in range(2)
    ]
    assert efd.write(AZ, records).rows_written == 2
    columns = {"time": [(base + pd.Timedelta(seconds=10)).isoformat()], "actualPosition": [9.0]}
    assert efd.write(AZ, columns).rows_written == 1
    table = pa.table(
        {
            "private_efdStamp": [(base + pd.Timedelta(seconds=20)).value / 1e9],
            "actualPosition": [20.0],
        }
    )
    assert efd.write(AZ, table).rows_written == 1
    ms = (base + pd.Timedelta(seconds=30)).value // 1_000_000
    lp = efd.write_line_protocol(f"{AZ} actualPosition=30.0,private_seqNum=3i {ms}\n", "ms")
    assert lp.written == {AZ: 1}
    got = reference.select_time_series(AZ, "actualPosition", base, pd.Timedelta(seconds=30))
    assert got["actualPosition"].tolist() == [0.0, 1.0, 9.0, 20.0, 30.0]
    assert_same(efd.select_time_series(AZ, "actualPosition", base, 30 * SEC), got)


# --- what only a server URL has


def test_url_gives_remote_client(served: Served) -> None:
    settings = Settings(sites={"base": served.url})
    with EfdClientSync("base", settings=settings) as efd:
        assert isinstance(efd, RemoteEfdClientSync) and isinstance(efd, EfdClientSync)
        assert efd.url == served.url and AZ in efd.get_topics()
        assert repr(efd) == f"RemoteEfdClientSync({served.url!r})"
    with EfdClientSync(served.url + "/", timeout_s=5, verify=False) as efd:
        assert efd.url == served.url and AZ in efd.get_topics()


def test_remote_refusals(served: Served, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="loopback only"):
        EfdClientSync("http://efd.example.org:8086")
    with pytest.raises(ConfigurationError, match="create=True makes embedded stores"):
        EfdClientSync(served.url, create=True)
    with pytest.raises(ConfigurationError, match="no CA bundle"):
        EfdClientSync("https://efd.example.org", verify=tmp_path / "missing.pem")
    with EfdClientSync(served.url, read_only=True) as efd:
        with pytest.raises(ConfigurationError, match="read-only; cannot write"):
            efd.write_line_protocol(_LP)
        with pytest.raises(ConfigurationError, match="no embedded store"):
            _ = efd.store
    with pytest.raises(ConfigurationError, match="from_store"):
        RemoteEfdClientSync.from_store(served.store)


def test_unreachable_server_names_the_url(served: Served) -> None:
    with serve_in_thread(
        create_app(
            ServerState(
                served.store, served.store.settings, TokenBook.for_store(served.store.path)
            )
        )
    ) as gone:
        url = gone.url
    with (
        EfdClientSync(url) as efd,
        pytest.raises(ConfigurationError, match=f"cannot reach.*{url}"),
    ):
        efd.get_topics()
