"""The Parquet cold tier: queries across hot and cold equal an all-hot store.

Each test writes the same rows to two real stores: ``tiered`` has its old days
exported and evicted to Parquet on disk (or on pyarrow's in-memory file
system), ``hot`` keeps everything in DuckDB; every query must answer the same.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openefd.client import EfdClientSync
from openefd.errors import ConfigurationError
from openefd.ingest.writer import Writer
from openefd.query.select import topic_source
from openefd.schema.model import FieldSchema, FieldType, TopicKind, TopicSchema, private_fields
from openefd.settings import SchemaMode, Settings
from openefd.store import cold_manifest
from openefd.store.cold import export, plan_export
from openefd.store.cold_manifest import evicted_partitions, load_partitions
from openefd.store.columns import TIME_COLUMN
from openefd.store.duckdb_store import Store
from openefd.store.retention import apply_retention
from openefd.store.utc_days import (
    DAY_NS,
    day_bounds_tai_ns,
    day_number,
    utc_day_sql,
    utc_days,
)
from openefd.timescales import leap_table, utc_to_tai_ns

ESS = "lsst.sal.ESS.temperature"
AZ = "lsst.sal.MTMount.azimuth"
START = pd.Timestamp("2024-04-28T00:00:00Z")
NOW = int(pd.Timestamp("2024-05-03T12:00:00Z").value)  # UTC ns: 05-02 complete, 05-03 not


def tai(text: str) -> int:
    return int(utc_to_tai_ns(np.int64(pd.Timestamp(text).value)))


def ess_rows(seed: int = 1, n: int = 400) -> pd.DataFrame:
    """ESS temperatures over five days: three sensors, repeated times, nulls, day edges."""
    rng = np.random.default_rng(seed)
    start = tai(str(START))
    times = start + np.sort(rng.integers(0, 5 * DAY_NS, size=n))
    times[:30:3] = times[1:31:3]  # two sensors at the same instant
    edges = [tai(f"2024-04-{d}T00:00:00Z") for d in (29, 30)] + [tai("2024-05-02T00:00:00Z")]
    times[-len(edges) * 2 :] = [t + o for t in edges for o in (0, -1)]
    items = [
        [None if (i + k) % 37 == 0 else float(rng.normal(10, 2)) for k in range(16)]
        for i in range(n)
    ]
    return pd.DataFrame(
        {
            TIME_COLUMN: times,
            "salIndex": (np.arange(n) % 3 + 1).astype(np.int32),
            "numChannels": pd.array(rng.integers(0, 16, size=n), dtype="Int64"),
            "location": [None if i % 11 == 0 else f"sensor {i % 3}" for i in range(n)],
            "temperatureItem": items,
            "private_seqNum": np.arange(n, dtype=np.int32),
        }
    )


def az_rows(n: int = 300) -> pd.DataFrame:
    start = tai(str(START))
    times = start + np.arange(n, dtype=np.int64) * (5 * DAY_NS // n)
    return pd.DataFrame({TIME_COLUMN: times, "actualPosition": np.sin(np.arange(n) / 7.0) * 90})


def tier(store: Store, *, days: int = 1) -> None:
    """Export complete days and evict those ended more than ``days`` ago (before 05-02)."""
    report = export(store, now_utc_ns=NOW)
    assert report.partitions and not report.skipped
    retained = apply_retention(store, days=days, now_utc_ns=NOW)
    assert retained.partitions and not retained.skipped


def fill(*stores: Store) -> None:
    for target in stores:
        Writer(target).write(ESS, ess_rows())
        Writer(target).write(AZ, az_rows())


def settings_for(path: Path, **extra: object) -> Settings:
    return Settings(store=path, schema_mode=SchemaMode.STRICT, **extra)


@pytest.fixture(scope="module")
def two_topics(tmp_path_factory: pytest.TempPathFactory, demo_topics: list[TopicSchema]) -> Path:
    """A closed store with ESS.temperature and MTMount.azimuth registered (quick to open)."""
    path = tmp_path_factory.mktemp("two") / "store"
    with Store(path) as target:
        target.register_topics(t for t in demo_topics if t.name in (ESS, AZ))
    return path


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory, two_topics: Path) -> Path:
    """Closed stores made once: ``tiered`` (old days in its cold/ folder) and ``hot``."""
    work = tmp_path_factory.mktemp("filled")
    for name in ("tiered", "hot"):
        shutil.copytree(two_topics, work / name)
        with Store(work / name) as target:
            fill(target)
            if name == "tiered":
                tier(target)
    return work


def open_copies(source: Path, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    stores = []
    for name in ("tiered", "hot"):
        shutil.copytree(source if source.name == "store" else source / name, tmp_path / name)
        stores.append(Store(tmp_path / name, settings=settings_for(tmp_path / name)))
    yield stores[0], stores[1]
    for target in stores:
        target.close()


@pytest.fixture
def pair(filled: Path, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Copies of the filled stores: tiered (its cold folder moves with it) and all-hot."""
    yield from open_copies(filled, tmp_path)


