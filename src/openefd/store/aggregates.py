"""Continuous 1-second aggregation (DMTN-082 §10.3), kept exact as rows arrive.

Every write marks the seconds it touched as dirty (an insert listener); when
the writing transaction commits, those seconds are recomputed from the raw
rows, inside the same transaction, so the derived tables always equal a
from-scratch computation over what is stored. Per topic kind:

- **telemetry sampled faster than 1 Hz** (detected from the data, or forced
  by ``OPENEFD_AGGREGATE_INCLUDE``): table ``"<topic>@1s"`` with one row per
  second (and ``salIndex``): ``rows`` and, for every numeric field, ``f.mean``,
  ``f.min``, ``f.max``, ``f.median``, ``f.std`` (sample) and ``f.count``
  (lists, element by element, for array fields);
- **events**, **commands**, and telemetry at 1 Hz or slower: not stored
  aggregated; their 1-second view is computed from the raw rows when asked
  (events once per second with ``repeats``: see
  :func:`openefd.store.agg_rows.event_seconds_sql`). Storing events
  de-duplicated cost as much as all telemetry statistics together (50 Hz
  array events such as M1M3's ``preclipped*Forces`` are copied whole) and
  saved nothing for the queries that read them.

The newest second of a topic may still be filling, so it is left dirty until
a later write moves past it (``refresh(include_open=True)`` takes it too).
Dirty seconds live in memory: after a crash, ``openefd aggregate --rebuild``
recomputes everything.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from openefd.schema.model import SAL_INDEX_FIELD, TopicKind
from openefd.store.agg_recent import RecentRows
from openefd.store.agg_rows import (
    AGG_SUFFIX,
    NS,
    ROWS,
    agg_table,
    faster_than_1hz,
    stat_column,
    stat_fields,
    stats_table,
)
from openefd.store.agg_stats import STATS
from openefd.store.cold_manifest import cold_location, evicted_partitions, partition_rows
from openefd.store.columns import TIME_COLUMN, arrow_type
from openefd.store.registry import quote_ident
from openefd.store.sql import insert_all, run, run_one

if TYPE_CHECKING:
    from openefd.store.duckdb_store import Store

__all__ = ["Aggregates"]

_MODES = "_openefd_aggregation"
_GAP_S = 60  # dirty seconds closer than this are recomputed as one range
_CHUNK_S = 600  # seconds of raw rows read at once
_DECIDE_GROUPS = 5  # (second, salIndex) groups seen before a rate is judged…
_DECIDE_SPAN_S = 10  # …or seconds of data (a slower topic is judged slow)


class Aggregates:
    """The 1-second aggregates of one store; see the module docstring."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._dirty: dict[str, list[npt.NDArray[np.int64]]] = {}
        self._taken: dict[str, list[npt.NDArray[np.int64]]] = {}
        self._agg_max: dict[str, int | None] = {}
        self._agg_columns: dict[str, list[str]] = {}  # in table order
        self._modes: dict[str, str] = {}
        self.enabled = store.settings.aggregation
        self.lag_s = store.settings.aggregate_lag_s
        self.budget_s = store.settings.aggregate_budget_ms / 1000
        self.busy_s = 0.0  # wall time spent bringing aggregates up to date
        self._rejudge: set[str] = set()  # topics judged slow that a write shows are not
        self._recent = RecentRows()  # rows just appended: aggregated without reading back
        if not store.read_only:
            run(
                store._con,
                f"CREATE TABLE IF NOT EXISTS {_MODES} (topic VARCHAR PRIMARY KEY, "
                "mode VARCHAR NOT NULL)",
            )
        self._load_catalog()
        store.insert_listeners.append(self._touched)

    def _load_catalog(self) -> None:
        """What aggregate tables exist and their columns: one catalogue query."""
        con = self._store._con
        self._agg_columns = {}
        rows = run(
            con,
            "SELECT table_name, column_name FROM duckdb_columns() WHERE table_name LIKE ? "
            "ORDER BY table_name, column_index",
            [f"%{AGG_SUFFIX}"],
        )
        for table, column in rows:
            self._agg_columns.setdefault(table[: -len(AGG_SUFFIX)], []).append(column)
        if _table_exists(con, _MODES):
            self._modes = dict(run(con, f"SELECT topic, mode FROM {_MODES}"))

    # -- what is aggregated ---------------------------------------------------
    def mode(self, topic: str) -> str | None:
        """'stats', 'none', or None while a telemetry topic's rate is unknown."""
        layout = self._store.layout(topic)
        if layout.kind is not TopicKind.TELEMETRY:
            return "none"
        forced = self._forced(topic)
        if forced is not None:
            return forced
        return self._modes.get(topic)

    def _forced(self, topic: str) -> str | None:
        settings = self._store.settings
        if any(fnmatch.fnmatchcase(topic, p) for p in settings.aggregate_exclude):
            return "none"
        if any(fnmatch.fnmatchcase(topic, p) for p in settings.aggregate_include):
            return "stats"
        return None

    def has_table(self, topic: str) -> bool:
        return self.mode(topic) == "stats" and topic in self._agg_columns

    def has_dirty(self) -> bool:
        return any(self._dirty.values())

    def dirty(self, topic: str) -> bool:
        return bool(self._dirty.get(topic))

    # -- tracking ---------------------------------------------------------------
    def _touched(self, topic: str, rows: pa.Table) -> None:
        if not self.enabled:
            return
        times = np.asarray(rows[TIME_COLUMN].to_numpy(), dtype=np.int64)
        if self.mode(topic) == "none":
            if self._modes.get(topic) == "none" and faster_than_1hz(rows, times):
                self._rejudge.add(topic)  # judged slow from too few rows: look again
            return
        seconds = np.unique(np.floor_divide(times, NS))
        self._dirty.setdefault(topic, []).append(seconds)

    def appended(self, topic: str, rows: pa.Table, previous_max_ns: int | None) -> None:
        """The store appended ``rows`` after every stored row of ``topic``."""
        if self.enabled and self.mode(topic) != "none":
            self._recent.appended(topic, rows, previous_max_ns)

    def merged(self, topic: str) -> None:
        """The store wrote rows of ``topic`` between stored ones: read them from the table."""
        self._recent.drop(topic)

    def committed(self) -> None:
        self._taken.clear()

    def rolled_back(self) -> None:
        """The transaction failed: what it took must be done again."""
        self._recent.drop()
        for topic, parts in self._taken.items():
            self._dirty.setdefault(topic, []).extend(parts)
        self._taken.clear()
        self._agg_max.clear()
        self._load_catalog()

    # -- recomputing ------------------------------------------------------------
    def refresh(self, topics: Iterable[str] | None = None, *, include_open: bool = False) -> int:
        """Recompute dirty seconds (inside the caller's transaction); seconds done."""
        if self._store.read_only:
            return 0
        started = time.perf_counter()
        try:
            return self._refresh(topics, include_open)
        finally:
            self.busy_s += time.perf_counter() - started

    def _refresh(self, topics: Iterable[str] | None, include_open: bool) -> int:
        done = 0
        if self._rejudge:
            again, self._rejudge = sorted(self._rejudge), set()
            done += self.rebuild(again)  # from every row: the rate, then the aggregates
        names = list(self._dirty) if topics is None else [t for t in topics if t in self._dirty]
        # At commits, at most budget_s of work: the rest waits for the next commit (oldest
        # first), so one commit never stalls a live feed; reads catch a topic up themselves.
        budget = None if (topics is not None or include_open) else self.budget_s
        if budget is not None:
            names.sort(key=self._oldest_dirty)
        self._decide_rates(names, include_open)
        started = time.perf_counter()
        for topic in names:
            if budget is not None and time.perf_counter() - started > budget:
                break
            parts = self._dirty.pop(topic, [])
            if not parts:
                continue
            if not self._store.registry.writer_has_table(topic):
                continue  # its table was rolled back: nothing to aggregate
            seconds, newest_s, due = self._due(topic, parts, include_open)
            mode = self.mode(topic)
            if not due:
                self._dirty[topic] = [seconds]  # batch the work: one pass per lag_s
                continue
            if mode is None:  # too little seen yet (judged above)
                self._dirty[topic] = [seconds]
                continue
            if mode == "none":
                continue
            if not include_open:
                held = seconds[seconds >= newest_s]
                if len(held):
                    self._dirty[topic] = [held]
                seconds = seconds[seconds < newest_s]
            if not len(seconds):
                continue
            self._taken.setdefault(topic, []).append(seconds)
            for first, last in _ranges(seconds):
                self._recompute_stats(topic, first, last)
            self._recent.done_before(topic, (int(seconds[-1]) + 1) * NS)
            done += len(seconds)
        return done

    def _due(
        self, topic: str, parts: list[npt.NDArray[np.int64]], include_open: bool
    ) -> tuple[npt.NDArray[np.int64], int, bool]:
        """A topic's dirty seconds (sorted, unique), its newest stored second, and whether
        its work is due: lag_s of data gathered since the oldest, or the open seconds wanted."""
        seconds = np.unique(np.concatenate(parts))
        newest = self._store._stored_max(topic)
        newest_s = int(seconds[-1]) if newest is None else newest // NS
        return seconds, newest_s, include_open or newest_s - int(seconds[0]) >= self.lag_s

    def _oldest_dirty(self, topic: str) -> int:
        parts = [p for p in self._dirty.get(topic, []) if len(p)]
        return min(int(p.min()) for p in parts) if parts else 0

    def catch_up(self, topics: Iterable[str] | None = None) -> int:
        """Aggregate rows stored after the aggregates' newest second (e.g. after a crash)."""
        store = self._store
        names = list(topics) if topics is not None else store.registry.tables()
        for topic in names:
            if self.mode(topic) == "none" or not store.registry.writer_has_table(topic):
                continue
            newest = self._max_bucket(topic)
            # The next whole second: an event table's newest row is a message's own time.
            since = -(2**62) if newest is None else (newest // NS + 1) * NS
            secs = run(
                store._con,
                f"SELECT DISTINCT {TIME_COLUMN} // {NS} FROM {quote_ident(topic)} "
                f"WHERE {TIME_COLUMN} >= ?",
                [since],
            )
            if secs:
                found = np.sort(np.array([s for (s,) in secs], dtype=np.int64))
                self._dirty.setdefault(topic, []).append(found)
        return self.refresh(names, include_open=True)

    def rebuild(self, topics: Iterable[str] | None = None) -> int:
        """Drop and recompute the aggregates of ``topics`` (default all); seconds done."""
        store = self._store
        names = list(topics) if topics is not None else store.registry.tables()
        for topic in names:
            run(store._con, f"DROP TABLE IF EXISTS {quote_ident(agg_table(topic))}")
            self._agg_max.pop(topic, None)
            self._agg_columns.pop(topic, None)
            self._dirty.pop(topic, None)
            # From scratch: judge the rate again from every row (the first judgement may
            # have seen only a sparse, out-of-order part of a fast topic).
            if self._modes.pop(topic, None) is not None:
                run(store._con, f"DELETE FROM {_MODES} WHERE topic = ?", [topic])
            if not store.registry.writer_has_table(topic):
                continue
            row = run_one(
                store._con,
                f"SELECT min({TIME_COLUMN}), max({TIME_COLUMN}) FROM {quote_ident(topic)}",
            )
            if row is None or row[0] is None:
                continue
            # Only seconds holding rows matter; ranges with gaps are skipped cheaply.
            with self._raw(topic, int(row[0]) // NS, int(row[1]) // NS) as source:
                secs = run(store._con, f"SELECT DISTINCT {TIME_COLUMN} // {NS} FROM {source}")
            self._dirty[topic] = [np.sort(np.array([s for (s,) in secs], dtype=np.int64))]
        return self.refresh(names, include_open=True)

    def _decide_rates(self, names: list[str], include_open: bool) -> None:
        """Judge the rate of every undecided telemetry topic among ``names`` that has waited
        its lag: more than one row per (second, salIndex) → 'stats'. One query for all
        (a store starting up has hundreds of them)."""
        store = self._store
        pending: dict[str, tuple[int, int]] = {}
        for topic in names:
            parts = self._dirty.get(topic)
            if not parts or self.mode(topic) is not None:
                continue
            if not store.registry.writer_has_table(topic):
                continue
            seconds, _, due = self._due(topic, parts, include_open)
            self._dirty[topic] = [seconds]  # merged once: the loop that follows reuses it
            if due:
                pending[topic] = (int(seconds[0]), int(seconds[-1]))
        if not pending:
            return
        with ExitStack() as stack:
            parts_sql = []
            params: list[object] = []
            for k, (topic, (lo, hi)) in enumerate(pending.items()):
                source = stack.enter_context(self._raw(topic, lo, hi))
                indexed = store.layout(topic).field(SAL_INDEX_FIELD) is not None
                by = f", {quote_ident(SAL_INDEX_FIELD)}" if indexed else ""
                parts_sql.append(
                    f"SELECT {k} AS k, count(*) AS n FROM {source} WHERE {TIME_COLUMN} >= ? "
                    f"AND {TIME_COLUMN} < ? GROUP BY {TIME_COLUMN} // {NS}{by}"
                )
                params += [lo * NS, (hi + 1) * NS]
            rows = run(store._con, " UNION ALL ".join(parts_sql), params)
        counts: dict[int, list[int]] = {}
        for k, n in rows:
            counts.setdefault(int(k), []).append(int(n))
        decided: dict[str, str] = {}
        for k, (topic, (lo, hi)) in enumerate(pending.items()):
            seen = counts.get(k, [])
            if not seen or (len(seen) < _DECIDE_GROUPS and hi - lo < _DECIDE_SPAN_S):
                continue  # too little seen yet
            decided[topic] = "stats" if float(np.median(seen)) > 1 else "none"
        if not decided:
            return
        values = ", ".join("(?, ?)" for _ in decided)
        flat = [x for pair in decided.items() for x in pair]
        run(store._con, f"INSERT OR REPLACE INTO {_MODES} VALUES {values}", flat)
        for topic, mode in decided.items():
            self._modes[topic] = mode
            if mode == "none":
                self._recent.drop(topic)

    def _max_bucket(self, topic: str) -> int | None:
        if topic not in self._agg_max:
            table = agg_table(topic)
            if topic not in self._agg_columns:
                self._agg_max[topic] = None
            else:
                row = run_one(
                    self._store._con, f"SELECT max({TIME_COLUMN}) FROM {quote_ident(table)}"
                )
                self._agg_max[topic] = None if row is None or row[0] is None else int(row[0])
        return self._agg_max[topic]

    def _replace(self, topic: str, first: int, last: int, rows: pa.Table) -> None:
        """Delete the aggregate rows of seconds [first, last], insert ``rows``."""
        con = self._store._con
        table = quote_ident(agg_table(topic))
        newest = self._max_bucket(topic)
        if newest is not None and first * NS <= newest:
            run(
                con,
                f"DELETE FROM {table} WHERE {TIME_COLUMN} >= ? AND {TIME_COLUMN} < ?",
                [first * NS, (last + 1) * NS],
            )
        if rows.num_rows:
            order = self._agg_columns[topic]
            if set(rows.column_names) == set(order):
                insert_all(con, table, rows.select(order))
            else:  # a table with columns from an older definition: match by name
                insert_all(con, table, rows, by_name=True)
            top = int(pc.max(rows[TIME_COLUMN]).as_py())
            self._agg_max[topic] = top if newest is None else max(newest, top)

    def _ensure_columns(self, topic: str, columns: dict[str, str]) -> None:
        """Create the aggregate table, or add columns a newer definition brought."""
        con = self._store._con
        name = agg_table(topic)
        have = self._agg_columns.get(topic)
        if have is None:
            cols = ", ".join(f"{quote_ident(c)} {t}" for c, t in columns.items())
            run(con, f"CREATE TABLE {quote_ident(name)} ({cols})")
            have = self._agg_columns[topic] = list(columns)
        for col, sql_type in columns.items():
            if col not in have:
                run(
                    con,
                    f"ALTER TABLE {quote_ident(name)} ADD COLUMN {quote_ident(col)} {sql_type}",
                )
                have.append(col)

    def _recompute_stats(self, topic: str, first: int, last: int) -> None:
        layout = self._store.layout(topic)
        fields = stat_fields(layout)
        indexed = layout.field(SAL_INDEX_FIELD) is not None
        columns = {TIME_COLUMN: "BIGINT NOT NULL"}
        if indexed:
            columns[SAL_INDEX_FIELD] = "BIGINT"
        columns[ROWS] = "BIGINT NOT NULL"
        for f in fields:
            for stat in STATS:
                base = "BIGINT" if stat == "count" else "DOUBLE"
                columns[stat_column(f.name, stat)] = base + ("[]" if f.is_array else "")
        self._ensure_columns(topic, columns)
        order = f"{quote_ident(SAL_INDEX_FIELD)}, " if indexed else ""
        select = ", ".join(
            [TIME_COLUMN]
            + ([quote_ident(SAL_INDEX_FIELD)] if indexed else [])
            + [quote_ident(f.name) for f in fields]
        )
        types = {TIME_COLUMN: pa.int64()}
        sal = layout.field(SAL_INDEX_FIELD)
        if sal is not None:
            types[SAL_INDEX_FIELD] = arrow_type(sal)
        types.update((f.name, arrow_type(f)) for f in fields)
        raw = self._recent.rows_of(topic, first * NS, (last + 1) * NS, types, indexed)
        if raw is None or evicted_partitions(self._store, topic, first * NS, (last + 1) * NS - 1):
            with self._raw(topic, first, last) as source:
                sql = (
                    f"SELECT {select} FROM {source} WHERE {TIME_COLUMN} >= ? AND "
                    f"{TIME_COLUMN} < ? ORDER BY {order}{TIME_COLUMN}"
                )
                params = [first * NS, (last + 1) * NS]
                raw = self._store._con.sql(sql, params=params).to_arrow_table()
        self._replace(topic, first, last, stats_table(raw, fields, indexed))

    @contextmanager
    def _raw(self, topic: str, first: int, last: int) -> Iterator[str]:
        """SQL for the stored rows of ``topic`` around seconds [first, last], on the writer's
        connection: its table, and its days moved to the Parquet cold tier."""
        table = quote_ident(topic)
        cold = evicted_partitions(self._store, topic, first * NS, (last + 1) * NS - 1)
        if not cold:
            yield table
            return
        layout = self._store.layout(topic)
        location = cold_location(self._store)
        with partition_rows(self._store._con, location, layout, cold) as rows:
            yield f"(SELECT * FROM {table} UNION ALL BY NAME {rows})"


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = run_one(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table])
    return bool(row and row[0])


def _ranges(seconds: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """Sorted seconds as inclusive ranges: gaps under _GAP_S joined, each ≤ _CHUNK_S long."""
    out: list[tuple[int, int]] = []
    breaks = np.flatnonzero(np.diff(seconds) > _GAP_S) + 1
    for run_ in np.split(seconds, breaks):
        lo, hi = int(run_[0]), int(run_[-1])
        while lo <= hi:
            end = min(hi, lo + _CHUNK_S - 1)
            out.append((lo, end))
            lo = end + 1
    return out
