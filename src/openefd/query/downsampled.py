"""Query-time downsampling of a time-range select with a named operator.

``mean_10``, ``lastFill_60``, ``nth_5`` … (see
:mod:`openefd.query.downsample`) applied to every asked field. Bins are
aligned to whole multiples of N seconds of UTC (as InfluxDB's ``GROUP BY
time()`` aligns them), labelled by their start. 1-second ``mean``, ``min``,
``max``, ``median`` and ``count`` of an aggregated topic (of one ``salIndex``,
when the topic has several) are read from its 1-second aggregates for the
whole seconds of the range, the same values the raw rows give; everything
else, and a partial second at either end of the range, is computed from the
raw rows.
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
from openefd.schema.model import SAL_INDEX_FIELD
from openefd.store.duckdb_store import Store
from openefd.timeinput import tai_ns_to_index
from openefd.timescales import tai_to_utc_ns

__all__ = ["run_downsampled"]

_FROM_AGGREGATES = {"mean", "min", "max", "median", "count"}
_NS = 1_000_000_000


def _utc_origin(tai_ns: int) -> int:
    """TAI ns of a UTC whole second near ``tai_ns``: bins then fall on UTC multiples."""
    return tai_ns - int(tai_to_utc_ns(np.array([tai_ns]))[0])


def run_downsampled(store: Store, req: RowSelect, op_text: str, fill: str | float) -> pd.DataFrame:
    """``req`` downsampled with operator ``op_text``; empty bins per ``fill``."""
    op = parse_operator(op_text)
    mode = parse_fill(fill)
    if req.limit is not None or req.descending:
        raise QueryError("downsample works on a time range; it cannot be combined with top-N")
    if (
        op.n == 1
        and op.spec.name in _FROM_AGGREGATES
        and (mode.mode == "none" or (mode.mode == "null" and _whole_range(req)))
        and _one_series(store, req)
        and store.aggregates.mode(req.topic) == "stats"
        and store.aggregates.has_table(req.topic)
    ):
        return _from_aggregates(store, req, op_text, fill)
    return _from_raw(store, req, op_text, fill)


def _one_series(store: Store, req: RowSelect) -> bool:
    """Whether the aggregates' rows are the bins: one salIndex, and no salIndex column asked
    (the aggregates hold its value, not its statistics)."""
    if store.layout(req.topic).field(SAL_INDEX_FIELD) is None:
        return True
    return req.index is not None and not {SAL_INDEX_FIELD, "*"} & set(req.fields)


def _from_aggregates(
    store: Store, req: RowSelect, op_text: str, fill: str | float
) -> pd.DataFrame:
    """Whole seconds of the range from the aggregates, a partial one at an end from raw rows."""
    stat = parse_operator(op_text).spec.name
    start = req.start_tai_ns
    stop = None if req.end_tai_ns is None else req.end_tai_ns + (1 if req.end_inclusive else 0)
    first = None if start is None else -(-start // _NS) * _NS  # whole seconds: [first, last)
    last = None if stop is None else stop // _NS * _NS
    if first is not None and last is not None and first >= last:
        return _from_raw(store, req, op_text, fill)
    whole = replace(req, start_tai_ns=first, end_tai_ns=last, end_inclusive=False)
    frame = run_aggregated(store, whole, stat)
    if any(dtype != np.float64 for dtype in frame.dtypes):
        frame = frame.astype(np.float64)
    if stat == "count":
        frame = frame.where(frame != 0)  # a field without samples has no bin, as from raw rows
    if (
        parse_fill(fill).mode == "null"
        and first is not None
        and last is not None
        and first == start
        and last == stop
    ):
        return _every_second(frame, first, last, stat, req.time_scale)  # no partial ends
    parts = [frame.dropna(how="all")]
    if start is not None and first is not None and first > start:
        head = replace(req, end_tai_ns=first, end_inclusive=False)
        parts.insert(0, _from_raw(store, head, op_text, fill))
    if stop is not None and last is not None and last < stop:
        tail = replace(req, start_tai_ns=last, end_tai_ns=stop, end_inclusive=False)
        parts.append(_from_raw(store, tail, op_text, fill))
    parts = [p for p in parts if len(p)] or parts[:1]
    return pd.concat(parts) if len(parts) > 1 else parts[0]


def _every_second(
    frame: pd.DataFrame, first: int, last: int, stat: str, time_scale: str
) -> pd.DataFrame:
    """``frame`` with a row for every second of [first, last), empty ones null (count 0)."""
    seconds = np.arange(first // _NS, last // _NS, dtype=np.int64) * _NS
    if len(frame) != len(seconds):
        frame = frame.reindex(tai_ns_to_index(seconds, time_scale))
    return frame.fillna(0.0) if stat == "count" else frame


def _whole_range(req: RowSelect) -> bool:
    """Whether ``req``'s range is whole seconds: [whole second, whole second)."""
    if req.start_tai_ns is None or req.end_tai_ns is None:
        return False
    stop = req.end_tai_ns + (1 if req.end_inclusive else 0)
    return req.start_tai_ns % _NS == 0 and stop % _NS == 0


def _from_raw(store: Store, req: RowSelect, op_text: str, fill: str | float) -> pd.DataFrame:
    op = parse_operator(op_text)
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
