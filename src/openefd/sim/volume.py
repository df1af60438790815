"""How much each topic sends, sized as the EFD's Avro messages.

A message is its fields in Avro's binary encoding, approximated with fixed
widths: 4 bytes for a ``float`` and every integer of up to 32 bits (``int``,
``long``, ``short``, ``byte``, ``unsigned short``), 8 bytes for a ``double``
and 64-bit integers (``long long``, ``unsigned int``/``long``/``long long``,
which Avro keeps as longs), 1 byte for a ``boolean``, a string its UTF-8
length; arrays count every element; the private block and ``salIndex`` are
included. The average string length comes from the rows the run sends.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from openefd.schema.model import FieldSchema, FieldType
from openefd.sim.streams import EventStream, PeriodicStream, Stream

__all__ = ["field_bytes", "volume_frame"]

_WIDTH = {
    FieldType.BOOLEAN: 1,
    FieldType.BYTE: 4,
    FieldType.SHORT: 4,
    FieldType.INT: 4,
    FieldType.LONG: 4,
    FieldType.UNSIGNED_SHORT: 4,
    FieldType.FLOAT: 4,
    FieldType.DOUBLE: 8,
    FieldType.LONG_LONG: 8,
    FieldType.UNSIGNED_INT: 8,
    FieldType.UNSIGNED_LONG: 8,
    FieldType.UNSIGNED_LONG_LONG: 8,
}


def field_bytes(f: FieldSchema) -> int:
    """Avro-sized bytes of a non-string field (all its elements)."""
    return _WIDTH[f.type] * max(f.count, 1)


def _string_bytes(stream: Stream) -> float:
    """Mean bytes of the string fields of the rows ``stream`` sends."""
    strings = [f.name for f in stream.topic.fields if f.type is FieldType.STRING]
    if isinstance(stream, EventStream):
        batch = stream.batch(stream.start_ns, stream.end_ns)
    elif isinstance(stream, PeriodicStream):
        batch = stream.preview()
    else:
        batch = stream.batch(stream.start_ns, stream.end_ns)
    if batch is None:
        return float(len(stream.sender.identity) + len(stream.revision))
    total = 0.0
    for name in strings:
        values = np.asarray(batch.columns[name], dtype=object)
        total += float(np.mean([len(str(v).encode()) for v in values[:2000]]))
    return total


def volume_frame(streams: list[Stream]) -> pd.DataFrame:
    """One row per topic (the index): csc, kind, instances, hz, bytes_per_message, bytes_per_s.

    ``hz`` is messages per second over the run, all publishers together;
    ``bytes_per_message`` the mean over them.
    """
    by_topic: dict[str, list[Stream]] = defaultdict(list)
    for s in streams:
        by_topic[s.topic.name].append(s)
    rows = []
    for name in sorted(by_topic):
        group = by_topic[name]
        topic = group[0].topic
        fixed = sum(field_bytes(f) for f in topic.fields if f.type is not FieldType.STRING)
        rates = np.array([s.mean_hz() for s in group])
        sizes = np.array([fixed + _string_bytes(s) for s in group])
        hz = float(rates.sum())
        size = float((rates * sizes).sum() / hz) if hz > 0 else float(sizes.mean())
        rows.append(
            {
                "topic": name,
                "csc": topic.csc,
                "kind": topic.kind.value,
                "instances": len({s.sender.identity for s in group}),
                "hz": hz,
                "bytes_per_message": size,
                "bytes_per_s": hz * size,
            }
        )
    return pd.DataFrame(rows).set_index("topic")
