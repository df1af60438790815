"""Reading a topic's rows for one SELECT: one parameterised DuckDB query, numpy out.

Rows come from :func:`openefd.query.select.topic_source` (the table, days
evicted to Parquet, and pending rows of the live writer). Arrays of which
many elements are asked are read as whole lists and cut in numpy
(:func:`openefd.query.arrays.element_columns`), which is many times faster
than one SQL expression per element. Values come back with a null mask;
NaN counts as null (InfluxDB stores no NaN; a missing array element reads
as NaN). DuckDB sorts only where LIMIT or OFFSET pick rows by time; all the
rows of a range are sorted in numpy, which costs next to nothing when they
were written in order (DuckDB's sort of a range cost more than its scan).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from openefd.errors import LimitExceededError
from openefd.query.arrays import element_columns
from openefd.query.fields import ColumnRef
from openefd.query.select import topic_source
from openefd.query.time_order import time_order
from openefd.schema.model import TopicSchema
from openefd.store.columns import TIME_COLUMN, output_duckdb_type
from openefd.store.duckdb_store import Store
from openefd.store.registry import quote_ident

__all__ = ["Fetch", "Values", "fetch_rows"]

_WHOLE_LIST = 4  # more elements than this of one array: read the list once
_RECENT_WINDOW_NS = 60 * 1_000_000_000


@dataclass(slots=True)
class Values:
    """One column: ``data`` (any value at null rows) and ``nulls`` (None: no nulls)."""

    data: np.ndarray[Any, Any]
    nulls: np.ndarray[Any, np.dtype[np.bool_]] | None

    @classmethod
    def of(cls, arr: Any) -> Values:
        if isinstance(arr, np.ma.MaskedArray):
            mask = np.ma.getmaskarray(arr)
            data = np.asarray(arr.data)
            return cls(data, mask if mask.any() else None)
        data = np.asarray(arr)
        if data.dtype.kind == "f":
            nan = np.isnan(data)
            return cls(data, nan if nan.any() else None)
        if data.dtype.kind == "O":
            none = np.equal(data, np.array([None], dtype=object))
            return cls(data, none if none.any() else None)
        return cls(data, None)


@dataclass(frozen=True, slots=True)
class Fetch:
    """What to read: columns ``refs`` of rows matching ``where`` (SQL with ``params``).

    ``tai_start``/``tai_end`` (inclusive) only narrow which Parquet days are
    read. ``require_any`` drops rows where every column is null. More than
    ``max_rows`` rows raise ``too_many`` (a LimitExceededError).
    """

    layout: TopicSchema
    refs: list[ColumnRef]
    where: str
    params: list[object]
    max_rows: int
    too_many: LimitExceededError
    tai_start: int | None = None
    tai_end: int | None = None
    descending: bool = False
    limit: int = 0
    offset: int = 0
    require_any: bool = False


def _whole_lists(refs: list[ColumnRef]) -> set[str]:
    counts: dict[str, int] = {}
    for r in refs:
        if r.element is not None:
            counts[r.field.name] = counts.get(r.field.name, 0) + 1
    return {name for name, n in counts.items() if n > _WHOLE_LIST}


def _stored_float(ref: ColumnRef) -> bool:
    """A float scalar: read as stored and widened in numpy (:func:`_float64`)."""
    return ref.element is None and ref.field.type.is_float


def _float64(values: Values) -> Values:
    """Stored numbers (float32, float64) as float64, as DuckDB's CAST to DOUBLE gives them.

    Widening float32 is exact; numpy does it for a fraction of what the CAST
    costs DuckDB. Object columns (nulls read through Arrow) hold Python floats.
    """
    if values.data.dtype.kind not in "biuf" or values.data.dtype == np.float64:
        return values
    return Values(values.data.astype(np.float64), values.nulls)


def _select_items(refs: list[ColumnRef], whole: set[str]) -> list[str]:
    items = [
        f"{quote_ident(r.field.name) if _stored_float(r) else r.sql} AS c{i}"
        for i, r in enumerate(refs)
        if r.element is None or r.field.name not in whole
    ]
    for j, name in enumerate(sorted(whole)):
        ref = next(r for r in refs if r.field.name == name)
        items.append(
            f"CAST({quote_ident(name)} AS {output_duckdb_type(ref.field.type)}[]) AS l{j}"
        )
    return items


def _has_value(ref: ColumnRef, whole: set[str]) -> str:
    """SQL true where ``ref`` holds a value (not null, not NaN); whole lists: not null."""
    if ref.field.name in whole:
        return f"{quote_ident(ref.field.name)} IS NOT NULL"
    if ref.field.type.is_float:
        return f"NOT isnan({ref.sql})"  # NULL for null: false in the OR below
    return f"{ref.sql} IS NOT NULL"


def _any_value(refs: list[ColumnRef], whole: set[str]) -> str:
    tests = {_has_value(r, whole) for r in refs}
    return "(" + " OR ".join(sorted(tests)) + ")"


def _sql(f: Fetch, source: str, whole: set[str], window: bool) -> tuple[str, list[object]]:
    items = ", ".join([TIME_COLUMN, *_select_items(f.refs, whole)])
    where = f.where
    params = list(f.params)
    if f.require_any and f.refs and (f.limit or f.offset):
        # Rows without values are dropped in numpy too; in SQL only so that LIMIT and
        # OFFSET count the rows returned (the filter costs DuckDB time otherwise).
        where = f"({where}) AND {_any_value(f.refs, whole)}"
    if window:
        where = (
            f"({where}) AND {TIME_COLUMN} >= "
            f"(SELECT max({TIME_COLUMN}) FROM {source} WHERE {where}) - ?"
        )
        params = [*params, *params, _RECENT_WINDOW_NS]
    limit = f.max_rows + 1 if not f.limit else min(f.limit, f.max_rows + 1)
    order = ""
    if _ordered_in_sql(f, window):
        order = f"ORDER BY {TIME_COLUMN} {'DESC' if f.descending else 'ASC'} "
    sql = f"SELECT {items} FROM {source} WHERE {where} {order}LIMIT ? OFFSET ?"
    return sql, [*params, limit, f.offset]


def _ordered_in_sql(f: Fetch, window: bool) -> bool:
    """Whether DuckDB sorts the rows: only where LIMIT/OFFSET pick rows by order.

    Every matching row in ascending order (the common case) is sorted in
    numpy instead (:func:`_in_time_order`): DuckDB's sort costs more than
    the scan, and rows come back in time order already unless written out
    of order. ``LIMIT max_rows + 1`` then only detects too many rows.
    """
    return f.descending or bool(f.limit) or bool(f.offset) or window


def _in_time_order(times: Any, values: list[Values]) -> tuple[Any, list[Values]]:
    """Rows sorted by time (stable: rows of equal time keep the order they were read in)."""
    order = time_order(times)
    if order is None:
        return times, values
    return times[order], [
        Values(v.data[order], v.nulls[order] if v.nulls is not None else None) for v in values
    ]


def _run(store: Store, f: Fetch, source: str, window: bool) -> tuple[Any, list[Values]]:
    whole = _whole_lists(f.refs)
    sql, params = _sql(f, source, whole, window)
    cursor = store.cursor()
    if not whole:
        raw = cursor.execute(sql, params).fetchnumpy()
        times = np.asarray(raw[TIME_COLUMN], dtype=np.int64)
        return times, [_read(raw[f"c{i}"], r) for i, r in enumerate(f.refs)]
    table = cursor.sql(sql, params=params).to_arrow_table()
    times = np.asarray(table[TIME_COLUMN].to_numpy(), dtype=np.int64)
    split: dict[tuple[str, int], Any] = {}
    for j, name in enumerate(sorted(whole)):
        wanted = [r.element for r in f.refs if r.field.name == name and r.element is not None]
        for index, column in zip(wanted, element_columns(table[f"l{j}"], wanted), strict=True):
            split[(name, index)] = column
    out = []
    for i, r in enumerate(f.refs):
        if r.element is not None and r.field.name in whole:
            out.append(Values.of(split[(r.field.name, r.element)]))
        else:
            column = table[f"c{i}"]
            data = column.to_numpy(zero_copy_only=False)
            if column.null_count:
                data = np.asarray(column.to_pylist(), dtype=object)
            out.append(_read(data, r))
    return times, out


def _read(data: Any, ref: ColumnRef) -> Values:
    values = Values.of(data)
    return _float64(values) if _stored_float(ref) else values


def _drop_empty_rows(times: Any, values: list[Values]) -> tuple[Any, list[Values]]:
    if not values or any(v.nulls is None for v in values):
        return times, values
    keep = ~np.logical_and.reduce([v.nulls for v in values if v.nulls is not None])
    if keep.all():
        return times, values
    kept = []
    for v in values:
        nulls = v.nulls[keep] if v.nulls is not None else None
        kept.append(Values(v.data[keep], nulls if nulls is not None and nulls.any() else None))
    return times[keep], kept


def fetch_rows(store: Store, f: Fetch) -> tuple[np.ndarray[Any, Any], list[Values]]:
    """TAI ns times and one :class:`Values` per ref, ordered by time as asked.

    Raises
    ------
    LimitExceededError
        ``f.too_many``, when more than ``f.max_rows`` rows match.
    """
    with topic_source(store, f.layout, start_tai_ns=f.tai_start, end_tai_ns=f.tai_end) as source:
        times, values = None, None
        if f.descending and f.limit and f.tai_start is None:
            times, values = _run(store, f, source, window=True)
            if len(times) < min(f.limit, f.max_rows + 1):
                times, values = None, None
        sorted_by_sql = True
        if times is None or values is None:
            times, values = _run(store, f, source, window=False)
            sorted_by_sql = _ordered_in_sql(f, window=False)
    if len(times) > f.max_rows:
        raise f.too_many
    if not sorted_by_sql:
        times, values = _in_time_order(times, values)
    if f.require_any:
        times, values = _drop_empty_rows(times, values)
    return times, values
