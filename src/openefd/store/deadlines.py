"""Query deadlines: one thread interrupts DuckDB cursors whose time is up.

A query that runs past its deadline is interrupted on its cursor
(``DuckDBPyConnection.interrupt``); DuckDB then raises ``InterruptException``
in the querying thread, which the caller turns into a clear "query timeout"
error. One background thread serves every deadline of the process (a timer
thread per query would cost a thread start on every call); it wakes only when
a deadline comes before its next wake-up. An interrupt happens under the lock
and only while the deadline is watched, so never after ``watch`` has ended:
a later query on the same cursor is safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

__all__ = ["Deadline", "watch"]


@dataclass(slots=True)
class Deadline:
    """A watched query's deadline; ``expired`` turns True when its time is up."""

    timeout_s: float
    expired: bool = False


class _Deadlines:
    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._active: dict[int, tuple[float, duckdb.DuckDBPyConnection, Deadline]] = {}
        self._thread: threading.Thread | None = None
        self._next_wake: float | None = None  # monotonic; None: asleep until notified

    @contextmanager
    def watch(self, cursor: duckdb.DuckDBPyConnection, timeout_s: float) -> Iterator[Deadline]:
        handle = Deadline(timeout_s)
        key = id(handle)
        with self._wake:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="openefd-query-deadlines", daemon=True
                )
                self._thread.start()
            deadline = time.monotonic() + timeout_s
            self._active[key] = (deadline, cursor, handle)
            if self._next_wake is None or deadline < self._next_wake:
                self._next_wake = deadline
                self._wake.notify()
        try:
            yield handle
        finally:
            with self._wake:
                self._active.pop(key, None)

    def _run(self) -> None:
        with self._wake:
            while True:
                self._wake.wait(self._interrupt_expired())

    def _interrupt_expired(self) -> float | None:
        """Interrupt the queries past their deadline; seconds to the next one (None: none)."""
        now = time.monotonic()
        for key, (deadline, cursor, handle) in list(self._active.items()):
            if deadline <= now:
                handle.expired = True
                cursor.interrupt()
                del self._active[key]
        nearest = min((d for d, _, _ in self._active.values()), default=None)
        self._next_wake = nearest
        return None if nearest is None else nearest - now


_DEADLINES = _Deadlines()


watch = _DEADLINES.watch
"""``with watch(cursor, timeout_s) as deadline:`` — ``cursor`` is interrupted once
``timeout_s`` pass while the block runs; ``deadline.expired`` says whether it was."""
