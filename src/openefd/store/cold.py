"""Exporting complete UTC days of each topic to the Parquet cold tier.

Layout, Hive style, under the cold location (:mod:`openefd.store.cold_location`)::

    topic=lsst.sal.MTMount.azimuth/day=2024-05-01/part-20240603T010203Z-1a2b3c4d.parquet

One file per (topic, UTC day of the rows' time; see :mod:`openefd.store.utc_days`),
rows sorted by ``time_tai_ns``, columns ``time_tai_ns`` (TAI ns, int64) and the
topic's layout, with each field's ``units`` and ``description`` in the Arrow
field metadata and the topic, day and time scale in the file metadata.
DuckDB, pandas, Polars, Spark and Dask read the files without openefd.

A day is exported once it is complete (ended ``export_grace_s`` ago) and
exported again when rows arrive for it later. A file is written under a
hidden temporary name and renamed when complete, then recorded in the
manifest (:mod:`openefd.store.cold_manifest`) in a transaction; a replaced
file is deleted after that commit. A failure at any step leaves the manifest
as it was and no partial file under a ``.parquet`` name; files left by an
export that was killed are deleted when their partition is next written.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import ExitStack, nullcontext, suppress
from dataclasses import dataclass, field
from urllib.parse import quote

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from openefd.errors import ConfigurationError, TimeValueError
from openefd.schema.model import TopicSchema
from openefd.store.cold_location import ColdLocation
from openefd.store.cold_manifest import (
    MANIFEST_TABLE,
    ColdPartition,
    cold_location,
    ensure_manifest_table,
    load_partitions,
    manifest_changed,
    partition_rows,
    tier_switch,
)
from openefd.store.columns import TIME_COLUMN, duckdb_type
from openefd.store.duckdb_store import Store, key_columns
from openefd.store.registry import quote_ident
from openefd.store.sql import run, run_one
from openefd.store.utc_days import (
    DAY_NS,
    day_bounds_tai_ns,
    day_number,
    day_of_number,
    utc_day_sql,
)

__all__ = [
    "ExportReport",
    "PartitionResult",
    "PartitionWork",
    "export",
    "export_partition",
    "hot_days",
    "partition_dir",
    "plan_export",
]

_ROW_GROUP_BYTES = 64 * 2**20  # uncompressed bytes aimed at per row group
_ROW_GROUP_ROWS = (8_192, 122_880)
_TIME_DESCRIPTION = (
    "Row time: nanoseconds since 1970-01-01T00:00:00 TAI (International Atomic Time; "
    "UTC + 37 s since 2017)"
)


@dataclass(frozen=True, slots=True)
class HotDay:
    """Rows of one UTC day in a topic's table, and their TAI ns span."""

    rows: int
    min_tai_ns: int
    max_tai_ns: int


@dataclass(frozen=True, slots=True)
class PartitionWork:
    """A (topic, UTC day) to write: ``hot_rows`` in the table, ``previous`` export if any."""

    topic: str
    day: dt.date
    hot_rows: int
    previous: ColdPartition | None

    @property
    def rows(self) -> int:
        """Rows the partition will hold (its evicted rows in Parquet count too)."""
        carried = self.previous.rows if self.previous and self.previous.evicted else 0
        return self.hot_rows + carried

    @property
    def reason(self) -> str:
        if self.previous is None:
            return "new"
        return "late rows" if self.previous.evicted else "changed"


@dataclass(frozen=True, slots=True)
class PartitionResult:
    """What became of one :class:`PartitionWork`: written, or skipped and why."""

    work: PartitionWork
    written: ColdPartition | None
    skipped: str | None = None


@dataclass(slots=True)
class ExportReport:
    location: str
    results: list[PartitionResult] = field(default_factory=list)

    @property
    def written(self) -> list[ColdPartition]:
        return [r.written for r in self.results if r.written is not None]

    @property
    def partitions(self) -> int:
        return len(self.written)

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.written)

    @property
    def bytes(self) -> int:
        return sum(p.bytes for p in self.written)

    @property
    def skipped(self) -> list[PartitionResult]:
        return [r for r in self.results if r.skipped is not None]


