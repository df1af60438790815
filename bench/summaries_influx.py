"""Per-exposure summaries the way a query-per-exposure service computes them from InfluxDB.

The reference (b) of the summaries benchmark. For every exposure and every
topic entry of the configuration, serially on one keep-alive HTTP
connection (:class:`bench.influx.InfluxHttp`):

- one windowed InfluxQL query for the fields the window functions read::

    SELECT "f0", "f1", … FROM "lsst.sal.ESS.temperature"
    WHERE time >= '<begin − pre>Z' AND time < '<end + post>Z' AND "salIndex" = 102

- one as-of query per instant (exposure begin and/or end) and look-back for
  the fields of ``at_start``, ``at_end``, ``delta`` and
  ``most_recent_value``::

    SELECT "f0", … FROM "…" WHERE time >= '<T − look-back>Z' AND time <= '<T>Z'
    AND "salIndex" = 102 ORDER BY time DESC LIMIT 1

then the JSON answer becomes a DataFrame (as ``aioinflux`` and ConsDB's
InfluxDB client build it) and numpy computes each column from its values
(``nanmean``, ``nanstd``, …; ``numpy.polynomial`` for the fits). Arrays are
the EFD's flattened fields ``name0 … nameN-1``. Semantics are openefd's, so
that the answers can be compared: half-open padded windows, NaN left out of
reductions, ``first``/``last`` the window's first/last row as it is,
polynomial fits on the window's rows with x mapped onto [-1, 1].

Times: openefd's windows are TAI; InfluxDB's timestamps are UTC, so every
bound is converted with :func:`openefd.timescales.tai_to_utc_ns` (exact; no
leap second falls in the night).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from bench.influx import InfluxHttp, frame_from_series
from openefd.analysis.summaries_config import (
    AsOf,
    ColumnSpec,
    MostRecent,
    PolyRms,
    Stddev,
    SummaryConfig,
    TopicSpec,
)
from openefd.schema.model import SAL_INDEX_FIELD, TopicSchema
from openefd.timescales import tai_to_utc_ns

__all__ = [
    "InfluxTiming",
    "SpecPlan",
    "entry_values",
    "plan_specs",
    "summarize_influx",
    "utc_literal",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Results = dict[str, FloatArray]

_NS = 1_000_000_000
KNOWN_FUNCTIONS = frozenset(
    {"mean", "stddev", "min", "max", "median", "first", "last", "count", "at_start", "at_end"}
    | {"delta", "most_recent_value", "rms_from_polynomial_fit"}
)


def utc_literal(utc_ns: int) -> str:
    """An InfluxQL time literal, RFC 3339 to the ns: ``'2024-05-02T01:02:03.123456789Z'``."""
    return f"'{np.datetime64(int(utc_ns), 'ns')}Z'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class SpecPlan:
    """What the per-exposure approach asks InfluxDB for one topic entry of the configuration.

    ``widths``: 0 for a scalar field, else its array length (flattened in InfluxDB).
    ``asof``: per look-back (ns), the fields read as of an instant and which
    instants (``begin``, ``end``) are needed.
    """

    spec: TopicSpec
    widths: dict[str, int]
    window_fields: list[str]
    asof: dict[int, tuple[list[str], frozenset[str]]]

    def names(self, field_name: str) -> list[str]:
        width = self.widths[field_name]
        return [f"{field_name}{i}" for i in range(width)] if width else [field_name]

    def select(self, fields: list[str]) -> str:
        return ", ".join(_quote(n) for f in fields for n in self.names(f))

    @property
    def where_index(self) -> str:
        indices = self.spec.sal_indices
        if indices is None:
            return ""
        terms = " OR ".join(f"{_quote(SAL_INDEX_FIELD)} = {i}" for i in indices)
        return f" AND ({terms})" if len(indices) > 1 else f" AND {terms}"

    def window_query(self, lo_utc: int, hi_utc: int) -> str:
        return (
            f"SELECT {self.select(self.window_fields)} FROM {_quote(self.spec.topic)} "
            f"WHERE time >= {utc_literal(lo_utc)} AND time < {utc_literal(hi_utc)}"
            f"{self.where_index}"
        )

    def asof_query(self, fields: list[str], at_utc: int, lookback_ns: int) -> str:
        return (
            f"SELECT {self.select(fields)} FROM {_quote(self.spec.topic)} "
            f"WHERE time >= {utc_literal(at_utc - lookback_ns)} AND time <= {utc_literal(at_utc)}"
            f"{self.where_index} ORDER BY time DESC LIMIT 1"
        )


def _lookback_ns(column: ColumnSpec) -> int | None:
    fn = column.function
    return round(fn.lookback_s * _NS) if isinstance(fn, AsOf | MostRecent) else None


def plan_specs(config: SummaryConfig, schemas: dict[str, TopicSchema]) -> list[SpecPlan]:
    """One plan per topic entry of ``config``; field widths from the topics' definitions."""
    plans = []
    for spec in config.topics:
        schema = schemas[spec.topic]
        widths: dict[str, int] = {}
        window: list[str] = []
        asof_fields: dict[int, list[str]] = {}
        asof_at: dict[int, set[str]] = {}
        for col in spec.columns:
            if col.function.name not in KNOWN_FUNCTIONS:
                raise SystemExit(
                    f"column {col.name!r}: the per-exposure approach has no {col.function.name!r}"
                )
            fs = schema.field(col.field)
            if fs is None:
                raise SystemExit(f"{spec.topic} has no field {col.field!r}")
            widths[col.field] = fs.count if fs.is_array else 0
            lookback = _lookback_ns(col)
            if lookback is None:
                if col.field not in window:
                    window.append(col.field)
                continue
            fields = asof_fields.setdefault(lookback, [])
            if col.field not in fields:
                fields.append(col.field)
            name = col.function.name
            at = asof_at.setdefault(lookback, set())
            if name in ("at_start", "delta", "most_recent_value"):
                at.add("begin")
            if name in ("at_end", "delta"):
                at.add("end")
        asof = {lb: (asof_fields[lb], frozenset(asof_at[lb])) for lb in asof_fields}
        plans.append(SpecPlan(spec, widths, window, asof))
    return plans


