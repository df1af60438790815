"""Per-exposure summaries of telemetry: a typical value of each field for each exposure.

DMTN-082's "associate a typical value with each exposure": a
:class:`~openefd.analysis.summaries_config.SummaryConfig` names topics,
fields and functions; :func:`summarize_exposures` computes them for a list
of exposures (the entry point of automatic recomputation) and
:func:`summarize` for the exposures of a night or a time range.

Windows are the exposures' shutter-open timespans, TAI ns, half-open
``[begin − pre_padding, end + post_padding)``: a row at time t belongs to
exposure e when ``begin_e − pre ≤ t < end_e + post``. As-of values (``at_start``,
``at_end``, ``most_recent_value``) are the newest row with ``t ≤ T``, no older
than the function's look-back. Per topic and batch of exposures, one SQL query
reads the rows of every window at once; numpy does the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from openefd.analysis.summaries_config import (
    AsOf,
    ColumnSpec,
    MostRecent,
    PolyRms,
    Stddev,
    SummaryConfig,
    TopicSpec,
    load_config,
)
from openefd.analysis.summaries_functions import (
    FloatArray,
    IntArray,
    Windows,
    poly_rms,
    reduce_windows,
    take_rows,
)
from openefd.errors import ConfigurationError, QueryError, UnknownFieldError
from openefd.query.arrays import element_columns, plain_numpy
from openefd.query.select import array_lengths, topic_source
from openefd.schema.model import SAL_INDEX_FIELD, FieldType, TopicSchema
from openefd.store.columns import TIME_COLUMN
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures as registry_exposures
from openefd.store.registry import quote_ident

__all__ = ["ExposureSummaries", "summarize", "summarize_exposures"]

_NS = 1_000_000_000
_MERGE_GAP_NS = 600 * _NS  # windows closer than this are read as one time range
_BATCH_SPAN_NS = 3600 * _NS  # exposures summarised together span at most this
_ID_COLUMNS = ("instrument", "exposure_id", "obs_id", "day_obs")

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ExposureSummaries:
    """The summaries of a list of exposures, in two forms, and what each column means.

    - ``wide``: one row per exposure (``instrument``, ``exposure_id``, ``obs_id``,
      ``day_obs`` as given, then one column per scalar summary and per element of
      flattened array summaries);
    - ``long``: key/value, one row per (``exposure_id``, ``column``, ``element``)
      with ``value`` (``element`` is ``<NA>`` for scalars) — every summary;
    - ``columns``: per summary, ``topic``, ``field``, ``function``, ``units``,
      ``description``, ``ucd``, ``elements`` (0 for a scalar).

    Missing values (no row in the window, none within the look-back) are NaN.
    """

    wide: pd.DataFrame
    long: pd.DataFrame
    columns: pd.DataFrame


def function_label(column: ColumnSpec) -> str:
    """The function as written: ``stddev(ddof=1)``, ``mean``."""
    params = column.function.model_dump(exclude={"name"})
    inner = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"{column.function.name}({inner})" if inner else column.function.name


def _check_fields(store: Store, spec: TopicSpec) -> tuple[TopicSchema, dict[str, int]]:
    """The topic's layout and the width of every field asked (0: a scalar)."""
    layout = store.layout(spec.topic)
    widths: dict[str, int] = {}
    lengths: dict[str, int] | None = None
    for col in spec.columns:
        field = layout.field(col.field)
        if field is None:
            raise UnknownFieldError(
                f"summary column {col.name!r}: topic {spec.topic} has no field {col.field!r}"
            )
        if field.type == FieldType.STRING:
            raise ConfigurationError(
                f"summary column {col.name!r}: field {spec.topic}.{col.field} holds strings; "
                "summaries need numbers"
            )
        if field.is_array and field.count == 0 and lengths is None:
            lengths = array_lengths(store, layout)
        widths[col.field] = (
            0 if not field.is_array else field.count or (lengths or {}).get(field.name, 0)
        )
    if spec.sal_indices is not None and layout.field(SAL_INDEX_FIELD) is None:
        raise ConfigurationError(f"topic {spec.topic} has no {SAL_INDEX_FIELD}; drop sal_index")
    return layout, widths


