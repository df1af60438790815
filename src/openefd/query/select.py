"""Time-range and latest-row selects on one topic, answered as DataFrames.

Times in are canonical TAI ns. The DataFrame index is the rows' time, by
default as a tz-aware UTC ``DatetimeIndex`` (what the EFD and
``lsst-efd-client`` return), or naive TAI named ``time_tai`` on request.
Values come back as the EFD returns them: float64, int64, bool, str.
:func:`select_rows` gives the same answer before it becomes a DataFrame
(:class:`~openefd.query.rows.Rows`), for the native HTTP server.

DuckDB sorts only where LIMIT picks rows by time or they are asked newest
first: all the rows of a range come back unsorted and are put in time order
in numpy
(:func:`~openefd.query.time_order.time_order`, next to free when they were
written in order; DuckDB's sort cost more than the scan). Float fields and
elements are read as stored and widened in numpy (:meth:`Rows.frame`), a
fraction of what DuckDB's CAST to DOUBLE costs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from openefd.errors import QueryError
from openefd.query.arrays import element_columns
from openefd.query.arrays import plain_numpy as element_columns_scalar
from openefd.query.fields import ColumnRef, resolve_fields
from openefd.query.rows import Rows
from openefd.query.time_order import in_time_order
from openefd.schema.model import SAL_INDEX_FIELD, TopicSchema
from openefd.store.cold_manifest import (
    cold_location,
    evicted_partitions,
    partition_rows,
    tier_switch,
)
from openefd.store.columns import TIME_COLUMN, arrow_type, output_duckdb_type
from openefd.store.duckdb_store import Store, key_columns
from openefd.store.registry import quote_ident
from openefd.store.sql import run_one

__all__ = [
    "RowSelect",
    "array_lengths",
    "run_select",
    "select_rows",
    "sorted_in_sql",
    "topic_source",
    "where_sql",
]


@dataclass(frozen=True, slots=True)
class RowSelect:
    """What to select: a topic, fields, a TAI ns range and options.

    The range is ``[start_tai_ns, end_tai_ns]`` with ``end_inclusive`` (as the
    EFD client's ``time >= start AND time <= end``), else ``[start, end)``.
    ``None`` leaves a side open. ``index`` filters on ``salIndex``.
    """

    topic: str
    fields: Sequence[str]
    start_tai_ns: int | None = None
    end_tai_ns: int | None = None
    end_inclusive: bool = True
    index: int | None = None
    limit: int | None = None
    descending: bool = False
    time_scale: str = "utc"


def array_lengths(store: Store, layout: TopicSchema) -> dict[str, int]:
    """Longest stored list of each array field whose length the schema leaves open."""
    open_arrays = [f.name for f in layout.fields if f.is_array and f.count == 0]
    if not open_arrays:
        return {}
    exprs = ", ".join(f"max(len({quote_ident(n)}))" for n in open_arrays)
    with topic_source(store, layout) as source:
        row = run_one(store.cursor(), f"SELECT {exprs} FROM {source}")
    return {n: int(v or 0) for n, v in zip(open_arrays, row or (), strict=False)}


def where_sql(req: RowSelect, layout: TopicSchema) -> tuple[str, list[object]]:
    clauses: list[str] = []
    params: list[object] = []
    if req.start_tai_ns is not None:
        clauses.append(f"{TIME_COLUMN} >= ?")
        params.append(req.start_tai_ns)
    if req.end_tai_ns is not None:
        clauses.append(f"{TIME_COLUMN} {'<=' if req.end_inclusive else '<'} ?")
        params.append(req.end_tai_ns)
    if req.index is not None:
        if layout.field(SAL_INDEX_FIELD) is None:
            raise QueryError(f"topic {layout.name!r} has no {SAL_INDEX_FIELD}; drop index=")
        clauses.append(f"{quote_ident(SAL_INDEX_FIELD)} = ?")
        params.append(int(req.index))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


_PENDING = "_openefd_pending"
_ORDER = "_openefd_order"


@contextmanager
def topic_source(
    store: Store,
    layout: TopicSchema,
    *,
    start_tai_ns: int | None = None,
    end_tai_ns: int | None = None,
) -> Iterator[str]:
    """SQL for a topic's rows: its table, its days evicted to the Parquet cold tier,
    plus rows the live writer has not committed.

    Pending rows already committed by a flush still in progress, or repeating a
    stored key, are left out (the stored copy wins, as on insert). Runs on the
    calling thread's cursor; use the SQL inside the ``with`` block. A caller
    that filters on time may pass its range (TAI ns, both ends inclusive) so
    that cold days outside it are not read; rows outside it may still appear.
    With no evicted day the source is the table itself, found without a query.
    """
    table = quote_ident(layout.name)
    with tier_switch(store).reading():
        cold = evicted_partitions(store, layout.name, start_tai_ns, end_tai_ns)
        if not cold:
            with _with_pending(store, layout, table, table) as source:
                yield source
            return
        with partition_rows(store.cursor(), cold_location(store), layout, cold) as rows:
            stored = f"(SELECT * FROM {table} UNION ALL BY NAME {rows})"
            pending = store.pending.snapshot(layout.name)
            against = table
            if pending is not None and pending.num_rows:
                span = _span(pending[TIME_COLUMN].to_numpy())
                if evicted_partitions(store, layout.name, *span):
                    against = stored  # pending rows in evicted days may repeat a Parquet row
            with _with_pending(store, layout, stored, against) as source:
                yield source


def _span(times: np.ndarray) -> tuple[int, int]:
    return int(times.min()), int(times.max())


@contextmanager
def _with_pending(store: Store, layout: TopicSchema, stored: str, against: str) -> Iterator[str]:
    """``stored`` rows plus pending rows whose key is not in relation ``against``."""
    pending = store.pending.snapshot(layout.name)
    if pending is None:
        yield stored
        return
    schema = pa.schema(
        [pa.field(TIME_COLUMN, pa.int64())]
        + [pa.field(f.name, arrow_type(f)) for f in layout.fields]
    )
    full = pa.concat_tables([schema.empty_table(), pending], promote_options="default")
    full = full.append_column(_ORDER, pa.array(np.arange(full.num_rows)))
    keys = [quote_ident(k) for k in key_columns(layout)]
    times = pending[TIME_COLUMN].to_numpy()
    if bool(np.all(times[1:] > times[:-1])):  # no key can repeat: no window needed
        part = f"(SELECT * EXCLUDE ({_ORDER}) FROM {_PENDING})"
    else:
        part = (
            f"(SELECT * EXCLUDE ({_ORDER}) FROM {_PENDING} QUALIFY row_number() OVER "
            f"(PARTITION BY {', '.join(keys)} ORDER BY {_ORDER}) = 1)"
        )
    cursor = store.cursor()
    cursor.register(_PENDING, full)
    try:
        if not store.registry.has_table(layout.name):
            yield part
            return
        match = " AND ".join(
            [f"t.{TIME_COLUMN} = p.{TIME_COLUMN}"]
            + [f"t.{k} IS NOT DISTINCT FROM p.{k}" for k in keys[1:]]
        )
        yield (
            f"(SELECT * FROM {stored} UNION ALL BY NAME SELECT p.* FROM {part} p "
            f"WHERE NOT EXISTS (SELECT 1 FROM {against} t WHERE {match}))"
        )
    finally:
        cursor.unregister(_PENDING)


_WHOLE_LIST = 4  # more elements than this of one array: fetch the list once
_LIST_PREFIX = "__list_"


def _whole_lists(refs: list[ColumnRef]) -> set[str]:
    counts: dict[str, int] = {}
    for r in refs:
        if r.element is not None:
            counts[r.field.name] = counts.get(r.field.name, 0) + 1
    return {name for name, n in counts.items() if n > _WHOLE_LIST}


def _stored_sql(r: ColumnRef) -> str:
    """A float value as stored (widened in numpy, :meth:`Rows.frame`); others as output."""
    if not r.field.type.is_float:
        return r.sql
    name = quote_ident(r.field.name)
    return name if r.element is None else f"{name}[{r.element + 1}]"


def _select_list(refs: list[ColumnRef]) -> list[str]:
    whole = _whole_lists(refs)
    items = [
        f"{_stored_sql(r)} AS {quote_ident(r.name)}"
        for r in refs
        if r.element is None or r.field.name not in whole
    ]
    for r in refs:
        if r.element is not None and r.field.name in whole:
            alias = quote_ident(_LIST_PREFIX + r.field.name)
            sql = (
                f"CAST({quote_ident(r.field.name)} AS "
                f"{output_duckdb_type(r.field.type)}[]) AS {alias}"
            )
            if sql not in items:
                items.append(sql)
    return items


def build_sql(
    req: RowSelect, layout: TopicSchema, refs: list[ColumnRef], source: str | None = None
) -> tuple[str, list[object]]:
    where, params = where_sql(req, layout)
    cols = ", ".join([TIME_COLUMN, *_select_list(refs)])
    sql = f"SELECT {cols} FROM {source or quote_ident(layout.name)}{where}"
    if sorted_in_sql(req):
        sql += f" ORDER BY {TIME_COLUMN} {'DESC' if req.descending else 'ASC'}"
    if req.limit is not None:
        if req.limit < 0:
            raise QueryError(f"the number of rows must be ≥ 0, got {req.limit}")
        sql += f" LIMIT {int(req.limit)}"
    return sql, params


def sorted_in_sql(req: RowSelect) -> bool:
    """Whether DuckDB sorts: only where LIMIT picks rows by time, or for newest first.
    Every row of a range, oldest first, is put in order in numpy instead, by the reader
    (:func:`~openefd.query.time_order.in_time_order`; rows and 1-second aggregates)."""
    return req.descending or req.limit is not None


_EMPTY_DTYPES = {
    "DOUBLE": "float64",
    "BIGINT": "int64",
    "UBIGINT": "uint64",
    "BOOLEAN": "bool",
    "VARCHAR": "object",
}


def _empty(refs: list[ColumnRef], time_scale: str) -> Rows:
    """The rows of a topic never written to: none, the asked columns."""
    columns = {
        r.name: np.empty(0, dtype=_EMPTY_DTYPES[output_duckdb_type(r.field.type)]) for r in refs
    }
    return Rows(np.empty(0, dtype=np.int64), columns, time_scale)


def _fetch(store: Store, req: RowSelect, layout: TopicSchema, refs: list[ColumnRef]) -> Rows:
    with topic_source(store, layout) as source:
        sql, params = build_sql(req, layout, refs, source)
        return _run_fetch(store, sql, params, req, refs)


def _fetch_columns(
    store: Store, sql: str, params: list[object], refs: list[ColumnRef]
) -> dict[str, Any]:
    """Output columns by name, in the order asked; nulls as the EFD gives them."""
    whole = _whole_lists(refs)
    if not whole:
        # fetchnumpy: no pandas extension types, so nulls read as NaN (numbers) or None.
        # execute() costs about half of what a relation (cursor.sql) does per query.
        return dict(store.cursor().execute(sql, params).fetchnumpy())
    table = store.cursor().sql(sql, params=params).to_arrow_table()
    out: dict[str, Any] = {TIME_COLUMN: table[TIME_COLUMN].to_numpy()}
    split: dict[str, dict[int, Any]] = {}
    for name in whole:
        wanted = [r.element for r in refs if r.field.name == name and r.element is not None]
        parts = element_columns(table[_LIST_PREFIX + name], wanted)
        split[name] = dict(zip(wanted, parts, strict=True))
    for r in refs:
        if r.element is not None and r.field.name in whole:
            out[r.name] = split[r.field.name][r.element]
        else:
            out[r.name] = element_columns_scalar(table[r.name])
    return out


def _run_fetch(
    store: Store, sql: str, params: list[object], req: RowSelect, refs: list[ColumnRef]
) -> Rows:
    max_rows = store.settings.max_query_rows
    if req.limit is None:
        sql += f" LIMIT {max_rows + 1}"
    columns = _fetch_columns(store, sql, params, refs)
    times = np.asarray(columns.pop(TIME_COLUMN), dtype=np.int64)
    if len(times) > max_rows:
        raise QueryError(
            f"the query returns more than max_query_rows={max_rows} rows; narrow the time "
            "range or raise OPENEFD_MAX_QUERY_ROWS"
        )
    if not sorted_in_sql(req):
        times, columns = in_time_order(times, columns)
    return Rows(times, columns, req.time_scale)


_FIRST_WINDOW_NS = 60 * 1_000_000_000


def _latest(store: Store, req: RowSelect, layout: TopicSchema, refs: list[ColumnRef]) -> Rows:
    """Newest rows first: search back from the newest time in growing windows.

    A top-N sort over a whole topic reads every row; ``max(time)`` and a short
    window read a few row groups. The answer is the same.
    """
    assert req.limit is not None
    where, params = where_sql(req, layout)
    with topic_source(store, layout) as source:
        # One round trip for the common case: the newest rows lie within a minute.
        sql, select_params = build_sql(req, layout, refs, source)
        head, _, tail = sql.partition(" ORDER BY ")
        glue = " AND " if where else " WHERE "
        first = (
            f"{head}{glue}{TIME_COLUMN} >= (SELECT max({TIME_COLUMN}) FROM {source}{where})"
            f" - {_FIRST_WINDOW_NS} ORDER BY {tail}"
        )
        rows = _run_fetch(store, first, [*select_params, *params], req, refs)
        if len(rows) >= req.limit:
            return rows
        bounds = run_one(
            store.cursor(),
            f"SELECT min({TIME_COLUMN}), max({TIME_COLUMN}) FROM {source}{where}",
            params,
        )
    if bounds is None or bounds[1] is None:
        return rows
    oldest, newest = int(bounds[0]), int(bounds[1])
    window = _FIRST_WINDOW_NS * 16
    while True:
        start = newest - window
        if req.start_tai_ns is not None:
            start = max(start, req.start_tai_ns)
        rows = _fetch(store, replace(req, start_tai_ns=start), layout, refs)
        if len(rows) >= req.limit or start <= oldest:
            return rows
        window *= 16


def _newest_in_memory(store: Store, req: RowSelect) -> pa.Table | None:
    """The newest row when ``req`` asks for exactly that and the store remembers it."""
    plain = (
        req.limit == 1
        and req.start_tai_ns is None
        and req.end_tai_ns is None
        and req.index is None
        and store.pending.snapshot(req.topic) is None
    )
    return store.newest_row(req.topic) if plain else None


_NUMPY_TYPES = {"DOUBLE": np.float64, "BIGINT": np.int64, "UBIGINT": np.uint64}


def _one_row(row: pa.Table, refs: list[ColumnRef], time_scale: str) -> Rows | None:
    """The latest-row answer built from a remembered row, typed as the SQL path types it.

    None when an asked value is null: the SQL path's null conventions then apply.
    """
    columns: dict[str, Any] = {}
    for r in refs:
        value = row[r.field.name][0].as_py() if r.field.name in row.column_names else None
        if r.element is not None:
            value = value[r.element] if value is not None and r.element < len(value) else None
        kind = output_duckdb_type(r.field.type)
        if value is None:
            return None
        if kind in _NUMPY_TYPES:
            columns[r.name] = np.array([value], dtype=_NUMPY_TYPES[kind])
        elif kind == "BOOLEAN":
            columns[r.name] = np.array([value], dtype=bool)
        else:
            columns[r.name] = np.array([value], dtype=object)
    times = np.asarray(row[TIME_COLUMN].to_numpy(), dtype=np.int64)
    return Rows(times, columns, time_scale)


def run_select(store: Store, req: RowSelect) -> pd.DataFrame:
    """Run ``req``; columns in the order asked, indexed by time."""
    return select_rows(store, req).frame()


def select_rows(store: Store, req: RowSelect) -> Rows:
    """``run_select``'s answer before it becomes a DataFrame (``.frame()`` makes it one)."""
    layout = store.layout(req.topic)
    if not store.registry.has_table(req.topic) and store.pending.snapshot(req.topic) is None:
        return _empty(resolve_fields(layout, req.fields), req.time_scale)
    refs = resolve_fields(layout, req.fields, array_lengths(store, layout))
    if req.descending and req.limit is not None:
        if req.limit < 0:
            raise QueryError(f"the number of rows must be ≥ 0, got {req.limit}")
        newest = _newest_in_memory(store, req)
        rows = _one_row(newest, refs, req.time_scale) if newest is not None else None
        return rows if rows is not None else _latest(store, req, layout, refs)
    return _fetch(store, req, layout, refs)
