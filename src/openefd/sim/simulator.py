"""The simulated night: plan, streams, and the tables they make, chunk by chunk."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator

import pandas as pd
import pyarrow as pa

from openefd.schema.model import TopicSchema
from openefd.sim.anomalies import planted_anomalies
from openefd.sim.arrivals import arrivals_frame
from openefd.sim.assembly import build_streams, load_topics
from openefd.sim.config import Anomaly, SimChunk, SimConfig
from openefd.sim.exposures import exposures_frame
from openefd.sim.plan import make_plan
from openefd.sim.profiles import profile_spec
from openefd.sim.streams import Stream
from openefd.sim.tables import build_table
from openefd.sim.volume import volume_frame
from openefd.sim.world import World
from openefd.timescales import NS_PER_S

__all__ = ["NightSimulator"]


class NightSimulator:
    """A deterministic observatory night; see :mod:`openefd.sim`.

    Everything is fixed at construction from the configuration (plan,
    exposures, anomalies); telemetry is generated as :meth:`chunks` asks for
    it. Times are TAI ns, intervals half-open.
    """

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.start_tai_ns = config.start_tai_ns
        self.end_tai_ns = self.start_tai_ns + round(config.hours * 3600 * NS_PER_S)
        seed = config.seed
        plan = make_plan(self.start_tai_ns, self.end_tai_ns, seed)
        self.world = World(seed, self.start_tai_ns, self.end_tai_ns, plan)
        spec = profile_spec(config.profile)
        cscs = {csc for csc, _ in spec.instances}
        self._topics = load_topics(config.schemas, cscs)
        self._exposures = exposures_frame(plan)
        self._arrivals: pd.DataFrame | None = None
        self._anomalies = planted_anomalies(self.start_tai_ns, self.end_tai_ns)
        streams = build_streams(self.world, self._topics, spec, self._exposures)
        self._streams: dict[str, list[Stream]] = defaultdict(list)
        for s in sorted(streams, key=lambda s: s.topic.name):
            self._streams[s.topic.name].append(s)

    def topics(self) -> list[TopicSchema]:
        """The definitions (from ts_xml) of every topic the run emits, by name."""
        return [group[0].topic for group in self._streams.values()]

    def cscs(self) -> list[str]:
        """Every CSC instance that publishes (``CSC`` or ``CSC:index``), sorted."""
        return sorted(
            {
                s.sender.identity
                for g in self._streams.values()
                for s in g
                if s.topic.name.endswith(".logevent_heartbeat")
            }
        )

    def chunk(self, start_tai_ns: int, end_tai_ns: int) -> SimChunk:
        """The rows sent in ``[start_tai_ns, end_tai_ns)``."""
        tables = {}
        for name in self._streams:
            table = self.topic_table(name, start_tai_ns, end_tai_ns)
            if table is not None:
                tables[name] = table
        return SimChunk(start_tai_ns, end_tai_ns, tables)

    def topic_table(
        self, topic: str, start_tai_ns: int | None = None, end_tai_ns: int | None = None
    ) -> pa.Table | None:
        """The rows of one topic in ``[start, end)`` (default: the whole run), or None.

        The same rows as :meth:`chunks` gives, without generating the others.
        """
        group = self._streams.get(topic)
        if not group:
            return None
        start = self.start_tai_ns if start_tai_ns is None else start_tai_ns
        end = self.end_tai_ns if end_tai_ns is None else end_tai_ns
        batches = [b for s in group if (b := s.batch(start, end)) is not None]
        return build_table(group[0].topic, batches) if batches else None

    def chunks(self, seconds: float = 60.0) -> Iterator[SimChunk]:
        """Consecutive chunks of ``seconds`` covering the run (the last may be shorter)."""
        if not seconds > 0:
            raise ValueError(f"seconds must be positive, got {seconds!r}")
        step = max(1, round(seconds * NS_PER_S))
        for t in range(self.start_tai_ns, self.end_tai_ns, step):
            yield self.chunk(t, min(t + step, self.end_tai_ns))

    def stream(self, speed: float = 1.0, seconds: float = 1.0) -> Iterator[SimChunk]:
        """The chunks, each yielded once its end has passed in simulated time.

        Simulated time runs ``speed`` times faster than the wall clock from
        the first call; a consumer slower than that gets chunks without
        waiting.
        """
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed!r}")
        wall0 = time.monotonic()
        for chunk in self.chunks(seconds):
            due = wall0 + (chunk.end_tai_ns - self.start_tai_ns) / NS_PER_S / speed
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            yield chunk

    def exposures(self) -> pd.DataFrame:
        """One row per exposure; see :mod:`openefd.sim.exposures`."""
        return self._exposures.copy()

    def arrivals(self) -> pd.DataFrame:
        """One row per (exposure, detector, delivery); see :mod:`openefd.sim.arrivals`."""
        if self._arrivals is None:
            self._arrivals = arrivals_frame(self._exposures, self.start_tai_ns, self.config.seed)
        return self._arrivals.copy()

    def anomalies(self) -> list[Anomaly]:
        """The planted anomalies; see :mod:`openefd.sim.anomalies`."""
        return list(self._anomalies)

    def volume(self) -> pd.DataFrame:
        """Per topic (index): csc, kind, instances, hz, bytes_per_message, bytes_per_s."""
        return volume_frame([s for g in self._streams.values() for s in g])
