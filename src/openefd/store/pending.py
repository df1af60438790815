"""Rows accepted by the live writer and not yet committed to their tables.

Queries read a topic as its table plus these rows (see
:mod:`openefd.query.select`), so a row is visible as soon as the live writer
accepts it. Each pending table is already conformed to the topic's column
types. A flush commits a prefix of a topic's pending tables and then drops
that prefix; a query that runs in between sees those rows in both places and
keeps the committed copy (key match), so no row is ever shown twice.

An entry is either an Arrow table already conformed to the topic's column
types, or *deferred* rows (:class:`Deferred`: validated, but not yet cast;
the live writer's fast path). Deferred runs are cast together when a query
(:meth:`PendingRows.snapshot`) or a flush (:func:`conformed`) needs them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol, TypeAlias

import pyarrow as pa

__all__ = ["Deferred", "PendingEntry", "PendingRows", "conformed"]


class Deferred(Protocol):
    """Rows accepted but not yet cast; runs sharing a ``plan`` are cast together."""

    @property
    def num_rows(self) -> int: ...

    @property
    def plan(self) -> object: ...

    @staticmethod
    def conform_all(run: list[Deferred]) -> pa.Table: ...


PendingEntry: TypeAlias = "pa.Table | Deferred"


def conformed(entries: Sequence[PendingEntry]) -> list[pa.Table]:
    """The entries as conformed tables: each run of deferred rows with one plan cast once."""
    out: list[pa.Table] = []
    run: list[Deferred] = []
    for entry in entries:
        if isinstance(entry, pa.Table):
            if run:
                out.append(run[0].conform_all(run))
                run = []
            out.append(entry)
        elif run and entry.plan is not run[0].plan:
            out.append(run[0].conform_all(run))
            run = [entry]
        else:
            run.append(entry)
    if run:
        out.append(run[0].conform_all(run))
    return out


class PendingRows:
    """Per-topic lists of Arrow tables, safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables: dict[str, list[PendingEntry]] = {}
        self._joined: dict[str, pa.Table] = {}  # concatenation cache, dropped on change
        self._rows = 0

    @property
    def rows(self) -> int:
        """Rows pending over all topics."""
        return self._rows

    def add(self, topic: str, table: PendingEntry) -> None:
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
        joined = pa.concat_tables(conformed(tables), promote_options="default")
        with self._lock:
            if len(self._tables.get(topic, ())) == len(tables):
                self._joined[topic] = joined
        return joined

    def peek_all(self) -> dict[str, list[PendingEntry]]:
        """What is pending now, per topic (the lists are copies)."""
        with self._lock:
            return {topic: list(tables) for topic, tables in self._tables.items() if tables}

    def drop(self, flushed: dict[str, list[PendingEntry]]) -> None:
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
