"""The live-stream half of the EFD-scale benchmark: ingest headroom and visibility latency.

The stream is EFD-shaped: :class:`openefd.sim.NightSimulator` with profile
EFD over the SAL topics of ``shared/ts_xml``, pre-generated in memory one
simulated second at a time, and fed to each system as a Kafka connector
would:

- openefd: one :class:`~openefd.ingest.live.LiveWriter` ``write`` per topic
  and simulated second (rows visible to queries on return, committed by a
  background thread every 5 s);
- InfluxDB: one ``/write`` per simulated second carrying every topic's
  lines (Telegraf's and the connector's batching), line protocol made
  beforehand.

Headroom is simulated seconds over wall seconds with the stream fed as fast
as each system accepts it (openefd's final ``flush`` included). Visibility
latency: the stream fed at a fixed pace; after a write returns, the latest
row of a topic it carried is polled (openefd: ``select_top_n`` through the
same store; InfluxDB: ``SELECT last(…)``) until the row just written is
there; latency = poll answer seen − write returned.
"""

from __future__ import annotations

import datetime as dt
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from bench.influx import InfluxHttp
from bench.lp_fast import line_body
from openefd.client import EfdClientSync
from openefd.ingest.live import LiveWriter
from openefd.schema.model import TopicSchema
from openefd.sim import NightSimulator, Profile, SimChunk, SimConfig
from openefd.store.duckdb_store import Store
from openefd.timescales import seconds_to_ns

__all__ = [
    "LatencyResult",
    "LiveResult",
    "LiveStream",
    "influx_headroom",
    "influx_latency",
    "make_stream",
    "openefd_headroom",
    "openefd_latency",
]

PROBE_FIELD = "private_seqNum"
POLL_TIMEOUT_S = 10.0
FLUSH_INTERVAL_S = 5.0


def _live_writer(store: Store) -> tuple[LiveWriter, str]:
    live = LiveWriter(store, flush_interval_s=FLUSH_INTERVAL_S)
    return live, f"LiveWriter (flush every {FLUSH_INTERVAL_S:g} s)"


@dataclass(slots=True)
class LiveStream:
    """Pre-generated simulated seconds: ``warm`` (untimed), ``feed`` for headroom, ``paced``."""

    source: str
    topics: list[TopicSchema]
    warm: list[SimChunk]
    feed: list[SimChunk]
    paced: list[SimChunk]
    bytes_per_s: float
    generate_s: float
    warm_bodies: list[bytes] = field(default_factory=list)
    feed_bodies: list[bytes] = field(default_factory=list)
    paced_bodies: list[bytes] = field(default_factory=list)
    lp_s: float = 0.0

    def rows(self, chunks: list[SimChunk]) -> int:
        return sum(t.num_rows for c in chunks for t in c.tables.values())

    def topics_per_s(self, chunks: list[SimChunk]) -> float:
        return sum(len(c.tables) for c in chunks) / max(len(chunks), 1)


def _utc_ns(table: pa.Table) -> np.ndarray:
    """Row times as openefd takes them: ``private_efdStamp`` (UTC s) to the µs."""
    return seconds_to_ns(table["private_efdStamp"].to_numpy(zero_copy_only=False))


def _bodies(chunks: list[SimChunk]) -> list[bytes]:
    """One line-protocol body per chunk holding every topic's rows of that second.

    Made per topic over all chunks at once (one vectorised pass per topic),
    then cut back into seconds.
    """
    per_topic: dict[str, list[tuple[int, pa.Table]]] = {}
    for k, chunk in enumerate(chunks):
        for topic, table in chunk.tables.items():
            per_topic.setdefault(topic, []).append((k, table))
    pieces: list[list[bytes]] = [[] for _ in chunks]
    for topic, parts in per_topic.items():
        table = pa.concat_tables([t for _, t in parts], promote_options="default")
        body = line_body(topic, table, _utc_ns(table))
        if body.lines != table.num_rows:
            raise SystemExit(f"{topic}: rows without any field value in the simulated stream")
        row = 0
        for k, t in parts:
            first, last = int(body.offsets[row]), int(body.offsets[row + t.num_rows])
            pieces[k].append(bytes(body.data[first:last]))
            row += t.num_rows
    return [b"".join(p) for p in pieces]