@dataclass(slots=True)
class InfluxTiming:
    """Where the per-exposure approach spent its time, and what it asked for."""

    total_s: float = 0.0
    query_s: float = 0.0  # HTTP round trip and JSON parse
    compute_s: float = 0.0  # JSON → DataFrame → matrix, and the functions
    frames_s: float = 0.0  # the wide and long frames at the end
    window_queries: int = 0
    asof_queries: int = 0
    rows_returned: int = 0
    per_exposure_s: list[float] = field(default_factory=list)

    @property
    def queries(self) -> int:
        return self.window_queries + self.asof_queries


def _matrix(client: InfluxHttp, q: str, timing: InfluxTiming) -> tuple[IntArray, FloatArray]:
    """Row times (UTC ns) and values (rows × selected names) of one query's answer.

    The JSON becomes a DataFrame as aioinflux builds it for lsst-efd-client
    (:func:`bench.influx.frame_from_series`), then a float64 matrix.
    """
    t0 = time.perf_counter()
    doc = client.query_json(q)
    t1 = time.perf_counter()
    timing.query_s += t1 - t0
    series = doc["results"][0].get("series", [])
    if not series:
        timing.compute_s += time.perf_counter() - t1
        return np.empty(0, np.int64), np.empty((0, 0))
    df = frame_from_series(series[0])
    timing.rows_returned += len(df)
    times = np.asarray(pd.DatetimeIndex(df.index).asi8, dtype=np.int64)
    out = times, df.to_numpy(dtype=np.float64, na_value=np.nan)
    timing.compute_s += time.perf_counter() - t1
    return out


