"""Rows accepted by the live writer and not yet committed to their tables.

Queries read a topic as its table plus these rows (see
:mod:`openefd.query.select`), so a row is visible as soon as the live writer
accepts it. Each pending table is already conformed to the topic's column
types. A flush commits a prefix of a topic's pending tables and then drops
that prefix; a query that runs in between sees those rows in both places and
keeps the committed copy (key match), so no row is ever shown twice.
"""

from __future__ import annotations

import threading

import pyarrow as pa

__all__ = ["PendingRows"]


class PendingRows:
    """Per-topic lists of Arrow tables, safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables: dict[str, list[pa.Table]] = {}
        self._joined: dict[str, pa.Table] = {}  # concatenation cache, dropped on change
        self._rows = 0

    @property
    def rows(self) -> int:
        """Rows pending over all topics."""
        return self._rows

    def add(self, topic: str, table: pa.Table) -> None:
        with self._lock:
            self._tables.setdefault(topic, []).append(table)
            self._joined.pop(topic, None)
            self._rows += table.num_rows

    def snapshot(self, topic: str) -> pa.Table | None:
        """All pending rows of ``topic`` as one table (columns unified), or None."""
        with self._lock:
            joined = self._joined.get(topic)
            if joined is not None:
                return joined
            tables = list(self._tables.get(topic, ()))
        if not tables:
            return None
        joined = pa.concat_tables(tables, promote_options="default")
        with self._lock:
            if len(self._tables.get(topic, ())) == len(tables):
                self._joined[topic] = joined
        return joined

    def peek_all(self) -> dict[str, list[pa.Table]]:
        """What is pending now, per topic (the lists are copies)."""
        with self._lock:
            return {topic: list(tables) for topic, tables in self._tables.items() if tables}

    def drop(self, flushed: dict[str, list[pa.Table]]) -> None:
        """Forget tables that were committed (a prefix of each topic's list)."""
        with self._lock:
            for topic, done in flushed.items():
                tables = self._tables.get(topic, [])
                count = len(done)
                assert all(a is b for a, b in zip(tables, done, strict=False)), (
                    "pending rows changed order during a flush"
                )
                del tables[:count]
                self._joined.pop(topic, None)
                self._rows -= sum(t.num_rows for t in done)
                if not tables:
                    self._tables.pop(topic, None)
