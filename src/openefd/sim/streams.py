"""Streams: the rows one publisher sends on one topic, sliced by time on demand.

- :class:`PeriodicStream` — telemetry (and heartbeats): one row every
  ``1/hz`` s from a per-stream phase, each up to 1 ms late (jitter), values
  from a :class:`Model` for the fields it knows and generic values for the
  rest. A :class:`Gate` limits it to intervals (a topic published only while
  the telescope moves); ``private_seqNum`` then counts only published rows.
- :class:`EventStream` — events and commands: rows at given times with
  given columns, computed for the whole run up front (they are sparse).

Rows are addressed by their index in the stream, so slicing never changes
them: the same seed gives the same rows for any chunk length.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from openefd.schema.model import TopicSchema
from openefd.sim.generic import Column, Columns, TopicFiller
from openefd.sim.rng import BlockNoise, generator, hash_uniform, stable_key, weyl_uniform
from openefd.sim.stamps import Publisher, private_columns, rev_code
from openefd.timescales import NS_PER_S

__all__ = ["Batch", "EventStream", "Gate", "Model", "PeriodicStream", "Stream", "sequence_base"]

I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]


def sequence_base(seed: int, key: int) -> int:
    """The first ``private_seqNum`` of a stream in the run (publishers run before it starts)."""
    return int(generator(seed, "seq", key).integers(1, 500_000))


class Model(Protocol):
    """Computes the fields ``provides`` of a telemetry topic for rows at TAI ``t_ns``.

    ``noise`` holds ``noise_width`` standard normals per row, the same for a
    row whatever the chunking.
    """

    provides: frozenset[str]
    noise_width: int

    def columns(self, t_ns: I64, noise: F32) -> Columns: ...


@dataclass(slots=True)
class Batch:
    """Rows of one stream: send times (TAI ns) and every field of the topic."""

    t_ns: I64
    columns: Columns


class Gate:
    """Disjoint intervals ``[a, b)`` (TAI ns) in which a periodic stream publishes."""

    def __init__(self, begin_ns: I64, end_ns: I64) -> None:
        order = np.argsort(begin_ns, kind="stable")
        merged: list[list[int]] = []
        for a, b in zip(begin_ns[order].tolist(), end_ns[order].tolist(), strict=True):
            if b <= a:
                continue
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        self.begin: I64 = np.array([m[0] for m in merged], dtype=np.int64)
        self.end: I64 = np.array([m[1] for m in merged], dtype=np.int64)

    def grid(self, origin: int, period: int) -> tuple[I64, I64, I64]:
        """First and end sample index of each interval on a grid, and samples before each."""
        first = -((origin - self.begin) // period)  # ceil((a - origin) / period)
        stop = -((origin - self.end) // period)
        counts = np.maximum(stop - first, 0)
        before = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        return first.astype(np.int64), stop.astype(np.int64), before

    def covered_s(self, start_ns: int, end_ns: int) -> float:
        return (
            float(
                np.clip(
                    np.minimum(self.end, end_ns) - np.maximum(self.begin, start_ns), 0, None
                ).sum()
            )
            / NS_PER_S
        )


class Stream(ABC):
    """One publisher's rows of one topic within ``[start_ns, end_ns)``."""

    def __init__(
        self,
        topic: TopicSchema,
        sender: Publisher,
        sal_index: int | None,
        seed: int,
        start_ns: int,
        end_ns: int,
    ) -> None:
        self.topic = topic
        self.sender = sender
        self.sal_index = sal_index
        self.seed = seed
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.revision = rev_code(topic)
        self.key = stable_key(topic.name, sender.identity, sal_index)
        self.seq_base = sequence_base(seed, self.key)

    @abstractmethod
    def batch(self, t0_ns: int, t1_ns: int) -> Batch | None:
        """The rows sent in ``[t0_ns, t1_ns)``, or None if there are none."""

    @abstractmethod
    def mean_hz(self) -> float:
        """Rows per second over the run."""

    def _finish(self, t_ns: I64, seq: I64, columns: Columns) -> Batch:
        columns.update(
            private_columns(self.topic, self.revision, self.sender, self.sal_index, t_ns, seq)
        )
        return Batch(t_ns, columns)


