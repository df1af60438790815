"""Grouping parsed line protocol into per-topic batches.

The EFD writes one measurement per topic, its fields as fields and the time
as UTC ns of ``private_efdStamp``. Tags, where a writer sends them, become
fields too. A line without a timestamp falls back to ``private_efdStamp``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from openefd.ingest.line_protocol import LinePoint, parse_line_protocol
from openefd.ingest.writer import TopicBatch, Writer, WriteResult, column_from_values

__all__ = ["batches_from_points", "write_line_protocol"]

_MISSING = np.iinfo(np.int64).min


def batches_from_points(points: Sequence[LinePoint], source: str) -> list[TopicBatch]:
    """One batch per measurement, rows in line order, origins ``source:line``."""
    groups: dict[str, list[LinePoint]] = {}
    for p in points:
        groups.setdefault(p.measurement, []).append(p)
    batches = []
    for topic, rows in groups.items():
        names: dict[str, None] = {}
        for p in rows:
            names.update(dict.fromkeys(p.tags))
            names.update(dict.fromkeys(p.fields))
        origins = [f"{source}:{p.line_number}" for p in rows]
        columns = {}
        for name in names:
            values = [p.fields.get(name, p.tags.get(name)) for p in rows]
            columns[name] = column_from_values(name, values, origins, topic)
        utc = np.fromiter(
            (_MISSING if p.timestamp is None else p.timestamp for p in rows),
            dtype=np.int64,
            count=len(rows),
        )
        batches.append(TopicBatch(topic, pa.table(columns), utc, origins))
    return batches


def write_line_protocol(
    writer: Writer, text: str, *, source: str = "<text>", precision: str = "ns"
) -> WriteResult:
    """Parse and write line protocol text; all of it is stored or none."""
    points = parse_line_protocol(
        text,
        source=source,
        precision=precision,
        max_line_bytes=writer.store.settings.max_line_bytes,
    )
    return writer.write_batches(batches_from_points(points, source))
