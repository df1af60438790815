"""Query-time downsampling of a time-range select with a named operator.

``mean_10``, ``lastFill_60``, ``nth_5`` … (see
:mod:`openefd.query.downsample`) applied to every asked field. Bins are
aligned to whole multiples of N seconds of UTC (as InfluxDB's ``GROUP BY
time()`` aligns them), labelled by their start. 1-second ``mean``, ``min``,
``max``, ``median`` and ``count`` of an aggregated topic are read from its
1-second aggregates; everything else is computed from the raw rows.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from openefd.errors import QueryError
from openefd.query.aggregated import run_aggregated
from openefd.query.downsample import downsample, parse_operator
from openefd.query.downsample.fill import parse_fill
from openefd.query.select import RowSelect, run_select
from openefd.store.duckdb_store import Store
from openefd.timeinput import tai_ns_to_index
from openefd.timescales import tai_to_utc_ns

__all__ = ["run_downsampled"]

_FROM_AGGREGATES = {"mean", "min", "max", "median", "count"}


def _utc_origin(tai_ns: int) -> int:
    """TAI ns of a UTC whole second near ``tai_ns``: bins then fall on UTC multiples."""
    return tai_ns - int(tai_to_utc_ns(np.array([tai_ns]))[0])


def run_downsampled(store: Store, req: RowSelect, op_text: str, fill: str | float) -> pd.DataFrame:
    """``req`` downsampled with operator ``op_text``; empty bins per ``fill``."""
    op = parse_operator(op_text)
    mode = parse_fill(fill)
    if req.limit is not None or req.descending:
        raise QueryError("downsample works on a time range; it cannot be combined with top-N")
    aggregated = store.aggregates.mode(req.topic) == "stats"
    if (
        aggregated
        and op.n == 1
        and op.spec.name in _FROM_AGGREGATES
        and mode.mode == "none"
        and store.aggregates.has_table(req.topic)
    ):
        frame = run_aggregated(store, req, op.spec.name)
        if op.spec.name == "count":
            return frame[(frame != 0).any(axis=1)] if len(frame.columns) else frame
        return frame.dropna(how="all")
    raw = run_select(store, replace(req, time_scale="tai"))
    times = np.asarray(raw.index.values, dtype="datetime64[ns]").view(np.int64)
    start = req.start_tai_ns
    end = None if req.end_tai_ns is None else req.end_tai_ns + (1 if req.end_inclusive else 0)
    anchor = start if start is not None else (int(times[0]) if len(times) else 0)
    origin = _utc_origin(anchor) if anchor else 0
    results: dict[str, pd.Series] = {}
    for name in raw.columns:
        values = raw[name].to_numpy()
        if values.dtype.kind not in "fiub":
            raise QueryError(
                f"field {name!r} holds {values.dtype} values; {op.text} needs numbers"
            )
        bins, out = downsample(
            times, values, op, fill=fill, start_ns=start, end_ns=end, origin_ns=origin
        )
        results[name] = pd.Series(out, index=bins)
    frame = pd.DataFrame(results).sort_index() if results else pd.DataFrame()
    index_ns = np.asarray(frame.index, dtype=np.int64)
    frame.index = tai_ns_to_index(index_ns, req.time_scale)
    return frame
