"""Reading a topic's rows for the summaries of a batch of exposures: one query per topic.

Every topic entry of a configuration naming the same topic shares one SQL
query per batch: the union of their fields, of their ``salIndex`` values and
of their time ranges (windows, padding and look-backs). The query has no
``ORDER BY`` and no casts: DuckDB returns the stored types (``FLOAT``,
``FLOAT[]``…), numpy widens them to float64 (exactly, as ``CAST … AS
DOUBLE`` did) and sorts the rows by time, then ``salIndex`` (a stable
``lexsort``, only when they are not already in that order), so that rows
sharing a time come in one fixed order. :meth:`TopicRows.select` then keeps
one entry's ``salIndex`` values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openefd.analysis.summaries_windows import FloatArray, IntArray, take
from openefd.query.arrays import element_columns, plain_numpy
from openefd.query.select import topic_source
from openefd.schema.model import SAL_INDEX_FIELD, TopicSchema
from openefd.store.columns import TIME_COLUMN
from openefd.store.duckdb_store import Store
from openefd.store.registry import quote_ident

__all__ = ["TopicRows", "merged_ranges", "read_rows"]

_NS = 1_000_000_000
_MERGE_GAP_NS = 600 * _NS  # windows closer than this are read as one time range
_ELEMENT_COLUMNS_MAX = 32  # array fields up to this wide are read one column per element


@dataclass(frozen=True)
class TopicRows:
    """A topic's rows sorted by (time, ``salIndex``): TAI ns, ``salIndex`` (None when not
    read) and each field's values (float64, NaN for null; ``(n, width)`` for arrays)."""

    times: IntArray
    sal_index: IntArray | None
    values: dict[str, FloatArray]

    def select(self, sal_indices: Sequence[int] | None, fields: Sequence[str]) -> TopicRows:
        """The rows of ``sal_indices`` (all when None), with ``fields`` only."""
        values = {f: self.values[f] for f in fields}
        if sal_indices is None or self.sal_index is None:
            return TopicRows(self.times, self.sal_index, values)
        keep = np.isin(self.sal_index, np.asarray(sal_indices, dtype=np.int64))
        if keep.all():
            return TopicRows(self.times, self.sal_index, values)
        rows = np.flatnonzero(keep)
        return TopicRows(
            self.times[rows], self.sal_index[rows], {f: take(v, rows) for f, v in values.items()}
        )


def merged_ranges(first: IntArray, last: IntArray) -> list[tuple[int, int]]:
    """Merged inclusive time ranges covering every ``[first_i, last_i]``."""
    order = np.argsort(first, kind="stable")
    merged: list[tuple[int, int]] = []
    for a, b in zip(first[order].tolist(), last[order].tolist(), strict=True):
        if merged and a <= merged[-1][1] + _MERGE_GAP_NS:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def read_rows(
    store: Store,
    layout: TopicSchema,
    widths: dict[str, int],
    ranges: list[tuple[int, int]],
    sal_indices: Sequence[int] | None,
) -> TopicRows:
    """The rows in ``ranges`` (of ``sal_indices`` when given), sorted by (time, ``salIndex``)."""
    with_sal = layout.field(SAL_INDEX_FIELD) is not None
    if not store.registry.has_table(layout.name) and store.pending.snapshot(layout.name) is None:
        return TopicRows(
            np.empty(0, np.int64),
            np.empty(0, np.int64) if with_sal else None,
            {n: _empty(w) for n, w in widths.items()},
        )
    items = [TIME_COLUMN]
    for k, (name, width) in enumerate(widths.items()):
        if 0 < width <= _ELEMENT_COLUMNS_MAX:  # element by element, each a column of its own
            items += [f"{quote_ident(name)}[{i + 1}] AS {_element(k, i)}" for i in range(width)]
        else:
            items.append(quote_ident(name))
    if with_sal and SAL_INDEX_FIELD not in widths:
        items.append(quote_ident(SAL_INDEX_FIELD))
    where = " OR ".join(f"({TIME_COLUMN} BETWEEN ? AND ?)" for _ in ranges)
    params: list[object] = [t for r in ranges for t in r]
    if sal_indices is not None:
        where = f"({where}) AND list_contains(?::BIGINT[], {quote_ident(SAL_INDEX_FIELD)})"
        params.append(list(sal_indices))
    lo, hi = ranges[0][0], ranges[-1][1]
    with topic_source(store, layout, start_tai_ns=lo, end_tai_ns=hi) as source:
        sql = f"SELECT {', '.join(items)} FROM {source} WHERE {where}"
        table = store.cursor().sql(sql, params=params).to_arrow_table()
    times = np.asarray(table[TIME_COLUMN].to_numpy(), dtype=np.int64)
    sal = None
    if with_sal:
        sal = np.asarray(
            table[SAL_INDEX_FIELD].fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64
        )
    order = _order(times, sal)
    values: dict[str, FloatArray] = {}
    for k, (name, width) in enumerate(widths.items()):
        if width == 0:
            got = _floats(table[name])
        elif width <= _ELEMENT_COLUMNS_MAX:
            by_element = np.empty((width, len(times)))
            for i in range(width):
                _fill(by_element[i], table[_element(k, i)])
            got = by_element.T
        elif len(times) == 0:
            got = _empty(width)
        else:
            got = _matrix(table[name].combine_chunks(), width)
        values[name] = got if order is None else take(got, order)
    if order is not None:
        times = times[order]
        sal = None if sal is None else sal[order]
    return TopicRows(times, sal, values)


