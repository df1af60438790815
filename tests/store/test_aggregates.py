"""Continuous 1-second aggregates against numpy over the raw rows read back.

Every check recomputes the expected statistics independently (numpy on each
(salIndex, second) group of the stored raw rows, grouped by pandas) and
compares them with the ``@1s`` table the store kept up to date incrementally,
and with a from-scratch ``rebuild()`` or a store loaded in one go.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openefd.client import EfdClientSync
from openefd.errors import OpenEfdError
from openefd.ingest.live import LiveWriter
from openefd.ingest.writer import TopicBatch, Writer
from openefd.query.aggregated import event_seconds
from openefd.query.select import RowSelect
from openefd.schema.model import TopicSchema
from openefd.settings import SchemaMode, Settings
from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.store import agg_recent
from openefd.store.agg_rows import agg_table
from openefd.store.duckdb_store import Store
from openefd.store.registry import quote_ident

NS = 1_000_000_000
T0 = 1714532437 * NS  # 2024-05-01T03:00:00 UTC, as TAI ns
AZ = "lsst.sal.MTMount.azimuth"
EL = "lsst.sal.MTMount.elevation"
FA = "lsst.sal.MTM1M3.forceActuatorData"
TEMP = "lsst.sal.ESS.temperature"
ERROR = "lsst.sal.MTMount.logevent_errorCode"
ESS_ERROR = "lsst.sal.ESS.logevent_errorCode"
MOVE = "lsst.sal.MTMount.command_moveToTarget"
WARNING = "lsst.sal.MTM1M3.logevent_forceActuatorWarning"
USED = {AZ, EL, FA, TEMP, ERROR, ESS_ERROR, MOVE, WARNING}
STATS = ("mean", "min", "max", "median", "std", "count")

AZ_FIELDS = ["actualPosition", "actualVelocity", "actualTorque"]
FA_FIELDS = ["xForce", "fz", "forceMagnitude"]
TEMP_FIELDS = ["temperatureItem", "numChannels", "timestamp"]


# ------------------------------------------------------------------ helpers


def settings_for(path: Path, **extra: object) -> Settings:
    return Settings(store=path, schema_mode=SchemaMode.STRICT, aggregate_lag_s=0, **extra)


@pytest.fixture(scope="session")
def small_template(
    tmp_path_factory: pytest.TempPathFactory, demo_topics: list[TopicSchema]
) -> Path:
    """A store with only the topics used here registered (opens in a fraction of the time)."""
    path = tmp_path_factory.mktemp("aggregates") / "store"
    with Store(path) as st_:
        st_.register_topics([t for t in demo_topics if t.name in USED])
    return path


@pytest.fixture
def store_path(small_template: Path, tmp_path: Path) -> Path:
    shutil.copytree(small_template, tmp_path / "store")
    return tmp_path / "store"


@pytest.fixture
def eager(store_path: Path) -> Iterator[Store]:
    """A store that brings aggregates up to date at every commit (lag 0)."""
    with Store(store_path, settings=settings_for(store_path)) as st_:
        yield st_


def azimuth_rows(
    rng: np.random.Generator, start_s: int, seconds: int, hz: int = 50
) -> pd.DataFrame:
    """``hz`` jittered samples per second, some nulls (one field null for whole seconds)."""
    n = seconds * hz
    step = NS // hz
    times = T0 + start_s * NS + np.arange(n) * step + rng.integers(0, step, n)
    velocity = rng.normal(0.0, 1.0, n)
    velocity[rng.random(n) < 0.1] = np.nan
    torque = rng.normal(1e4, 50.0, n)
    torque[(times // NS) % 7 == 0] = np.nan  # whole seconds without a value
    return pd.DataFrame(
        {
            "time_tai_ns": times,
            # Large offsets: a one-pass variance would lose every digit here.
            "actualPosition": 1.7e9 + rng.normal(0.0, 1e-3, n),
            "actualVelocity": velocity,
            "actualTorque": torque,
        }
    )


def force_rows(rng: np.random.Generator, start_s: int, seconds: int, hz: int = 50) -> pd.DataFrame:
    n = seconds * hz
    step = NS // hz
    times = T0 + start_s * NS + np.arange(n) * step + rng.integers(0, step, n)
    x = rng.normal(0.0, 100.0, (n, 12)).astype(np.float32)
    x[rng.random((n, 12)) < 0.05] = np.nan  # null elements
    fz = rng.normal(5e5, 10.0, n)
    fz[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "time_tai_ns": times,
            "xForce": [[None if np.isnan(v) else float(v) for v in row] for row in x],
            "fz": fz,
            "forceMagnitude": rng.normal(1e3, 1.0, n),
        }
    )


def temperature_rows(
    rng: np.random.Generator, start_s: int, seconds: int, hz: int = 20
) -> pd.DataFrame:
    """Two sensors (salIndex 101, 102) sampling at ``hz`` with their own jitter."""
    parts = []
    for sal in (101, 102):
        n = seconds * hz
        step = NS // hz
        times = T0 + start_s * NS + np.arange(n) * step + rng.integers(0, step, n)
        items = rng.normal(10.0 + sal, 0.5, (n, 16)).astype(np.float32)
        parts.append(
            pd.DataFrame(
                {
                    "time_tai_ns": times,
                    "salIndex": sal,
                    "temperatureItem": list(items.astype(np.float64)),
                    "numChannels": rng.integers(0, 16, n),
                    "timestamp": times / NS,
                    "sensorName": f"sensor {sal}",
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def one_hz_rows(start_s: int, seconds: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time_tai_ns": T0 + (start_s + np.arange(seconds)) * NS + 250_000_000,
            "actualPosition": np.arange(seconds, dtype=float),
        }
    )


def matrix(values: list[object]) -> np.ndarray:
    """A column of scalars or lists as rows × elements float64 (None → NaN)."""
    if not any(isinstance(v, list) for v in values):
        return np.array([np.nan if v is None else v for v in values], dtype=float)[:, None]
    width = max(len(v) for v in values if isinstance(v, list))
    out = np.full((len(values), width), np.nan)
    for i, v in enumerate(values):
        if isinstance(v, list):
            out[i, : len(v)] = [np.nan if x is None else x for x in v]
    return out


def raw_rows(store: Store, topic: str) -> pa.Table:
    return store.cursor().sql(f"SELECT * FROM {quote_ident(topic)}").to_arrow_table()


def aggregate_rows(store: Store, topic: str) -> pd.DataFrame:
    """The ``@1s`` table (events: their 1-second view, computed from the raw rows) sorted
    by salIndex (if any), then second."""
    if store.layout(topic).kind.value == "event":
        table = event_seconds(store, RowSelect(topic, []))
    else:
        sql = f"SELECT * FROM {quote_ident(agg_table(topic))}"
        table = store.cursor().sql(sql).to_arrow_table()
    frame = table.to_pandas()
    keys = ["salIndex", "time_tai_ns"] if "salIndex" in frame else ["time_tai_ns"]
    return frame.sort_values(keys, ignore_index=True)


def reference(values: np.ndarray) -> dict[str, float]:
    """The six statistics of one group's values, by numpy on the non-null ones."""
    present = values[~np.isnan(values)]
    n = len(present)
    return {
        "mean": float(np.mean(present)) if n else np.nan,
        "min": float(np.min(present)) if n else np.nan,
        "max": float(np.max(present)) if n else np.nan,
        "median": float(np.median(present)) if n else np.nan,
        "std": float(np.std(present, ddof=1)) if n > 1 else np.nan,
        "count": float(n),
    }