def partition_dir(topic: str, day: dt.date) -> str:
    """The Hive-style folder of a partition, relative to the cold location."""
    return f"topic={quote(topic, safe='._-')}/day={day.isoformat()}"


def hot_days(store: Store, topic: str, before_tai_ns: int | None = None) -> dict[dt.date, HotDay]:
    """Rows per UTC day of ``topic``'s table (days starting before ``before_tai_ns``)."""
    if not store.registry.has_table(topic):
        return {}
    where = f" WHERE {TIME_COLUMN} < {int(before_tai_ns)}" if before_tai_ns is not None else ""
    rows = run(
        store.cursor(),
        f"SELECT {utc_day_sql(TIME_COLUMN)} AS day, count(*), min({TIME_COLUMN}), "
        f"max({TIME_COLUMN}) FROM {quote_ident(topic)}{where} GROUP BY day ORDER BY day",
    )
    return {day_of_number(int(d)): HotDay(int(n), int(lo), int(hi)) for d, n, lo, hi in rows}


def _now_ns(now_utc_ns: int | None) -> int:
    return time.time_ns() if now_utc_ns is None else int(now_utc_ns)


def _topics(store: Store, topics: Iterable[str] | None) -> list[str]:
    if topics is None:
        return store.registry.tables()
    names = list(dict.fromkeys(topics))
    for name in names:
        store.layout(name)  # UnknownTopicError names the store
    return names


def plan_export(
    store: Store,
    *,
    topics: Iterable[str] | None = None,
    until: dt.date | None = None,
    now_utc_ns: int | None = None,
) -> list[PartitionWork]:
    """Complete days not exported yet, or changed since: before ``until`` (UTC, excluded)."""
    now = _now_ns(now_utc_ns)
    last = (now - store.settings.export_grace_s * 10**9) // DAY_NS  # first incomplete day
    if until is not None:
        if until.year < 1972:
            raise TimeValueError(f"until: days before 1972-01-01 are not supported, got {until}")
        last = min(last, day_number(until))
    before = day_bounds_tai_ns(last)[0]
    exported = {(p.topic, p.day): p for p in load_partitions(store.cursor())}
    work = []
    for topic in _topics(store, topics):
        for day, hot in hot_days(store, topic, before).items():
            previous = exported.get((topic, day))
            expected = None if previous is None else 0 if previous.evicted else previous.rows
            if hot.rows != expected:
                work.append(PartitionWork(topic, day, hot.rows, previous))
    return work


