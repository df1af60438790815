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
reads the rows of every window of every entry naming the topic
(:mod:`~openefd.analysis.summaries_read`), on a thread of its own while the
previous topic is reduced; numpy does the rest
(:mod:`~openefd.analysis.summaries_functions`). ``long["column"]`` is
categorical (the configuration's order), ``long["element"]`` nullable.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

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
from openefd.analysis.summaries_functions import FieldReducer, poly_rms, take_rows
from openefd.analysis.summaries_read import TopicRows, merged_ranges, read_rows
from openefd.analysis.summaries_windows import FloatArray, IntArray, Windows
from openefd.errors import ConfigurationError, QueryError, UnknownFieldError
from openefd.query.select import array_lengths
from openefd.schema.model import SAL_INDEX_FIELD, FieldType, TopicSchema
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures as registry_exposures

__all__ = ["ExposureSummaries", "summarize", "summarize_exposures"]

_NS = 1_000_000_000
_BATCH_SPAN_NS = 4 * 3600 * _NS  # exposures summarised together span at most this
_READERS = 1  # topics read ahead, each on a thread of its own
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
      ``column`` is categorical, its categories in the configuration's order;
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


@dataclass(frozen=True)
class _Entry:
    """A topic entry of the configuration, checked against the store's layout."""

    spec: TopicSpec
    layout: TopicSchema
    widths: dict[str, int]


def _asof(times: IntArray, at: IntArray, lookback_s: float) -> tuple[IntArray, Any]:
    rows = np.searchsorted(times, at, side="right").astype(np.int64) - 1
    found = rows >= 0
    found[found] &= times[rows[found]] >= at[found] - round(lookback_s * _NS)
    return rows, found


class _EntryRows:
    """One entry's rows and windows; what several columns share is computed once."""

    def __init__(self, rows: TopicRows, windows: Windows, at: dict[str, IntArray]) -> None:
        self.rows = rows
        self.windows = windows
        self.at = at
        self._reducers: dict[str, FieldReducer] = {}
        self._asof: dict[tuple[str, float], tuple[IntArray, Any]] = {}

    def reducer(self, field: str) -> FieldReducer:
        if field not in self._reducers:
            self._reducers[field] = FieldReducer(self.rows.values[field], self.windows)
        return self._reducers[field]

    def asof(self, field: str, at: str, lookback_s: float) -> FloatArray:
        key = (at, lookback_s)
        if key not in self._asof:
            self._asof[key] = _asof(self.rows.times, self.at[at], lookback_s)
        return take_rows(self.rows.values[field], *self._asof[key])

    def compute(self, col: ColumnSpec) -> FloatArray:
        fn = col.function
        if isinstance(fn, Stddev):
            return self.reducer(col.field).stddev(fn.ddof)
        if isinstance(fn, AsOf | MostRecent):
            start = self.asof(col.field, "begin", fn.lookback_s)
            if fn.name in ("at_start", "most_recent_value"):
                return start
            end = self.asof(col.field, "end", fn.lookback_s)
            return end if fn.name == "at_end" else end - start
        if isinstance(fn, PolyRms):
            times = self.rows.times
            if fn.basis == "time":
                x = (times - (times[0] if len(times) else 0)).astype(np.float64) / _NS
            else:
                x = np.arange(len(times), dtype=np.float64)
            return poly_rms(self.rows.values[col.field], x, self.windows, fn.degree)
        return self.reducer(col.field).reduce(fn.name)


def _lookback_ns(spec: TopicSpec) -> int:
    backs = [
        c.function.lookback_s for c in spec.columns if isinstance(c.function, AsOf | MostRecent)
    ]
    return round(max(backs, default=0.0) * _NS)


def _sal_union(entries: list[_Entry]) -> list[int] | None:
    if any(e.spec.sal_indices is None for e in entries):
        return None
    return sorted({i for e in entries for i in e.spec.sal_indices or []})


def _read_topic(store: Store, entries: list[_Entry], begin: IntArray, end: IntArray) -> TopicRows:
    """The rows every entry (all of one topic) needs for one batch, in one query."""
    widths: dict[str, int] = {}
    firsts, lasts = [], []
    for e in entries:
        widths.update(e.widths)
        firsts.append(np.minimum(begin - e.spec.pre_ns, begin - _lookback_ns(e.spec)))
        lasts.append(np.maximum(end + e.spec.post_ns, end))
    ranges = merged_ranges(np.concatenate(firsts), np.concatenate(lasts))
    return read_rows(store, entries[0].layout, widths, ranges, _sal_union(entries))


def _summarize_topic(
    rows: TopicRows, entries: list[_Entry], begin: IntArray, end: IntArray
) -> dict[str, FloatArray]:
    """Every column of the entries (all of one topic) for one batch, from ``rows``."""
    at = {"begin": begin, "end": end}
    out: dict[str, FloatArray] = {}
    for e in entries:
        mine = rows.select(e.spec.sal_indices, list(e.widths))
        windows = Windows(
            np.searchsorted(mine.times, begin - e.spec.pre_ns, side="left"),
            np.searchsorted(mine.times, end + e.spec.post_ns, side="left"),
        )
        entry_rows = _EntryRows(mine, windows, at)
        for c in e.spec.columns:
            out[c.name] = entry_rows.compute(c)
    return out


def _entries(store: Store, config: SummaryConfig) -> list[_Entry]:
    return [_Entry(spec, *_check_fields(store, spec)) for spec in config.topics]


def _column_table(entries: list[_Entry]) -> pd.DataFrame:
    rows = []
    for entry in entries:
        spec, layout, widths = entry.spec, entry.layout, entry.widths
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
    entries = _entries(store, config)
    meta = _column_table(entries)
    by_topic: dict[str, list[_Entry]] = {}
    for entry in entries:
        by_topic.setdefault(entry.spec.topic, []).append(entry)
    known = exposures["timespan_begin_tai_ns"].notna() & exposures["timespan_end_tai_ns"].notna()
    known_pos = np.flatnonzero(known.to_numpy(dtype=bool))
    begin_all = exposures["timespan_begin_tai_ns"].to_numpy(dtype=np.int64, na_value=0)
    end_all = exposures["timespan_end_tai_ns"].to_numpy(dtype=np.int64, na_value=0)
    n = len(exposures)
    results: dict[str, FloatArray] = {}
    for name, width in zip(meta["column"], meta["elements"], strict=True):
        results[name] = np.full((n, int(width)) if width else n, np.nan)
    done = n - len(known_pos)
    batches = [known_pos[group] for group in _batches(begin_all[known_pos])]
    tasks = [
        (b, group_entries) for b in range(len(batches)) for group_entries in by_topic.values()
    ]
    # the next topics' rows are read (DuckDB, mostly without the GIL) while one is reduced
    with ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="summaries-read") as reader:
        ahead: deque[Future[TopicRows]] = deque()
        for i, (batch, group_entries) in enumerate(tasks):
            for j in range(i + len(ahead), min(i + 1 + _READERS, len(tasks))):
                p, e = batches[tasks[j][0]], tasks[j][1]
                ahead.append(reader.submit(_read_topic, store, e, begin_all[p], end_all[p]))
            rows = ahead.popleft().result()
            pos = batches[batch]
            summaries = _summarize_topic(rows, group_entries, begin_all[pos], end_all[pos])
            for name, out in summaries.items():
                results[name][pos] = out
            if i + 1 == len(tasks) or tasks[i + 1][0] != batch:  # the batch's last topic
                done += len(pos)
                if progress is not None:
                    progress(done)
    ids = exposures["exposure_id"].to_numpy(dtype=np.int64)
    return ExposureSummaries(_wide(exposures, results, meta), _long(ids, results, meta), meta)


