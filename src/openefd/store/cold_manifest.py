"""The cold tier's manifest: which days of which topics are in Parquet, and which left DuckDB.

Table ``_openefd_cold_partitions`` in the store's database holds one row per
exported (topic, UTC day): ``file`` (relative to the cold location), ``rows``,
``bytes``, ``min_tai_ns``/``max_tai_ns``, ``columns`` (JSON: column → DuckDB
type as written), ``exported_utc``, ``evicted`` and ``evicted_utc`` (naive UTC).

Invariants:

- a partition's file holds every row of its day stored when it was written
  (in the topic's table, or in the file it replaces), sorted by time;
- not evicted: the file is a copy and queries read the table only;
- evicted: the table holds none of the file's rows, only rows that arrived
  later (late rows); queries read the table and the file together.

The evicted partitions are cached per :class:`~openefd.store.duckdb_store.Store`
and reloaded when any store of the process changes that database's manifest,
so a select asks no extra query. A :class:`TierSwitch` per database keeps
selects consistent while evicted days change: selects hold it shared while they
run; a change takes it alone around its commit.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from openefd.schema.model import TopicSchema
from openefd.store.cold_location import ColdLocation, resolve_cold_location
from openefd.store.columns import TIME_COLUMN, arrow_type, duckdb_type
from openefd.store.registry import quote_ident
from openefd.store.sql import run

if TYPE_CHECKING:
    from openefd.store.duckdb_store import Store

__all__ = [
    "MANIFEST_TABLE",
    "ColdPartition",
    "TierSwitch",
    "cold_location",
    "drop_rows_in_cold",
    "ensure_manifest_table",
    "evicted_partitions",
    "load_partitions",
    "manifest_changed",
    "partition_rows",
    "tier_switch",
]

MANIFEST_TABLE = "_openefd_cold_partitions"


@dataclass(frozen=True, slots=True)
class ColdPartition:
    """One exported (topic, UTC day): its file, rows and TAI ns span, and whether evicted."""

    topic: str
    day: dt.date
    file: str
    rows: int
    bytes: int
    min_tai_ns: int
    max_tai_ns: int
    columns: tuple[tuple[str, str], ...]
    exported_utc: dt.datetime
    evicted: bool


def ensure_manifest_table(con: duckdb.DuckDBPyConnection) -> None:
    run(
        con,
        f"CREATE TABLE IF NOT EXISTS {MANIFEST_TABLE} (topic VARCHAR NOT NULL, "
        "day DATE NOT NULL, file VARCHAR NOT NULL, rows BIGINT NOT NULL, "
        "bytes BIGINT NOT NULL, min_tai_ns BIGINT NOT NULL, max_tai_ns BIGINT NOT NULL, "
        "columns JSON NOT NULL, exported_utc TIMESTAMP NOT NULL, evicted BOOLEAN NOT NULL, "
        "evicted_utc TIMESTAMP)",
    )


_COLUMNS = "topic, day, file, rows, bytes, min_tai_ns, max_tai_ns, columns, exported_utc, evicted"


def load_partitions(
    con: duckdb.DuckDBPyConnection, *, evicted_only: bool = False
) -> list[ColdPartition]:
    """Every partition in the manifest (none when the store never exported), by topic and day."""
    found = run(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [MANIFEST_TABLE])
    if not found[0][0]:
        return []
    rows = run(
        con,
        f"SELECT {_COLUMNS} FROM {MANIFEST_TABLE}"
        f"{' WHERE evicted' if evicted_only else ''} ORDER BY topic, day",
    )
    return [
        ColdPartition(
            topic=r[0],
            day=r[1],
            file=r[2],
            rows=int(r[3]),
            bytes=int(r[4]),
            min_tai_ns=int(r[5]),
            max_tai_ns=int(r[6]),
            columns=tuple((str(k), str(v)) for k, v in json.loads(r[7]).items()),
            exported_utc=r[8],
            evicted=bool(r[9]),
        )
        for r in rows
    ]


class TierSwitch:
    """Selects share it while they run; a change of evicted days holds it alone to commit.

    Re-entrant for readers on the same thread, and the thread holding it alone
    may read too (it sees the committed state); a waiting change keeps new
    readers out so it is not starved. Take the store's write lock first: a
    select may run inside a write (derived data reading raw rows).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._switching = False
        self._local = threading.local()

    @contextmanager
    def reading(self) -> Iterator[None]:
        if getattr(self._local, "alone", False):
            yield
            return
        depth: int = getattr(self._local, "depth", 0)
        if depth == 0:
            with self._cond:
                while self._switching:
                    self._cond.wait()
                self._readers += 1
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                with self._cond:
                    self._readers -= 1
                    if not self._readers:
                        self._cond.notify_all()

    @contextmanager
    def switching(self) -> Iterator[None]:
        assert not getattr(self._local, "depth", 0), "a select cannot change evicted days"
        with self._cond:
            while self._switching:
                self._cond.wait()
            self._switching = True
            while self._readers:
                self._cond.wait()
        self._local.alone = True
        try:
            yield
        finally:
            self._local.alone = False
            with self._cond:
                self._switching = False
                self._cond.notify_all()