def _ranges(first: IntArray, last: IntArray) -> list[tuple[int, int]]:
    """Merged inclusive time ranges covering every ``[first_i, last_i]``."""
    order = np.argsort(first, kind="stable")
    merged: list[tuple[int, int]] = []
    for a, b in zip(first[order].tolist(), last[order].tolist(), strict=True):
        if merged and a <= merged[-1][1] + _MERGE_GAP_NS:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _fetch(
    store: Store,
    layout: TopicSchema,
    spec: TopicSpec,
    widths: dict[str, int],
    ranges: list[tuple[int, int]],
) -> tuple[IntArray, dict[str, FloatArray]]:
    """Sorted row times and each field's values (float64, NaN for null) in ``ranges``."""
    items = []
    for name, width in widths.items():
        cast = "DOUBLE[]" if width else "DOUBLE"
        items.append(f"CAST({quote_ident(name)} AS {cast}) AS {quote_ident(name)}")
    where = " OR ".join(f"({TIME_COLUMN} BETWEEN ? AND ?)" for _ in ranges)
    params: list[object] = [t for r in ranges for t in r]
    if spec.sal_indices is not None:
        where = f"({where}) AND list_contains(?::BIGINT[], {quote_ident(SAL_INDEX_FIELD)})"
        params.append(spec.sal_indices)
    lo, hi = ranges[0][0], ranges[-1][1]
    if not store.registry.has_table(layout.name) and store.pending.snapshot(layout.name) is None:
        return np.empty(0, np.int64), {n: _empty(w) for n, w in widths.items()}
    with topic_source(store, layout, start_tai_ns=lo, end_tai_ns=hi) as source:
        sql = (
            f"SELECT {TIME_COLUMN}, {', '.join(items)} FROM {source} WHERE {where} "
            f"ORDER BY {TIME_COLUMN}"
        )
        table = store.cursor().sql(sql, params=params).to_arrow_table()
    times = np.asarray(table[TIME_COLUMN].to_numpy(), dtype=np.int64)
    values: dict[str, FloatArray] = {}
    for name, width in widths.items():
        column = table[name]
        if width == 0:
            values[name] = np.asarray(plain_numpy(column), dtype=np.float64)
        elif len(times) == 0:
            values[name] = _empty(width)
        else:
            values[name] = _matrix(column.combine_chunks(), width)
    return times, values


def _matrix(column: pa.Array, width: int) -> FloatArray:
    """An ``(n, width)`` float64 matrix of a list column; missing elements NaN."""
    lengths = pc.list_value_length(column).fill_null(0).to_numpy(zero_copy_only=False)
    if column.null_count == 0 and bool((lengths == width).all()):
        flat = np.asarray(plain_numpy(pc.list_flatten(column)), dtype=np.float64)
        return flat.reshape(len(column), width)
    parts = element_columns(column, range(width))
    return np.column_stack(parts).astype(np.float64, copy=False)


def _empty(width: int) -> FloatArray:
    return np.empty((0, width) if width else 0, dtype=np.float64)


def _asof(times: IntArray, at: IntArray, lookback_s: float) -> tuple[IntArray, Any]:
    rows = np.searchsorted(times, at, side="right").astype(np.int64) - 1
    found = rows >= 0
    found[found] &= times[rows[found]] >= at[found] - round(lookback_s * _NS)
    return rows, found


