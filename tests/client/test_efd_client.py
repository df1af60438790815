"""The lsst-efd-client API on an embedded store: one suite, sync and async flavours.

Results are checked against plain pandas computations on the data written.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from astropy.time import Time, TimeDelta

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
from openefd.sample import sample_topics
from openefd.settings import SchemaMode, Settings

AZ = "lsst.sal.MTMount.azimuth"
ESS = "lsst.sal.ESS.temperature"
M1M3 = "lsst.sal.MTM1M3.forceActuatorData"
START = Time("2024-05-01T03:10:00", scale="utc")


class AsyncAdapter:
    """Runs every EfdClient coroutine to completion, so one suite tests both clients."""

    def __init__(self, client: EfdClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return asyncio.run(method(*args, **kwargs))

        return call


@pytest.fixture(scope="module")
def sample() -> dict[str, pd.DataFrame]:
    return sample_topics(hours=0.5, mount_hz=10)


@pytest.fixture(scope="module")
def loaded_store(
    tmp_path_factory: pytest.TempPathFactory, template_store: Path, sample: dict[str, pd.DataFrame]
) -> tuple[Path, Settings]:
    """A store holding the sample, written once for the module (tests only read)."""
    path = tmp_path_factory.mktemp("client") / "store"
    shutil.copytree(template_store, path)
    settings = Settings(store=path, schema_mode=SchemaMode.STRICT)
    with EfdClientSync(path, settings=settings) as writer:
        for topic, frame in sample.items():
            writer.write(topic, frame)
    return path, settings


@pytest.fixture(params=["sync", "async"])
def efd(request: pytest.FixtureRequest, loaded_store: tuple[Path, Settings]) -> Iterator[Any]:
    path, settings = loaded_store
    if request.param == "sync":
        with EfdClientSync(path, settings=settings) as client:
            yield client
    else:
        client = EfdClient(path, settings=settings)
        yield AsyncAdapter(client)
        client.close()


def expected(
    sample: dict[str, pd.DataFrame],
    topic: str,
    fields: list[str],
    start_utc: pd.Timestamp,
    end_utc: pd.Timestamp,
) -> pd.DataFrame:
    """The same selection computed with pandas from the written frame."""
    frame = sample[topic]
    index = pd.to_datetime(
        np.round(frame["private_efdStamp"].to_numpy() * 1e6).astype(np.int64) * 1000, utc=True
    )
    frame = frame.set_axis(index)
    return frame.loc[(frame.index >= start_utc) & (frame.index <= end_utc), fields]


def test_get_topics_lists_written_topics(efd: Any, sample: dict[str, pd.DataFrame]) -> None:
    assert efd.get_topics() == sorted(sample)


def test_get_fields_flattens_arrays(efd: Any) -> None:
    fields = efd.get_fields(ESS)
    assert fields == sorted(fields)
    assert {"temperatureItem0", "temperatureItem15", "salIndex", "private_seqNum"} <= set(fields)
    assert "temperatureItem" not in fields and "temperatureItem16" not in fields


def test_get_schema(efd: Any) -> None:
    schema = efd.get_schema(ESS)
    assert list(schema.columns) == ["name", "description", "units", "aunits", "is_array"]
    row = schema.set_index("name").loc["temperatureItem"]
    assert row["is_array"] and row["units"] == "deg_C"
    assert str(row["aunits"]) == "deg_C"


def test_select_time_series_matches_pandas(efd: Any, sample: dict[str, pd.DataFrame]) -> None:
    fields = ["actualVelocity", "actualPosition", "private_seqNum"]
    end = START + TimeDelta(120, format="sec")
    got = efd.select_time_series(AZ, fields, START, end)
    want = expected(
        sample, AZ, fields, pd.Timestamp(START.isot, tz="UTC"), pd.Timestamp(end.isot, tz="UTC")
    )
    assert list(got.columns) == fields
    assert str(got.index.dtype) == "datetime64[ns, UTC]"
    assert len(got) == 1201  # both ends included at 10 Hz
    pd.testing.assert_frame_equal(got, want, check_freq=False, check_names=False)
    assert got["private_seqNum"].dtype == np.int64


def test_window_and_time_forms(efd: Any) -> None:
    window = efd.select_time_series(
        AZ, "actualPosition", START, TimeDelta(10, format="sec"), is_window=True
    )
    assert window.index[0] == pd.Timestamp(START.isot, tz="UTC") - pd.Timedelta(seconds=5)
    assert window.index[-1] == pd.Timestamp(START.isot, tz="UTC") + pd.Timedelta(seconds=5)
    tai = START.tai
    same = efd.select_time_series(AZ, ["actualPosition"], tai, tai + TimeDelta(5, format="sec"))
    by_str = efd.select_time_series(
        AZ,
        ["actualPosition"],
        "2024-05-01T03:10:00",
        dt.datetime(2024, 5, 1, 3, 10, 5, tzinfo=dt.UTC),
    )
    pd.testing.assert_frame_equal(same, by_str)
    with pytest.raises(TimeValueError, match="naive"):
        efd.select_time_series(AZ, ["actualPosition"], dt.datetime(2024, 5, 1), START)


def test_star_expands_to_all_fields_sorted(efd: Any) -> None:
    got = efd.select_time_series(ESS, "*", START, TimeDelta(3, format="sec"))
    assert list(got.columns) == efd.get_fields(ESS)
    assert len(got) == 4


def test_index_filter_and_tai_index(efd: Any) -> None:
    got = efd.select_time_series(
        ESS, ["temperatureItem3"], START, TimeDelta(2, format="sec"), index=1
    )
    assert len(got) == 3
    assert efd.select_time_series(
        ESS, ["temperatureItem3"], START, TimeDelta(2, format="sec"), index=2
    ).empty
    tai = efd.select_time_series(
        ESS, ["temperatureItem3"], START, TimeDelta(2, format="sec"), time_scale="tai"
    )
    assert (tai.index - got.index.tz_localize(None) == pd.Timedelta(seconds=37)).all()


def test_select_top_n(efd: Any, sample: dict[str, pd.DataFrame]) -> None:
    got = efd.select_top_n(AZ, ["actualPosition", "private_seqNum"], 3)
    seq = sample[AZ]["private_seqNum"].to_numpy()
    assert list(got["private_seqNum"]) == [seq[-1], seq[-2], seq[-3]]
    cut = efd.select_top_n(AZ, "private_seqNum", 1, time_cut=START)
    assert cut.index[0] == pd.Timestamp(START.isot, tz="UTC") - pd.Timedelta(milliseconds=100)


def test_get_sugar_returns_all_array_elements(efd: Any) -> None:
    got = efd.get("ESS.temperature.temperatureItem", START, TimeDelta(1, format="sec"))
    assert list(got.columns) == [f"temperatureItem{i}" for i in range(16)]
    assert got.dtypes.unique().tolist() == [np.dtype("float64")]
    with pytest.raises(QueryError, match="CSC.topic.field"):
        efd.get("temperatureItem", START, START)


def test_errors_name_the_problem(efd: Any) -> None:
    with pytest.raises(UnknownTopicError, match="lsst.sal.Nope.x"):
        efd.select_time_series("lsst.sal.Nope.x", ["a"], START, START)
    with pytest.raises(UnknownFieldError, match="did you mean actualPosition"):
        efd.select_time_series(AZ, ["actualPositon"], START, START)
    with pytest.raises(UnknownFieldError, match="temperatureItem16"):
        efd.select_time_series(ESS, ["temperatureItem16"], START, START)


def test_topic_never_written_gives_empty_frame_with_columns(efd: Any) -> None:
    got = efd.select_time_series(M1M3, ["zForce0", "xForce1"], START, START)
    assert got.empty and list(got.columns) == ["zForce0", "xForce1"]


def test_packed_time_series(store_path: Path, strict_settings: Settings) -> None:
    t0 = 1714532437.0  # TAI unix s: 2024-05-01T03:00:00 UTC
    rows, n = 4, 8
    frame = pd.DataFrame(
        {
            "timestamp": t0 + np.arange(rows) * 0.5,
            "private_sndStamp": t0 + np.arange(rows) * 0.5,
            **{f"rawAccelerometer{i}": np.arange(rows) * 10.0 + i for i in range(n)},
        }
    )
    topic = "lsst.sal.MTM1M3.accelerometerData"
    with EfdClientSync(store_path, settings=strict_settings) as efd:
        efd.write(topic, frame)
        got = efd.select_packed_time_series(
            topic,
            "rawAccelerometer",
            Time(t0, format="unix_tai"),
            Time(t0 + 2, format="unix_tai"),
            ref_timestamp_col="timestamp",
        )
    assert len(got) == rows * n
    assert list(got["rawAccelerometer"][:10]) == [0, 1, 2, 3, 4, 5, 6, 7, 10, 11]
    assert got["times"].iloc[1] - got["times"].iloc[0] == pytest.approx(0.5 / n)
    assert got.index[0] == pd.Timestamp("2024-05-01T03:00:00")
    assert got.index[1] == pd.Timestamp("2024-05-01T03:00:00.0625")


def test_locations(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no openefd store"):
        EfdClientSync(tmp_path / "nothing")
    remote = EfdClientSync("https://efd.example.org")  # nothing is sent until a call
    assert isinstance(remote, RemoteEfdClientSync)
    remote.close()
    settings = Settings(sites={"summit": str(tmp_path / "s")})
    with EfdClientSync("summit", settings=settings, create=True) as efd:
        assert efd.get_topics() == []


def test_write_line_protocol_text(store_path: Path, strict_settings: Settings) -> None:
    text = (
        "lsst.sal.MTMount.azimuth actualPosition=1.5,private_seqNum=1i 1714532400000000000\n"
        "lsst.sal.MTMount.elevation actualPosition=45.0,private_seqNum=1i 1714532400000\n"
    )
    with EfdClientSync(store_path, settings=strict_settings) as efd:
        with pytest.raises(RecordError, match=r"<text>:2: time 1714532400000 ns is before 1972"):
            efd.write_line_protocol(text)
        assert efd.get_topics() == []
        result = efd.write_line_protocol(text.replace("400000\n", "400000000000\n"))
        assert result.rows_written == 2
        with pytest.raises(LineProtocolError, match="<text>:2"):
            efd.write_line_protocol("lsst.sal.MTMount.azimuth a=1 1\nbroken\n")
        ms = efd.write_line_protocol(
            "lsst.sal.MTMount.azimuth actualPosition=2.5,private_seqNum=2i 1714532401000\n",
            precision="ms",
        )
        assert ms.rows_written == 1
        got = efd.select_top_n(AZ, "actualPosition", 1)
    assert got.index[0] == pd.Timestamp("2024-05-01T03:00:01", tz="UTC")