def _rms(x: FloatArray, y: FloatArray, degree: int) -> float:
    ok = ~np.isnan(y)
    x, y = x[ok], y[ok]
    if len(y) <= degree:
        return float("nan")
    fit = np.polynomial.Polynomial.fit(x, y, degree)  # x mapped onto [-1, 1]
    resid = y - fit(x)
    return float(np.sqrt(np.mean(resid * resid)))


def _window_value(col: ColumnSpec, block: FloatArray, times_ns: IntArray) -> FloatArray:
    """``col``'s function over the window's rows (``block``: rows × elements)."""
    fn = col.function
    width = block.shape[1]
    if len(block) == 0:
        return np.zeros(width) if fn.name == "count" else np.full(width, np.nan)
    if isinstance(fn, PolyRms):
        if fn.basis == "time":
            x = (times_ns - times_ns[0]).astype(np.float64) / _NS
        else:
            x = np.arange(len(block), dtype=np.float64)
        return np.array([_rms(x, block[:, j], fn.degree) for j in range(width)])
    if fn.name == "first":
        return np.array(block[0], dtype=np.float64)
    if fn.name == "last":
        return np.array(block[-1], dtype=np.float64)
    if fn.name == "count":
        return np.array((~np.isnan(block)).sum(axis=0), dtype=np.float64)
    with warnings.catch_warnings():  # all-NaN columns and too few rows give NaN, quietly
        warnings.simplefilter("ignore", RuntimeWarning)
        if isinstance(fn, Stddev):
            n = (~np.isnan(block)).sum(axis=0)
            std = np.nanstd(block, axis=0, ddof=fn.ddof)
            return np.array(np.where(n - fn.ddof > 0, std, np.nan), dtype=np.float64)
        reduce = _REDUCERS[fn.name]
        return np.asarray(reduce(block, axis=0), dtype=np.float64)


_REDUCERS: dict[str, Callable[..., Any]] = {
    "mean": np.nanmean,
    "min": np.nanmin,
    "max": np.nanmax,
    "median": np.nanmedian,
}


def _asof_value(
    col: ColumnSpec, offsets: tuple[int, int], rows: dict[str, FloatArray]
) -> FloatArray:
    lo, hi = offsets

    def value(at: str) -> FloatArray:
        row = rows[at]
        return row[0, lo:hi] if len(row) else np.full(hi - lo, np.nan)

    name = col.function.name
    if name in ("at_start", "most_recent_value"):
        return value("begin")
    if name == "at_end":
        return value("end")
    return value("end") - value("begin")


def _offsets(plan: SpecPlan, fields: list[str]) -> dict[str, tuple[int, int]]:
    """Where each field's columns are in an answer selecting ``fields`` (flattened)."""
    out, at = {}, 0
    for f in fields:
        width = len(plan.names(f))
        out[f] = (at, at + width)
        at += width
    return out


def _one_exposure(
    client: InfluxHttp,
    plans: list[SpecPlan],
    begin_tai: int,
    end_tai: int,
    timing: InfluxTiming,
) -> dict[str, FloatArray]:
    out: dict[str, FloatArray] = {}
    at_utc = {"begin": int(tai_to_utc_ns(begin_tai)), "end": int(tai_to_utc_ns(end_tai))}
    for plan in plans:
        times_ns, window = np.empty(0, np.int64), np.empty((0, 0))
        if plan.window_fields:
            lo = int(tai_to_utc_ns(begin_tai - plan.spec.pre_ns))
            hi = int(tai_to_utc_ns(end_tai + plan.spec.post_ns))
            times_ns, window = _matrix(client, plan.window_query(lo, hi), timing)
            timing.window_queries += 1
        asof_rows: dict[int, dict[str, FloatArray]] = {}
        for lookback, (fields, instants) in plan.asof.items():
            asof_rows[lookback] = {}
            for at in sorted(instants):
                q = plan.asof_query(fields, at_utc[at], lookback)
                asof_rows[lookback][at] = _matrix(client, q, timing)[1]
                timing.asof_queries += 1
        t0 = time.perf_counter()
        out.update(entry_values(plan, times_ns, window, asof_rows))
        timing.compute_s += time.perf_counter() - t0
    return out