def _compute(
    col: ColumnSpec, values: FloatArray, times: IntArray, windows: Windows, at: dict[str, IntArray]
) -> FloatArray:
    fn = col.function
    if isinstance(fn, Stddev):
        return reduce_windows("stddev", values, windows, ddof=fn.ddof)
    if isinstance(fn, AsOf | MostRecent):
        start = take_rows(values, *_asof(times, at["begin"], fn.lookback_s))
        if fn.name in ("at_start", "most_recent_value"):
            return start
        end = take_rows(values, *_asof(times, at["end"], fn.lookback_s))
        return end if fn.name == "at_end" else end - start
    if isinstance(fn, PolyRms):
        if fn.basis == "time":
            x = (times - (times[0] if len(times) else 0)).astype(np.float64) / _NS
        else:
            x = np.arange(len(times), dtype=np.float64)
        return poly_rms(values, x, windows, fn.degree)
    return reduce_windows(fn.name, values, windows)


def _lookback_ns(spec: TopicSpec) -> int:
    backs = [
        c.function.lookback_s for c in spec.columns if isinstance(c.function, AsOf | MostRecent)
    ]
    return round(max(backs, default=0.0) * _NS)


def _summarize_topic(
    store: Store, spec: TopicSpec, begin: IntArray, end: IntArray
) -> dict[str, FloatArray]:
    layout, widths = _check_fields(store, spec)
    win_lo, win_hi = begin - spec.pre_ns, end + spec.post_ns
    first = np.minimum(win_lo, begin - _lookback_ns(spec))
    last = np.maximum(win_hi, end)
    times, values = _fetch(store, layout, spec, widths, _ranges(first, last))
    windows = Windows(
        np.searchsorted(times, win_lo, side="left"), np.searchsorted(times, win_hi, side="left")
    )
    at = {"begin": begin, "end": end}
    return {c.name: _compute(c, values[c.field], times, windows, at) for c in spec.columns}


def _column_table(store: Store, config: SummaryConfig) -> pd.DataFrame:
    rows = []
    for spec in config.topics:
        layout, widths = _check_fields(store, spec)
        for col in spec.columns:
            field = layout.field(col.field)
            assert field is not None
            count_fn = col.function.name == "count"
            rows.append(
                {
                    "column": col.name,
                    "topic": spec.topic,
                    "field": col.field,
                    "function": function_label(col),
                    "sal_index": None if spec.sal_index is None else str(spec.sal_index),
                    "units": col.units or (None if count_fn else field.units),
                    "description": col.description or field.description,
                    "ucd": col.ucd,
                    "elements": widths[col.field],
                    "flatten": col.flatten,
                }
            )
    return pd.DataFrame(rows)


def _batches(begin: IntArray) -> list[IntArray]:
    """Positions of exposures (sorted by begin) grouped so that each group spans ≤ an hour."""
    order = np.argsort(begin, kind="stable")
    groups: list[IntArray] = []
    start = 0
    for i in range(1, len(order) + 1):
        if i == len(order) or begin[order[i]] - begin[order[start]] > _BATCH_SPAN_NS:
            groups.append(order[start:i])
            start = i
    return groups


def summarize_exposures(
    store: Store,
    exposures: pd.DataFrame,
    config: SummaryConfig | None = None,
    *,
    progress: Progress | None = None,
) -> ExposureSummaries:
    """Summaries of ``exposures`` (a frame with ``exposure_id``, ``timespan_begin_tai_ns``,
    ``timespan_end_tai_ns`` in TAI ns, as :func:`openefd.store.exposures.exposures`
    returns) under ``config`` (the shipped default when None).

    ``progress`` is called with the number of exposures done after each batch.
    Exposures with an unknown timespan get NaN everywhere.
    """
    config = config if config is not None else load_config()
    needed = {"exposure_id", "timespan_begin_tai_ns", "timespan_end_tai_ns"}
    if missing := needed - set(exposures.columns):
        raise QueryError(f"exposures frame lacks columns {sorted(missing)}")
    meta = _column_table(store, config)
    known = exposures["timespan_begin_tai_ns"].notna() & exposures["timespan_end_tai_ns"].notna()
    known_pos = np.flatnonzero(known.to_numpy(dtype=bool))
    begin_all = exposures["timespan_begin_tai_ns"].to_numpy(dtype=np.int64, na_value=0)
    end_all = exposures["timespan_end_tai_ns"].to_numpy(dtype=np.int64, na_value=0)
    n = len(exposures)
    results: dict[str, FloatArray] = {}
    for _, row in meta.iterrows():
        width = int(row["elements"])
        results[row["column"]] = np.full((n, width) if width else n, np.nan)
    done = n - len(known_pos)
    for group in _batches(begin_all[known_pos]):
        pos = known_pos[group]
        for spec in config.topics:
            for name, out in _summarize_topic(store, spec, begin_all[pos], end_all[pos]).items():
                results[name][pos] = out
        done += len(pos)
        if progress is not None:
            progress(done)
    ids = exposures["exposure_id"].to_numpy(dtype=np.int64)
    return ExposureSummaries(_wide(exposures, results, meta), _long(ids, results, meta), meta)


