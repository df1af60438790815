"""Bulk loading the query data set into InfluxDB, timed as ``bench.core`` times openefd's.

The data set of :mod:`bench.dataset` is turned into line protocol slice by
slice (10 minutes of every topic; :mod:`bench.lp_fast`, not timed) and
POSTed to ``/write`` in bodies of ``batch_lines`` lines (~5,000, as
Telegraf and the Kafka connector batch) over ``writers`` keep-alive
connections. Only the ``/write`` calls are timed: a call returns once
InfluxDB has the points in its WAL and cache, i.e. durable and queryable,
as openefd's commit. The wait for InfluxDB's cache snapshots and
compactions to finish afterwards is reported, not counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from bench.dataset import DatasetShape, slice_count, slices
from bench.influx import InfluxHttp, InfluxServer
from bench.lp_fast import LineBody, line_body
from openefd.store.columns import TIME_COLUMN
from openefd.timescales import tai_to_utc_ns

__all__ = ["InfluxLoad", "load_influx"]


@dataclass(slots=True)
class InfluxLoad:
    """Seconds spent in ``/write`` calls, and what they carried."""

    write_s: float = 0.0
    lp_s: float = 0.0
    settle_s: float = 0.0
    lines: int = 0
    values: int = 0
    body_bytes: int = 0
    requests: int = 0
    size_bytes: int = 0

    @property
    def values_per_s(self) -> float:
        return self.values / self.write_s


def _slice_bodies(
    piece_tables: list[tuple[str, pa.Table]], batch_lines: int
) -> tuple[list[memoryview], int, int]:
    """Request bodies of one slice (the 50 Hz topic first, then the 1 Hz ones); lines, values."""
    bodies: list[LineBody] = []
    values = 0
    for topic, table in piece_tables:
        utc = tai_to_utc_ns(np.asarray(table[TIME_COLUMN].to_numpy(), dtype=np.int64))
        bodies.append(line_body(topic, table, utc))
        values += table.num_rows * (table.num_columns - 1)
    lines = sum(b.lines for b in bodies)
    out: list[memoryview] = []
    # The 1 Hz topics' lines are short: put many topics into one body.
    pending: list[memoryview] = []
    pending_lines = 0
    for body in bodies:
        for part_lines, part in _parts(body, batch_lines):
            if pending_lines + part_lines > batch_lines and pending:
                out.append(memoryview(b"".join(pending)))
                pending, pending_lines = [], 0
            pending.append(part)
            pending_lines += part_lines
    if pending:
        out.append(memoryview(b"".join(pending)))
    return out, lines, values


def _parts(body: LineBody, batch_lines: int) -> list[tuple[int, memoryview]]:
    sizes = [min(batch_lines, body.lines - i) for i in range(0, body.lines, batch_lines)]
    return list(zip(sizes, body.batches(batch_lines), strict=True))


def load_influx(
    server: InfluxServer,
    shape: DatasetShape,
    slice_s: int,
    batch_lines: int,
    writers: int,
    say: Callable[[str], None],
) -> InfluxLoad:
    """Write the data set into ``server``'s ``efd`` database; time the ``/write`` calls."""
    result = InfluxLoad()
    clients = [server.client() for _ in range(writers)]
    n_slices = slice_count(shape, slice_s)
    stop = threading.Event()  # set on any error or interrupt: writers drop their queue
    try:
        with ThreadPoolExecutor(max_workers=writers) as pool:
            for piece in slices(shape, slice_s):
                t0 = time.perf_counter()
                bodies, lines, values = _slice_bodies(piece.tables, batch_lines)
                result.lp_s += time.perf_counter() - t0
                t0 = time.perf_counter()
                if writers == 1:
                    for body in bodies:
                        clients[0].write(body)
                else:
                    groups = [bodies[i::writers] for i in range(writers)]
                    futures = [
                        pool.submit(_write_all, c, g, stop)
                        for c, g in zip(clients, groups, strict=True)
                    ]
                    for f in futures:
                        f.result()
                result.write_s += time.perf_counter() - t0
                result.lines += lines
                result.values += values
                result.body_bytes += sum(len(b) for b in bodies)
                result.requests += len(bodies)
                done = piece.index + 1
                if done % 6 == 0 or done == n_slices:
                    say(
                        f"  InfluxDB: {done}/{n_slices} slices, "
                        f"{result.values / result.write_s / 1e6:.2f} M values/s in /write"
                    )
    except BaseException:
        stop.set()
        raise
    finally:
        for c in clients:
            c.close()
    return result


def _write_all(client: InfluxHttp, bodies: list[memoryview], stop: threading.Event) -> None:
    for body in bodies:
        if stop.is_set():
            return
        client.write(body)