def _row_group_rows(layout: TopicSchema) -> int:
    width = 8
    for f in layout.fields:
        element = 32 if duckdb_type(f).startswith("VARCHAR") else 8
        width += element * (f.count if f.count > 1 else 16 if f.count == 0 else 1)
    low, high = _ROW_GROUP_ROWS
    return max(low, min(high, _ROW_GROUP_BYTES // width))


def _annotated(schema: pa.Schema, layout: TopicSchema, day: dt.date) -> pa.Schema:
    """``schema`` with units and descriptions per field, topic and time scale per file."""
    fields = []
    for f in schema:
        if f.name == TIME_COLUMN:
            meta = {"units": "ns", "description": _TIME_DESCRIPTION}
        else:
            spec = layout.field(f.name)
            assert spec is not None
            meta = {"units": spec.units or "", "description": spec.description or ""}
        fields.append(f.with_metadata(meta))
    return pa.schema(
        fields,
        metadata={
            "openefd.topic": layout.name,
            "openefd.day_utc": day.isoformat(),
            "openefd.time_column": TIME_COLUMN,
            "openefd.time_scale": "TAI",
            "openefd.time_unit": "ns since 1970-01-01T00:00:00 TAI",
            "openefd.layout": json.dumps(layout.to_json()),
        },
    )


def _write_file(
    location: ColdLocation, relative: str, reader: pa.RecordBatchReader, schema: pa.Schema
) -> tuple[int, int, int]:
    """Write ``reader`` to ``relative`` (via a hidden temporary name): rows, min/max time."""
    fs = location.filesystem
    folder, name = relative.rsplit("/", 1)
    target, temporary = location.path(relative), location.path(f"{folder}/.{name}.tmp")
    try:
        fs.create_dir(location.path(folder), recursive=True)
    except OSError as exc:
        raise _unwritable(location, exc) from exc
    rows, first, last = 0, 0, 0
    try:
        with pq.ParquetWriter(temporary, schema, filesystem=fs, compression="zstd") as writer:
            for batch in reader:
                if not batch.num_rows:
                    continue
                times = batch.column(0)
                if not rows:
                    first = times[0].as_py()
                last = times[-1].as_py()
                rows += batch.num_rows
                writer.write_batch(batch)
        fs.move(temporary, target)
    except OSError as exc:  # disk full, no permission, network: nothing is left behind
        _delete_quietly(fs, temporary)
        raise _unwritable(location, exc) from exc
    except BaseException:
        _delete_quietly(fs, temporary)
        raise
    return rows, first, last


def _unwritable(location: ColdLocation, exc: OSError) -> ConfigurationError:
    return ConfigurationError(
        f"cannot write to cold location {location.uri}: {exc} "
        "(free space, or set OPENEFD_COLD_LOCATION to a writable place)"
    )


def _tidy(location: ColdLocation, folder: str, keep: str) -> None:
    """Delete files of a partition's folder left by earlier exports that stopped midway."""
    fs = location.filesystem
    with suppress(OSError):
        for info in fs.get_file_info(pafs.FileSelector(location.path(folder))):
            name = info.base_name
            ours = (name.startswith("part-") and name.endswith(".parquet")) or (
                name.startswith(".part-") and name.endswith(".tmp")
            )
            if ours and name != keep and info.type == pafs.FileType.File:
                _delete_quietly(fs, info.path)


def _delete_quietly(fs: pafs.FileSystem, path: str) -> None:
    with suppress(OSError):  # already gone, or left behind: harmless, never read
        fs.delete_file(path)


class _ChangedError(Exception):
    """Rows arrived for the day while it was being written; try again next time."""


_one_export = threading.Lock()  # partitions are written one at a time in a process


def export_partition(
    store: Store, work: PartitionWork, *, now_utc_ns: int | None = None
) -> PartitionResult:
    """Write one partition and record it; late rows of an evicted day leave DuckDB again."""
    if store.read_only:
        raise ConfigurationError(f"{store.path} was opened read-only; cannot export")
    with _one_export:
        return _export_partition(store, work, now_utc_ns)


def _export_partition(
    store: Store, work: PartitionWork, now_utc_ns: int | None
) -> PartitionResult:
    layout = store.layout(work.topic)
    location = cold_location(store)
    stamp = dt.datetime.fromtimestamp(_now_ns(now_utc_ns) / 1e9, dt.UTC).replace(tzinfo=None)
    relative = (
        f"{partition_dir(work.topic, work.day)}/"
        f"part-{stamp:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:8]}.parquet"
    )
    lo, hi = day_bounds_tai_ns(day_number(work.day))
    table = quote_ident(work.topic)
    columns = ", ".join([TIME_COLUMN, *(quote_ident(f.name) for f in layout.fields)])
    order = ", ".join(quote_ident(k) for k in key_columns(layout))
    within = f"{TIME_COLUMN} >= {lo} AND {TIME_COLUMN} < {hi}"
    previous = work.previous
    cursor = store.cursor().cursor()  # its own connection: one snapshot for count and rows
    try:
        run(cursor, "BEGIN TRANSACTION")
        counted = run_one(cursor, f"SELECT count(*) FROM {table} WHERE {within}")
        hot_rows = int(counted[0]) if counted else 0
        source = f"SELECT {columns} FROM {table} WHERE {within}"
        with ExitStack() as stack:
            if previous is not None and previous.evicted:
                cold = stack.enter_context(partition_rows(cursor, location, layout, [previous]))
                source += f" UNION ALL {cold}"
            reader = cursor.sql(f"SELECT * FROM ({source}) ORDER BY {order}").to_arrow_reader(
                _row_group_rows(layout)
            )
            schema = _annotated(reader.schema, layout, work.day)
            rows, first, last = _write_file(location, relative, reader, schema)
        run(cursor, "COMMIT")
    finally:
        cursor.close()
    if not rows:  # every row of the day left before we read it
        _delete_quietly(location.filesystem, location.path(relative))
        return PartitionResult(work, None, "no rows left for the day")
    written = ColdPartition(
        topic=work.topic,
        day=work.day,
        file=relative,
        rows=rows,
        bytes=int(location.filesystem.get_file_info(location.path(relative)).size or 0),
        min_tai_ns=int(first),
        max_tai_ns=int(last),
        columns=tuple((f.name, duckdb_type(f)) for f in layout.fields),
        exported_utc=stamp,
        evicted=previous is not None and previous.evicted,
    )
    try:
        _record(store, written, previous, hot_rows, within)
    except _ChangedError as exc:
        _delete_quietly(location.filesystem, location.path(relative))
        return PartitionResult(work, None, str(exc))
    except BaseException:
        _delete_quietly(location.filesystem, location.path(relative))
        raise
    if previous is not None and previous.file != relative:
        _delete_quietly(location.filesystem, location.path(previous.file))
    _tidy(location, partition_dir(work.topic, work.day), relative.rsplit("/", 1)[1])
    return PartitionResult(work, written)


def _record(
    store: Store,
    written: ColdPartition,
    previous: ColdPartition | None,
    hot_rows: int,
    within: str,
) -> None:
    """Put ``written`` in the manifest; for an evicted day, delete the rows now in its file."""
    con = store._con  # the store's writing connection, inside its transaction
    table = quote_ident(written.topic)
    switch = tier_switch(store).switching() if written.evicted else nullcontext()
    with store._write_lock, switch:  # this order: a select may run inside a write
        try:
            with store.transaction():
                ensure_manifest_table(con)
                now = run(
                    con,
                    f"SELECT file, evicted FROM {MANIFEST_TABLE} WHERE topic = ? AND day = ?",
                    [written.topic, written.day],
                )
                was = (previous.file, previous.evicted) if previous is not None else None
                if (tuple(now[0]) if now else None) != was:
                    raise _ChangedError("the partition changed while it was written")
                if written.evicted:
                    count = run_one(con, f"SELECT count(*) FROM {table} WHERE {within}")
                    if count is None or int(count[0]) != hot_rows:
                        raise _ChangedError("rows arrived for the day while it was written")
                    run(con, f"DELETE FROM {table} WHERE {within}")
                run(
                    con,
                    f"DELETE FROM {MANIFEST_TABLE} WHERE topic = ? AND day = ?",
                    [written.topic, written.day],
                )
                run(
                    con,
                    f"INSERT INTO {MANIFEST_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        written.topic,
                        written.day,
                        written.file,
                        written.rows,
                        written.bytes,
                        written.min_tai_ns,
                        written.max_tai_ns,
                        json.dumps(dict(written.columns)),
                        written.exported_utc,
                        written.evicted,
                        written.exported_utc if written.evicted else None,
                    ],
                )
        finally:
            manifest_changed(store)


def export(
    store: Store,
    *,
    topics: Iterable[str] | None = None,
    until: dt.date | None = None,
    now_utc_ns: int | None = None,
    on_partition: Callable[[PartitionResult], None] | None = None,
) -> ExportReport:
    """Export every complete day not exported yet or changed since (see :func:`plan_export`)."""
    report = ExportReport(cold_location(store).uri)
    for work in plan_export(store, topics=topics, until=until, now_utc_ns=now_utc_ns):
        result = export_partition(store, work, now_utc_ns=now_utc_ns)
        report.results.append(result)
        if on_partition is not None:
            on_partition(result)
    return report
