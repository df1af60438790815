"""The synthetic, EFD-shaped data set of the core benchmark.

- ``lsst.sal.BenchM1M3.forceActuatorData``: telemetry at 50 Hz (±0.5 ms
  jitter), 120 float fields ``f000 … f119`` (100 DOUBLE, 20 FLOAT) plus the
  SAL private block, as a force-actuator topic looks;
- ``lsst.sal.BenchESS001.temperature`` … ``BenchESS100``: 100 topics at 1 Hz
  with five numeric fields each plus the private block.

Every row carries the private block as SAL sets it (``private_sndStamp`` TAI
s, ``private_efdStamp`` UTC s, ``private_seqNum`` increasing per topic, and
the identity and revision strings), so a row of the 50 Hz topic has 128
fields and one of a 1 Hz topic 13. Values are slow signals plus noise at full
float precision: their mantissas do not compress, as real sensor readings'
do not. Time is given as a ``time_tai_ns`` column (the fastest way in).

Batches are generated one time slice at a time, deterministically (a seed
per slice and topic), so that the load can time the writes alone.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from openefd.schema.model import FieldSchema, FieldType, TopicKind, TopicSchema, private_fields
from openefd.store.columns import TIME_COLUMN
from openefd.timescales import NS_PER_S, utc_to_tai_ns

__all__ = [
    "FAST_HZ",
    "FAST_PERIOD_NS",
    "FAST_TOPIC",
    "START_UTC_NS",
    "DatasetShape",
    "Slice",
    "fast_sample_utc_ns",
    "slice_count",
    "slices",
    "topics",
]

# A night at the summit, away from any leap second.
START_UTC_NS = calendar.timegm((2024, 5, 1, 22, 0, 0)) * NS_PER_S

FAST_TOPIC = "lsst.sal.BenchM1M3.forceActuatorData"
FAST_HZ = 50
FAST_PERIOD_NS = NS_PER_S // FAST_HZ
FAST_JITTER_NS = 500_000
N_FAST_DOUBLE = 100
N_FAST_FLOAT = 20

SLOW_TOPICS = 100
SLOW_HZ = 1
SLOW_FIELDS: tuple[tuple[str, FieldType, str], ...] = (
    ("temperature", FieldType.FLOAT, "deg_C"),
    ("relativeHumidity", FieldType.FLOAT, "%"),
    ("dewPoint", FieldType.FLOAT, "deg_C"),
    ("pressure", FieldType.DOUBLE, "Pa"),
    ("sensorTemperature", FieldType.FLOAT, "deg_C"),
)

# Private fields written with every row (all eight of SAL's private block).
PRIVATE_WRITTEN = 8


def _slow_topic(k: int) -> str:
    return f"lsst.sal.BenchESS{k:03d}.temperature"


def _fast_fields() -> tuple[FieldSchema, ...]:
    doubles = [
        FieldSchema(f"f{i:03d}", FieldType.DOUBLE, 1, "N", f"Force of actuator {i}.")
        for i in range(N_FAST_DOUBLE)
    ]
    floats = [
        FieldSchema(f"f{i:03d}", FieldType.FLOAT, 1, "mm", f"Displacement sensor {i}.")
        for i in range(N_FAST_DOUBLE, N_FAST_DOUBLE + N_FAST_FLOAT)
    ]
    return (*doubles, *floats)


def topics() -> list[TopicSchema]:
    """Definitions of the data set's 101 topics."""
    fast = TopicSchema(
        FAST_TOPIC,
        TopicKind.TELEMETRY,
        (*_fast_fields(), *private_fields(indexed=False)),
        csc="BenchM1M3",
        description="Benchmark: a 50 Hz force-actuator topic.",
        source="bench.dataset",
    )
    slow_fields = tuple(FieldSchema(n, t, 1, u) for n, t, u in SLOW_FIELDS)
    slow = [
        TopicSchema(
            _slow_topic(k),
            TopicKind.TELEMETRY,
            (*slow_fields, *private_fields(indexed=False)),
            csc=f"BenchESS{k:03d}",
            description="Benchmark: a 1 Hz environment topic.",
            source="bench.dataset",
        )
        for k in range(1, SLOW_TOPICS + 1)
    ]
    return [fast, *slow]


@dataclass(frozen=True, slots=True)
class DatasetShape:
    """Rows and values (rows × fields written) of a data set of ``hours``."""

    hours: float

    @property
    def seconds(self) -> int:
        return round(self.hours * 3600)

    @property
    def fast_rows(self) -> int:
        return self.seconds * FAST_HZ

    @property
    def fast_fields(self) -> int:
        return N_FAST_DOUBLE + N_FAST_FLOAT + PRIVATE_WRITTEN

    @property
    def slow_rows(self) -> int:
        return self.seconds * SLOW_HZ * SLOW_TOPICS

    @property
    def slow_fields(self) -> int:
        return len(SLOW_FIELDS) + PRIVATE_WRITTEN

    @property
    def topics(self) -> int:
        return 1 + SLOW_TOPICS

    @property
    def rows(self) -> int:
        return self.fast_rows + self.slow_rows

    @property
    def values(self) -> int:
        return self.fast_rows * self.fast_fields + self.slow_rows * self.slow_fields