def _element(field: int, element: int) -> str:
    return f"__element_{field}_{element}"


def _order(times: IntArray, sal: IntArray | None) -> IntArray | None:
    """The permutation sorting rows by (time, salIndex); None when they already are."""
    step = np.diff(times)
    if sal is None:
        if (step >= 0).all():
            return None
        return np.argsort(times, kind="stable").astype(np.int64)
    if (step > 0).all() or ((step >= 0).all() and (np.diff(sal)[step == 0] >= 0).all()):
        return None
    return np.lexsort((sal, times)).astype(np.int64)


def _floats(column: pa.ChunkedArray | pa.Array) -> FloatArray:
    """float64 values of a numeric (or boolean) column, NaN for null."""
    out = np.empty(len(column))
    _fill(out, column)
    return out


def _fill(out: FloatArray, column: pa.ChunkedArray | pa.Array) -> None:
    """``out[:] =`` a numeric (or boolean) column, NaN for null: widened in one pass, chunk by
    chunk, from the Arrow buffers themselves when a chunk has no null."""
    if pa.types.is_boolean(column.type):
        column = column.cast(pa.float64())
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    at = 0
    for chunk in chunks:
        n = len(chunk)
        out[at : at + n] = plain_numpy(chunk)
        at += n


def _matrix(column: pa.Array, width: int) -> FloatArray:
    """An ``(n, width)`` float64 matrix of a list column; missing elements NaN."""
    if isinstance(column, pa.FixedSizeListArray):
        column = column.cast(pa.list_(column.type.value_type))
    if pa.types.is_boolean(column.type.value_type):
        column = column.cast(pa.list_(pa.float64()))
    lengths = pc.list_value_length(column).fill_null(0).to_numpy(zero_copy_only=False)
    if column.null_count == 0 and bool((lengths == width).all()):
        flat = pc.list_flatten(column)
        if flat.null_count:
            return _floats(flat).reshape(len(column), width)
        native = np.asarray(flat.to_numpy(zero_copy_only=False))
        out = np.empty((width, len(column)))
        for j in range(width):
            out[j] = native[j::width]
        return out.T  # stored element by element: the rows of each element contiguous
    parts = element_columns(column, range(width))
    return np.column_stack(parts).astype(np.float64, copy=False)


def _empty(width: int) -> FloatArray:
    return np.empty((0, width) if width else 0, dtype=np.float64)