class PeriodicStream(Stream):
    """Rows every ``1/hz`` seconds; see the module docstring."""

    def __init__(
        self,
        topic: TopicSchema,
        sender: Publisher,
        sal_index: int | None,
        seed: int,
        start_ns: int,
        end_ns: int,
        hz: float,
        model: Model | None = None,
        gate: Gate | None = None,
    ) -> None:
        super().__init__(topic, sender, sal_index, seed, start_ns, end_ns)
        self.hz = hz
        self.period = round(NS_PER_S / hz)
        self.origin = start_ns + int(hash_uniform(self.key, [0])[0] * self.period)
        self.jitter = min(1_000_000, self.period // 4)
        self.model = model
        self.filler = TopicFiller(topic, seed, model.provides if model else frozenset(), True)
        self.model_width = model.noise_width if model else 0
        width = self.model_width + self.filler.noise_width
        self.noise = BlockNoise(seed, self.key, width, max(64, round(hz * 60)))
        self.gate = gate
        self._grid = gate.grid(self.origin, self.period) if gate is not None else None

    def _indices(self, t0_ns: int, t1_ns: int) -> tuple[I64, I64]:
        lo, hi = max(t0_ns, self.start_ns), min(t1_ns, self.end_ns)
        if hi <= lo:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        k0 = max(0, -((self.origin + self.jitter - lo) // self.period))
        k1 = max(k0, -((self.origin - hi) // self.period))
        k = np.arange(k0, k1, dtype=np.int64)
        t = self.origin + k * self.period
        t = t + (weyl_uniform(self.key, k) * self.jitter).astype(np.int64)
        keep = (t >= lo) & (t < hi)
        return k[keep], t[keep]

    def _seq(self, k: I64) -> tuple[I64, npt.NDArray[np.bool_]]:
        if self._grid is None:
            return self.seq_base + k, np.ones(len(k), dtype=bool)
        first, stop, before = self._grid
        if not len(first):
            return k, np.zeros(len(k), dtype=bool)
        i = np.clip(np.searchsorted(first, k, side="right") - 1, 0, None)
        inside = (k >= first[i]) & (k < stop[i])
        return self.seq_base + before[i] + (k - first[i]), inside

    def batch(self, t0_ns: int, t1_ns: int) -> Batch | None:
        k, t = self._indices(t0_ns, t1_ns)
        seq, inside = self._seq(k)
        k, t, seq = k[inside], t[inside], seq[inside]
        if not len(k):
            return None
        noise = self.noise.rows(int(k[0]), int(k[-1]) + 1)
        if self._grid is not None:
            noise = noise[k - k[0]]
        columns: Columns = {}
        if self.model is not None:
            columns.update(self.model.columns(t, noise[:, : self.model_width]))
        columns.update(self.filler.columns(t, noise[:, self.model_width :]))
        return self._finish(t, seq, columns)

    def preview(self) -> Batch:
        """One row at the first sample time, without noise (to size its strings)."""
        t = np.array([self.origin], dtype=np.int64)
        noise = np.zeros((1, self.model_width + self.filler.noise_width), dtype=np.float32)
        columns: Columns = {}
        if self.model is not None:
            columns.update(self.model.columns(t, noise[:, : self.model_width]))
        columns.update(self.filler.columns(t, noise[:, self.model_width :]))
        return self._finish(t, np.array([self.seq_base], dtype=np.int64), columns)

    def mean_hz(self) -> float:
        span = (self.end_ns - self.start_ns) / NS_PER_S
        if self.gate is None:
            return self.hz
        return self.hz * self.gate.covered_s(self.start_ns, self.end_ns) / span


class EventStream(Stream):
    """Rows at given TAI times with given columns (the rest generic, without noise).

    ``seq`` gives each row's ``private_seqNum`` (``ackcmd`` repeats the
    command's); by default rows are numbered on from a per-stream base.
    Rows outside the run are dropped.
    """

    def __init__(
        self,
        topic: TopicSchema,
        sender: Publisher,
        sal_index: int | None,
        seed: int,
        start_ns: int,
        end_ns: int,
        t_ns: I64,
        columns: dict[str, Column],
        seq: I64 | None = None,
    ) -> None:
        super().__init__(topic, sender, sal_index, seed, start_ns, end_ns)
        t_ns = np.asarray(t_ns, dtype=np.int64)
        order = np.argsort(t_ns, kind="stable")
        if seq is None:
            numbers = self.seq_base + np.arange(len(t_ns), dtype=np.int64)
        else:
            numbers = np.asarray(seq, dtype=np.int64)[order]
        inside = (t_ns[order] >= start_ns) & (t_ns[order] < end_ns)
        keep = order[inside]
        self.t_ns: I64 = t_ns[keep]
        self.seq: I64 = numbers[inside]
        self.values: Columns = {name: np.asarray(col)[keep] for name, col in columns.items()}
        self.filler = TopicFiller(topic, seed, frozenset(columns), False)

    def __len__(self) -> int:
        return len(self.t_ns)

    def batch(self, t0_ns: int, t1_ns: int) -> Batch | None:
        i0, i1 = np.searchsorted(self.t_ns, [t0_ns, t1_ns])
        if i1 <= i0:
            return None
        t = self.t_ns[i0:i1]
        columns = {name: col[i0:i1] for name, col in self.values.items()}
        columns.update(self.filler.columns(t, None))
        return self._finish(t, self.seq[i0:i1], columns)

    def mean_hz(self) -> float:
        return len(self.t_ns) / ((self.end_ns - self.start_ns) / NS_PER_S)