@dataclass(slots=True)
class _Cache:
    key: str  # the database file, resolved: stores of one database share a generation
    generation: int
    switch: TierSwitch
    location: ColdLocation | None  # resolved on first use: a bad setting fails only then
    evicted: dict[str, tuple[ColdPartition, ...]]


_lock = threading.Lock()
_generations: dict[str, int] = {}
_switches: dict[str, TierSwitch] = {}
_caches: weakref.WeakKeyDictionary[Store, _Cache] = weakref.WeakKeyDictionary()


def _cache(store: Store) -> _Cache:
    cache = _caches.get(store)
    if cache is not None and cache.generation == _generations.get(cache.key, 0):
        return cache
    if cache is None:
        key = str(store.db_path.resolve())
        with _lock:
            switch = _switches.setdefault(key, TierSwitch())
        location = None
    else:
        key, switch, location = cache.key, cache.switch, cache.location
    generation = _generations.get(key, 0)
    evicted: dict[str, list[ColdPartition]] = {}
    for part in load_partitions(store.cursor(), evicted_only=True):
        evicted.setdefault(part.topic, []).append(part)
    cache = _Cache(key, generation, switch, location, {t: tuple(p) for t, p in evicted.items()})
    _caches[store] = cache
    return cache


def tier_switch(store: Store) -> TierSwitch:
    """The switch of ``store``'s database, shared by every store object of the process."""
    return _cache(store).switch


def cold_location(store: Store) -> ColdLocation:
    """Where ``store``'s cold tier is (from its ``cold_location`` setting)."""
    cache = _cache(store)
    if cache.location is None:
        cache.location = resolve_cold_location(store.settings.cold_location, store.path)
    return cache.location


def evicted_partitions(
    store: Store, topic: str, start_tai_ns: int | None = None, end_tai_ns: int | None = None
) -> tuple[ColdPartition, ...]:
    """Evicted partitions of ``topic`` with rows in ``[start, end]`` (None: open), by day."""
    parts = _cache(store).evicted.get(topic, ())
    if parts and (start_tai_ns is not None or end_tai_ns is not None):
        lo = start_tai_ns if start_tai_ns is not None else -(2**63)
        hi = end_tai_ns if end_tai_ns is not None else 2**63 - 1
        parts = tuple(p for p in parts if p.max_tai_ns >= lo and p.min_tai_ns <= hi)
    return parts


def manifest_changed(store: Store) -> None:
    """The manifest of ``store``'s database changed: every store of the process reloads it."""
    key = _cache(store).key
    with _lock:
        _generations[key] = _generations.get(key, 0) + 1
    _cache(store)


_registered = threading.local()


def _register_name() -> str:
    count: int = getattr(_registered, "count", 0) + 1
    _registered.count = count
    return f"_openefd_cold_{count}"