def _wide(
    exposures: pd.DataFrame, results: dict[str, FloatArray], meta: pd.DataFrame
) -> pd.DataFrame:
    """The id columns, then one float64 block of every scalar and flattened element."""
    names: list[str] = []
    blocks: list[FloatArray] = []
    for name, flatten in zip(meta["column"], meta["flatten"], strict=True):
        values = results[name]
        if values.ndim == 1:
            names.append(name)
            blocks.append(values[:, None])
        elif flatten:
            names.extend(f"{name}{i}" for i in range(values.shape[1]))
            blocks.append(values)
    n = len(exposures)
    block = np.concatenate(blocks, axis=1) if blocks else np.empty((n, 0))
    ids = pd.DataFrame({c: exposures[c].to_numpy() for c in _ID_COLUMNS if c in exposures.columns})
    values_frame = pd.DataFrame(block, columns=pd.Index(names), copy=False)
    return pd.concat([ids, values_frame], axis=1)


def _long(ids: IntArray, results: dict[str, FloatArray], meta: pd.DataFrame) -> pd.DataFrame:
    """Key/value: ``column`` categorical (in configuration order), ``element`` nullable."""
    names = list(results)
    widths = np.array([1 if v.ndim == 1 else v.shape[1] for v in results.values()], np.int64)
    scalar = np.array([v.ndim == 1 for v in results.values()], dtype=bool)
    per_column = widths * len(ids)
    codes = np.repeat(np.arange(len(names), dtype=np.int32), per_column)
    exposure = np.concatenate([np.repeat(ids, w) for w in widths.tolist()] or [ids[:0]])
    element = np.concatenate(
        [np.tile(np.arange(w, dtype=np.int64), len(ids)) for w in widths.tolist()]
        or [np.empty(0, np.int64)]
    )
    value = np.concatenate([v.reshape(-1) for v in results.values()] or [np.empty(0)])
    return pd.DataFrame(
        {
            "exposure_id": exposure,
            "column": pd.Categorical.from_codes(codes, categories=pd.Index(names)),
            "element": pd.arrays.IntegerArray(element, np.repeat(scalar, per_column)),
            "value": value,
        }
    )


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
