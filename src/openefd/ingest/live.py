"""Live ingest: many small writes, visible at once, committed in batches.

DuckDB spends about a millisecond on any insert, however small, so a live feed
of hundreds of topics at 1–50 Hz cannot commit every message on its own.
:class:`LiveWriter` validates each write at once (bad input is rejected
before the call returns, as with :class:`~openefd.ingest.writer.Writer`),
keeps the accepted rows in the store's pending rows — where every query of
the same :class:`~openefd.store.duckdb_store.Store` already sees them — and
commits all topics together, in one transaction, ``flush_interval_s`` seconds
after the last flush ended (whether the thread or a caller of :meth:`flush`
made it), or sooner when ``max_pending_rows`` are waiting.

Durability: rows are on disk once flushed (``flush()``, ``close()``, or the
interval). A process that dies loses at most the last interval; replaying
the source (a NATS stream, a file) is safe because writes are idempotent.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

import pyarrow as pa

from openefd.errors import OpenEfdError
from openefd.ingest.plans import WritePlans
from openefd.ingest.writer import TableData, TopicBatch, Writer, table_from_data
from openefd.settings import SchemaMode
from openefd.store.duckdb_store import Store
from openefd.store.pending import conformed as conformed_tables

__all__ = ["LiveWriter"]


class LiveWriter:
    """Buffered, immediately visible writes into ``store``, flushed by a background thread."""

    def __init__(
        self,
        store: Store,
        *,
        flush_interval_s: float = 5.0,
        max_pending_rows: int = 1_000_000,
        mode: SchemaMode | None = None,
    ) -> None:
        if flush_interval_s <= 0:
            raise ValueError("flush_interval_s must be > 0")
        self.store = store
        self.flush_interval_s = flush_interval_s
        self.max_pending_rows = max_pending_rows
        self._writer = Writer(store, mode)
        self._plans = WritePlans()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.flushes = 0
        self._last_flush = time.monotonic()  # when the last flush ended: the next is due after
        self._thread = threading.Thread(target=self._run, name="openefd-live-flush", daemon=True)
        self._thread.start()

    def write(self, topic: str, data: TableData) -> int:
        """Validate and accept rows of ``topic``; returns the rows accepted."""
        self._raise_background_error()
        conformed = self._plans.defer(topic, data) if isinstance(data, pa.Table) else None
        if conformed is None:
            table, utc = table_from_data(data, f"topic {topic!r}")
            prepared = self._writer.prepare(TopicBatch(topic, table, utc))
            if prepared is None:
                return 0
            conformed = self.store.conform(topic, prepared)
            if utc is None:
                self._plans.learn(topic, table, conformed)
        self.store.pending.add(topic, conformed)
        if self.store.pending.rows >= self.max_pending_rows:
            self._wake.set()
        return int(conformed.num_rows)

    def flush(self) -> int:
        """Commit everything accepted so far, in one transaction; rows newly stored."""
        with self._flush_lock:
            try:
                return self._flush()
            finally:
                self._last_flush = time.monotonic()

    def _flush(self) -> int:
        batches = self.store.pending.peek_all()
        if not batches:
            return 0
        written = 0
        with self.store.transaction():
            for topic, entries in batches.items():
                tables = conformed_tables(entries)
                table = (
                    tables[0]
                    if len(tables) == 1
                    else pa.concat_tables(tables, promote_options="default").combine_chunks()
                )
                written += self.store.insert(topic, table, conformed=True)
        self.store.pending.drop(batches)
        self.flushes += 1
        return written

    def close(self) -> None:
        """Flush what is pending and stop the background thread."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=60)
        self.flush()
        self._raise_background_error()

    def __enter__(self) -> LiveWriter:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            woken = self._wake.wait(max(0.0, self._due() - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                return
            if not woken and time.monotonic() < self._due():
                continue  # a caller flushed meanwhile: the next flush is due later
            try:
                self.flush()
            except BaseException as exc:  # reported to the writer on its next call
                self._error = exc
                return

    def _due(self) -> float:
        """When the next flush is due (monotonic clock): an interval after the last."""
        return self._last_flush + self.flush_interval_s

    def _raise_background_error(self) -> None:
        if self._error is not None:
            raise OpenEfdError(f"the background flush failed: {self._error}") from self._error