def expected_stats(raw: pa.Table, fields: list[str]) -> pd.DataFrame:
    """Per-(salIndex, second) statistics of ``raw``: columns '<field>.<stat>#<element>'."""
    keys = pd.DataFrame({"second": raw["time_tai_ns"].to_numpy() // NS})
    if "salIndex" in raw.column_names:
        keys.insert(0, "salIndex", raw["salIndex"].to_numpy())
    groups = keys.groupby(list(keys.columns), sort=True).indices
    matrices = {name: matrix(raw[name].to_pylist()) for name in fields}
    records = []
    for key, rows in groups.items():
        record = dict(zip(keys.columns, key if isinstance(key, tuple) else (key,), strict=True))
        record["rows"] = len(rows)
        for name, values in matrices.items():
            for j in range(values.shape[1]):
                for stat, value in reference(values[rows, j]).items():
                    record[f"{name}.{stat}#{j}"] = value
        records.append(record)
    return pd.DataFrame.from_records(records)


def assert_matches_raw(store: Store, topic: str, fields: list[str]) -> pd.DataFrame:
    """The ``@1s`` table equals numpy over the raw rows; returns the table."""
    raw = raw_rows(store, topic)
    want = expected_stats(raw, fields)
    got = aggregate_rows(store, topic)
    assert len(got) == len(want) > 0
    assert (got["time_tai_ns"].to_numpy() == want["second"].to_numpy() * NS).all()
    if "salIndex" in want:
        assert (got["salIndex"].to_numpy() == want["salIndex"].to_numpy()).all()
    assert (got["rows"].to_numpy() == want["rows"].to_numpy()).all()
    for name in fields:
        for stat in STATS:
            have = matrix(got[f"{name}.{stat}"].map(_listify).tolist())
            width = have.shape[1]
            expect = np.stack(
                [want[f"{name}.{stat}#{j}"].to_numpy(dtype=float) for j in range(width)], axis=1
            )
            assert width == sum(c.startswith(f"{name}.{stat}#") for c in want.columns)
            if stat == "count":
                assert (have == expect).all(), f"{name}.{stat}"
            else:
                # std of 1.7e9 ± 1e-3: both sides are only good to ~2e-7 there.
                rtol = 1e-6 if stat == "std" else 1e-9
                np.testing.assert_allclose(
                    have, expect, rtol=rtol, atol=0, equal_nan=True, err_msg=f"{name}.{stat}"
                )
    return got


def _listify(value: object) -> object:
    if isinstance(value, np.ndarray):
        return [None if pd.isna(v) else float(v) for v in value]
    return None if value is None or pd.isna(value) else value


def refresh_all(store: Store) -> None:
    with store.transaction():
        store.aggregates.refresh(include_open=True)


def rebuilt(store: Store, topic: str) -> pd.DataFrame:
    """The ``@1s`` table recomputed from scratch (on the same store: same raw rows)."""
    with store.transaction():
        store.aggregates.rebuild([topic])
    return aggregate_rows(store, topic)


def same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal row for row, lists element by element, NaN equal to NaN."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for col in a.columns:
        left = [_listify(v) for v in a[col]]
        right = [_listify(v) for v in b[col]]
        assert left == right, col


PROPERTY = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@contextmanager
def forced_rate_store(template: Path, topic: str, lag: int) -> Iterator[Store]:
    """A fresh copy of ``template`` whose ``topic`` is aggregated whatever its rate (a
    sparse first batch would be judged slow: see the xfail), with ``lag`` seconds of lag."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store"
        shutil.copytree(template, path)
        settings_ = settings_for(path, aggregate_include=[topic]).model_copy(
            update={"aggregate_lag_s": lag}
        )
        with Store(path, settings=settings_) as store:
            yield store


def shuffled_batches(
    frame: pd.DataFrame, rng: np.random.Generator, parts: int
) -> list[pd.DataFrame]:
    """``frame`` cut at random places into ``parts`` batches, in a random order."""
    cuts = np.sort(rng.choice(np.arange(1, len(frame)), parts - 1, replace=False))
    mixed = frame.sample(frac=1.0, random_state=rng).reset_index(drop=True)
    edges = [0, *cuts.tolist(), len(mixed)]
    return [mixed.iloc[a:b].reset_index(drop=True) for a, b in itertools.pairwise(edges) if b > a]


# ------------------------------------------------------------- statistics vs numpy


def test_fast_scalar_topic_matches_numpy(eager: Store) -> None:
    rng = np.random.default_rng(1)
    Writer(eager).write(AZ, azimuth_rows(rng, 0, 40))
    refresh_all(eager)
    got = assert_matches_raw(eager, AZ, AZ_FIELDS)
    assert len(got) == 40
    assert (got["rows"] == 50).all()
    assert got["actualTorque.count"].eq(0).any()  # whole seconds of nulls …
    assert got.loc[got["actualTorque.count"] == 0, "actualTorque.mean"].isna().all()  # … null
    # Fields never written are all null: count 0 and no value.
    assert (got["actualJerk.count"] == 0).all() and got["actualJerk.std"].isna().all()
    # Two-pass std keeps the digits of a tiny spread on a huge offset.
    assert np.allclose(got["actualPosition.std"], 1e-3, rtol=0.3)


def test_an_aggregate_table_with_more_columns_is_filled_by_name(eager: Store) -> None:
    """A ``@1s`` table holding columns today's statistics do not make (a field of an
    older definition, say) takes new rows by column name; the other columns are null."""
    rng = np.random.default_rng(11)
    Writer(eager).write(AZ, azimuth_rows(rng, 0, 10))
    refresh_all(eager)
    table = quote_ident(agg_table(AZ))
    eager._con.execute(f'ALTER TABLE {table} ADD COLUMN "retired.mean" DOUBLE')
    eager._con.execute(f'UPDATE {table} SET "retired.mean" = 1.5')
    eager.aggregates._load_catalog()  # as a store opened on this file would see it
    Writer(eager).write(AZ, azimuth_rows(rng, 10, 10))
    refresh_all(eager)
    got = assert_matches_raw(eager, AZ, AZ_FIELDS)
    assert len(got) == 20
    newer = got["time_tai_ns"] >= (T0 // NS + 10) * NS
    assert got.loc[~newer, "retired.mean"].eq(1.5).all()
    assert got.loc[newer, "retired.mean"].isna().all()


def test_array_topic_is_aggregated_element_by_element(eager: Store) -> None:
    rng = np.random.default_rng(2)
    Writer(eager).write(FA, force_rows(rng, 0, 20))
    refresh_all(eager)
    got = assert_matches_raw(eager, FA, FA_FIELDS)
    first = got["xForce.mean"].iloc[0]
    assert len(first) == 12
    # Element 3 of the first second by hand.
    raw = raw_rows(eager, FA).to_pandas()
    in_first = raw[raw["time_tai_ns"] // NS == got["time_tai_ns"].iloc[0] // NS]
    element = pd.Series([v[3] for v in in_first["xForce"]], dtype=float)
    assert first[3] == pytest.approx(element.mean(), rel=1e-12)
    assert got["xForce.count"].iloc[0][3] == element.notna().sum()


def test_indexed_topic_keeps_each_sal_index_apart(eager: Store) -> None:
    rng = np.random.default_rng(3)
    Writer(eager).write(TEMP, temperature_rows(rng, 0, 15))
    refresh_all(eager)
    got = assert_matches_raw(eager, TEMP, TEMP_FIELDS)
    assert sorted(set(got["salIndex"])) == [101, 102]
    assert (got.groupby("salIndex").size() == 15).all()
    # Each sensor's mean is near its own level: the two were not mixed.
    means = got.groupby("salIndex")["temperatureItem.mean"].apply(lambda s: np.mean(list(s)))
    assert means[101] == pytest.approx(111.0, abs=0.2)
    assert means[102] == pytest.approx(112.0, abs=0.2)
    assert "sensorName.mean" not in got  # text fields have no statistics


def test_std_is_null_for_one_sample_and_median_of_even_counts(eager: Store) -> None:
    times = T0 + np.array([0, 100, 200, 300, 1000, 1100, 1200, 2000, 5000, 5001]) * 1_000_000
    frame = pd.DataFrame(
        {
            "time_tai_ns": times,
            "actualPosition": [4.0, 1.0, 3.0, 2.0, 7.0, np.nan, 5.0, 9.0, 1.0, 2.0],
        }
    )
    # Rows without a value 10 s on: the seconds above are closed, and nulls count as rows.
    frame = pd.concat([frame, azimuth_rows(np.random.default_rng(9), 10, 10)[["time_tai_ns"]]])
    Writer(eager).write(AZ, frame)
    refresh_all(eager)
    got = assert_matches_raw(eager, AZ, ["actualPosition"]).set_index("time_tai_ns")
    s0, s1, s2, s5 = (got.loc[T0 + k * NS] for k in (0, 1, 2, 5))
    assert s0["actualPosition.median"] == 2.5  # even count: mean of the middle two
    assert s0["actualPosition.std"] == pytest.approx(np.std([4, 1, 3, 2], ddof=1))
    assert s1["actualPosition.count"] == 2 and s1["rows"] == 3  # the null is not counted
    assert s1["actualPosition.mean"] == 6.0
    assert s2["actualPosition.count"] == 1 and pd.isna(s2["actualPosition.std"])
    assert s2["actualPosition.median"] == 9.0
    assert s5["actualPosition.min"] == 1.0 and s5["actualPosition.max"] == 2.0


# ------------------------------------------------------------- incremental upkeep


def test_newest_second_is_held_back_until_later_data(eager: Store) -> None:
    rng = np.random.default_rng(4)
    rows = azimuth_rows(rng, 0, 12)
    Writer(eager).write(AZ, rows[rows["time_tai_ns"] < T0 + 10 * NS])
    seconds = aggregate_rows(eager, AZ)["time_tai_ns"].tolist()
    assert seconds == [T0 + k * NS for k in range(9)]  # second 9 may still be filling
    assert eager.aggregates.dirty(AZ)
    Writer(eager).write(AZ, rows[rows["time_tai_ns"] >= T0 + 10 * NS])
    assert aggregate_rows(eager, AZ)["time_tai_ns"].max() == T0 + 10 * NS
    refresh_all(eager)
    assert not eager.aggregates.dirty(AZ)
    assert_matches_raw(eager, AZ, AZ_FIELDS)


def test_work_waits_for_lag_but_queries_catch_up(store_path: Path) -> None:
    lagged = settings_for(store_path).model_copy(update={"aggregate_lag_s": 30})
    rows = azimuth_rows(np.random.default_rng(5), 0, 45)
    with Store(store_path, settings=lagged) as store:
        Writer(store).write(AZ, rows[rows["time_tai_ns"] < T0 + 20 * NS])
        assert not store.aggregates.has_table(AZ)  # 20 s < 30 s: nothing done yet
        Writer(store).write(AZ, rows[rows["time_tai_ns"] >= T0 + 20 * NS])
        got = aggregate_rows(store, AZ)  # 45 s ≥ 30 s: done, the open second held back
        assert got["time_tai_ns"].tolist() == [T0 + k * NS for k in range(44)]
        efd = EfdClientSync.from_store(store)
        frame = efd.select_time_series(
            AZ,
            "actualPosition",
            pd.Timestamp("2024-05-01T02:00Z"),
            pd.Timestamp("2024-05-01T04:00Z"),
            resolution="1s",
            stats="count",
        )
        assert len(frame) == 45 and frame["actualPosition"].sum() == len(rows)
        assert_matches_raw(store, AZ, AZ_FIELDS)


def arrival_batches(
    frame: pd.DataFrame, rng: np.random.Generator, parts: int
) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """Rows as they might arrive: the first 3 s in order, then time chunks in random order;
    and, separately, a random tenth of all rows that come late, in random batches."""
    frame = frame.sort_values("time_tai_ns", ignore_index=True)
    late = rng.random(len(frame)) < 0.1
    opening = (frame["time_tai_ns"] < frame["time_tai_ns"].min() + 3 * NS) & ~late
    rest = frame[~late & ~opening].reset_index(drop=True)
    chunks = np.array_split(np.arange(len(rest)), parts)
    on_time = [frame[opening]] + [rest.iloc[chunks[i]] for i in rng.permutation(parts)]
    return on_time, shuffled_batches(frame[late], rng, 4)


def interleaved(
    per_topic: dict[str, list[pd.DataFrame]], rng: np.random.Generator
) -> list[tuple[str, pd.DataFrame]]:
    """The topics' batches merged in a random order, each topic's own order kept."""
    queue = [t for t, batches in per_topic.items() for _ in batches]
    rng.shuffle(queue)
    position = dict.fromkeys(per_topic, 0)
    out = []
    for topic in queue:
        out.append((topic, per_topic[topic][position[topic]]))
        position[topic] += 1
    return out


@pytest.mark.parametrize("through", ["writer", "live"])
def test_incremental_equals_from_scratch_with_late_rows(eager: Store, through: str) -> None:
    rng = np.random.default_rng(6)
    frames = {
        AZ: azimuth_rows(rng, 0, 30),
        FA: force_rows(rng, 0, 12),
        TEMP: temperature_rows(rng, 0, 20),
    }
    fields = {AZ: AZ_FIELDS, FA: FA_FIELDS, TEMP: TEMP_FIELDS}
    split = {t: arrival_batches(f, rng, 6) for t, f in frames.items()}
    live = LiveWriter(eager, flush_interval_s=3600) if through == "live" else None

    def send(batches: list[tuple[str, pd.DataFrame]]) -> None:
        for k, (topic, batch) in enumerate(batches):
            if live is None:
                Writer(eager).write(topic, batch)
            else:
                live.write(topic, batch)
                if k % 3 == 2:
                    live.flush()
        if live is not None:
            live.flush()

    send(interleaved({t: on_time for t, (on_time, _) in split.items()}, rng))
    done = {t: set(aggregate_rows(eager, t)["time_tai_ns"] // NS) for t in frames}
    late = interleaved({t: late for t, (_, late) in split.items()}, rng)
    send(late)
    if live is not None:
        live.close()
    for topic, batch in late:  # the late rows really went into aggregated seconds
        assert set(batch["time_tai_ns"] // NS) & done[topic]
    refresh_all(eager)
    for topic, frame in frames.items():
        assert eager.topic_stats([topic])[0].rows == len(frame)
        incremental = assert_matches_raw(eager, topic, fields[topic])
        same_table(incremental, rebuilt(eager, topic))


def test_late_rows_update_an_aggregated_second(eager: Store) -> None:
    rng = np.random.default_rng(7)
    rows = azimuth_rows(rng, 0, 20)
    late = rows.iloc[::5]
    Writer(eager).write(AZ, rows.drop(index=late.index))
    before = aggregate_rows(eager, AZ).set_index("time_tai_ns")
    assert (before["rows"] == 40).all() and len(before) == 19
    Writer(eager).write(AZ, late)  # every aggregated second gets 10 more rows
    after = aggregate_rows(eager, AZ).set_index("time_tai_ns")
    assert (after.loc[before.index, "rows"] == 50).all()
    refresh_all(eager)
    same_table(assert_matches_raw(eager, AZ, AZ_FIELDS), rebuilt(eager, AZ))


def fresh_store(template: Path, path: Path, **extra: object) -> Store:
    shutil.copytree(template, path)
    return Store(path, settings=settings_for(path, **extra))


def test_same_as_a_store_loaded_in_one_go(
    eager: Store, tmp_path: Path, small_template: Path
) -> None:
    rng = np.random.default_rng(8)
    temp = temperature_rows(rng, 0, 25)
    on_time, late = arrival_batches(temp, rng, 9)
    for batch in on_time + late:
        Writer(eager).write(TEMP, batch)
    refresh_all(eager)
    incremental = aggregate_rows(eager, TEMP)
    with fresh_store(small_template, tmp_path / "fresh") as fresh:
        Writer(fresh).write(TEMP, temp)
        refresh_all(fresh)
        same_table(incremental, aggregate_rows(fresh, TEMP))


def scattered_start(template: Path, path: Path) -> Store:
    """A 20 Hz topic whose first write is a random twentieth of its rows."""
    rows = temperature_rows(np.random.default_rng(8), 0, 25)
    store = fresh_store(template, path)
    sparse = rows.sample(frac=0.05, random_state=1)
    Writer(store).write(TEMP, sparse)
    Writer(store).write(TEMP, rows.drop(index=sparse.index))
    refresh_all(store)
    return store


def test_a_sparse_first_write_does_not_decide_the_rate(
    tmp_path: Path, small_template: Path
) -> None:
    """Judged slow from a sparse first write, the topic is judged again when the rest comes."""
    with scattered_start(small_template, tmp_path / "s") as store:
        assert store.aggregates.mode(TEMP) == "stats"
        assert store.aggregates.has_table(TEMP)
        got = assert_matches_raw(store, TEMP, TEMP_FIELDS)
        assert got["rows"].sum() == store.topic_stats([TEMP])[0].rows


def test_rebuild_judges_the_rate_again_from_every_row(
    tmp_path: Path, small_template: Path
) -> None:
    with scattered_start(small_template, tmp_path / "s") as store:
        rebuilt(store, TEMP)
        assert store.aggregates.mode(TEMP) == "stats"
        got = assert_matches_raw(store, TEMP, TEMP_FIELDS)
        assert got["rows"].sum() == store.topic_stats([TEMP])[0].rows
        Writer(store).write(TEMP, temperature_rows(np.random.default_rng(1), 30, 3))
        refresh_all(store)
        assert_matches_raw(store, TEMP, TEMP_FIELDS)  # and kept up to date after


@PROPERTY
@given(
    seed=st.integers(0, 2**31),
    parts=st.integers(1, 8),
    seconds=st.integers(1, 12),
    hz=st.sampled_from([2, 7, 50]),
    lag=st.sampled_from([0, 3]),
)
def test_any_split_and_order_gives_the_from_scratch_table(
    small_template: Path, seed: int, parts: int, seconds: int, hz: int, lag: int
) -> None:
    rng = np.random.default_rng(seed)
    rows = temperature_rows(rng, int(rng.integers(0, 5)), seconds, hz)
    rows = rows.sample(n=max(1, len(rows) - int(rng.integers(0, 5))), random_state=rng)
    with forced_rate_store(small_template, TEMP, lag) as store:
        writer = Writer(store)
        for batch in shuffled_batches(rows, rng, min(parts, len(rows))):
            writer.write(TEMP, batch)
        refresh_all(store)
        incremental = assert_matches_raw(store, TEMP, TEMP_FIELDS)
        same_table(incremental, rebuilt(store, TEMP))


@PROPERTY
@given(
    seed=st.integers(0, 2**31),
    parts=st.integers(1, 8),
    seconds=st.integers(2, 12),
    lag=st.sampled_from([0, 3]),
    late=st.booleans(),
    indexed=st.booleans(),
)
def test_appended_rows_are_aggregated_from_memory_as_from_the_table(
    small_template: Path,
    seed: int,
    parts: int,
    seconds: int,
    lag: int,
    late: bool,
    indexed: bool,
) -> None:
    """A live feed appends rows in time order, cut anywhere (inside seconds too): the
    seconds it completes are aggregated from the rows the writer still holds. The
    result equals numpy over the stored rows and a from-scratch rebuild, also when a
    late batch lands between stored rows (then the table is read again)."""
    rng = np.random.default_rng(seed)
    topic, fields = (TEMP, TEMP_FIELDS) if indexed else (AZ, AZ_FIELDS)
    make = temperature_rows if indexed else azimuth_rows
    rows = make(rng, 0, seconds).sort_values("time_tai_ns", ignore_index=True)
    held_back = rows.iloc[0:0]
    if late:  # some rows of the middle seconds arrive after everything else
        middle = rows["time_tai_ns"].between(T0 + NS, T0 + (seconds // 2 + 1) * NS)
        pick = middle & (rng.random(len(rows)) < 0.3)
        held_back, rows = rows[pick], rows[~pick].reset_index(drop=True)
    cuts = np.sort(rng.choice(np.arange(1, len(rows)), min(parts, len(rows)) - 1, replace=False))
    edges = [0, *cuts.tolist(), len(rows)]
    with forced_rate_store(small_template, topic, lag) as store:
        served = 0
        rows_of = store.aggregates._recent.rows_of

        def counting(*args: Any, **kwargs: Any) -> pa.Table | None:
            nonlocal served
            got = rows_of(*args, **kwargs)
            served += got is not None
            return got

        store.aggregates._recent.rows_of = counting  # type: ignore[method-assign]
        writer = Writer(store)
        for a, b in itertools.pairwise(edges):
            writer.write(topic, rows.iloc[a:b].reset_index(drop=True))
        if len(held_back):
            writer.write(topic, held_back.reset_index(drop=True))
        refresh_all(store)
        incremental = assert_matches_raw(store, topic, fields)
        same_table(incremental, rebuilt(store, topic))
        if not late:  # every batch was an append: seconds came from memory
            assert served > 0


def test_rows_beyond_the_memory_cap_are_read_from_the_table(
    eager: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bulk load in one transaction keeps at most MAX_BYTES of rows for the aggregates:
    beyond that the topic's rows are dropped and its seconds read back, with the same
    result."""
    monkeypatch.setattr(agg_recent, "MAX_BYTES", 1)  # any append exceeds it
    recent = eager.aggregates._recent
    rows = azimuth_rows(np.random.default_rng(12), 0, 6).sort_values("time_tai_ns")
    writer = Writer(eager)
    writer.write(AZ, rows.iloc[: len(rows) // 2].reset_index(drop=True))
    assert recent.rows_of(AZ, T0, T0 + 10 * NS, {"time_tai_ns": pa.int64()}, False) is None
    writer.write(AZ, rows.iloc[len(rows) // 2 :].reset_index(drop=True))
    refresh_all(eager)
    assert recent._nbytes == 0
    got = assert_matches_raw(eager, AZ, AZ_FIELDS)
    assert got["rows"].sum() == len(rows)


# ------------------------------------------------------------------- roll-backs


def test_rolled_back_write_leaves_aggregates_equal_to_raw_rows(eager: Store) -> None:
    rng = np.random.default_rng(10)
    rows = azimuth_rows(rng, 0, 30)
    first, late = (
        rows[rows["time_tai_ns"] < T0 + 20 * NS],
        rows[rows["time_tai_ns"] >= T0 + 20 * NS],
    )
    Writer(eager).write(AZ, first.iloc[::2])
    before = aggregate_rows(eager, AZ)
    bad = pd.DataFrame({"time_tai_ns": [T0], "noSuchField": [1.0]})
    with pytest.raises(OpenEfdError, match="noSuchField"):
        # AZ rows (late ones into aggregated seconds, and new seconds) go in first …
        Writer(eager).write_batches(
            [
                TopicBatch(
                    AZ,
                    pa.Table.from_pandas(
                        pd.concat([first.iloc[1::2], late]), preserve_index=False
                    ),
                ),
                TopicBatch(EL, pa.Table.from_pandas(bad, preserve_index=False)),
            ]
        )  # … then the elevation batch fails: nothing of it may remain
    assert eager.topic_stats([AZ])[0].rows == len(first.iloc[::2])
    same_table(aggregate_rows(eager, AZ), before)
    refresh_all(eager)
    assert_matches_raw(eager, AZ, AZ_FIELDS)
    Writer(eager).write(AZ, pd.concat([first.iloc[1::2], late]))  # now for real
    refresh_all(eager)
    got = assert_matches_raw(eager, AZ, AZ_FIELDS)
    assert got["rows"].sum() == len(rows)


def test_rolled_back_rate_decision_is_made_again(eager: Store) -> None:
    rng = np.random.default_rng(11)
    rows = azimuth_rows(rng, 0, 15)
    with pytest.raises(RuntimeError, match="boom"), eager.transaction():
        Writer(eager).write(AZ, rows)
        eager.aggregates.refresh(include_open=True)  # decides 'stats', makes the table
        assert eager.aggregates.has_table(AZ)
        raise RuntimeError("boom")
    assert eager.topic_stats([AZ])[0].rows == 0
    assert not eager.aggregates.has_table(AZ)
    Writer(eager).write(AZ, rows.iloc[:100])
    refresh_all(eager)
    got = assert_matches_raw(eager, AZ, AZ_FIELDS)
    assert got["rows"].sum() == 100


# ------------------------------------------------------------ what gets aggregated


def test_rate_detection(eager: Store) -> None:
    rng = np.random.default_rng(12)
    Writer(eager).write(EL, one_hz_rows(0, 30))
    Writer(eager).write(AZ, azimuth_rows(rng, 0, 30, hz=20))
    refresh_all(eager)
    assert eager.aggregates.mode(EL) == "none" and not eager.aggregates.has_table(EL)
    assert not eager.aggregates.dirty(EL)
    assert eager.aggregates.mode(AZ) == "stats" and eager.aggregates.has_table(AZ)
    assert aggregate_rows(eager, AZ)["rows"].eq(20).all()
    # The decision is stored: a store opened again knows it without looking.
    path, settings_ = eager.path, eager.settings
    eager.close()
    with Store(path, settings=settings_) as again:
        assert again.aggregates.mode(EL) == "none" and again.aggregates.mode(AZ) == "stats"


def test_include_and_exclude_force_the_decision(store_path: Path) -> None:
    rng = np.random.default_rng(13)
    settings_ = settings_for(
        store_path, aggregate_include=["*.MTMount.elev*"], aggregate_exclude=[AZ]
    )
    with Store(store_path, settings=settings_) as store:
        Writer(store).write(EL, one_hz_rows(0, 30))
        Writer(store).write(AZ, azimuth_rows(rng, 0, 30))
        refresh_all(store)
        assert store.aggregates.mode(EL) == "stats"
        got = assert_matches_raw(store, EL, ["actualPosition"])
        assert (got["rows"] == 1).all() and got["actualPosition.std"].isna().all()
        assert store.aggregates.mode(AZ) == "none" and not store.aggregates.has_table(AZ)
        tables = {
            t for (t,) in store.cursor().sql("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        assert agg_table(AZ) not in tables and agg_table(EL) in tables


def test_commands_are_never_aggregated(store_path: Path) -> None:
    settings_ = settings_for(store_path, aggregate_include=["*"])
    n = 500
    with Store(store_path, settings=settings_) as store:
        Writer(store).write(
            MOVE,
            pd.DataFrame(
                {
                    "time_tai_ns": T0 + np.arange(n) * 20_000_000,
                    "azimuth": np.arange(n, dtype=float),
                    "private_seqNum": np.arange(n),
                }
            ),
        )
        refresh_all(store)
        assert store.aggregates.mode(MOVE) == "none"
        assert not store.aggregates.has_table(MOVE) and not store.aggregates.dirty(MOVE)
        assert store.topic_stats([MOVE])[0].rows == n


# ------------------------------------------------------------------------ events


def error_events(second: int, codes: list[int], first_seq: int) -> pd.DataFrame:
    n = len(codes)
    offsets = np.sort(np.random.default_rng(second).integers(0, NS, n))
    times = T0 + second * NS + offsets
    return pd.DataFrame(
        {
            "time_tai_ns": times,
            "errorCode": codes,
            "errorReport": [f"error {c}" for c in codes],
            "traceback": "",
            "private_seqNum": np.arange(first_seq, first_seq + n),
            "private_sndStamp": times / NS,
            "private_origin": 77,
        }
    )


def test_repeated_events_are_stored_once_per_second(eager: Store) -> None:
    burst = error_events(0, [5] * 40 + [6] * 3 + [5] * 2, 1000)
    burst.loc[burst.index[-1], "traceback"] = "different"  # a different payload
    later = error_events(1, [5] * 4, 2000)
    after = error_events(3, [7], 3000)
    Writer(eager).write(ERROR, pd.concat([burst, later, after]))
    refresh_all(eager)
    got = aggregate_rows(eager, ERROR)
    assert got["repeats"].sum() == len(burst) + len(later) + len(after)
    by = {(r.time_tai_ns // NS - T0 // NS, r.errorCode, r.traceback): r for r in got.itertuples()}
    assert set(by) == {(0, 5, ""), (0, 6, ""), (0, 5, "different"), (1, 5, ""), (3, 7, "")}
    first5 = by[(0, 5, "")]
    assert first5.repeats == 41
    assert first5.time_tai_ns == burst["time_tai_ns"].iloc[0]  # the first message is kept …
    assert first5.private_seqNum == 1000  # … with its own private fields
    same5 = burst[(burst["errorCode"] == 5) & (burst["traceback"] == "")]
    assert first5.last_tai_ns == same5["time_tai_ns"].max()
    assert by[(0, 6, "")].repeats == 3 and by[(0, 5, "different")].repeats == 1
    assert by[(1, 5, "")].repeats == 4 and by[(3, 7, "")].repeats == 1


def test_event_repeats_follow_late_messages_and_sal_index(eager: Store) -> None:
    rows = error_events(0, [5] * 10, 0)
    rows["salIndex"] = np.repeat([1, 2], 5)
    rows = rows.drop(columns=["private_origin"])
    Writer(eager).write(ESS_ERROR, rows.iloc[:6])
    Writer(eager).write(ESS_ERROR, error_events(4, [1], 50).assign(salIndex=1))  # closes s 0
    got = aggregate_rows(eager, ESS_ERROR)
    first = got[got["time_tai_ns"] < T0 + NS]
    assert sorted(zip(first["salIndex"], first["repeats"], strict=True)) == [(1, 5), (2, 1)]
    Writer(eager).write(ESS_ERROR, rows.iloc[6:])  # late messages into second 0
    refresh_all(eager)
    got = aggregate_rows(eager, ESS_ERROR)
    first = got[got["time_tai_ns"] < T0 + NS]
    assert sorted(zip(first["salIndex"], first["repeats"], strict=True)) == [(1, 5), (2, 5)]
    same_table(got, rebuilt(eager, ESS_ERROR))


def test_array_payloads_are_compared_whole(eager: Store) -> None:
    n = 30
    fault = np.zeros((n, 156), dtype=bool)
    fault[:, 5] = True
    fault[-3:, 5], fault[-3:, 7] = False, True  # the last three differ in two elements
    rows = pd.DataFrame(
        {
            "time_tai_ns": T0 + np.arange(n) * 10_000_000,
            "anyWarning": True,
            "minorFault": list(fault),
            "private_seqNum": np.arange(n),
        }
    )
    Writer(eager).write(WARNING, rows)
    refresh_all(eager)
    got = aggregate_rows(eager, WARNING)
    assert got["repeats"].tolist() == [27, 3]
    assert [np.flatnonzero(list(f)).tolist() for f in got["minorFault"]] == [[5], [7]]
    assert got["time_tai_ns"].tolist() == [T0, T0 + 270_000_000]


def test_catch_up_after_a_crash(store_path: Path) -> None:
    settings_ = settings_for(store_path)
    rows = azimuth_rows(np.random.default_rng(14), 0, 10)
    events = pd.DataFrame(
        {
            "time_tai_ns": T0 + np.array([600, 1100, 1200]) * 1_000_000,
            "errorCode": 5,
            "private_seqNum": [1, 2, 3],
        }
    )
    store = Store(store_path, settings=settings_)
    Writer(store).write(AZ, rows)
    Writer(store).write(ERROR, events)
    assert aggregate_rows(store, AZ)["time_tai_ns"].max() == T0 + 8 * NS  # 9 is still open
    # Events are computed from the raw rows when asked: always current, nothing to catch up.
    assert aggregate_rows(store, ERROR)["repeats"].tolist() == [1, 2]
    store._con.close()  # a crash: the seconds left to do are forgotten
    with Store(store_path, settings=settings_) as again:
        with again.transaction():
            assert again.aggregates.catch_up() == 1
        got = assert_matches_raw(again, AZ, AZ_FIELDS)
        assert got["time_tai_ns"].max() == T0 + 9 * NS
        # Second 1's messages (.1 s, .2 s into it) come before the newest stored row's
        # place in its own second (.6 s): that row's time does not end a whole second.
        assert aggregate_rows(again, ERROR)["repeats"].tolist() == [1, 2]


def test_simulated_error_burst_counts(sal_xml_dir: Path, store_path: Path) -> None:
    sim = NightSimulator(
        SimConfig(
            schemas=sal_xml_dir,
            start_utc="2024-05-01T23:30:00Z",
            hours=0.15,
            seed=1,
            profile=Profile.DEMO,
        )
    )
    # events.error_bursts: 8 minutes in, MTMount sends one error logMessage 50–300 times.
    topic = "lsst.sal.MTMount.logevent_logMessage"
    table = sim.topic_table(topic)
    assert table is not None
    schema = next(t for t in sim.topics() if t.name == topic)
    with Store(store_path, settings=settings_for(store_path)) as store:
        store.register_topics([schema])
        for piece in np.array_split(np.arange(table.num_rows), 4):
            Writer(store).write(topic, table.take(pa.array(piece)))
        refresh_all(store)
        raw = raw_rows(store, topic).to_pandas()
        got = aggregate_rows(store, topic)
    burst_start = sim.start_tai_ns + 8 * 60 * NS
    in_burst = raw[(raw["time_tai_ns"] >= burst_start) & (raw["time_tai_ns"] < burst_start + NS)]
    assert 50 <= len(in_burst) < 300
    agg_burst = got[(got["time_tai_ns"] >= burst_start) & (got["time_tai_ns"] < burst_start + NS)]
    # The burst is one message repeated: stamps (private ones, ``timestamp``) differ only.
    assert agg_burst["repeats"].tolist() == [len(in_burst)]
    assert agg_burst["time_tai_ns"].iloc[0] == in_burst["time_tai_ns"].min()
    assert agg_burst["last_tai_ns"].iloc[0] == in_burst["time_tai_ns"].max()
    assert got["repeats"].sum() == len(raw)
    # One aggregate row per distinct (second, payload).
    stamps = {"time_tai_ns", "timestamp"}
    payload = [c for c in raw.columns if not c.startswith("private_") and c not in stamps]
    distinct = raw.assign(second=raw["time_tai_ns"] // NS).drop_duplicates(["second", *payload])
    assert len(got) == len(distinct) < len(raw)


def test_a_commit_spends_at_most_its_budget_and_the_rest_follows(
    tmp_path: Path, small_template: Path
) -> None:
    """A 1 ms budget leaves topics dirty after a commit; later commits and reads finish them."""
    rng = np.random.default_rng(3)
    with fresh_store(small_template, tmp_path / "s", aggregate_budget_ms=1) as store:
        with store.transaction():
            Writer(store).write(AZ, azimuth_rows(rng, 0, 20))
            Writer(store).write(EL, azimuth_rows(rng, 0, 20).drop(columns=["actualTorque"]))
        assert store.aggregates.dirty(AZ) or store.aggregates.dirty(EL)
        for _ in range(10):  # each commit does at least one topic: oldest first
            with store.transaction():
                pass
        refresh_all(store)
        assert_matches_raw(store, AZ, AZ_FIELDS)
        assert_matches_raw(store, EL, ["actualPosition", "actualVelocity"])
