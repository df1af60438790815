"""Running one SELECT: a series per measurement, raw rows or aggregates.

Per measurement: plan the columns (:mod:`.selection`), translate the WHERE
(:mod:`.conditions`), read the rows in one query (:mod:`.fetch`), then for
an aggregate reduce them (:mod:`.aggregate`). Times go out as UTC ns.
Raw rows whose selected fields are all null are left out; LIMIT and OFFSET
apply per series, SLIMIT and SOFFSET to the series; series are sorted by
measurement name.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from openefd.errors import LimitExceededError
from openefd.query.downsample import MAX_FILLED_BINS
from openefd.query.fields import ColumnRef
from openefd.query.influxql import ast
from openefd.query.influxql.aggregate import Rows, aggregate_rows
from openefd.query.influxql.catalog import measurements
from openefd.query.influxql.conditions import condition_sql
from openefd.query.influxql.fetch import Fetch, Values, fetch_rows
from openefd.query.influxql.fieldset import written_fields
from openefd.query.influxql.limits import Budget
from openefd.query.influxql.results import Series
from openefd.query.influxql.selection import (
    Column,
    check_select,
    is_aggregate,
    lookup_field,
    plan_columns,
    uses_field_set,
)
from openefd.query.influxql.timerange import TimeRange, time_range, utc_to_tai_bound
from openefd.query.select import array_lengths
from openefd.schema.model import TopicSchema
from openefd.settings import Settings
from openefd.store.columns import TIME_COLUMN
from openefd.store.duckdb_store import Store
from openefd.timescales import tai_to_utc_ns

__all__ = ["Context", "run_select_statement"]

Array = np.ndarray[Any, Any]


@dataclass(slots=True)
class Context:
    """What every statement of one ``execute`` call shares."""

    store: Store
    settings: Settings
    now_ns: int
    budget: Budget


def output_array(values: Values) -> Array:
    """A result column: the values, or an object array with None for nulls."""
    if values.nulls is None:
        return values.data
    out = values.data.astype(object)
    out[values.nulls] = None
    return out


def _refs(columns: list[Column]) -> tuple[list[ColumnRef], list[int | None]]:
    """Distinct refs to read, and each column's index into them (None: no such field)."""
    refs: list[ColumnRef] = []
    by_name: dict[str, int] = {}
    where: list[int | None] = []
    for c in columns:
        if c.ref is None:
            where.append(None)
            continue
        if c.ref.name not in by_name:
            by_name[c.ref.name] = len(refs)
            refs.append(c.ref)
        where.append(by_name[c.ref.name])
    return refs, where


def _sliced(rows: Rows, stmt: ast.SelectStatement) -> Rows:
    times, columns = rows.times, rows.columns
    if stmt.descending:
        times, columns = times[::-1], [c[::-1] for c in columns]
    stop = stmt.offset + stmt.limit if stmt.limit else None
    if stmt.offset or stop is not None:
        times, columns = times[stmt.offset : stop], [c[stmt.offset : stop] for c in columns]
    return Rows(times, columns)


def _fetch_request(
    ctx: Context,
    stmt: ast.SelectStatement,
    layout: TopicSchema,
    refs: list[ColumnRef],
    lengths: dict[str, int],
    rng: TimeRange,
    width: int,
) -> Fetch:
    """The rows to read: all matching ones for an aggregate, else as ordered and limited."""
    where, params = condition_sql(
        stmt.condition, lambda name: lookup_field(layout, name, lengths), ctx.now_ns
    )
    tai_start = utc_to_tai_bound(rng.start_ns) if rng.start_ns is not None else None
    tai_end = utc_to_tai_bound(rng.end_ns) if rng.end_ns is not None else None
    if stmt.time_dimension is not None and tai_end is not None:
        where = f"({where}) AND {TIME_COLUMN} < ?"  # GROUP BY time() ends at now()
        params = [*params, tai_end]
    if is_aggregate(stmt):
        most = ctx.store.settings.max_query_rows
        too_many = LimitExceededError(
            f"the aggregate reads more than max_query_rows={most} rows of {layout.name}; "
            "narrow the time range or raise OPENEFD_MAX_QUERY_ROWS"
        )
        return Fetch(layout, refs, where, params, most, too_many, tai_start, tai_end)
    most = ctx.budget.rows_for(width)
    return Fetch(
        layout,
        refs,
        where,
        params,
        most,
        ctx.budget.points_error(width, most),
        tai_start,
        tai_end,
        descending=stmt.descending,
        limit=stmt.limit,
        offset=stmt.offset,
        require_any=True,
    )


def _series_of(
    ctx: Context,
    stmt: ast.SelectStatement,
    topic: str,
    rng: TimeRange,
    tags: dict[str, str] | None,
) -> Series | None:
    store = ctx.store
    layout = store.layout(topic)
    lengths = array_lengths(store, layout)
    field_set = written_fields(store, layout, lengths) if uses_field_set(stmt) else []
    columns = plan_columns(stmt, layout, lengths, field_set)
    refs, index = _refs(columns)
    if not refs:
        return None  # no asked field exists here: InfluxDB returns no rows
    width = 1 + len(columns)
    tai_times, read = fetch_rows(
        store, _fetch_request(ctx, stmt, layout, refs, lengths, rng, width)
    )
    if not len(tai_times):
        return None
    times = tai_to_utc_ns(tai_times)
    per_column: list[Values | None] = [read[i] if i is not None else None for i in index]
    if is_aggregate(stmt):
        max_bins = max(1, min(MAX_FILLED_BINS, ctx.budget.rows_for(width)))
        found = aggregate_rows(
            columns, times, per_column, rng, stmt.time_dimension, stmt.fill, max_bins
        )
        if found is None:
            return None
        rows = _sliced(found, stmt)
    else:
        rows = Rows(
            times,
            [
                output_array(v) if v is not None else np.full(len(times), None, dtype=object)
                for v in per_column
            ],
        )
    if not len(rows.times):
        return None
    return Series(
        name=topic,
        columns=["time", *(c.name for c in columns)],
        values=[np.asarray(rows.times, dtype=np.int64), *rows.columns],
        tags=dict(tags) if tags else None,
    )


def run_select_statement(
    ctx: Context, stmt: ast.SelectStatement, database: str | None
) -> list[Series]:
    """The series of ``stmt`` (none when nothing matches).

    Raises
    ------
    QueryError
        For what InfluxDB rejects (unknown database, mixed aggregates, …)
        and for results over the limits (:class:`LimitExceededError`).
    """
    check_select(stmt)
    topics = measurements(ctx.store, ctx.settings, stmt.sources, database)
    rng = time_range(stmt.condition, ctx.now_ns)
    if stmt.time_dimension is not None and rng.end_ns is None:
        rng = replace(rng, end_ns=ctx.now_ns + 1)
    if rng.empty:
        return []
    tags = {d.name: "" for d in stmt.dimensions if isinstance(d, ast.TagDimension)} or None
    series = []
    for topic in topics:
        one = _series_of(ctx, stmt, topic, rng, tags)
        if one is not None:
            series.append(one)
    stop = stmt.soffset + stmt.slimit if stmt.slimit else None
    return series[stmt.soffset : stop]
