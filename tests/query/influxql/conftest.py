"""A store with a few EFD topics, written once per module, and the frames written to it.

Times: rows are written in TAI (the store's scale); the reference frames
also carry ``utc`` (POSIX ns), the time InfluxQL reads and returns. In
2024 TAI − UTC is 37 s.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from openefd.ingest.writer import Writer
from openefd.query.influxql import QueryLimits, StatementResult, execute
from openefd.settings import SchemaMode, Settings
from openefd.store.duckdb_store import Store

NS = 1_000_000_000
LEAP_NS = 37 * NS
U0 = 1714532400 * NS  # 2024-05-01T03:00:00Z, UTC ns
NOW = U0 + 3600 * NS  # now() in the tests: an hour after U0
AZ = "lsst.sal.MTMount.azimuth"
TEMP = "lsst.sal.ESS.temperature"
FA = "lsst.sal.MTM1M3.forceActuatorData"
STATE = "lsst.sal.MTMount.logevent_summaryState"
NODATA = "lsst.sal.MTMount.elevation"  # registered, never written


@dataclass
class Efd:
    """The store, its settings, and what was written (with a ``utc`` column)."""

    store: Store
    settings: Settings
    frames: dict[str, pd.DataFrame]

    def run(
        self,
        text: str,
        *,
        database: str | None = "efd",
        limits: QueryLimits | None = None,
        now: int = NOW,
    ) -> list[StatementResult]:
        return execute(
            self.store,
            text,
            database=database,
            settings=self.settings,
            limits=limits or QueryLimits(),
            now_utc_ns=now,
        )

    def one(self, text: str, **kwargs: object) -> StatementResult:
        """The result of a one-statement query, which must not be an error."""
        (result,) = self.run(text, **kwargs)  # type: ignore[arg-type]
        assert result.error is None, result.error
        return result


def f32(values: np.ndarray) -> np.ndarray:
    """Values a SAL ``float`` field stores exactly (float32, read back as float64)."""
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def make_frames() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(20240501)
    # Azimuth: ~2000 irregular samples over ~17 minutes, nulls in actualTorque.
    gaps = rng.choice([10_000_000, 200_000_000, 1_000_000_000, 7 * NS], size=2000)
    utc = U0 + 123_456_789 + np.cumsum(gaps)
    torque = pd.array(rng.normal(size=len(utc)), dtype="Float64")
    torque[rng.random(len(utc)) < 0.2] = pd.NA
    az = pd.DataFrame(
        {
            "utc": utc,
            "actualPosition": rng.normal(10, 3, size=len(utc)),
            "actualVelocity": rng.normal(size=len(utc)).round(3),
            "actualTorque": torque,
            "private_seqNum": np.arange(len(utc), dtype=np.int64) * 3 - 500,
            "private_identity": rng.choice(["MTMount", "MTMount:1", "Other"], size=len(utc)),
        }
    )
    # ESS temperature: three sensors (salIndex), strings and ints with nulls, arrays.
    n = 300
    utc = U0 + np.arange(n, dtype=np.int64) * 2 * NS + 500_000_000
    channels = pd.array(rng.integers(1, 16, size=n), dtype="Int64")
    channels[rng.random(n) < 0.1] = pd.NA
    temp = pd.DataFrame(
        {
            "utc": utc,
            "salIndex": np.tile([1, 2, 3], n // 3),
            "numChannels": channels,
            "location": rng.choice(["dome", 'it\'s "here"', None], size=n),
            "sensorName": rng.choice(["a", "b"], size=n),
            # Channels 12-15 are NaN in every row: never written, as far as InfluxDB knows.
            "temperatureItem": [
                list(f32(np.r_[rng.normal(20, 2, size=12), [np.nan] * 4])) for _ in range(n)
            ],
        }
    )
    # M1M3 forces: a few rows of 156-element arrays.
    m = 25
    utc = U0 + np.arange(m, dtype=np.int64) * 20_000_000
    fa = pd.DataFrame(
        {
            "utc": utc,
            "zForce": [list(f32(rng.normal(size=156))) for _ in range(m)],
            "fz": f32(rng.normal(size=m)),
        }
    )
    state = pd.DataFrame(
        {
            "utc": U0 + np.array([1, 60, 61, 400, 1000], dtype=np.int64) * NS,
            "summaryState": np.array([5, 1, 2, 2, 4], dtype=np.int64),
        }
    )
    return {AZ: az, TEMP: temp, FA: fa, STATE: state}


def write_frames(store: Store, frames: dict[str, pd.DataFrame]) -> None:
    writer = Writer(store)
    for topic, frame in frames.items():
        data = frame.drop(columns="utc").assign(time_tai_ns=frame["utc"] + LEAP_NS)
        writer.write(topic, data)


@pytest.fixture(scope="module")
def efd(tmp_path_factory: pytest.TempPathFactory, template_store: Path) -> Iterator[Efd]:
    """A store with the frames written; shared by a module's tests, which only read."""
    path = tmp_path_factory.mktemp("influxql") / "store"
    shutil.copytree(template_store, path)
    settings = Settings(store=path, schema_mode=SchemaMode.STRICT)
    frames = make_frames()
    with Store(path, settings=settings) as store:
        write_frames(store, frames)
        yield Efd(store, settings, frames)


@pytest.fixture
def fresh(store: Store, strict_settings: Settings) -> Efd:
    """A store of its own (for tests that write), with the same frames written."""
    frames = make_frames()
    write_frames(store, frames)
    return Efd(store, strict_settings, frames)
