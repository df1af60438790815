"""As-of lookups: the value of fields at given times, in one query.

For each asked time T, the newest row at or before T (``time <= T``),
optionally no older than ``max_age_ns``; one DuckDB ``ASOF JOIN`` answers a
whole vector of times. This replaces ``summit_utils``'
``getMostRecentRowWithDataBefore``, which searches backwards in 15-minute
chunks, one query each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from openefd.errors import QueryError
from openefd.query.fields import ColumnRef, resolve_fields
from openefd.query.select import RowSelect, array_lengths, run_select, topic_source, where_sql
from openefd.store.columns import TIME_COLUMN
from openefd.store.duckdb_store import Store
from openefd.store.registry import quote_ident
from openefd.store.sql import run_one
from openefd.timeinput import tai_ns_to_index

__all__ = ["SAMPLE_TIME", "run_asof"]

SAMPLE_TIME = "sample_time"
_ASKED = "_openefd_asof_times"
_T = "_openefd_t"
_WINDOW_NS = 60 * 1_000_000_000
_ONE_PASS_FIELDS = 4


def _lower_bound(
    store: Store, source: str, where: str, params: list[object], first: int
) -> int | None:
    """Time of the newest row at or before ``first`` (None: there is none)."""
    glue = " AND " if where else " WHERE "
    window = _WINDOW_NS
    for _ in range(4):  # growing windows (1 min … 2.8 d): a short scan in the common case
        row = run_one(
            store.cursor(),
            f"SELECT max({TIME_COLUMN}) FROM {source}{where}{glue}{TIME_COLUMN} BETWEEN ? AND ?",
            [*params, first - window, first],
        )
        if row is not None and row[0] is not None:
            return int(row[0])
        window *= 16
    row = run_one(
        store.cursor(),
        f"SELECT max({TIME_COLUMN}) FROM {source}{where}{glue}{TIME_COLUMN} <= ?",
        [*params, first],
    )
    return None if row is None or row[0] is None else int(row[0])


def run_asof(
    store: Store,
    topic: str,
    fields: Sequence[str],
    times_tai_ns: np.ndarray,
    *,
    max_age_ns: int | None = None,
    index: int | None = None,
    time_scale: str = "utc",
) -> pd.DataFrame:
    """One row per asked time (in the order asked): the fields' values as of that time.

    ``sample_time`` is when the value was recorded; a time with no row at or
    before it (or only rows older than ``max_age_ns``) gets nulls and NaT.
    """
    if max_age_ns is not None and max_age_ns < 0:
        raise QueryError(f"max_age must be ≥ 0, got {max_age_ns} ns")
    asked = np.asarray(times_tai_ns, dtype=np.int64)
    layout = store.layout(topic)
    if not store.registry.has_table(topic) and store.pending.snapshot(topic) is None:
        empty = run_select(store, RowSelect(topic, list(fields), 0, -1, time_scale=time_scale))
        return _no_rows(empty, asked, time_scale)
    refs = resolve_fields(layout, fields, array_lengths(store, layout))
    where, params = where_sql(RowSelect(topic, fields, index=index), layout)
    if len(asked) == 0:
        empty = run_select(store, RowSelect(topic, list(fields), 0, -1, time_scale=time_scale))
        return _no_rows(empty, asked, time_scale)
    first, last = int(asked.min()), int(asked.max())
    with topic_source(store, layout) as source:
        q = _Lookup(store, source, where, params, refs, asked, last)
        if max_age_ns is not None:
            columns, sample = q.search(first - max_age_ns)
        else:
            # Most lookups find a row in the minute before the first time; else look back.
            columns, sample = q.search(first - _WINDOW_NS)
            if np.ma.getmaskarray(sample).any():
                lo = _lower_bound(store, source, where, params, first)
                if lo is not None and lo < first - _WINDOW_NS:
                    columns, sample = q.search(lo)
    return _assemble(columns, sample, asked, max_age_ns, time_scale)


class _Lookup:
    """The rows of ``refs`` as of each asked time, searched from a lower time bound."""

    def __init__(
        self,
        store: Store,
        source: str,
        where: str,
        params: list[object],
        refs: list[ColumnRef],
        asked: np.ndarray,
        last: int,
    ) -> None:
        self.cursor = store.cursor()
        self.source = source
        self.span = f"{where}{' AND ' if where else ' WHERE '}{TIME_COLUMN} BETWEEN ? AND ?"
        self.params = params
        self.refs = refs
        self.asked = asked
        self.last = last
        self.items = "".join(f", {r.sql} AS {quote_ident(r.name)}" for r in refs)

    def _positions(self, stored: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each asked time: index into sorted ``stored``, found?, the row's time."""
        pos = np.searchsorted(stored, self.asked, side="right") - 1
        found = pos >= 0
        safe = np.maximum(pos, 0)
        sample = np.where(found, stored[safe] if len(stored) else 0, 0)
        return safe, found, sample

    def search(self, lo: int) -> tuple[dict[str, Any], np.ma.MaskedArray]:
        params = [*self.params, lo, self.last]
        if len(self.refs) <= _ONE_PASS_FIELDS:
            # Few fields: one pass reads them with the times; numpy finds each time's row.
            table = self.cursor.sql(
                f"SELECT {TIME_COLUMN}{self.items} FROM {self.source}{self.span}", params=params
            ).to_arrow_table()
            stored = np.asarray(table[TIME_COLUMN].to_numpy(), dtype=np.int64)
            order = None
            if len(stored) > 1 and not bool(np.all(stored[1:] >= stored[:-1])):
                order = np.argsort(stored, kind="stable")
                stored = stored[order]
            safe, found, sample = self._positions(stored)
            rowpos = safe if order is None else order[safe]
            columns = {r.name: _taken(_column(table[r.name]), rowpos, found) for r in self.refs}
            return columns, np.ma.masked_array(sample, mask=~found)
        # Many fields: the times alone first (no sort of the rows, as an ASOF JOIN needs),
        # then only the rows found.
        stored = np.asarray(
            self.cursor.sql(f"SELECT {TIME_COLUMN} FROM {self.source}{self.span}", params=params)
            .to_arrow_table()[TIME_COLUMN]
            .to_numpy(),
            dtype=np.int64,
        )
        if len(stored) > 1 and not bool(np.all(stored[1:] >= stored[:-1])):
            stored = np.sort(stored)
        _, found, sample = self._positions(stored)
        hits = np.unique(sample[found])
        # Field names cannot clash with the hit times' column: that is openefd's own.
        sql = (
            f"SELECT {TIME_COLUMN}{self.items} FROM {self.source}{self.span} AND {TIME_COLUMN} "
            f"IN (SELECT {_T} FROM {_ASKED}) QUALIFY row_number() OVER "
            f"(PARTITION BY {TIME_COLUMN}) = 1 ORDER BY {TIME_COLUMN}"
        )
        self.cursor.register(_ASKED, pa.table({_T: pa.array(hits, pa.int64())}))
        try:
            rows = dict(self.cursor.execute(sql, params).fetchnumpy())
        finally:
            self.cursor.unregister(_ASKED)
        row_times = np.asarray(rows.pop(TIME_COLUMN), dtype=np.int64)
        take = np.clip(np.searchsorted(row_times, sample), 0, max(len(row_times) - 1, 0))
        columns = {name: _taken(values, take, found) for name, values in rows.items()}
        return columns, np.ma.masked_array(sample, mask=~found)


