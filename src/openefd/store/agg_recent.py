"""Rows just appended to a topic, kept so its 1-second statistics need not read them back.

A live feed appends each topic's rows after everything stored, and the
aggregates of those seconds are computed a few seconds later (see
:mod:`openefd.store.aggregates`). Reading the rows back from DuckDB, sorted,
cost about a third of the aggregation; the writer still holds them. For each
topic this keeps the appended tables and the time ``complete_from_ns`` from
which they are *all* the stored rows of the topic; a second at or after it
is aggregated from memory, any other from the table.

Anything that is not a plain append — rows written between stored ones, a
rolled-back transaction — drops the topic's rows, and its aggregates are
read from the table again until the next append starts anew. Rows beyond
:data:`MAX_BYTES` over all topics (a bulk load in one transaction,
aggregation far behind the feed) drop the topic that brought them the same
way: memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openefd.schema.model import SAL_INDEX_FIELD
from openefd.store.columns import TIME_COLUMN

__all__ = ["MAX_BYTES", "RecentRows"]

MAX_BYTES = 256 * 2**20
NS = 1_000_000_000


@dataclass(slots=True)
class _Topic:
    complete_from_ns: int  # every stored row at or after this time is in ``tables``
    tables: list[pa.Table] = field(default_factory=list)
    nbytes: int = 0


class RecentRows:
    """Appended rows per topic; see the module docstring."""

    def __init__(self) -> None:
        self._topics: dict[str, _Topic] = {}
        self._nbytes = 0  # over all topics

    def appended(self, topic: str, rows: pa.Table, previous_max_ns: int | None) -> None:
        """``rows`` (time-sorted) were stored after every row of ``topic`` (newest was
        ``previous_max_ns``)."""
        if rows.num_rows == 0:
            return
        held = self._topics.get(topic)
        if held is None:
            first = int(rows[TIME_COLUMN][0].as_py())
            second_start = (first // NS) * NS
            # The first second is complete only when no stored row shares it.
            start = (
                second_start
                if previous_max_ns is None or previous_max_ns < second_start
                else second_start + NS
            )
            held = self._topics[topic] = _Topic(start)
        held.tables.append(rows)
        held.nbytes += rows.nbytes
        self._nbytes += rows.nbytes
        if self._nbytes > MAX_BYTES:
            self.drop(topic)

    def drop(self, topic: str | None = None) -> None:
        """Forget ``topic``'s rows (all topics when None): read them from the table."""
        if topic is None:
            self._topics.clear()
            self._nbytes = 0
        else:
            held = self._topics.pop(topic, None)
            if held is not None:
                self._nbytes -= held.nbytes

    def rows_of(
        self,
        topic: str,
        first_ns: int,
        end_ns: int,
        columns: dict[str, pa.DataType],
        indexed: bool,
    ) -> pa.Table | None:
        """The stored rows of ``topic`` with ``first_ns <= time < end_ns`` sorted by
        (salIndex,) time, or None when they are not all held. ``columns``: the columns
        wanted and their store types (a column no write gave is null, as stored)."""
        held = self._topics.get(topic)
        if held is None or first_ns < held.complete_from_ns:
            return None
        self._combine(held)
        if not held.tables:
            return None
        table = held.tables[0]
        times = np.asarray(table[TIME_COLUMN].to_numpy(), dtype=np.int64)
        lo, hi = np.searchsorted(times, [first_ns, end_ns], side="left")
        sliced = table.slice(int(lo), int(hi - lo))
        have = set(sliced.column_names)
        part = pa.table(
            {
                name: sliced[name] if name in have else pa.nulls(sliced.num_rows, dtype)
                for name, dtype in columns.items()
            }
        )
        if indexed and part.num_rows:
            order = pc.sort_indices(
                part, sort_keys=[(SAL_INDEX_FIELD, "ascending"), (TIME_COLUMN, "ascending")]
            )
            part = part.take(order)
        return part

    def done_before(self, topic: str, end_ns: int) -> None:
        """Seconds before ``end_ns`` are aggregated: their rows are no longer needed."""
        held = self._topics.get(topic)
        if held is None or end_ns <= held.complete_from_ns:
            return
        self._combine(held)
        held.complete_from_ns = end_ns
        if held.tables:
            table = held.tables[0]
            times = np.asarray(table[TIME_COLUMN].to_numpy(), dtype=np.int64)
            cut = int(np.searchsorted(times, end_ns, side="left"))
            rest = table.slice(cut)
            held.tables = [rest] if rest.num_rows else []
            kept = rest.nbytes if rest.num_rows else 0
            self._nbytes -= held.nbytes - kept
            held.nbytes = kept

    @staticmethod
    def _combine(held: _Topic) -> None:
        if len(held.tables) > 1:  # a column some writes lacked is null in their rows
            joined = pa.concat_tables(held.tables, promote_options="default")
            held.tables = [joined.combine_chunks()]
