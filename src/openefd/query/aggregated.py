"""Reading the 1-second aggregates (DMTN-082 §10.3) through the select API.

``resolution="1s"`` answers telemetry from the tables that
:mod:`openefd.store.aggregates` keeps: one row per second (and ``salIndex``)
with the asked statistics of each field. Telemetry at 1 Hz or slower has no
table: its statistics are computed from the raw rows on the fly, the same
way. Events are computed from the raw rows too: each message once per second
with ``repeats`` (:func:`openefd.store.agg_rows.event_seconds_sql`);
commands come back as stored. Aggregates follow committed data: a writable
store brings the topic's aggregates up to date first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from openefd.errors import QueryError
from openefd.query.arrays import plain_numpy
from openefd.query.fields import ColumnRef, resolve_fields
from openefd.query.select import (
    RowSelect,
    array_lengths,
    run_select,
    sorted_in_sql,
    topic_source,
    where_sql,
)
from openefd.query.time_order import in_time_order
from openefd.schema.model import SAL_INDEX_FIELD, FieldType, TopicSchema
from openefd.store.agg_rows import (
    NS,
    REPEATS,
    agg_table,
    event_seconds_sql,
    stat_column,
    stat_fields,
    stats_table,
)
from openefd.store.agg_stats import STATS
from openefd.store.columns import TIME_COLUMN
from openefd.store.duckdb_store import Store
from openefd.store.registry import quote_ident
from openefd.timeinput import tai_ns_to_index

__all__ = ["RESOLUTIONS", "event_seconds", "normalize_stats", "run_aggregated"]

RESOLUTIONS = ("1s",)


def normalize_stats(stats: str | Sequence[str]) -> tuple[list[str], bool]:
    """The statistics asked for, and whether columns keep the field names (one stat)."""
    single = isinstance(stats, str)
    names = [stats] if isinstance(stats, str) else list(stats)
    if not names:
        raise QueryError(f"no statistics asked for; choose from {', '.join(STATS)}")
    for s in names:
        if s not in STATS:
            raise QueryError(f"unknown statistic {s!r}; choose from {', '.join(STATS)}")
    return names, single


def _catch_up(store: Store, topic: str) -> None:
    aggs = store.aggregates
    if not store.read_only and aggs.dirty(topic):
        with store.transaction():
            aggs.refresh([topic], include_open=True)


def _stat_sql(ref: ColumnRef, stat: str) -> str:
    column = quote_ident(stat_column(ref.field.name, stat))
    return column if ref.element is None else f"{column}[{ref.element + 1}]"


def _output_name(ref: ColumnRef, stat: str, single: bool) -> str:
    return ref.name if single else f"{ref.name}_{stat}"


def _check_numeric(layout: TopicSchema, refs: list[ColumnRef]) -> None:
    numeric = {f.name for f in stat_fields(layout)} | {SAL_INDEX_FIELD}
    for r in refs:
        if r.field.name not in numeric:
            why = "text" if r.field.type is FieldType.STRING else "a private field"
            raise QueryError(
                f"field {r.name!r} of {layout.name} is {why} and has no 1-second statistics; "
                "select it without resolution"
            )


def _frame(times: Any, columns: dict[str, Any], time_scale: str) -> pd.DataFrame:
    return pd.DataFrame(
        columns, index=tai_ns_to_index(np.asarray(times, dtype=np.int64), time_scale), copy=False
    )


def run_aggregated(
    store: Store, req: RowSelect, stats: str | Sequence[str] = "mean"
) -> pd.DataFrame:
    """``req`` answered at 1-second resolution; see the module docstring."""
    names, single = normalize_stats(stats)
    if req.start_tai_ns is not None:  # from the second holding the start: whole seconds
        req = replace(req, start_tai_ns=(req.start_tai_ns // NS) * NS)
    layout = store.layout(req.topic)
    mode = store.aggregates.mode(req.topic)
    if layout.kind.value == "command":
        return run_select(store, req)
    refs = resolve_fields(layout, req.fields, array_lengths(store, layout))
    if layout.kind.value == "event":
        return _events(store, req, layout, refs)
    _catch_up(store, req.topic)
    if mode == "stats" and store.aggregates.has_table(req.topic):
        _check_numeric(layout, refs)
        return _from_table(store, req, layout, refs, names, single)
    _check_numeric(layout, refs)
    return _on_the_fly(store, req, layout, refs, names, single)


def _select_sql(req: RowSelect, layout: TopicSchema, items: list[str]) -> tuple[str, list[object]]:
    where, params = where_sql(req, layout)
    order = ""
    if sorted_in_sql(req):
        order = f" ORDER BY {TIME_COLUMN}{' DESC' if req.descending else ''}"
    sql = (
        f"SELECT {', '.join([TIME_COLUMN, *items])} FROM {quote_ident(agg_table(req.topic))}"
        f"{where}{order}"
    )
    if req.limit is not None:
        sql += f" LIMIT {int(req.limit)}"
    return sql, params


def _from_table(
    store: Store,
    req: RowSelect,
    layout: TopicSchema,
    refs: list[ColumnRef],
    names: list[str],
    single: bool,
) -> pd.DataFrame:
    items: list[str] = []
    for r in refs:
        if r.field.name == SAL_INDEX_FIELD:
            items.append(f"{quote_ident(SAL_INDEX_FIELD)} AS {quote_ident(r.name)}")
            continue
        for stat in names:
            alias = quote_ident(_output_name(r, stat, single))
            items.append(f"{_stat_sql(r, stat)} AS {alias}")
    sql, params = _select_sql(req, layout, items)
    columns = dict(store.cursor().execute(sql, params).fetchnumpy())
    times = columns.pop(TIME_COLUMN)
    if not sorted_in_sql(req):
        times, columns = in_time_order(np.asarray(times, dtype=np.int64), columns)
    return _frame(times, columns, req.time_scale)


def event_seconds(store: Store, req: RowSelect, items: Sequence[str] | None = None) -> pa.Table:
    """The 1-second view of an event topic over ``req``'s range: ``time_tai_ns``,
    ``items`` (SQL on the topic's columns; all columns if None), ``repeats`` and
    ``last_tai_ns``, ordered by time per ``req``. A message counts in its second;
    a group is in the range when its first message is."""
    layout = store.layout(req.topic)
    whole = _whole_seconds(req)
    where, params = where_sql(whole, layout)
    outer, outer_params = where_sql(req, layout)  # a group counts where its first message is
    chosen = ", ".join([TIME_COLUMN, *(items or ["* EXCLUDE (time_tai_ns)"])])
    with topic_source(
        store, layout, start_tai_ns=whole.start_tai_ns, end_tai_ns=whole.end_tai_ns
    ) as source:
        sql = (
            f"SELECT {chosen} FROM ({event_seconds_sql(layout, source, where)}){outer} "
            f"ORDER BY {TIME_COLUMN}{' DESC' if req.descending else ''}"
        )
        if req.limit is not None:
            sql += f" LIMIT {int(req.limit)}"
        return store.cursor().sql(sql, params=[*params, *outer_params]).to_arrow_table()


def _numpy(values: pa.ChunkedArray) -> np.ndarray[Any, Any]:
    if pa.types.is_boolean(values.type) and values.null_count == 0:
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)
    return plain_numpy(values)


def _events(
    store: Store, req: RowSelect, layout: TopicSchema, refs: list[ColumnRef]
) -> pd.DataFrame:
    items = [f"{r.sql} AS {quote_ident(r.name)}" for r in refs] + [REPEATS]
    table = event_seconds(store, req, items)
    columns = {name: _numpy(table[name]) for name in table.column_names}
    times = columns.pop(TIME_COLUMN)
    return _frame(times, columns, req.time_scale)


def _whole_seconds(req: RowSelect) -> RowSelect:
    """The raw rows of the seconds that start in ``req``'s range, all of each: what an
    aggregate table's rows in that range summarise (they are labelled by their second)."""
    start = None if req.start_tai_ns is None else -(-req.start_tai_ns // NS) * NS
    end = req.end_tai_ns
    if end is not None:
        last = end // NS if req.end_inclusive else -(-end // NS) - 1
        end = (last + 1) * NS
    return replace(req, start_tai_ns=start, end_tai_ns=end, end_inclusive=False)


def _on_the_fly(
    store: Store,
    req: RowSelect,
    layout: TopicSchema,
    refs: list[ColumnRef],
    names: list[str],
    single: bool,
) -> pd.DataFrame:
    """Statistics of a topic without an aggregate table, from its raw rows."""
    fields = [f for f in stat_fields(layout) if any(r.field.name == f.name for r in refs)]
    indexed = layout.field(SAL_INDEX_FIELD) is not None
    cols = [TIME_COLUMN] + ([quote_ident(SAL_INDEX_FIELD)] if indexed else [])
    cols += [quote_ident(f.name) for f in fields]
    where, params = where_sql(_whole_seconds(req), layout)
    with topic_source(store, layout) as source:
        sql = (
            f"SELECT {', '.join(cols)} FROM {source}{where} ORDER BY "
            f"{quote_ident(SAL_INDEX_FIELD) + ', ' if indexed else ''}{TIME_COLUMN}"
        )
        raw = store.cursor().sql(sql, params=params).to_arrow_table()
    table = stats_table(raw, fields, indexed).sort_by(TIME_COLUMN)
    out: dict[str, np.ndarray] = {}
    for r in refs:
        if r.field.name == SAL_INDEX_FIELD:
            out[r.name] = table[SAL_INDEX_FIELD].to_numpy()
            continue
        for stat in names:
            column = table[stat_column(r.field.name, stat)]
            if r.element is None:
                values = column.to_numpy(zero_copy_only=False)
            else:
                values = np.array(
                    [
                        v[r.element] if v is not None and r.element < len(v) else None
                        for v in column.to_pylist()
                    ],
                    dtype=np.float64,
                )
            out[_output_name(r, stat, single)] = values
    times = table[TIME_COLUMN].to_numpy()
    if req.descending:
        times = times[::-1]
        out = {k: v[::-1] for k, v in out.items()}
    if req.limit is not None:
        times = times[: req.limit]
        out = {k: v[: req.limit] for k, v in out.items()}
    return _frame(times, out, req.time_scale)
