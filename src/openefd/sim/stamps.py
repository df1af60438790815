"""SAL's private fields, set as SAL sets them, for rows sent at TAI ``t_ns``.

- ``private_sndStamp``: when the row was sent, TAI unix seconds;
- ``private_rcvStamp``: received 0.4–2.5 ms later (TAI s);
- ``private_kafkaStamp``: written to Kafka 1–6 ms after that (TAI s);
- ``private_efdStamp``: ``private_sndStamp`` in UTC unix seconds (TAI − UTC
  leap seconds removed: 37 s since 2017), the EFD's index time;
- ``private_seqNum``: the publisher's sequence number for the topic;
- ``private_identity``: ``CSC`` or ``CSC:index`` (the commander's identity
  for commands); ``private_origin``: the publisher's process id;
- ``private_revCode``: the first 8 hex digits of the topic definition's hash;
- ``salIndex`` for indexed CSCs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from openefd.schema.model import TopicSchema
from openefd.sim.generic import Columns
from openefd.sim.rng import generator, hash_uniform, stable_key
from openefd.timescales import NS_PER_S, tai_to_utc_ns

__all__ = ["Publisher", "private_columns", "publisher", "rev_code"]

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Publisher:
    """Who sends a topic's rows: its identity, process id and SAL index (or None)."""

    csc: str
    sal_index: int | None
    identity: str
    origin: int


def publisher(seed: int, csc: str, sal_index: int | None = None) -> Publisher:
    """The CSC instance ``csc`` (``sal_index`` for indexed CSCs), with a stable process id."""
    identity = csc if sal_index is None else f"{csc}:{sal_index}"
    origin = int(generator(seed, "pid", identity).integers(1000, 60000))
    return Publisher(csc, sal_index, identity, origin)


def rev_code(topic: TopicSchema) -> str:
    """8 hex digits naming the topic's definition."""
    return topic.digest()[:8]


def private_columns(
    topic: TopicSchema,
    revision: str,
    sender: Publisher,
    sal_index: int | None,
    t_ns: I64,
    seq: I64,
) -> Columns:
    """The private block (and ``salIndex`` of an indexed topic) for rows sent at TAI ``t_ns``.

    ``revision`` is the topic's :func:`rev_code`.
    """
    n = len(t_ns)
    key = stable_key(topic.name, sender.identity)
    u = hash_uniform(key, t_ns)
    v = np.modf(u * 1024.0)[0]  # the hash's lower bits: a second, independent-enough value
    rcv = t_ns + (400_000 + 2_100_000 * u).astype(np.int64)
    kafka = rcv + (1_000_000 + 5_000_000 * v).astype(np.int64)
    out: Columns = {
        "private_efdStamp": tai_to_utc_ns(t_ns) / NS_PER_S,
        "private_kafkaStamp": kafka / NS_PER_S,
        "private_identity": np.broadcast_to(np.array([sender.identity], dtype=object), (n,)),
        "private_origin": np.broadcast_to(np.array([sender.origin], dtype=np.int64), (n,)),
        "private_rcvStamp": rcv / NS_PER_S,
        "private_revCode": np.broadcast_to(np.array([revision], dtype=object), (n,)),
        "private_seqNum": seq,
        "private_sndStamp": t_ns / NS_PER_S,
    }
    if topic.indexed:
        out["salIndex"] = np.full(n, sal_index or 0, dtype=np.int64)
    return out
