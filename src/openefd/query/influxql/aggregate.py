"""Aggregate functions over fetched rows, with and without ``GROUP BY time()``.

The statistics are the shared InfluxQL reducers of
:mod:`openefd.query.downsample` (``influxql_reducer``; binning and ``fill``
by :func:`~openefd.query.downsample.aggregate`); only ``first``/``last`` of
string fields, which no numeric reducer can give, are picked here. Times
are UTC ns; buckets are ``[offset + k·interval, offset + (k+1)·interval)``
from the epoch, labelled by their start, as InfluxDB labels them.

Types follow InfluxDB: ``count`` is an integer; ``mean``, ``median`` and
``stddev`` floats; the others keep the field's type. A null result is
``None`` in an object column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from openefd.errors import LimitExceededError
from openefd.query.downsample import aggregate, influxql_reducer
from openefd.query.downsample.bins import Bins, bin_numbers
from openefd.query.influxql import ast
from openefd.query.influxql.fetch import Values
from openefd.query.influxql.selection import SELECTORS, Column, field_kind
from openefd.query.influxql.timerange import TimeRange

__all__ = ["Rows", "aggregate_rows"]

_KEEP_TYPE = frozenset({"min", "max", "first", "last", "sum", "spread", "percentile"})
_BOOL_KEEP = frozenset({"min", "max", "first", "last"})

Array = np.ndarray[Any, Any]


@dataclass(frozen=True, slots=True)
class Rows:
    """The rows of one series: UTC ns times and one array per column."""

    times: Array
    columns: list[Array]


def _target(column: Column) -> str:
    """What a column's values are: float, int or bool."""
    if column.function == "count":
        return "int"
    if column.ref is None:
        return "float"
    kind = field_kind(column.ref.field.type)
    if kind == "integer" and column.function in _KEEP_TYPE:
        return "int"
    if kind == "boolean" and column.function in _BOOL_KEEP:
        return "bool"
    return "float"


def typed(values: Array, target: str) -> Array:
    """Float results as ``target`` (float, int, bool); NaN becomes None in an object array."""
    nan = np.isnan(values)
    if target == "float":
        if not nan.any():
            return values
        out = values.astype(object)
        out[nan] = None
        return out
    dtype = np.int64 if target == "int" else np.bool_
    if not nan.any():
        return values.astype(dtype)
    out = np.empty(len(values), dtype=object)
    out[~nan] = values[~nan].astype(dtype).tolist()
    return out


def _present(values: Values | None) -> Array:
    if values is None:
        return np.zeros(0, dtype=np.int64)
    if values.nulls is None:
        return np.arange(len(values.data))
    return np.flatnonzero(~values.nulls)


def _floats(column: Column, values: Values, present: Array) -> Array:
    if column.ref is not None and field_kind(column.ref.field.type) == "string":
        return np.zeros(len(present))  # count: only the number of values matters
    return np.asarray(values.data[present], dtype=np.float64)


def _reducer_args(column: Column) -> tuple[float, ...]:
    return (column.argument,) if column.argument is not None else ()


def _selected(column: Column, floats: Array) -> int | None:
    """Index (into ``floats``) of the point a selector picks; None for no point."""
    n = len(floats)
    name = column.function
    if name == "first":
        return 0
    if name == "last":
        return n - 1
    if name == "min":
        return int(np.argmin(floats))
    if name == "max":
        return int(np.argmax(floats))
    assert column.argument is not None
    rank = int(np.floor(n * column.argument / 100.0 + 0.5))
    if not 1 <= rank <= n:
        return None
    return int(np.argsort(floats, kind="stable")[rank - 1])


def _one(column: Column, values: Values | None) -> tuple[Any, int | None]:
    """The value of ``column`` over all rows, and the row a selector picked."""
    present = _present(values)
    if values is None or not len(present):
        return None, None
    assert column.function is not None
    is_string = column.ref is not None and field_kind(column.ref.field.type) == "string"
    if column.function in SELECTORS:
        floats = None if is_string else _floats(column, values, present)
        if floats is None:
            at: int | None = 0 if column.function == "first" else len(present) - 1
        else:
            at = _selected(column, floats)
        if at is None:
            return None, None
        row = int(present[at])
        value = values.data[row]
        return (value.item() if isinstance(value, np.generic) else value), row
    floats = _floats(column, values, present)
    reducer = influxql_reducer(column.function, _reducer_args(column))
    bins = Bins(floats, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))
    result = typed(reducer(bins), _target(column))[0]
    return (result.item() if isinstance(result, np.generic) else result), None


def _cell(values: Values | None, row: int | None) -> Any:
    if values is None or row is None or (values.nulls is not None and values.nulls[row]):
        return None
    value = values.data[row]
    return value.item() if isinstance(value, np.generic) else value


