"""Write plans: the fast path for a live feed that repeats the same shape of table.

A live feed sends each topic, second after second, as Arrow tables with the
same columns and types. The first such table goes through the full
validation (:meth:`openefd.ingest.writer.Writer.prepare`); if its columns map
one to one onto store columns, the mapping is kept as a plan, and later tables
with exactly the same Arrow schema are cast in one call and given their time
from ``private_efdStamp`` (or ``time_tai_ns``). Anything unusual — a cast
that fails, a missing or non-finite time, rows out of time order — returns
``None`` and the caller takes the full path, which explains the problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from openefd.store.columns import TIME_COLUMN
from openefd.timescales import UTC_EARLIEST_NS, seconds_to_ns, utc_to_tai_ns

__all__ = ["WritePlans"]

_EFD_STAMP = "private_efdStamp"


@dataclass(frozen=True, slots=True)
class _Plan:
    incoming: pa.Schema
    conformed: pa.Schema  # the full result, as Store.conform returns it
    # Per conformed column after time: (incoming column index or -1 for nulls, type to cast
    # to, or None when the incoming type is already right).
    steps: tuple[tuple[int, pa.DataType | None, pa.DataType], ...]


class WritePlans:
    """Plans per topic, learned from tables the full path accepted."""

    def __init__(self) -> None:
        self._plans: dict[str, _Plan] = {}

    def learn(self, topic: str, incoming: pa.Table, conformed: pa.Table) -> None:
        """Keep a plan if ``incoming``'s columns map one to one onto ``conformed``'s."""
        names = [n for n in incoming.column_names if n != TIME_COLUMN]
        if not set(names) <= set(conformed.column_names):
            return  # flattened array elements were packed: no one-to-one plan
        if TIME_COLUMN not in incoming.column_names and _EFD_STAMP not in names:
            return
        steps = []
        for field in conformed.schema:
            if field.name == TIME_COLUMN:
                continue
            if field.name not in names:
                steps.append((-1, None, field.type))
                continue
            index = incoming.schema.get_field_index(field.name)
            same = incoming.schema.field(index).type == field.type
            steps.append((index, None if same else field.type, field.type))
        self._plans[topic] = _Plan(incoming.schema, conformed.schema, tuple(steps))

    def apply(self, topic: str, table: pa.Table) -> pa.Table | None:
        """``table`` conformed by the topic's plan, or None to take the full path."""
        plan = self._plans.get(topic)
        if plan is None or table.num_rows == 0 or not table.schema.equals(plan.incoming):
            return None
        tai = _times(table)
        if tai is None or not bool(np.all(tai[1:] > tai[:-1])):
            return None
        arrays: list[pa.Array | pa.ChunkedArray] = [pa.array(tai, type=pa.int64())]
        try:
            for index, cast_to, dtype in plan.steps:
                if index < 0:
                    arrays.append(pa.nulls(table.num_rows, dtype))
                elif cast_to is None:
                    arrays.append(table.column(index))
                else:
                    arrays.append(table.column(index).cast(cast_to))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None
        return pa.Table.from_arrays(arrays, schema=plan.conformed)


def _times(table: pa.Table) -> np.ndarray | None:
    if TIME_COLUMN in table.column_names:
        col = table[TIME_COLUMN]
        if col.null_count or not pa.types.is_integer(col.type):
            return None
        return np.asarray(col.to_numpy(), dtype=np.int64)
    col = table[_EFD_STAMP]
    if col.null_count or not pa.types.is_floating(col.type):
        return None
    seconds = col.to_numpy()
    if not np.isfinite(seconds).all() or np.abs(seconds).max() > 9.2e9:
        return None
    utc = seconds_to_ns(seconds)
    if int(utc.min()) < UTC_EARLIEST_NS:
        return None
    return np.asarray(utc_to_tai_ns(utc), dtype=np.int64)
