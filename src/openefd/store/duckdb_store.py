"""The embedded store: one DuckDB database file in a store directory.

One table per topic, named as the topic (``"lsst.sal.MTMount.azimuth"``), with
``time_tai_ns`` (canonical TAI ns, see :mod:`openefd.timescales`) and one
column per field of the topic's layout. Writes are idempotent: a row whose
key — time, ``salIndex`` and ``private_seqNum`` where the topic has them — is
already stored is skipped, so replaying a log is safe (first write wins).
Writes happen in transactions: a batch that fails writes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openefd.errors import ConfigurationError, RecordError, UnknownTopicError
from openefd.schema.model import SAL_INDEX_FIELD, TopicSchema
from openefd.settings import Settings
from openefd.store.aggregates import Aggregates
from openefd.store.cold_manifest import drop_rows_in_cold
from openefd.store.columns import TIME_COLUMN, arrow_type
from openefd.store.pending import PendingRows
from openefd.store.registry import RegisterOutcome, TopicRegistry, quote_ident
from openefd.store.sql import insert_all, run, run_one

__all__ = ["DB_FILE", "Store", "TopicStats", "key_columns"]

DB_FILE = "efd.duckdb"
SEQ_NUM_FIELD = "private_seqNum"


@dataclass(frozen=True, slots=True)
class TopicStats:
    """Rows held for a topic and the TAI ns span they cover (None when empty)."""

    topic: str
    rows: int
    first_tai_ns: int | None
    last_tai_ns: int | None


class Store:
    """An embedded openefd store in directory ``path`` (created when missing)."""

    def __init__(
        self, path: Path | str, *, settings: Settings | None = None, read_only: bool = False
    ) -> None:
        self.settings = settings or Settings()
        self.path = Path(path).expanduser()
        db_path = self.path / DB_FILE
        if read_only and not db_path.exists():
            raise ConfigurationError(f"no openefd store at {self.path} (missing {DB_FILE})")
        if self.path.exists() and not self.path.is_dir():
            raise ConfigurationError(f"store location {self.path} exists and is not a directory")
        self.path.mkdir(parents=True, exist_ok=True)
        config: dict[str, str | bool | int | float | list[str]] = {}
        if self.settings.duckdb_threads:
            config["threads"] = self.settings.duckdb_threads
        if self.settings.duckdb_memory_limit:
            config["memory_limit"] = self.settings.duckdb_memory_limit
        if self.settings.duckdb_checkpoint_threshold and not read_only:
            config["checkpoint_threshold"] = self.settings.duckdb_checkpoint_threshold
        try:
            self._con = duckdb.connect(str(db_path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            raise ConfigurationError(f"cannot open store {db_path}: {exc}") from exc
        self.read_only = read_only
        self._write_lock = threading.RLock()
        self._local = threading.local()
        self._max_time: dict[str, int | None] = {}
        # Newest stored row per topic (1-row tables): committed, and written in the open
        # transaction; latest-row queries are answered from memory.
        self._newest: dict[str, pa.Table | None] = {}
        self._newest_tx: dict[str, pa.Table] = {}
        self._columns: dict[str, list[str]] = {}
        self._columns_generation = 0
        self.pending = PendingRows()
        self.registry = TopicRegistry(self._con, read_only=read_only)
        # Called as listener(topic, rows) with the rows just written (time_tai_ns and the
        # layout's columns), inside the write's transaction; derived data (aggregates)
        # uses it to know what changed.
        self.insert_listeners: list[Callable[[str, pa.Table], None]] = []
        # Called as listener(table, rows) with registry rows (exposures, arrivals) just
        # written, inside the write's transaction.
        self.record_listeners: list[Callable[[str, pa.Table], None]] = []
        # Called with no argument after a transaction committed (outside it: a listener
        # may write in a transaction of its own) or rolled back.
        self.commit_listeners: list[Callable[[], None]] = []
        self.rollback_listeners: list[Callable[[], None]] = []
        self.aggregates = Aggregates(self)

    # -- lifecycle ---------------------------------------------------------
    def close(self) -> None:
        if not self.read_only and self.aggregates.has_dirty():
            with self.transaction():  # the newest seconds too: nothing more is coming
                self.aggregates.refresh(include_open=True)
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def db_path(self) -> Path:
        return self.path / DB_FILE

    # -- reading -----------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection for reads from the calling thread."""
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cursor = cur
        return cur

    def layout(self, topic: str) -> TopicSchema:
        """The columns of ``topic``'s table; UnknownTopicError when it has none."""
        layout = self.registry.layout(topic)
        if layout is None:
            raise UnknownTopicError(
                f"Topic {topic} not in EFD schema (no such topic in {self.path})"
            )
        return layout

    def topic_stats(self, topics: Iterable[str] | None = None) -> list[TopicStats]:
        names = list(topics) if topics is not None else self.registry.tables()
        stats = []
        for name in names:
            self.layout(name)
            if not self.registry.has_table(name):
                stats.append(TopicStats(name, 0, None, None))
                continue
            rows, first, last = run_one(
                self.cursor(),
                f"SELECT count(*), min({TIME_COLUMN}), max({TIME_COLUMN}) "
                f"FROM {quote_ident(name)}",
            ) or (0, None, None)
            stats.append(TopicStats(name, int(rows), first, last))
        return stats

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.glob(f"{DB_FILE}*") if p.is_file())

    # -- writing -----------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside happen together or not at all."""
        with self._write_lock:
            if getattr(self._local, "in_tx", False):
                yield
                return
            run(self._con, "BEGIN TRANSACTION")
            self._local.in_tx = True
            try:
                yield
                self.aggregates.refresh()  # derived rows change with the raw ones
            except BaseException:
                self._rollback()
                raise
            else:
                run(self._con, "COMMIT")
                self._newest.update(self._newest_tx)
                self._newest_tx.clear()
                self.aggregates.committed()
                self.registry.changed = False
                self.registry.committed()
            finally:
                self._local.in_tx = False
            for listener in self.commit_listeners:
                listener()

    def _rollback(self) -> None:
        run(self._con, "ROLLBACK")
        self.aggregates.rolled_back()
        for listener in self.rollback_listeners:
            listener()
        if self.registry.changed:
            self.registry.reload()
        self._max_time.clear()
        self._columns.clear()
        self._newest_tx.clear()

    def register_topics(self, schemas: Iterable[TopicSchema]) -> dict[RegisterOutcome, int]:
        """Add or update topic definitions; counts of created/updated/unchanged."""
        counts: dict[RegisterOutcome, int] = {"created": 0, "updated": 0, "unchanged": 0}
        with self.transaction():
            for outcome in self.registry.register_many(schemas):
                counts[outcome] += 1
            self._columns.clear()
        return counts

    def insert(self, topic: str, table: pa.Table, *, conformed: bool = False) -> int:
        """Insert rows (``time_tai_ns`` + layout columns); returns rows newly stored.

        Columns must be a subset of the layout; missing ones are stored as NULL.
        Rows already stored (same key) and repeats within ``table`` are skipped.
        """
        if table.num_rows == 0:
            return 0
        layout = self.layout(topic)
        keys = key_columns(layout)
        # Tables from conform() have the right types already; repeats are dropped either way.
        table = _drop_batch_duplicates(table, keys) if conformed else self.conform(topic, table)
        name = quote_ident(topic)
        with self.transaction():
            self.registry.ensure_table(topic)
            # Rows of days moved to the Parquet cold tier are stored, though not in the table.
            table = drop_rows_in_cold(self, self._con, topic, table, keys)
            if table.num_rows == 0:
                return 0
            times = table[TIME_COLUMN].to_numpy()
            batch_min, batch_max = int(times.min()), int(times.max())
            stored_max = self._stored_max(topic)
            if stored_max is None or batch_min > stored_max:
                # Appending after everything stored: no key can repeat, no anti-join needed.
                self._append(topic, table)
                self._max_time[topic] = batch_max
                self._note_newest(topic, table, times)
                self.aggregates.appended(topic, table, stored_max)
                self._notify(topic, table)
                return int(table.num_rows)
            self._con.register("_openefd_batch", table)
            try:
                cols = ", ".join(quote_ident(c) for c in table.column_names)
                sql = f"INSERT INTO {name} ({cols}) SELECT {cols} FROM _openefd_batch b"
                if stored_max is not None:
                    match = " AND ".join(
                        f"t.{quote_ident(k)} IS NOT DISTINCT FROM b.{quote_ident(k)}"
                        for k in keys[1:]
                    )
                    sql += (
                        f" WHERE NOT EXISTS (SELECT 1 FROM {name} t WHERE "
                        f"t.{TIME_COLUMN} = b.{TIME_COLUMN} AND t.{TIME_COLUMN} BETWEEN "
                        f"{batch_min} AND {batch_max}{' AND ' + match if match else ''})"
                    )
                row = run_one(self._con, sql)
            finally:
                self._con.unregister("_openefd_batch")
            self._max_time[topic] = max(stored_max, batch_max)
            if batch_max > stored_max:
                self._note_newest(topic, table, times)
            self.aggregates.merged(topic)
            self._notify(topic, table)
        return int(row[0]) if row else 0

    def _note_newest(self, topic: str, table: pa.Table, times: np.ndarray) -> None:
        self._newest_tx[topic] = table.slice(int(np.argmax(times)), 1)

    def newest_row(self, topic: str) -> pa.Table | None:
        """The committed row with the greatest time (one of them, on ties), or None.

        Kept in memory: only this Store writes the file (DuckDB allows one
        writing process), so it stays right until this Store changes it.
        """
        if topic not in self._newest:
            if not self.registry.has_table(topic):
                return None
            name = quote_ident(topic)
            row = (
                self.cursor()
                .sql(
                    f"SELECT * FROM {name} WHERE {TIME_COLUMN} = "
                    f"(SELECT max({TIME_COLUMN}) FROM {name}) LIMIT 1"
                )
                .to_arrow_table()
            )
            with self._write_lock:
                if topic not in self._newest:
                    self._newest[topic] = row if row.num_rows else None
        return self._newest[topic]

    def forget_newest(self, topics: Iterable[str] | None = None) -> None:
        """Drop the remembered newest rows (after rows were deleted)."""
        if topics is None:
            self._newest.clear()
        for topic in topics or ():
            self._newest.pop(topic, None)

    def _notify(self, topic: str, table: pa.Table) -> None:
        for listener in self.insert_listeners:
            listener(topic, table)

    def _append(self, topic: str, table: pa.Table) -> None:
        """Insert all of ``table``, its columns put in the table's physical order."""
        if self._columns_generation != self.registry.generation:
            self._columns.clear()  # a definition changed: columns may have been added
            self._columns_generation = self.registry.generation
        order = self._columns.get(topic)
        if order is None and self.registry.created_now(topic):
            order = self._columns[topic] = [TIME_COLUMN, *self.layout(topic).field_names]
        if order is None:  # one catalogue query for every table, not one per topic
            rows = run(
                self._con,
                "SELECT table_name, column_name FROM duckdb_columns() "
                "WHERE NOT contains(table_name, '@') ORDER BY table_name, column_index",
            )  # '@': derived tables (aggregates), which are not written here
            fresh: dict[str, list[str]] = {}
            for table_name, column in rows:
                fresh.setdefault(table_name, []).append(column)
            for table_name, columns in fresh.items():
                self._columns.setdefault(table_name, columns)
            order = self._columns[topic]
        have = set(table.column_names)
        layout = self.layout(topic)
        arrays = []
        for col in order:
            if col in have:
                arrays.append(table[col])
            else:
                field = layout.field(col)
                assert field is not None
                arrays.append(pa.nulls(table.num_rows, arrow_type(field)))
        insert_all(self._con, quote_ident(topic), pa.Table.from_arrays(arrays, names=order))

    def conform(self, topic: str, table: pa.Table) -> pa.Table:
        """``table`` cast to the layout's types, key columns present, repeats dropped."""
        layout = self.layout(topic)
        table = _conform(topic, layout, table)
        keys = key_columns(layout)
        for key in keys[1:]:
            if key not in table.column_names:
                field = layout.field(key)
                assert field is not None
                table = table.append_column(key, pa.nulls(table.num_rows, arrow_type(field)))
        return _drop_batch_duplicates(table, keys)

    def _stored_max(self, topic: str) -> int | None:
        if topic not in self._max_time:
            if not self.registry.writer_has_table(topic):
                return None
            row = run_one(self._con, f"SELECT max({TIME_COLUMN}) FROM {quote_ident(topic)}")
            self._max_time[topic] = None if row is None or row[0] is None else int(row[0])
        return self._max_time[topic]