def _single_row(
    columns: list[Column], times: Array, values: list[Values | None], rng: TimeRange
) -> Rows | None:
    calls = [i for i, c in enumerate(columns) if c.function is not None]
    lone = len(calls) == 1 and columns[calls[0]].function in SELECTORS
    cells: list[Any] = [None] * len(columns)
    picked: int | None = None
    for i in calls:
        cells[i], row = _one(columns[i], values[i])
        if lone:
            picked = row
    if all(cells[i] is None for i in calls):
        return None
    time = rng.start_ns if rng.start_ns is not None else 0
    if lone and picked is not None:
        time = int(times[picked])
        for i, c in enumerate(columns):
            if c.function is None:
                cells[i] = _cell(values[i], picked)
    out = [_one_value_array(cell) for cell in cells]
    return Rows(np.array([time], dtype=np.int64), out)


def _one_value_array(cell: Any) -> Array:
    if cell is None or isinstance(cell, str):
        return np.array([cell], dtype=object)
    return np.array([cell])


def _fill_arg(fill: ast.FillOption) -> str | float:
    return float(fill.value or 0) if fill.mode == "number" else fill.mode


def _string_bins(
    column: Column,
    times: Array,
    data: Array,
    dim: ast.TimeDimension,
    fill: ast.FillOption,
    span: tuple[int, int],
) -> tuple[Array, Array]:
    """first/last of a string field per bucket, filled as asked."""
    width, origin = dim.interval_ns, dim.offset_ns % dim.interval_ns
    bins = Bins.from_bin_numbers(bin_numbers(times, width, origin), np.zeros(len(times)))
    picked = bins.starts if column.function == "first" else bins.lasts
    numbers, chosen = bins.numbers, data[picked]
    first, last = (span[0] - origin) // width, (span[1] - 1 - origin) // width
    if fill.mode == "none":
        return origin + numbers * width, chosen
    every = np.arange(first, last + 1, dtype=np.int64)
    out = np.full(len(every), None if fill.mode != "number" else fill.value, dtype=object)
    slots = numbers - first
    out[slots] = chosen
    if fill.mode == "previous":
        source = np.full(len(every), -1, dtype=np.int64)
        source[slots] = np.arange(len(slots))
        np.maximum.accumulate(source, out=source)
        out = np.full(len(every), None, dtype=object)
        known = source >= 0
        out[known] = chosen[source[known]]
    return origin + every * width, out


def _bucketed(
    column: Column,
    times: Array,
    values: Values | None,
    dim: ast.TimeDimension,
    fill: ast.FillOption,
    span: tuple[int, int],
    max_bins: int,
) -> tuple[Array, Array]:
    present = _present(values)
    t = times[present]
    assert column.function is not None
    is_string = column.ref is not None and field_kind(column.ref.field.type) == "string"
    if is_string and column.function != "count":
        assert values is not None
        return _string_bins(column, t, values.data[present], dim, fill, span)
    floats = _floats(column, values, present) if values is not None else np.zeros(0)
    reducer = influxql_reducer(column.function, _reducer_args(column))
    bins, result = aggregate(
        t,
        floats,
        reducer,
        dim.interval_ns,
        fill=_fill_arg(fill),
        start_ns=span[0],
        end_ns=span[1],
        origin_ns=dim.offset_ns,
        max_bins=max_bins,
    )
    return bins, typed(result, _target(column))


def _merged(parts: list[tuple[Array, Array]]) -> Rows:
    """Columns with (maybe) different buckets on one time axis; gaps are null."""
    union = np.unique(np.concatenate([p[0] for p in parts]))
    columns = []
    for bins, values in parts:
        if len(bins) == len(union):
            columns.append(values)
            continue
        out = np.full(len(union), None, dtype=object)
        out[np.searchsorted(union, bins)] = values.tolist() if values.dtype != object else values
        columns.append(out)
    return Rows(union, columns)


def _bucket_count(span: tuple[int, int], dim: ast.TimeDimension) -> int:
    origin = dim.offset_ns % dim.interval_ns
    first = (span[0] - origin) // dim.interval_ns
    last = (span[1] - 1 - origin) // dim.interval_ns
    return last - first + 1


def aggregate_rows(
    columns: list[Column],
    times: Array,
    values: list[Values | None],
    rng: TimeRange,
    dim: ast.TimeDimension | None,
    fill: ast.FillOption,
    max_bins: int,
) -> Rows | None:
    """One series' rows for aggregate ``columns``; None when no field has a value.

    ``times`` are UTC ns, ascending; ``values[i]`` is column ``i``'s (None for
    a field the topic lacks). With ``dim``, ``rng.end_ns`` must be set.
    """
    if dim is None:
        return _single_row(columns, times, values, rng)
    firsts = [times[p[0]] for p in (_present(v) for v in values) if len(p)]
    if not firsts:
        return None
    assert rng.end_ns is not None
    start = rng.start_ns if rng.start_ns is not None else int(min(firsts))
    span = (start, rng.end_ns)
    buckets = _bucket_count(span, dim)
    if fill.mode != "none" and buckets > max_bins:
        raise LimitExceededError(
            f"GROUP BY time() gives {buckets} buckets here, more than the {max_bins} that fit "
            "in the query's point limit (OPENEFD_QUERY_MAX_POINTS); use a larger interval, a "
            "shorter time range or fill(none)"
        )
    parts = [
        _bucketed(c, times, v, dim, fill, span, max_bins)
        for c, v in zip(columns, values, strict=True)
    ]
    return _merged(parts)
