"""Retention: raw rows of old, exported days leave DuckDB; queries read them from Parquet.

A day is *evictable* once it ended ``raw_retention_days`` ago (UTC) and its
partition in the cold tier holds exactly the rows the topic's table holds for
it (the export is current). Eviction checks that again inside its
transaction, checks that the file is there with as many rows as the manifest
says, deletes the day's rows from the table and marks the partition evicted,
all in one commit. Rows of a day that was never exported, or that changed
since its export, are never deleted: they are reported, to be exported first.
Aggregate tables are not touched.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from openefd.errors import ConfigurationError
from openefd.store.cold import hot_days
from openefd.store.cold_manifest import (
    MANIFEST_TABLE,
    ColdPartition,
    cold_location,
    load_partitions,
    manifest_changed,
    tier_switch,
)
from openefd.store.columns import TIME_COLUMN
from openefd.store.duckdb_store import Store
from openefd.store.registry import quote_ident
from openefd.store.sql import run, run_one
from openefd.store.utc_days import DAY_NS, day_bounds_tai_ns, day_number

__all__ = [
    "EvictionResult",
    "RetentionPlan",
    "RetentionReport",
    "apply_retention",
    "evict_partition",
    "plan_retention",
]


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    """Partitions to evict, and old days kept because their export is missing or stale.

    ``first_kept_day``: days before it (UTC) are past retention.
    """

    first_kept_day: dt.date
    evict: list[ColdPartition]
    unexported: list[tuple[str, dt.date, int]]  # topic, day, rows in DuckDB


@dataclass(frozen=True, slots=True)
class EvictionResult:
    partition: ColdPartition
    rows_deleted: int
    skipped: str | None = None


@dataclass(slots=True)
class RetentionReport:
    plan: RetentionPlan
    results: list[EvictionResult] = field(default_factory=list)

    @property
    def partitions(self) -> int:
        return sum(1 for r in self.results if r.skipped is None)

    @property
    def rows(self) -> int:
        return sum(r.rows_deleted for r in self.results)

    @property
    def skipped(self) -> list[EvictionResult]:
        return [r for r in self.results if r.skipped is not None]


def _days(store: Store, days: int | None) -> int:
    value = store.settings.raw_retention_days if days is None else days
    if value < 0:
        raise ConfigurationError(
            f"the retention must be 0 days or more, got {value} "
            "(0 evicts every exported day that has ended)"
        )
    return value


def plan_retention(
    store: Store, *, days: int | None = None, now_utc_ns: int | None = None
) -> RetentionPlan:
    """What retention would do now: days that ended ``days`` (default: the setting) ago."""
    now = time.time_ns() if now_utc_ns is None else int(now_utc_ns)
    first_kept = now // DAY_NS - _days(store, days)
    before = day_bounds_tai_ns(first_kept)[0]
    partitions = {(p.topic, p.day): p for p in load_partitions(store.cursor())}
    evict: list[ColdPartition] = []
    unexported: list[tuple[str, dt.date, int]] = []
    for topic in store.registry.tables():
        for day, hot in hot_days(store, topic, before).items():
            part = partitions.get((topic, day))
            if part is not None and not part.evicted and part.rows == hot.rows:
                evict.append(part)
            else:
                unexported.append((topic, day, hot.rows))
    return RetentionPlan(dt.date(1970, 1, 1) + dt.timedelta(days=first_kept), evict, unexported)


class _SkipError(Exception):
    """The partition cannot be evicted now; the message says why."""


def evict_partition(store: Store, partition: ColdPartition) -> EvictionResult:
    """Delete the day's rows from the topic's table, if its export is current and intact."""
    if store.read_only:
        raise ConfigurationError(f"{store.path} was opened read-only; cannot evict")
    location = cold_location(store)
    table = quote_ident(partition.topic)
    lo, hi = day_bounds_tai_ns(day_number(partition.day))
    within = f"{TIME_COLUMN} >= {lo} AND {TIME_COLUMN} < {hi}"
    con = store._con  # the store's writing connection, inside its transaction
    with store._write_lock, tier_switch(store).switching():  # in this order, as in cold
        try:
            with store.transaction():
                now = run(
                    con,
                    f"SELECT file, rows, evicted FROM {MANIFEST_TABLE} "
                    "WHERE topic = ? AND day = ?",
                    [partition.topic, partition.day],
                )
                if not now or tuple(now[0]) != (partition.file, partition.rows, False):
                    raise _SkipError("its partition changed since retention was planned")
                count = run_one(con, f"SELECT count(*) FROM {table} WHERE {within}")
                if count is None or int(count[0]) != partition.rows:
                    raise _SkipError("rows arrived since it was exported; run 'openefd export'")
                try:
                    in_file = pq.read_metadata(
                        location.path(partition.file), filesystem=location.filesystem
                    ).num_rows
                except (OSError, ValueError) as exc:
                    raise _SkipError(f"its file cannot be read: {exc}") from exc
                if in_file != partition.rows:
                    raise _SkipError(f"its file holds {in_file} rows, not {partition.rows}")
                run(con, f"DELETE FROM {table} WHERE {within}")
                run(
                    con,
                    f"UPDATE {MANIFEST_TABLE} SET evicted = true, evicted_utc = ? "
                    "WHERE topic = ? AND day = ?",
                    [
                        dt.datetime.now(dt.UTC).replace(tzinfo=None),
                        partition.topic,
                        partition.day,
                    ],
                )
        except _SkipError as exc:
            return EvictionResult(partition, 0, str(exc))
        finally:
            manifest_changed(store)
    return EvictionResult(partition, partition.rows)


def apply_retention(
    store: Store,
    *,
    days: int | None = None,
    now_utc_ns: int | None = None,
    on_partition: Callable[[EvictionResult], None] | None = None,
) -> RetentionReport:
    """Evict every evictable partition (see :func:`plan_retention`)."""
    report = RetentionReport(plan_retention(store, days=days, now_utc_ns=now_utc_ns))
    for partition in report.plan.evict:
        result = evict_partition(store, partition)
        report.results.append(result)
        if on_partition is not None:
            on_partition(result)
    return report