def key_columns(layout: TopicSchema) -> list[str]:
    """The columns that identify a row: time, and salIndex/private_seqNum when present."""
    keys = [TIME_COLUMN]
    for extra in (SAL_INDEX_FIELD, SEQ_NUM_FIELD):
        if layout.field(extra) is not None:
            keys.append(extra)
    return keys


def _conform(topic: str, layout: TopicSchema, table: pa.Table) -> pa.Table:
    """Cast ``table``'s columns to the layout's types; RecordError names what fails."""
    if TIME_COLUMN not in table.column_names:
        raise RecordError(f"topic {topic!r}: rows have no {TIME_COLUMN} column")
    arrays = [table[TIME_COLUMN].cast(pa.int64())]
    names = [TIME_COLUMN]
    if table[TIME_COLUMN].null_count:
        raise RecordError(f"topic {topic!r}: {TIME_COLUMN} must not be null")
    for col in table.column_names:
        if col == TIME_COLUMN:
            continue
        field = layout.field(col)
        if field is None:
            raise RecordError(f"topic {topic!r} has no field {col!r}")
        try:
            arrays.append(table[col].cast(arrow_type(field)))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise RecordError(
                f"topic {topic!r}, field {col!r}: values do not fit type {field.type.value}"
                f"{'[]' if field.is_array else ''}: {exc}"
            ) from exc
        names.append(col)
    return pa.Table.from_arrays(arrays, names=names)


def _drop_batch_duplicates(table: pa.Table, keys: list[str]) -> pa.Table:
    """Sort by key and keep the first of rows whose keys are equal."""
    times = table[TIME_COLUMN].to_numpy()
    if bool(np.all(times[1:] > times[:-1])):
        return table  # already in time order with no repeated time: nothing to do
    order = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in keys])
    table = table.take(order)
    times = table[TIME_COLUMN].to_numpy()
    same = np.zeros(len(times), dtype=bool)
    same[1:] = times[1:] == times[:-1]
    if not same.any():
        return table
    for key in keys[1:]:
        values = np.asarray(table[key].to_pylist(), dtype=object)  # any type, None included
        eq = np.zeros(len(times), dtype=bool)
        eq[1:] = values[1:] == values[:-1]
        same &= eq
    return table.filter(pa.array(~same))