def make_stream(
    schemas: Path,
    start_utc: dt.datetime,
    warm_s: int,
    feed_s: int,
    paced_s: int,
    seed: int,
    say: Callable[[str], None],
) -> LiveStream:
    """Generate ``warm_s`` + ``feed_s`` + ``paced_s`` simulated seconds and their line protocol."""
    source = "openefd.sim, profile EFD"
    total = warm_s + feed_s + paced_s
    hours = total / 3600
    sim = NightSimulator(
        SimConfig(
            schemas=schemas, start_utc=start_utc, hours=hours, seed=seed, profile=Profile.EFD
        )
    )
    t0 = time.perf_counter()
    chunks = []
    for chunk in sim.chunks(seconds=1.0):
        chunks.append(chunk)
        if len(chunks) == total:
            break
    generate_s = time.perf_counter() - t0
    if len(chunks) < total:
        raise SystemExit(f"the simulator gave {len(chunks)} s of {total} asked")
    volume = sim.volume()
    stream = LiveStream(
        source=source,
        topics=list(sim.topics()),
        warm=chunks[:warm_s],
        feed=chunks[warm_s : warm_s + feed_s],
        paced=chunks[warm_s + feed_s :],
        bytes_per_s=float(volume["bytes_per_s"].sum()),
        generate_s=generate_s,
    )
    say(
        f"simulated {len(chunks)} s with {source} in {generate_s:.1f} s: "
        f"{stream.topics_per_s(chunks):.0f} topics and "
        f"{stream.rows(chunks) / len(chunks):,.0f} rows per second, "
        f"{stream.bytes_per_s / 1e6:.2f} MB/s by sim.volume()"
    )
    t0 = time.perf_counter()
    stream.warm_bodies = _bodies(stream.warm)
    stream.feed_bodies = _bodies(stream.feed)
    stream.paced_bodies = _bodies(stream.paced)
    stream.lp_s = time.perf_counter() - t0
    lp_bytes = sum(map(len, stream.feed_bodies)) / max(len(stream.feed_bodies), 1)
    say(f"line protocol for InfluxDB in {stream.lp_s:.1f} s ({lp_bytes / 1e6:.2f} MB per second)")
    return stream


# -- headroom ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LiveResult:
    """A stream fed as fast as accepted: wall seconds, and per simulated second."""

    sim_s: int
    wall_s: float
    second_ms: np.ndarray
    final_s: float
    how: str
    cpu_s: float = 0.0  # process CPU (all threads) while the stream was fed
    aggregate_s: float = 0.0  # wall time spent bringing the 1 s aggregates up to date

    @property
    def headroom(self) -> float:
        return self.sim_s / self.wall_s

    def detail(self) -> str:
        ms = self.second_ms
        return (
            f"{self.sim_s} simulated s in {self.wall_s:.2f} s; per simulated second median "
            f"{np.median(ms):.1f} ms, p99 {np.percentile(ms, 99):.1f}, max {ms.max():.0f} ms"
        )


def openefd_headroom(store: Store, stream: LiveStream) -> LiveResult:
    """Every simulated second's tables through a LiveWriter, as fast as it takes them.

    The warm-up seconds go first, untimed and flushed: topics' tables exist,
    as in a store that has been running.
    """
    writer, how = _live_writer(store)
    ms = np.empty(len(stream.feed))
    try:
        for chunk in stream.warm:
            for topic, table in chunk.tables.items():
                writer.write(topic, table)
        writer.flush()
        with store.transaction():  # the warm-up's aggregates too: start from a clean slate
            store.aggregates.refresh(include_open=True)
        busy0 = store.aggregates.busy_s
        cpu0 = _cpu_s()
        t0 = time.perf_counter()
        for k, chunk in enumerate(stream.feed):
            t1 = time.perf_counter()
            for topic, table in chunk.tables.items():
                writer.write(topic, table)
            ms[k] = (time.perf_counter() - t1) * 1e3
        t1 = time.perf_counter()
        writer.flush()
        with store.transaction():  # every fed second aggregated: all the work is counted
            store.aggregates.refresh(include_open=True)
        final_s = time.perf_counter() - t1
        wall_s = time.perf_counter() - t0
        cpu_s = _cpu_s() - cpu0
        aggregate_s = store.aggregates.busy_s - busy0
    finally:
        writer.close()
    aggregation = "on" if store.settings.aggregation else "off"
    return LiveResult(
        len(stream.feed),
        wall_s,
        ms,
        final_s,
        f"{how}, aggregation {aggregation}; final flush and aggregation included",
        cpu_s,
        aggregate_s,
    )


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def influx_headroom(client: InfluxHttp, stream: LiveStream) -> LiveResult:
    """One ``/write`` per simulated second, as fast as InfluxDB answers (warm-up untimed)."""
    for body in stream.warm_bodies:
        client.write(body)
    ms = np.empty(len(stream.feed_bodies))
    t0 = time.perf_counter()
    for k, body in enumerate(stream.feed_bodies):
        t1 = time.perf_counter()
        client.write(body)
        ms[k] = (time.perf_counter() - t1) * 1e3
    wall_s = time.perf_counter() - t0
    return LiveResult(len(stream.feed_bodies), wall_s, ms, 0.0, "one /write per simulated second")