@contextmanager
def partition_rows(
    cursor: duckdb.DuckDBPyConnection,
    location: ColdLocation,
    layout: TopicSchema,
    partitions: Sequence[ColdPartition],
) -> Iterator[str]:
    """A SQL query for the rows of ``partitions``, as columns of ``layout``'s table.

    Local files are read by DuckDB's ``read_parquet``; others through a pyarrow
    dataset registered on ``cursor`` while the context lasts. Columns a file
    lacks read as NULL; columns widened since it was written are cast.
    """
    present: dict[str, str] = {}
    for part in partitions:
        present.update(part.columns)
    items = [TIME_COLUMN]
    for field in layout.fields:
        name, kind = quote_ident(field.name), duckdb_type(field)
        value = name if field.name in present else "NULL"
        items.append(f"CAST({value} AS {kind}) AS {name}")
    select = f"SELECT {', '.join(items)} FROM "
    if location.local_root is not None:
        files = ", ".join(
            "'" + location.local_path(p.file).replace("'", "''") + "'" for p in partitions
        )
        by_name = len({p.columns for p in partitions}) > 1
        yield (
            f"{select}read_parquet([{files}], hive_partitioning = false"
            f"{', union_by_name = true' if by_name else ''})"
        )
        return
    schema = pa.schema(
        [pa.field(TIME_COLUMN, pa.int64())]
        + [pa.field(f.name, arrow_type(f)) for f in layout.fields]
    )
    time = pc.field(TIME_COLUMN)
    dataset = pads.FileSystemDataset.from_paths(
        [location.path(p.file) for p in partitions],
        schema=schema,
        format=pads.ParquetFileFormat(),
        filesystem=location.filesystem,
        partitions=[(time >= p.min_tai_ns) & (time <= p.max_tai_ns) for p in partitions],
    )
    name = _register_name()
    cursor.register(name, dataset)
    try:
        yield select + name
    finally:
        cursor.unregister(name)


_BATCH_KEYS = "_openefd_batch_keys"
_COLD_KEYS = "_openefd_cold_keys"
_ROW = "_openefd_row"


def drop_rows_in_cold(
    store: Store,
    con: duckdb.DuckDBPyConnection,
    topic: str,
    table: pa.Table,
    keys: list[str],
) -> pa.Table:
    """``table`` without the rows whose key is already in an evicted partition.

    Rows of evicted days are stored in Parquet, not in the topic's table, so
    the insert's own check cannot see them. Cheap when no evicted day is near.
    """
    if not evicted_partitions(store, topic):
        return table  # the common case: a dictionary lookup
    times = table[TIME_COLUMN].to_numpy()
    touched = evicted_partitions(store, topic, int(times.min()), int(times.max()))
    if not touched:
        return table
    location = cold_location(store)
    stored = []
    for part in touched:
        have = {TIME_COLUMN, *dict(part.columns)}
        read = pq.read_table(
            location.path(part.file),
            columns=[k for k in keys if k in have],
            filesystem=location.filesystem,
            filters=[(TIME_COLUMN, ">=", int(times.min())), (TIME_COLUMN, "<=", int(times.max()))],
        )
        for key in keys:
            if key not in have:  # a key column added after the file was written
                read = read.append_column(key, pa.nulls(read.num_rows, table[key].type))
        stored.append(read.select(keys).cast(table.select(keys).schema))
    batch = table.select(keys).append_column(_ROW, pa.array(np.arange(table.num_rows)))
    match = " AND ".join(
        f"c.{quote_ident(k)} {'=' if k == TIME_COLUMN else 'IS NOT DISTINCT FROM'} "
        f"b.{quote_ident(k)}"
        for k in keys
    )
    con.register(_BATCH_KEYS, batch)
    con.register(_COLD_KEYS, pa.concat_tables(stored))
    try:
        kept = run(
            con,
            f"SELECT b.{_ROW} FROM {_BATCH_KEYS} b WHERE NOT EXISTS "
            f"(SELECT 1 FROM {_COLD_KEYS} c WHERE {match}) ORDER BY b.{_ROW}",
        )
    finally:
        con.unregister(_BATCH_KEYS)
        con.unregister(_COLD_KEYS)
    if len(kept) == table.num_rows:
        return table
    return table.take(pa.array([r[0] for r in kept], pa.int64()))