def _column(column: pa.ChunkedArray) -> Any:
    """An Arrow column as fetchnumpy gives it: numbers (nulls masked), else objects."""
    array = column.combine_chunks()
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
        data = array.to_numpy(zero_copy_only=False)
        if array.null_count:
            return np.ma.masked_array(
                np.nan_to_num(data) if data.dtype.kind == "f" else data,
                mask=array.is_null().to_numpy(zero_copy_only=False),
            )
        return data
    if pa.types.is_boolean(array.type) and not array.null_count:
        return array.to_numpy(zero_copy_only=False)
    return np.asarray(array.to_pylist(), dtype=object)


def _taken(values: Any, take: np.ndarray, found: np.ndarray) -> Any:
    """``values`` at positions ``take``, masked where nothing was found."""
    if len(values) == 0:
        return np.ma.masked_array(np.zeros(len(take)), mask=np.ones(len(take), dtype=bool))
    if isinstance(values, np.ma.MaskedArray):
        data = np.ma.getdata(values)[take]
        return np.ma.masked_array(data, mask=np.ma.getmaskarray(values)[take] | ~found)
    return np.ma.masked_array(np.asarray(values)[take], mask=~found)


def _nullable(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values and their null mask, from what ``fetchnumpy`` gives (masked or NaN/None)."""
    if isinstance(values, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(values)
        data = np.ma.getdata(values)
        if not mask.any():
            return data, mask
        if values.dtype.kind in "fiu":
            return np.where(mask, np.nan, data.astype(np.float64)), mask
        objects = data.astype(object)
        objects[mask] = None
        return objects, mask
    if values.dtype.kind == "f":
        return values, np.isnan(values)
    if values.dtype.kind == "O":
        return values, np.array([v is None for v in values], dtype=bool)
    return values, np.zeros(len(values), dtype=bool)


def _assemble(
    columns: dict[str, np.ndarray],
    sample: np.ndarray,
    asked: np.ndarray,
    max_age_ns: int | None,
    time_scale: str,
) -> pd.DataFrame:
    missing = np.ma.getmaskarray(sample)  # rows without a match (all False when none)
    sample_ns = np.where(missing, asked, np.ma.getdata(sample)).astype(np.int64)
    if max_age_ns is not None:
        missing = missing | ((asked - sample_ns) > max_age_ns)
    index = tai_ns_to_index(asked, time_scale)
    out: dict[str, object] = {}
    for name, raw in columns.items():
        values, _ = _nullable(raw)
        if missing.any():
            if values.dtype.kind in "iub":
                values = values.astype(np.float64 if values.dtype.kind != "b" else object)
            values = values.copy()
            values[missing] = np.nan if values.dtype.kind == "f" else None
        out[name] = values
    out[SAMPLE_TIME] = tai_ns_to_index(sample_ns, time_scale).where(~missing)
    return pd.DataFrame(out, index=index)


def _no_rows(empty: pd.DataFrame, asked: np.ndarray, time_scale: str) -> pd.DataFrame:
    index = tai_ns_to_index(asked, time_scale)
    frame = pd.DataFrame(
        {
            c: pd.Series(
                [None] * len(asked),
                dtype=empty[c].dtype if empty[c].dtype.kind == "f" else object,
                index=index,
            )
            for c in empty.columns
        },
        index=index,
    )
    frame[SAMPLE_TIME] = pd.Series(pd.NaT, index=index, dtype=empty.index.dtype)
    return frame