@pytest.fixture
def empty(two_topics: Path, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two stores without rows, for tests that write their own."""
    yield from open_copies(two_topics, tmp_path)


def both(tiered: Store, hot: Store) -> tuple[EfdClientSync, EfdClientSync]:
    return EfdClientSync.from_store(tiered), EfdClientSync.from_store(hot)


def same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal frames, rows with the same time compared in salIndex order."""

    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        if "salIndex" not in frame.columns:
            return frame
        return frame.rename_axis("t").sort_values(["t", "salIndex"], kind="stable")

    pd.testing.assert_frame_equal(ordered(got), ordered(want))


FIELDS = ["salIndex", "numChannels", "location", "temperatureItem3"]
RANGES = [
    ("2024-04-27T00:00:00Z", "2024-05-04T00:00:00Z"),  # everything
    ("2024-05-01T20:00:00Z", "2024-05-02T04:00:00Z"),  # across the hot/cold boundary
    ("2024-04-29T00:00:00Z", "2024-04-30T00:00:00Z"),  # one cold day, both ends on edges
    ("2024-05-02T00:00:00Z", "2024-05-03T00:00:00Z"),  # hot only
    ("2024-04-30T23:59:59.999999999Z", "2024-05-01T00:00:00Z"),  # a cold midnight
]


def test_old_days_leave_duckdb(pair: tuple[Store, Store]) -> None:
    tiered = pair[0]
    cur = tiered.cursor()
    first_hot = tai("2024-05-02T00:00:00Z")
    for topic in (ESS, AZ):
        hot_min = cur.sql(f'SELECT min({TIME_COLUMN}) FROM "{topic}"').fetchall()[0][0]
        assert hot_min >= first_hot
        assert [p.day for p in evicted_partitions(tiered, topic)] == [
            dt.date(2024, 4, d) for d in (28, 29, 30)
        ] + [dt.date(2024, 5, 1)]


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_time_series_across_hot_and_cold_equal_all_hot(
    pair: tuple[Store, Store], start: str, end: str
) -> None:
    tiered, hot = pair
    got, want = both(tiered, hot)
    for topic, fields in ((ESS, FIELDS), (AZ, ["actualPosition"])):
        a = got.select_time_series(topic, fields, start, end)
        same(a, want.select_time_series(topic, fields, start, end))
    assert len(got.select_time_series(ESS, FIELDS, *RANGES[0])) == 400


def test_index_arrays_and_fields_equal_all_hot(pair: tuple[Store, Store]) -> None:
    tiered, hot = pair
    got, want = both(tiered, hot)
    every = [f"temperatureItem{i}" for i in range(16)]  # whole lists, split in numpy
    for index in (1, 3):
        same(
            got.select_time_series(ESS, ["salIndex", *every], *RANGES[1], index=index),
            want.select_time_series(ESS, ["salIndex", *every], *RANGES[1], index=index),
        )
    assert got.get_fields(ESS) == want.get_fields(ESS)
    start, end = pd.Timestamp(RANGES[0][0]), pd.Timestamp(RANGES[0][1])
    same(
        got.get("ESS.temperature.temperatureItem", start, end),
        want.get("ESS.temperature.temperatureItem", start, end),
    )


@pytest.mark.parametrize(
    ("num", "cut", "index"),
    [
        (1, None, None),
        (10, None, 2),
        (7, "2024-05-01T00:00:00Z", None),  # every row before the cut is cold
        (150, "2024-05-02T03:00:00Z", None),  # across the boundary
        (500, None, None),  # more than there are
        (5, "2024-04-28T00:00:00Z", None),  # nothing before the cut
    ],
)
def test_latest_rows_equal_all_hot(
    pair: tuple[Store, Store], num: int, cut: str | None, index: int | None
) -> None:
    tiered, hot = pair
    got, want = both(tiered, hot)
    a = got.select_top_n(AZ, ["actualPosition"], num, time_cut=cut)
    pd.testing.assert_frame_equal(a, want.select_top_n(AZ, ["actualPosition"], num, time_cut=cut))
    same(
        got.select_top_n(ESS, FIELDS, num, time_cut=cut, index=index),
        want.select_top_n(ESS, FIELDS, num, time_cut=cut, index=index),
    )


def test_source_with_a_range_reads_only_its_days(pair: tuple[Store, Store]) -> None:
    tiered, _ = pair
    layout = tiered.layout(ESS)
    lo, hi = day_bounds_tai_ns(day_number(dt.date(2024, 4, 29)))
    count = f"SELECT count(*) FROM {{}} WHERE {TIME_COLUMN} BETWEEN {lo} AND {hi - 1}"
    with topic_source(tiered, layout, start_tai_ns=lo, end_tai_ns=hi - 1) as source:
        assert source.count(".parquet") == 1 and "day=2024-04-29" in source
        narrow = tiered.cursor().sql(count.format(source)).fetchall()
    with topic_source(tiered, layout) as source:
        assert source.count(".parquet") == 4
        assert tiered.cursor().sql(count.format(source)).fetchall() == narrow
    with topic_source(tiered, tiered.layout(AZ), start_tai_ns=tai("2024-05-02")) as source:
        assert source == f'"{AZ}"'  # no evicted day in range: the table itself


def test_a_bad_cold_location_only_fails_the_tier(empty: tuple[Store, Store]) -> None:
    local, _ = empty
    local.close()
    settings = settings_for(local.path, cold_location="nosuch://bucket/efd")
    with Store(local.path, settings=settings) as target:
        fill(target)
        client = EfdClientSync.from_store(target)
        assert len(client.select_time_series(AZ, ["actualPosition"], *RANGES[0])) == 300
        with pytest.raises(ConfigurationError, match="cold_location 'nosuch://bucket/efd'"):
            export(target, now_utc_ns=NOW)


def late_rows() -> pd.DataFrame:
    """Rows arriving late: new ones for evicted days and the hot day, and one repeat."""
    old = ess_rows().iloc[[5, 200]].copy()  # repeats of stored rows (one in Parquet)
    new = ess_rows(seed=9, n=6)
    new[TIME_COLUMN] = [
        tai(t)
        for t in (
            "2024-04-29T10:00:00Z",
            "2024-04-29T10:00:00Z",
            "2024-04-30T23:59:59.999999999Z",
            "2024-05-01T00:00:00Z",
            "2024-05-02T08:00:00Z",
            "2024-04-28T00:00:00Z",
        )
    ]
    new["salIndex"] = np.array([1, 2, 1, 1, 1, 3], dtype=np.int32)
    new["private_seqNum"] = np.arange(1000, 1006, dtype=np.int32)
    return pd.concat([old, new], ignore_index=True)


def test_late_rows_for_evicted_days(pair: tuple[Store, Store]) -> None:
    tiered, hot = pair
    got, want = both(tiered, hot)
    assert Writer(tiered).write(ESS, late_rows()).rows_written == 6
    assert Writer(hot).write(ESS, late_rows()).rows_written == 6
    for start, end in RANGES:
        same(
            got.select_time_series(ESS, FIELDS, start, end),
            want.select_time_series(ESS, FIELDS, start, end),
        )
    same(got.select_top_n(ESS, FIELDS, 50, "2024-05-01T00:00:01Z"),
         want.select_top_n(ESS, FIELDS, 50, "2024-05-01T00:00:01Z"))  # fmt: skip
    work = plan_export(tiered, now_utc_ns=NOW)
    assert {(w.topic, w.day.isoformat(), w.reason) for w in work} == {
        (ESS, "2024-04-28", "late rows"),
        (ESS, "2024-04-29", "late rows"),
        (ESS, "2024-04-30", "late rows"),
        (ESS, "2024-05-01", "late rows"),
        (ESS, "2024-05-02", "changed"),
    }
    before = {p.day: p for p in load_partitions(tiered.cursor()) if p.topic == ESS}
    stopped = tiered.path / "cold" / f"topic={ESS}" / "day=2024-04-29"
    for name in ("part-crashed.parquet", ".part-crashed.parquet.tmp"):  # an export cut short
        (stopped / name).write_bytes(b"partial")
    report = export(tiered, now_utc_ns=NOW)
    assert report.partitions == 5 and not report.skipped
    after = {p.day: p for p in load_partitions(tiered.cursor()) if p.topic == ESS}
    assert after[dt.date(2024, 4, 29)].rows == before[dt.date(2024, 4, 29)].rows + 2
    assert after[dt.date(2024, 4, 29)].evicted and not after[dt.date(2024, 5, 2)].evicted
    # The late rows of evicted days went to Parquet with the rest, and left DuckDB again.
    old = tiered.cursor().sql(
        f'SELECT count(*) FROM "{ESS}" WHERE {TIME_COLUMN} < {tai("2024-05-02T00:00:00Z")}'
    )
    assert old.fetchall() == [(0,)]
    cold_dir = tiered.path / "cold"
    assert len(list(cold_dir.rglob("*.parquet"))) == 10  # old versions and leftovers deleted
    assert [p.name for p in stopped.iterdir()] == [Path(after[dt.date(2024, 4, 29)].file).name]
    for start, end in RANGES:
        same(
            got.select_time_series(ESS, FIELDS, start, end),
            want.select_time_series(ESS, FIELDS, start, end),
        )
    assert plan_export(tiered, now_utc_ns=NOW) == []


def test_replaying_evicted_rows_stores_nothing(pair: tuple[Store, Store]) -> None:
    tiered, hot = pair
    assert Writer(tiered).write(ESS, ess_rows()).rows_written == 0
    assert Writer(tiered).write(AZ, az_rows()).rows_written == 0
    mixed = pd.concat([ess_rows().iloc[:50], late_rows().iloc[2:4]], ignore_index=True)
    assert tiered.insert(ESS, pa.Table.from_pandas(mixed, preserve_index=False)) == 2
    assert hot.insert(ESS, pa.Table.from_pandas(mixed, preserve_index=False)) == 2
    got, want = both(tiered, hot)
    same(got.select_time_series(ESS, FIELDS, *RANGES[0]),
         want.select_time_series(ESS, FIELDS, *RANGES[0]))  # fmt: skip


def test_pending_live_rows_over_evicted_days(pair: tuple[Store, Store]) -> None:
    """Rows accepted by a live writer, not yet committed, shown once with the cold ones."""
    tiered, hot = pair
    pending = pa.Table.from_pandas(late_rows(), preserve_index=False)
    tiered.pending.add(ESS, tiered.conform(ESS, pending))
    hot.pending.add(ESS, hot.conform(ESS, pending))
    got, want = both(tiered, hot)
    for start, end in RANGES[:3]:
        a = got.select_time_series(ESS, FIELDS, start, end)
        same(a, want.select_time_series(ESS, FIELDS, start, end))
    assert len(got.select_time_series(ESS, FIELDS, *RANGES[0])) == 406


def test_export_is_idempotent(empty: tuple[Store, Store]) -> None:
    store = empty[0]
    fill(store)
    first = export(store, now_utc_ns=NOW)
    assert first.partitions == 10  # five days (04-28 … 05-02) of two topics
    files = sorted((store.path / "cold").rglob("*.parquet"))
    assert len(files) == 10
    again = export(store, now_utc_ns=NOW)
    assert again.partitions == 0 and again.results == []
    assert sorted((store.path / "cold").rglob("*.parquet")) == files
    apply_retention(store, days=1, now_utc_ns=NOW)
    assert export(store, now_utc_ns=NOW).results == []


def test_complete_days_and_until(empty: tuple[Store, Store]) -> None:
    store = empty[0]
    fill(store)
    # 05-02 ended 30 minutes ago: within the grace period, so not complete yet.
    early = int(pd.Timestamp("2024-05-03T00:30:00Z").value)
    days = {w.day.isoformat() for w in plan_export(store, now_utc_ns=early)}
    assert days == {"2024-04-28", "2024-04-29", "2024-04-30", "2024-05-01"}
    until = {
        w.day.isoformat()
        for w in plan_export(store, topics=[AZ], until=dt.date(2024, 4, 30), now_utc_ns=NOW)
    }
    assert until == {"2024-04-28", "2024-04-29"}


def test_failed_write_leaves_no_partition(
    empty: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = empty[0]
    fill(store)
    export(store, topics=[AZ], now_utc_ns=NOW)
    manifest = load_partitions(store.cursor())
    files = sorted((store.path / "cold").rglob("*"))
    written = 0

    def fail_midway(self: pq.ParquetWriter, *args: object, **kwargs: object) -> None:
        nonlocal written
        written += 1
        if written > 2:
            raise OSError("disk full")
        original(self, *args, **kwargs)

    original = pq.ParquetWriter.write_batch
    monkeypatch.setattr(pq.ParquetWriter, "write_batch", fail_midway)
    with pytest.raises(ConfigurationError, match="cannot write to cold location .*disk full"):
        export(store, topics=[ESS], now_utc_ns=NOW)
    assert written > 2
    monkeypatch.undo()
    # Partitions written before the failure are complete and recorded; nothing else is.
    now = load_partitions(store.cursor())
    assert [p for p in now if p.topic == AZ] == manifest
    assert 0 < len(now) - len(manifest) < 5  # some days of ESS, not all
    left = sorted(p for p in (store.path / "cold").rglob("*") if p.is_file())
    assert not [p for p in left if p.name.endswith(".tmp")]
    recorded = {str(store.path / "cold" / p.file) for p in now}
    assert {str(p) for p in left} == recorded
    assert set(files) <= set(sorted((store.path / "cold").rglob("*")))
    for part in now:
        assert pq.read_metadata(store.path / "cold" / part.file).num_rows == part.rows


def test_failed_commit_leaves_manifest_and_files(
    pair: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    tiered, hot = pair
    Writer(tiered).write(ESS, late_rows())
    manifest = load_partitions(tiered.cursor())
    files = sorted((tiered.path / "cold").rglob("*"))

    def broken(con: duckdb.DuckDBPyConnection) -> None:
        raise RuntimeError("manifest unwritable")

    monkeypatch.setattr("openefd.store.cold.ensure_manifest_table", broken)
    with pytest.raises(RuntimeError, match="manifest unwritable"):
        export(tiered, now_utc_ns=NOW)
    assert load_partitions(tiered.cursor()) == manifest
    assert sorted((tiered.path / "cold").rglob("*")) == files
    Writer(hot).write(ESS, late_rows())
    got, want = both(tiered, hot)
    same(got.select_time_series(ESS, FIELDS, *RANGES[0]),
         want.select_time_series(ESS, FIELDS, *RANGES[0]))  # fmt: skip


def test_plain_duckdb_and_pandas_read_the_files(pair: tuple[Store, Store]) -> None:
    tiered = pair[0]
    cold = tiered.path / "cold"
    rows = duckdb.sql(
        f"SELECT topic, count(*), sum(salIndex) FROM read_parquet('{cold}/**/*.parquet', "
        "hive_partitioning = true, union_by_name = true) GROUP BY topic ORDER BY topic"
    ).fetchall()
    expected = ess_rows()
    within = expected[TIME_COLUMN] < tai("2024-05-03T00:00:00Z")
    assert rows == [
        (ESS, int(within.sum()), int(expected["salIndex"][within].sum())),
        (AZ, int((az_rows()[TIME_COLUMN] < tai("2024-05-03T00:00:00Z")).sum()), None),
    ]
    day = duckdb.sql(
        f"SELECT {TIME_COLUMN}, \"temperatureItem\" FROM read_parquet('{cold}/**/*.parquet', "
        f"hive_partitioning = true, union_by_name = true) WHERE topic = '{ESS}' "
        "AND day = DATE '2024-04-29' "
        f"ORDER BY {TIME_COLUMN}, salIndex"
    ).fetchall()
    lo, hi = day_bounds_tai_ns(day_number(dt.date(2024, 4, 29)))
    want = expected[(expected[TIME_COLUMN] >= lo) & (expected[TIME_COLUMN] < hi)]
    want = want.sort_values([TIME_COLUMN, "salIndex"], kind="stable")
    assert [r[0] for r in day] == want[TIME_COLUMN].tolist()
    for (_, got), items in zip(day, want["temperatureItem"], strict=True):
        assert got == [None if v is None else float(np.float32(v)) for v in items]
    frame = pd.read_parquet(cold / f"topic={ESS}")
    assert len(frame) == int(within.sum())
    assert {TIME_COLUMN, "temperatureItem", "salIndex", "day"} <= set(frame.columns)
    one = next(cold.rglob("*.parquet"))
    schema = pq.read_schema(one)
    assert schema.metadata[b"openefd.time_scale"] == b"TAI"
    assert schema.metadata[b"openefd.topic"].decode() in (ESS, AZ)
    assert schema.field(TIME_COLUMN).metadata[b"units"] == b"ns"
    ess_file = next((cold / f"topic={ESS}").rglob("*.parquet"))
    field = pq.read_schema(ess_file).field("temperatureItem")
    assert field.metadata[b"units"] == b"deg_C"
    assert field.metadata[b"description"] == b"The temperatures."


ALL_TYPES = TopicSchema(
    name="lsst.sal.Test.allTypes",
    kind=TopicKind.TELEMETRY,
    csc="Test",
    indexed=True,
    fields=(
        FieldSchema("b", FieldType.BOOLEAN, units="unitless", description="a flag"),
        FieldSchema("u8", FieldType.BYTE),
        FieldSchema("i16", FieldType.SHORT),
        FieldSchema("i32", FieldType.INT),
        FieldSchema("i64", FieldType.LONG_LONG),
        FieldSchema("u32", FieldType.UNSIGNED_INT),
        FieldSchema("u64", FieldType.UNSIGNED_LONG_LONG),
        FieldSchema("f32", FieldType.FLOAT, units="m"),
        FieldSchema("f64", FieldType.DOUBLE),
        FieldSchema("s", FieldType.STRING),
        FieldSchema("arr", FieldType.DOUBLE, 3),
        FieldSchema("free", FieldType.FLOAT, 0),
        *private_fields(indexed=True),
    ),
)
EXTREMES = {
    "b": [True, None],
    "u8": [0, 255],
    "i16": [-(2**15), 2**15 - 1],
    "i32": [-(2**31), None],
    "i64": [-(2**63), 2**63 - 1],
    "u32": [0, 2**32 - 1],
    "u64": pa.array([0, 2**64 - 1], pa.uint64()),
    "f32": [1.5, float("nan")],
    "f64": [-1e300, float("inf")],
    "s": ["", 'ünïcödé "quoted" \\ , = '],
    "arr": [[1.0, 2.0, 3.0], [float("nan"), None, -0.0]],
    "free": [[1.0], [2.0, 3.0, 4.0, 5.0]],
    "salIndex": [1, 2],
}


def test_every_type_and_a_new_field_round_trip(empty: tuple[Store, Store]) -> None:
    store, hot = empty
    for target in (store, hot):
        target.register_topics([ALL_TYPES])
        t0 = tai("2024-04-29T12:00:00Z")
        target.insert(ALL_TYPES.name, pa.table({TIME_COLUMN: [t0, t0 + 1], **EXTREMES}))
    tier(store)
    fields = [*(n for n in EXTREMES if n not in ("arr", "free")), "arr0", "arr2", "free0", "free3"]
    got, want = both(store, hot)
    for client in (got, want):  # a new definition adds a field old files do not have
        extra = FieldSchema("added", FieldType.LONG_LONG, units="s")
        client.store.register_topics([ALL_TYPES.with_fields((*ALL_TYPES.fields, extra))])
    a = got.select_time_series(ALL_TYPES.name, [*fields, "added"], *RANGES[0])
    pd.testing.assert_frame_equal(
        a, want.select_time_series(ALL_TYPES.name, [*fields, "added"], *RANGES[0])
    )
    assert a["u64"].tolist() == [0, 2**64 - 1] and a["added"].isna().all()
    assert got.get_fields(ALL_TYPES.name) == want.get_fields(ALL_TYPES.name)


def test_remote_file_system(empty: tuple[Store, Store], tmp_path: Path) -> None:
    """A non-local pyarrow file system (in memory): files read through pyarrow datasets."""
    local, hot = empty
    local.close()
    settings = settings_for(local.path, cold_location=f"mock:///{tmp_path.name}/x")
    with Store(local.path, settings=settings) as remote:
        fill(remote, hot)
        tier(remote)
        assert cold_manifest.cold_location(remote).local_root is None
        assert not (local.path / "cold").exists()
        got, want = both(remote, hot)
        for start, end in RANGES:
            same(
                got.select_time_series(ESS, FIELDS, start, end),
                want.select_time_series(ESS, FIELDS, start, end),
            )
        same(got.select_top_n(ESS, FIELDS, 5, "2024-04-30T00:00:00Z"),
             want.select_top_n(ESS, FIELDS, 5, "2024-04-30T00:00:00Z"))  # fmt: skip
        assert Writer(remote).write(ESS, late_rows()).rows_written == 6
        assert export(remote, now_utc_ns=NOW).partitions == 5
        Writer(hot).write(ESS, late_rows())
        same(got.select_time_series(ESS, FIELDS, *RANGES[0]),
             want.select_time_series(ESS, FIELDS, *RANGES[0]))  # fmt: skip


def test_store_reopened_reads_cold(pair: tuple[Store, Store]) -> None:
    tiered, hot = pair
    want = EfdClientSync.from_store(hot).select_time_series(ESS, FIELDS, *RANGES[0])
    tiered.close()
    with EfdClientSync(tiered.path, settings=tiered.settings, read_only=True) as got:
        same(got.select_time_series(ESS, FIELDS, *RANGES[0]), want)


# -- UTC days -------------------------------------------------------------

LEAPS = [int(t) for t in leap_table().tai_ns[-6:]]
near_leaps = st.sampled_from(LEAPS).flatmap(lambda t: st.integers(t - 2 * 10**9, t + 2 * 10**9))
any_time = st.integers(tai("1972-01-02T00:00:00Z"), tai("2100-01-01T00:00:00Z"))


DAY_SQL = f"SELECT {utc_day_sql('t')} FROM (SELECT unnest($times) AS t)"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(near_leaps, any_time), min_size=1, max_size=50))
def test_day_in_sql_matches_numpy(times: list[int]) -> None:
    in_sql = [r[0] for r in duckdb.execute(DAY_SQL, {"times": times}).fetchall()]
    assert in_sql == utc_days(np.array(times)).tolist()
    for t, day in zip(times, in_sql, strict=True):
        lo, hi = day_bounds_tai_ns(day)
        assert lo <= t < hi


# -- random rows, random cut: always equal to all-hot ---------------------

SMALL = TopicSchema(
    name="lsst.sal.Test.small",
    kind=TopicKind.TELEMETRY,
    csc="Test",
    indexed=True,
    fields=(FieldSchema("v", FieldType.DOUBLE), *private_fields(indexed=True)),
)
DAY0 = tai("2024-04-28T00:00:00Z")
row = st.tuples(
    st.integers(0, 4 * DAY_NS - 1).map(lambda o: DAY0 + o - o % 10**6),
    st.integers(1, 2),
    # Finite: ±inf in fast telemetry trips the 1-second aggregates (agg_stats), not the tier.
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(row, min_size=1, max_size=40),
    late=st.lists(row, max_size=8),
    keep_days=st.integers(0, 4),
    query=st.tuples(st.integers(0, 4 * DAY_NS), st.integers(0, 2 * DAY_NS), st.integers(0, 2)),
)
def test_random_rows_and_cuts_equal_all_hot(
    rows: list[tuple[int, int, float]],
    late: list[tuple[int, int, float]],
    keep_days: int,
    query: tuple[int, int, int],
) -> None:
    def table(items: list[tuple[int, int, float]]) -> pa.Table:
        times, index, values = zip(*items, strict=True) if items else ((), (), ())
        return pa.table(
            {
                TIME_COLUMN: pa.array(times, pa.int64()),
                "salIndex": pa.array(index, pa.int32()),
                "v": pa.array(values, pa.float64()),
            }
        )

    now = NOW - 3 * DAY_NS + keep_days * DAY_NS // 2
    with tempfile.TemporaryDirectory() as tmp:
        stores = [
            Store(Path(tmp) / name, settings=Settings(store=Path(tmp) / name)) for name in "th"
        ]
        tiered_, hot_ = stores
        try:
            for target in stores:
                target.register_topics([SMALL])
                target.insert(SMALL.name, table(rows))
            export(tiered_, now_utc_ns=now)
            apply_retention(tiered_, days=keep_days, now_utc_ns=now)
            if late:
                assert tiered_.insert(SMALL.name, table(late)) == hot_.insert(
                    SMALL.name, table(late)
                )
                export(tiered_, now_utc_ns=now)
            start, span, index = query
            got, want = both(tiered_, hot_)
            begin = pd.Timestamp(DAY0 - 37 * 10**9 + start, tz="UTC")
            end = begin + pd.Timedelta(span, "ns")
            same(
                got.select_time_series(SMALL.name, ["salIndex", "v"], begin, end, index=index),
                want.select_time_series(SMALL.name, ["salIndex", "v"], begin, end, index=index),
            )
            for num in (1, 3):
                a = got.select_top_n(SMALL.name, ["salIndex", "v"], num, end, index=index)
                b = want.select_top_n(SMALL.name, ["salIndex", "v"], num, end, index=index)
                assert a.index.tolist() == b.index.tolist()
        finally:
            for target in stores:
                target.close()