def entry_values(
    plan: SpecPlan,
    times_ns: IntArray,
    window: FloatArray,
    asof_rows: dict[int, dict[str, FloatArray]],
) -> dict[str, FloatArray]:
    """Every column of one topic entry for one exposure, from the rows its queries returned.

    ``times_ns`` and ``window`` (rows × flattened ``window_fields``; shape
    ``(0, 0)`` when empty) answer the windowed query; ``asof_rows[look-back]``
    maps ``begin``/``end`` to the as-of answer (one row of the flattened
    as-of fields, or none). Each column is a 1-D array of its elements (one
    for a scalar). Pure numpy: no I/O.
    """
    out: dict[str, FloatArray] = {}
    window_at = _offsets(plan, plan.window_fields)
    asof_at = {lb: _offsets(plan, fields) for lb, (fields, _) in plan.asof.items()}
    for col in plan.spec.columns:
        back = _lookback_ns(col)
        if back is None:
            lo_col, hi_col = window_at[col.field]
            block = window[:, lo_col:hi_col] if len(window) else np.empty((0, hi_col - lo_col))
            out[col.name] = _window_value(col, block, times_ns)
        else:
            out[col.name] = _asof_value(col, asof_at[back][col.field], asof_rows[back])
    return out


def summarize_influx(
    client: InfluxHttp,
    plans: list[SpecPlan],
    exposures: pd.DataFrame,
    progress: Callable[[int], None] | None = None,
) -> tuple[Results, pd.DataFrame, pd.DataFrame, InfluxTiming]:
    """Summaries of ``exposures`` (``exposure_id``, ``timespan_begin_tai_ns``,
    ``timespan_end_tai_ns``) from InfluxDB, one exposure after the other.

    Returns per column an array (exposures × elements; 1-D for scalars), the
    wide and long frames, and the timing.
    """
    timing = InfluxTiming()
    t_start = time.perf_counter()
    ids = exposures["exposure_id"].to_numpy(dtype=np.int64)
    begins = exposures["timespan_begin_tai_ns"].to_numpy(dtype=np.int64)
    ends = exposures["timespan_end_tai_ns"].to_numpy(dtype=np.int64)
    per_exposure: list[dict[str, FloatArray]] = []
    for i in range(len(ids)):
        t0 = time.perf_counter()
        per_exposure.append(_one_exposure(client, plans, int(begins[i]), int(ends[i]), timing))
        timing.per_exposure_s.append(time.perf_counter() - t0)
        if progress is not None:
            progress(i + 1)
    t0 = time.perf_counter()
    results: Results = {}
    widths = {c.name: p.widths[c.field] for p in plans for c in p.spec.columns}
    for name, width in widths.items():
        stacked = np.array([row[name] for row in per_exposure], dtype=np.float64)
        results[name] = stacked.reshape(len(ids), width) if width else stacked.reshape(len(ids))
    wide, long = _frames(ids, results)
    timing.frames_s = time.perf_counter() - t0
    timing.total_s = time.perf_counter() - t_start
    return results, wide, long, timing


def _frames(ids: npt.NDArray[np.int64], results: Results) -> tuple[pd.DataFrame, pd.DataFrame]:
    wide: dict[str, Any] = {"exposure_id": ids}
    long_parts = []
    for name, values in results.items():
        if values.ndim == 1:
            wide[name] = values
            element = np.full(len(ids), -1)
        else:
            for j in range(values.shape[1]):
                wide[f"{name}{j}"] = values[:, j]
            element = np.tile(np.arange(values.shape[1]), len(ids))
        width = 1 if values.ndim == 1 else values.shape[1]
        long_parts.append(
            pd.DataFrame(
                {
                    "exposure_id": np.repeat(ids, width),
                    "column": name,
                    "element": element,
                    "value": values.reshape(-1),
                }
            )
        )
    long = pd.concat(long_parts, ignore_index=True) if long_parts else pd.DataFrame()
    return pd.DataFrame(wide), long
