"""Commands and their acknowledgements, as SAL (ts_salobj) writes them.

A command is a row of ``command_<name>`` sent by the commander (its
``private_identity`` and ``private_origin``) to a CSC; the CSC answers on its
``ackcmd`` topic with ``ack`` = 301 (``CMD_INPROGRESS``, ``timeout`` the
expected duration in s) a few ms later, then 303 (``CMD_COMPLETE``,
``result`` "Done") when done. Each ``ackcmd`` row repeats the command's
``private_seqNum``, its identity and origin (fields ``identity`` and
``origin``) and ``cmdtype``, the index of the command in the CSC's
alphabetical list of topic names — so ``ackcmd.private_seqNum`` is not
increasing (two rows per command, and commands of several topics).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from openefd.sim.builder import EventBuilder, strings
from openefd.sim.generic import Column
from openefd.sim.rng import stable_key
from openefd.sim.stamps import Publisher
from openefd.sim.streams import sequence_base
from openefd.timescales import NS_PER_S

__all__ = ["CMD_COMPLETE", "CMD_INPROGRESS", "CommandLog"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

CMD_INPROGRESS = 301
CMD_COMPLETE = 303
_ACK_DELAY_NS = 3_000_000


@dataclass(slots=True)
class _Sent:
    t_ns: I64
    took_s: F64
    columns: dict[str, Column]


class CommandLog:
    """Commands sent during the run; :meth:`finish` adds them and every ``ackcmd``."""

    def __init__(self, builder: EventBuilder) -> None:
        self.builder = builder
        self._sent: dict[tuple[str, str, str], tuple[Publisher, Publisher, list[_Sent]]] = {}

    def send(
        self,
        target: Publisher,
        command: str,
        commander: Publisher,
        t_ns: npt.ArrayLike,
        duration_s: npt.ArrayLike,
        columns: Mapping[str, Column] | None = None,
    ) -> None:
        """``commander`` sends ``command`` to ``target`` at ``t_ns``; each takes ``duration_s``."""
        times = np.atleast_1d(np.asarray(t_ns, dtype=np.int64))
        took = np.broadcast_to(np.asarray(duration_s, dtype=np.float64), times.shape).copy()
        cols = {k: np.asarray(v) for k, v in (columns or {}).items()}
        key = (target.identity, command, commander.identity)
        self._sent.setdefault(key, (target, commander, []))[2].append(_Sent(times, took, cols))

    def _cmdtype(self, csc: str, command: str) -> int:
        names = sorted(
            t.rsplit(".", 1)[-1]
            for t in self.builder.topics
            if t.startswith(f"lsst.sal.{csc}.") and not t.endswith(".ackcmd")
        )
        return names.index(command) if command in names else 0

    def finish(self) -> None:
        """Add the commands and the ``ackcmd`` rows of every commanded CSC to the builder."""
        acks: dict[str, tuple[Publisher, list[dict[str, Column]], list[I64], list[I64]]] = {}
        seed = self.builder.world.seed
        for (_, command, _), (target, commander, parts) in self._sent.items():
            t = np.concatenate([p.t_ns for p in parts])
            order = np.argsort(t, kind="stable")
            t = t[order]
            took = np.concatenate([p.took_s for p in parts])[order]
            columns = {
                c: np.concatenate([p.columns[c] for p in parts])[order] for c in parts[0].columns
            }
            name = f"{target.csc}.{command}"
            topic = self.builder.topic(name).name
            base = sequence_base(seed, stable_key(topic, commander.identity, target.sal_index))
            seq = base + np.arange(len(t), dtype=np.int64)
            self.builder.add(name, commander, t, columns, seq=seq, sal_index=target.sal_index)
            n = len(t)
            done = t + np.maximum(np.round(took * NS_PER_S).astype(np.int64), 2 * _ACK_DELAY_NS)
            kind = np.full(n, self._cmdtype(target.csc, command), dtype=np.int64)
            for ack, when, timeout in (
                (CMD_INPROGRESS, t + _ACK_DELAY_NS, took),
                (CMD_COMPLETE, done, np.zeros(n)),
            ):
                rows: dict[str, Column] = {
                    "ack": np.full(n, ack, dtype=np.int64),
                    "error": np.zeros(n, dtype=np.int64),
                    "result": strings("" if ack == CMD_INPROGRESS else "Done", n),
                    "identity": strings(commander.identity, n),
                    "origin": np.full(n, commander.origin, dtype=np.int64),
                    "cmdtype": kind,
                    "timeout": timeout,
                }
                entry = acks.setdefault(target.identity, (target, [], [], []))
                entry[1].append(rows)
                entry[2].append(when)
                entry[3].append(seq)
        for target, rows_list, times, seqs in acks.values():
            merged = {c: np.concatenate([r[c] for r in rows_list]) for c in rows_list[0]}
            self.builder.add(
                f"{target.csc}.ackcmd",
                target,
                np.concatenate(times),
                merged,
                seq=np.concatenate(seqs),
            )
