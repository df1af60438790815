"""As-of lookups: the value of fields at given times, in one query.

For each asked time T, the newest row at or before T (``time <= T``),
optionally no older than ``max_age_ns``; one DuckDB ``ASOF JOIN`` answers a
whole vector of times. This replaces ``summit_utils``'
``getMostRecentRowWithDataBefore``, which searches backwards in 15-minute
chunks, one query each.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from openefd.errors import QueryError
from openefd.query.fields import resolve_fields
from openefd.query.select import RowSelect, _where, array_lengths, run_select, topic_source
from openefd.store.columns import TIME_COLUMN
from openefd.store.duckdb_store import Store
from openefd.store.registry import quote_ident
from openefd.store.sql import run_one
from openefd.timeinput import tai_ns_to_index

__all__ = ["SAMPLE_TIME", "run_asof"]

SAMPLE_TIME = "sample_time"
_ASKED = "_openefd_asof_times"
_T = "_openefd_t"
_I = "_openefd_i"
_WINDOW_NS = 3600 * 1_000_000_000


def _lower_bound(
    store: Store, source: str, where: str, params: list[object], first: int
) -> int | None:
    """Time of the newest row at or before ``first`` (None: there is none)."""
    glue = " AND " if where else " WHERE "
    window = _WINDOW_NS
    bounds = run_one(store.cursor(), f"SELECT min({TIME_COLUMN}) FROM {source}{where}", params)
    if bounds is None or bounds[0] is None or int(bounds[0]) > first:
        return None
    oldest = int(bounds[0])
    while True:  # growing windows: a short scan in the common case
        lo = first - window
        row = run_one(
            store.cursor(),
            f"SELECT max({TIME_COLUMN}) FROM {source}{where}{glue}{TIME_COLUMN} BETWEEN ? AND ?",
            [*params, lo, first],
        )
        if row is not None and row[0] is not None:
            return int(row[0])
        if lo <= oldest:
            return None
        window *= 16


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
    where, params = _where(RowSelect(topic, fields, index=index), layout)
    if len(asked) == 0:
        empty = run_select(store, RowSelect(topic, list(fields), 0, -1, time_scale=time_scale))
        return _no_rows(empty, asked, time_scale)
    first, last = int(asked.min()), int(asked.max())
    with topic_source(store, layout) as source:
        if max_age_ns is not None:
            lo: int | None = first - max_age_ns
        else:
            lo = _lower_bound(store, source, where, params, first)
            lo = first if lo is None else lo  # nothing before the first time asked
        glue = " AND " if where else " WHERE "
        # Field names cannot clash with the asked times' columns: those are openefd's own.
        items = "".join(f", {r.sql} AS {quote_ident(r.name)}" for r in refs)
        sql = (
            f"SELECT q.{_I}, r.{TIME_COLUMN} AS {SAMPLE_TIME}{items} "
            f"FROM {_ASKED} q ASOF LEFT JOIN (SELECT * FROM {source}{where}{glue}"
            f"{TIME_COLUMN} BETWEEN ? AND ?) r ON q.{_T} >= r.{TIME_COLUMN} ORDER BY q.{_I}"
        )
        cursor = store.cursor()
        cursor.register(
            _ASKED, pa.table({_T: pa.array(asked), _I: pa.array(np.arange(len(asked)))})
        )
        try:
            columns = dict(cursor.sql(sql, params=[*params, lo, last]).fetchnumpy())
        finally:
            cursor.unregister(_ASKED)
    columns.pop(_I)
    sample = columns.pop(SAMPLE_TIME)
    return _assemble(columns, sample, asked, max_age_ns, time_scale)


def _nullable(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values and their null mask, from what ``fetchnumpy`` gives (masked or NaN/None)."""
    if isinstance(values, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(values)
        data = np.ma.getdata(values)
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