@dataclass(frozen=True, slots=True)
class Slice:
    """One time slice of the data set: a table per topic, in write order."""

    index: int
    tables: list[tuple[str, pa.Table]]


def fast_sample_utc_ns(i: np.ndarray | int) -> np.ndarray:
    """Nominal UTC ns of sample ``i`` of the 50 Hz topic (before jitter)."""
    return START_UTC_NS + np.asarray(i, dtype=np.int64) * FAST_PERIOD_NS


def _private(utc_ns: np.ndarray, tai_ns: np.ndarray, first_seq: int, identity: str) -> dict:
    n = len(utc_ns)
    tai_s = tai_ns / NS_PER_S
    return {
        "private_sndStamp": pa.array(tai_s),
        "private_rcvStamp": pa.array(tai_s + 0.0021),
        "private_efdStamp": pa.array(utc_ns / NS_PER_S),
        "private_kafkaStamp": pa.array(tai_s + 0.0047),
        "private_seqNum": pa.array(np.arange(first_seq, first_seq + n, dtype=np.int32)),
        "private_origin": pa.array(np.full(n, 4242, dtype=np.int32)),
        "private_identity": pa.repeat(pa.scalar(identity), n),
        "private_revCode": pa.repeat(pa.scalar("c0ffee01"), n),
    }


def _signals(rng: np.random.Generator, t_s: np.ndarray, count: int, scale: float) -> np.ndarray:
    """``count`` rows of slow sinusoids plus noise, one per field (shape count × n)."""
    period = rng.uniform(60.0, 3600.0, size=(count, 1))
    phase = rng.uniform(0.0, 2 * np.pi, size=(count, 1))
    level = rng.uniform(-scale, scale, size=(count, 1))
    wave = level + 0.1 * scale * np.sin(2 * np.pi * t_s / period + phase)
    return wave + 0.001 * scale * rng.standard_normal((count, len(t_s)))


def _fast_table(index: int, first: int, count: int) -> pa.Table:
    rng = np.random.default_rng([7, index])
    samples = np.arange(first, first + count, dtype=np.int64)
    jitter = rng.integers(-FAST_JITTER_NS, FAST_JITTER_NS, size=count, endpoint=False)
    utc_ns = fast_sample_utc_ns(samples) + jitter
    tai_ns = utc_to_tai_ns(utc_ns)
    t_s = (samples / FAST_HZ)[None, :]
    forces = _signals(rng, t_s, N_FAST_DOUBLE, 1000.0)
    positions = _signals(rng, t_s, N_FAST_FLOAT, 10.0).astype(np.float32)
    cols: dict = {TIME_COLUMN: pa.array(tai_ns)}
    for i in range(N_FAST_DOUBLE):
        cols[f"f{i:03d}"] = pa.array(forces[i])
    for j in range(N_FAST_FLOAT):
        cols[f"f{N_FAST_DOUBLE + j:03d}"] = pa.array(positions[j])
    cols.update(_private(utc_ns, tai_ns, int(first) + 1, "BenchM1M3"))
    return pa.table(cols)


def _slow_table(index: int, k: int, first: int, count: int) -> pa.Table:
    rng = np.random.default_rng([11, index, k])
    seconds = np.arange(first, first + count, dtype=np.int64)
    utc_ns = START_UTC_NS + seconds * NS_PER_S + rng.integers(0, 50_000_000, size=count)
    tai_ns = utc_to_tai_ns(utc_ns)
    values = _signals(rng, seconds[None, :].astype(np.float64), len(SLOW_FIELDS), 20.0)
    cols: dict = {TIME_COLUMN: pa.array(tai_ns)}
    for (name, ftype, _), row in zip(SLOW_FIELDS, values, strict=True):
        cols[name] = pa.array(row.astype(np.float32) if ftype is FieldType.FLOAT else row)
    cols.update(_private(utc_ns, tai_ns, int(first) + 1, f"BenchESS{k:03d}"))
    return pa.table(cols)


def slice_count(shape: DatasetShape, slice_s: int) -> int:
    return -(-shape.seconds // slice_s)


def slices(shape: DatasetShape, slice_s: int) -> Iterator[Slice]:
    """The data set in time order, ``slice_s`` seconds per slice (the last may be shorter)."""
    for index in range(slice_count(shape, slice_s)):
        begin = index * slice_s
        length = min(slice_s, shape.seconds - begin)
        tables = [(FAST_TOPIC, _fast_table(index, begin * FAST_HZ, length * FAST_HZ))]
        tables += [
            (_slow_topic(k), _slow_table(index, k, begin * SLOW_HZ, length * SLOW_HZ))
            for k in range(1, SLOW_TOPICS + 1)
        ]
        yield Slice(index, tables)
