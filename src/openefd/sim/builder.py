"""Collecting the run's events and commands, topic definitions at hand.

Rows are added in parts (the start-up summary state and a later fault of
the same CSC, bursts and routine log messages, …); :meth:`EventBuilder.finish`
merges the parts of each (topic, publisher, salIndex) into one time-ordered
:class:`~openefd.sim.streams.EventStream`, so ``private_seqNum`` increases
across all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from openefd.errors import SchemaError
from openefd.schema.model import TopicSchema
from openefd.sim.generic import Column
from openefd.sim.stamps import Publisher
from openefd.sim.streams import EventStream
from openefd.sim.world import World

__all__ = ["EventBuilder", "strings"]

I64 = npt.NDArray[np.int64]


def strings(values: object, n: int) -> Column:
    """A string column: one value repeated ``n`` times, or a sequence of ``n`` values."""
    out = np.empty(n, dtype=object)
    if isinstance(values, str):
        out[:] = values
    else:
        out[:] = list(values)  # type: ignore[call-overload]
    return out


@dataclass(slots=True)
class _Part:
    t_ns: I64
    columns: dict[str, Column]
    seq: I64 | None


class EventBuilder:
    """Collects event and command rows of a run; :meth:`finish` makes the streams."""

    def __init__(self, world: World, topics: Mapping[str, TopicSchema]) -> None:
        self.world = world
        self.topics = topics
        self._parts: dict[tuple[str, str, int | None], tuple[Publisher, list[_Part]]] = {}

    def topic(self, name: str) -> TopicSchema:
        """The definition of ``lsst.sal.<name>``; SchemaError if ts_xml lacks it."""
        full = f"lsst.sal.{name}"
        topic = self.topics.get(full)
        if topic is None:
            raise SchemaError(
                f"topic {full!r} is not in the SAL XML definitions the simulator was given; "
                "pass a complete ts_xml sal_interfaces folder"
            )
        return topic

    def add(
        self,
        name: str,
        sender: Publisher,
        t_ns: npt.ArrayLike,
        columns: Mapping[str, Column] | None = None,
        *,
        seq: I64 | None = None,
        sal_index: int | str | None = "sender",
    ) -> None:
        """Rows of topic ``lsst.sal.<name>`` sent by ``sender`` at TAI ``t_ns``.

        ``sal_index`` defaults to the sender's (commands pass their target's);
        ``seq`` gives explicit sequence numbers (all parts of a stream or none).
        """
        self.topic(name)
        index = sender.sal_index if sal_index == "sender" else sal_index
        assert not isinstance(index, str)
        times = np.atleast_1d(np.asarray(t_ns, dtype=np.int64))
        if not len(times):
            return
        cols = {k: np.asarray(v) for k, v in (columns or {}).items()}
        entry = self._parts.setdefault((name, sender.identity, index), (sender, []))
        entry[1].append(_Part(times, cols, seq))

    def finish(self) -> list[EventStream]:
        """One stream per (topic, publisher, salIndex) with rows in the run."""
        w = self.world
        streams = []
        for (name, _, index), (sender, parts) in self._parts.items():
            names = set(parts[0].columns)
            if any(set(p.columns) != names for p in parts):
                raise ValueError(f"parts of {name} from {sender.identity} differ in columns")
            seqs = [p.seq for p in parts if p.seq is not None]
            if seqs and len(seqs) != len(parts):
                raise ValueError(f"parts of {name} from {sender.identity} mix explicit seqNums")
            stream = EventStream(
                self.topic(name),
                sender,
                index,
                w.seed,
                w.start_ns,
                w.end_ns,
                np.concatenate([p.t_ns for p in parts]),
                {c: np.concatenate([p.columns[c] for p in parts]) for c in names},
                np.concatenate(seqs) if seqs else None,
            )
            if len(stream):
                streams.append(stream)
        return streams