def _wide(
    exposures: pd.DataFrame, results: dict[str, FloatArray], meta: pd.DataFrame
) -> pd.DataFrame:
    data: dict[str, Any] = {
        c: exposures[c].to_numpy() for c in _ID_COLUMNS if c in exposures.columns
    }
    for _, row in meta.iterrows():
        values = results[row["column"]]
        if values.ndim == 1:
            data[row["column"]] = values
        elif row["flatten"]:
            for i in range(values.shape[1]):
                data[f"{row['column']}{i}"] = values[:, i]
    return pd.DataFrame(data)


def _long(ids: IntArray, results: dict[str, FloatArray], meta: pd.DataFrame) -> pd.DataFrame:
    parts_id, parts_col, parts_el, parts_val = [], [], [], []
    for name, values in results.items():
        width = 1 if values.ndim == 1 else values.shape[1]
        parts_id.append(np.repeat(ids, width))
        parts_col.append(np.full(len(ids) * width, name, dtype=object))
        element = (
            np.tile(np.arange(width), len(ids)) if values.ndim == 2 else np.full(len(ids), -1)
        )
        parts_el.append(element)
        parts_val.append(values.reshape(-1))
    element_all = np.concatenate(parts_el) if parts_el else np.empty(0, np.int64)
    return pd.DataFrame(
        {
            "exposure_id": np.concatenate(parts_id) if parts_id else np.empty(0, np.int64),
            "column": np.concatenate(parts_col) if parts_col else np.empty(0, object),
            "element": _elements(element_all),
            "value": np.concatenate(parts_val) if parts_val else np.empty(0),
        }
    )


def _elements(element: IntArray) -> Any:
    """Element numbers as nullable integers: ``<NA>`` (from -1) for scalars."""
    out = pd.array(element, dtype="Int64")
    out[element < 0] = pd.NA
    return out


def summarize(
    store: Store,
    config: SummaryConfig | None = None,
    *,
    day_obs: int | str | None = None,
    begin: Any = None,
    end: Any = None,
    instrument: str | None = None,
    progress: Progress | None = None,
) -> ExposureSummaries:
    """Summaries of the registry's exposures of ``day_obs`` and/or overlapping ``[begin, end)``."""
    if day_obs is None and begin is None and end is None:
        raise QueryError("give day_obs, or begin and end, to choose the exposures to summarise")
    frame = registry_exposures(store, instrument=instrument, day_obs=day_obs, begin=begin, end=end)
    return summarize_exposures(store, frame, config, progress=progress)


def to_arrow(frame: pd.DataFrame, meta: pd.DataFrame) -> pa.Table:
    """``frame`` as Arrow, each summary column carrying its units, description and UCD."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    info = {row["column"]: row for _, row in meta.iterrows()}
    fields = []
    for field in table.schema:
        base = field.name
        if base not in info:
            base = base.rstrip("0123456789")
        row = info.get(base)
        if row is None:
            fields.append(field)
            continue
        keys = ("topic", "field", "function", "units", "description", "ucd")
        md = {k: str(row[k]) for k in keys if row[k] is not None and not pd.isna(row[k])}
        fields.append(field.with_metadata(md))
    return pa.Table.from_arrays(table.columns, schema=pa.schema(fields, table.schema.metadata))