# -- visibility latency --------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LatencyResult:
    """Write returned → row seen by a query, in ms; ``timeouts`` never seen in time."""

    ms: np.ndarray
    timeouts: int
    speed: float
    sim_s: int
    max_lag_s: float
    how: str

    def p(self, q: float) -> float:
        return float(np.percentile(self.ms, q)) if len(self.ms) else float("inf")

    def detail(self) -> str:
        return (
            f"{len(self.ms)} probes over {self.sim_s} simulated s at {self.speed:g}× real time "
            f"(p50 {self.p(50):.1f}, max {self.ms.max() if len(self.ms) else 0:.1f} ms, "
            f"{self.timeouts} unseen after {POLL_TIMEOUT_S:g} s; feed at most "
            f"{self.max_lag_s:.2f} s behind pace); {self.how}"
        )


def _poll(query: Callable[[], pd.DataFrame], want_utc_ns: int, returned: float) -> float | None:
    """Poll until the newest row is at ``want_utc_ns`` or later; ms after ``returned``."""
    while True:
        frame = query()
        now = time.perf_counter()
        if len(frame) and int(frame.index[0].value) >= want_utc_ns:
            return (now - returned) * 1e3
        if now - returned > POLL_TIMEOUT_S:
            return None


def _pace(t0: float, k: int, speed: float) -> float:
    """Sleep until simulated second ``k`` is due; seconds behind pace (0 if on time)."""
    due = t0 + k / speed
    now = time.perf_counter()
    if now < due:
        time.sleep(due - now)
        return 0.0
    return now - due


def openefd_latency(
    store: Store, stream: LiveStream, speed: float, probes_per_s: int, seed: int
) -> LatencyResult:
    """Paced feed; after ``probes_per_s`` of each second's writes, poll select_top_n."""
    rng = np.random.default_rng(seed)
    client = EfdClientSync.from_store(store)
    writer, how = _live_writer(store)
    ms: list[float] = []
    timeouts = 0
    lag = 0.0
    try:
        t0 = time.perf_counter()
        for k, chunk in enumerate(stream.paced):
            lag = max(lag, _pace(t0, k, speed))
            names = list(chunk.tables)
            probes = set(rng.choice(names, size=min(probes_per_s, len(names)), replace=False))
            for topic, table in chunk.tables.items():
                writer.write(topic, table)
                if topic not in probes:
                    continue
                returned = time.perf_counter()
                want = int(_utc_ns(table).max())
                seen = _poll(partial(client.select_top_n, topic, PROBE_FIELD, 1), want, returned)
                if seen is None:
                    timeouts += 1
                else:
                    ms.append(seen)
    finally:
        writer.close()
    return LatencyResult(
        np.asarray(ms),
        timeouts,
        speed,
        len(stream.paced),
        lag,
        f"{how}; poll: EfdClientSync.from_store(store).select_top_n(topic, "
        f"{PROBE_FIELD!r}, 1), {probes_per_s} random topics of each second",
    )


def influx_latency(
    client: InfluxHttp, stream: LiveStream, speed: float, seed: int
) -> LatencyResult:
    """Paced feed; after each second's ``/write``, poll ``last()`` of one topic it carried."""
    rng = np.random.default_rng(seed)
    ms: list[float] = []
    timeouts = 0
    lag = 0.0
    t0 = time.perf_counter()
    for k, (chunk, body) in enumerate(zip(stream.paced, stream.paced_bodies, strict=True)):
        lag = max(lag, _pace(t0, k, speed))
        topic = str(rng.choice(list(chunk.tables)))
        want = int(_utc_ns(chunk.tables[topic]).max())
        q = f'SELECT last("{PROBE_FIELD}") FROM "efd"."autogen"."{topic}"'
        client.write(body)
        returned = time.perf_counter()
        seen = _poll(partial(client.query, q), want, returned)
        if seen is None:
            timeouts += 1
        else:
            ms.append(seen)
    return LatencyResult(
        np.asarray(ms),
        timeouts,
        speed,
        len(stream.paced),
        lag,
        f'one /write per simulated second; poll: SELECT last("{PROBE_FIELD}") '
        "of one random topic it carried",
    )


def stored_rows(store: Store, influx: InfluxHttp, stream: LiveStream) -> tuple[int, int, int]:
    """Rows of the stream's topics held by openefd and by InfluxDB, and rows sent."""
    chunks = (*stream.warm, *stream.feed, *stream.paced)
    sent = sum(c.rows for c in chunks)
    topics = {t for c in chunks for t in c.tables}
    efd = sum(s.rows for s in store.topic_stats(sorted(topics)))
    doc = influx.query_json(f'SELECT count("{PROBE_FIELD}") FROM /^lsst\\.sal\\./')
    influx_rows = 0
    for series in doc["results"][0].get("series", []):
        if series["name"] in topics:
            influx_rows += int(series["values"][0][1])
    return efd, influx_rows, sent
