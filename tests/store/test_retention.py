"""Retention: only old, exported, unchanged days leave DuckDB; aggregates stay."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from openefd.errors import ConfigurationError
from openefd.ingest.writer import Writer
from openefd.schema.model import TopicSchema
from openefd.settings import SchemaMode, Settings
from openefd.store.cold import export
from openefd.store.cold_manifest import TierSwitch, load_partitions
from openefd.store.columns import TIME_COLUMN
from openefd.store.duckdb_store import Store
from openefd.store.retention import apply_retention, evict_partition, plan_retention
from openefd.timescales import utc_to_tai_ns

AZ = "lsst.sal.MTMount.azimuth"
DAY_NS = 86_400 * 10**9
NOW = int(pd.Timestamp("2024-05-10T12:00:00Z").value)


def tai(text: str) -> int:
    return int(utc_to_tai_ns(np.int64(pd.Timestamp(text).value)))


def rows(first_day: str = "2024-05-01", days: int = 5, per_day: int = 48) -> pd.DataFrame:
    """Azimuth every half hour from ``first_day`` on: ``per_day`` rows a day."""
    start = tai(f"{first_day}T00:00:00Z")
    times = start + np.arange(days * per_day, dtype=np.int64) * (DAY_NS // per_day)
    return pd.DataFrame({TIME_COLUMN: times, "actualPosition": np.arange(len(times)) / 4})


@pytest.fixture(scope="module")
def one_topic(tmp_path_factory: pytest.TempPathFactory, demo_topics: list[TopicSchema]) -> Path:
    path = tmp_path_factory.mktemp("az") / "store"
    with Store(path) as target:
        target.register_topics(t for t in demo_topics if t.name == AZ)
    return path


@pytest.fixture
def az(one_topic: Path, tmp_path: Path) -> Iterator[Store]:
    """A store holding five days of MTMount.azimuth, 2024-05-01 … 05-05 (UTC)."""
    shutil.copytree(one_topic, tmp_path / "store")
    settings = Settings(store=tmp_path / "store", schema_mode=SchemaMode.STRICT)
    with Store(tmp_path / "store", settings=settings) as target:
        Writer(target).write(AZ, rows())
        yield target


def hot_count(store: Store) -> int:
    return int(store.cursor().sql(f'SELECT count(*) FROM "{AZ}"').fetchall()[0][0])


def test_retention_never_deletes_unexported_rows(az: Store) -> None:
    plan = plan_retention(az, days=0, now_utc_ns=NOW)
    assert plan.evict == []
    assert [(d.isoformat(), n) for _, d, n in plan.unexported] == [
        (f"2024-05-0{d}", 48) for d in range(1, 6)
    ]
    report = apply_retention(az, days=0, now_utc_ns=NOW)
    assert report.partitions == 0 and report.rows == 0
    assert hot_count(az) == 240


def test_days_setting_and_cutoff(az: Store) -> None:
    export(az, now_utc_ns=NOW)
    # 2024-05-10 12:00 with 7 days kept: days before 05-03 go.
    plan = plan_retention(az, days=7, now_utc_ns=NOW)
    assert plan.first_kept_day.isoformat() == "2024-05-03"
    assert [p.day.isoformat() for p in plan.evict] == ["2024-05-01", "2024-05-02"]
    az.settings = az.settings.model_copy(update={"raw_retention_days": 7})
    report = apply_retention(az, now_utc_ns=NOW)
    assert (report.partitions, report.rows) == (2, 96)
    assert hot_count(az) == 144
    again = apply_retention(az, now_utc_ns=NOW)
    assert again.plan.evict == [] and again.plan.unexported == []
    evicted = {p.day.isoformat(): p.evicted for p in load_partitions(az.cursor())}
    assert evicted == {
        "2024-05-01": True,
        "2024-05-02": True,
        "2024-05-03": False,
        "2024-05-04": False,
        "2024-05-05": False,
    }


def test_rows_after_export_keep_the_day_until_exported(az: Store) -> None:
    export(az, now_utc_ns=NOW)
    late = rows("2024-05-02", days=1, per_day=48).iloc[[3]].copy()
    late[TIME_COLUMN] += 1
    assert Writer(az).write(AZ, late).rows_written == 1
    plan = plan_retention(az, days=0, now_utc_ns=NOW)
    assert [p.day.isoformat() for p in plan.evict] == [
        "2024-05-01",
        "2024-05-03",
        "2024-05-04",
        "2024-05-05",
    ]
    assert [(d.isoformat(), n) for _, d, n in plan.unexported] == [("2024-05-02", 49)]
    apply_retention(az, days=0, now_utc_ns=NOW)
    assert hot_count(az) == 49
    export(az, now_utc_ns=NOW)
    assert apply_retention(az, days=0, now_utc_ns=NOW).rows == 49
    assert hot_count(az) == 0


def test_stale_plan_and_missing_file_are_skipped(az: Store) -> None:
    export(az, now_utc_ns=NOW)
    plan = plan_retention(az, days=0, now_utc_ns=NOW)
    first, second = plan.evict[:2]
    late = rows("2024-05-01", days=1).iloc[[0]].copy()
    late[TIME_COLUMN] += 7
    Writer(az).write(AZ, late)  # after planning: the check inside the eviction sees it
    skipped = evict_partition(az, first)
    assert skipped.rows_deleted == 0 and "rows arrived" in (skipped.skipped or "")
    (az.path / "cold" / second.file).unlink()
    gone = evict_partition(az, second)
    assert "cannot be read" in (gone.skipped or "")
    assert hot_count(az) == 241
    assert not any(p.evicted for p in load_partitions(az.cursor()))


def test_negative_days_are_refused(az: Store) -> None:
    with pytest.raises(ConfigurationError, match="0 days or more"):
        plan_retention(az, days=-1)


def test_aggregates_are_not_touched(az: Store) -> None:
    fast = rows("2024-05-01", days=1, per_day=86_400 * 2).iloc[:4000]  # 2 Hz for a while
    fast = fast.assign(**{TIME_COLUMN: fast[TIME_COLUMN] + 1_000})
    Writer(az).write(AZ, fast)
    derived = [
        name
        for (name,) in az.cursor().sql("SELECT table_name FROM duckdb_tables()").fetchall()
        if "@" in name or name.startswith("_openefd_agg")
    ]

    def counts() -> dict[str, int]:
        cur = az.cursor()
        return {n: cur.sql(f'SELECT count(*) FROM "{n}"').fetchall()[0][0] for n in derived}

    before = counts()
    assert derived and all(before.values())  # the 1-second aggregates of the 2 Hz rows
    export(az, now_utc_ns=NOW)
    assert apply_retention(az, days=0, now_utc_ns=NOW).partitions == 5
    assert hot_count(az) == 0
    assert counts() == before


def test_switch_waits_for_running_selects() -> None:
    switch = TierSwitch()
    events: list[str] = []
    with switch.reading():
        thread = threading.Thread(target=lambda: _switch(switch, events))
        thread.start()
        time.sleep(0.05)
        with switch.reading():  # the same thread may read again while a switch waits
            events.append("nested read")
        events.append("read done")
    thread.join(5)
    assert events == ["nested read", "read done", "switched", "read while switching"]


def _switch(switch: TierSwitch, events: list[str]) -> None:
    with switch.switching():
        events.append("switched")
        with switch.reading():  # the switching thread sees the committed state: no wait
            events.append("read while switching")
