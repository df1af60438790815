"""The layout of the 1-second aggregate rows, and building them from raw rows.

A telemetry aggregate table ``"<topic>@1s"`` has ``time_tai_ns`` (the second
it summarises), ``salIndex`` when the topic has one, ``rows``, and for every
numeric field ``f`` the columns ``f.mean``, ``f.min``, ``f.max``,
``f.median``, ``f.std`` and ``f.count`` (lists, element by element, for
array fields). :func:`stats_table` computes them from raw rows with
:mod:`openefd.store.agg_stats`; :mod:`openefd.store.aggregates` keeps the
tables up to date.

Events are not stored aggregated: :func:`event_seconds_sql` is the query
that shows each message once per second with ``repeats`` (how many
identical messages — same payload apart from the private stamps and the
message's own ``timestamp`` — arrived in that second) and ``last_tai_ns``,
run on the raw rows when asked.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from openefd.schema.model import SAL_INDEX_FIELD, FieldSchema, FieldType, TopicSchema
from openefd.store.agg_stats import STATS, group_starts, group_stats
from openefd.store.columns import TIME_COLUMN
from openefd.store.registry import quote_ident

__all__ = [
    "AGG_SUFFIX",
    "LAST_TIME",
    "NS",
    "REPEATS",
    "ROWS",
    "STAMP_FIELDS",
    "agg_table",
    "event_payload",
    "event_seconds_sql",
    "faster_than_1hz",
    "stat_column",
    "stat_fields",
    "stats_table",
]

AGG_SUFFIX = "@1s"
ROWS = "rows"
REPEATS = "repeats"
LAST_TIME = "last_tai_ns"
NS = 1_000_000_000
SEQ = "private_seqNum"
STAMP_FIELDS = frozenset({"timestamp"})  # a message's own time of issue, not its content


def agg_table(topic: str) -> str:
    return topic + AGG_SUFFIX


def stat_column(field: str, stat: str) -> str:
    return f"{field}.{stat}"


def event_payload(layout: TopicSchema) -> list[str]:
    """What makes two event messages "the same": fields but stamps (private ones, timestamp)."""
    return [
        f.name
        for f in layout.fields
        if (not f.private or f.name == SAL_INDEX_FIELD) and f.name not in STAMP_FIELDS
    ]


def event_seconds_sql(layout: TopicSchema, source: str, where: str) -> str:
    """SQL: the rows of ``source`` matching ``where`` (``" WHERE …"`` or ``""``, on its
    columns), each distinct message once per second — the first one, by time then
    sequence number — with ``repeats`` and ``last_tai_ns``."""
    payload = ", ".join(
        [f"{TIME_COLUMN} // {NS}"] + [quote_ident(c) for c in event_payload(layout)]
    )
    first_of = f"({TIME_COLUMN}{', ' + SEQ if layout.field(SEQ) else ''})"
    return (
        f"SELECT unnest(_first), {REPEATS}, {LAST_TIME} FROM (SELECT arg_min(t, {first_of}) "
        f"AS _first, count(*) AS {REPEATS}, max({TIME_COLUMN}) AS {LAST_TIME} "
        f"FROM (SELECT * FROM {source}{where}) t GROUP BY {payload})"
    )


def stat_fields(layout: TopicSchema) -> list[FieldSchema]:
    """The fields a telemetry aggregate summarises: numeric, not private, not salIndex."""
    return [
        f
        for f in layout.fields
        if not f.private and f.type is not FieldType.STRING and f.name != SAL_INDEX_FIELD
    ]


def faster_than_1hz(rows: pa.Table, times: npt.NDArray[np.int64]) -> bool:
    """Whether most (second, salIndex) groups of ``rows`` hold more than one row."""
    keys = np.floor_divide(times, NS)
    if SAL_INDEX_FIELD in rows.column_names:
        index = pc.fill_null(pc.cast(rows[SAL_INDEX_FIELD], pa.int64()), -1).to_numpy()
        keys = keys * 65_536 + (np.asarray(index, dtype=np.int64) % 65_536)
    _, counts = np.unique(keys, return_counts=True)
    return len(counts) > 0 and float(np.median(counts)) > 1


def _matrix(column: pa.ChunkedArray, is_array: bool) -> npt.NDArray[np.float64]:
    """A column as rows × elements float64, nulls (and missing elements) as NaN."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not is_array:
        return np.asarray(
            pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
        ).reshape(-1, 1)
    lengths = np.asarray(pc.fill_null(pc.list_value_length(array), 0), dtype=np.int64)
    width = int(lengths.max()) if len(lengths) else 0
    flat = pc.cast(pc.list_flatten(array), pa.float64()).to_numpy(zero_copy_only=False)
    if len(lengths) and int(lengths.min()) == width and array.null_count == 0:
        # Every row a whole array (SAL arrays have a fixed length): the values in order.
        return np.asarray(flat, dtype=np.float64).reshape(len(array), width)
    out = np.full((len(array), width), np.nan)
    if len(flat):
        rows = np.repeat(np.arange(len(array)), lengths)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        cols = np.arange(len(flat)) - np.repeat(starts, lengths)
        out[rows, cols] = flat
    return out


def stats_table(raw: pa.Table, fields: list[FieldSchema], indexed: bool) -> pa.Table:
    """The 1-second statistics of ``raw`` (sorted by salIndex, then time)."""
    times = np.asarray(raw[TIME_COLUMN].to_numpy(), dtype=np.int64)
    buckets = np.floor_divide(times, NS)
    keys = [buckets]
    index = None
    if indexed:
        index = np.asarray(
            pc.fill_null(pc.cast(raw[SAL_INDEX_FIELD], pa.int64()), -(2**62)).to_numpy(),
            dtype=np.int64,
        )
        keys = [index, buckets]
    starts = group_starts(keys)
    lengths = np.diff(np.append(starts, len(times)))
    out: dict[str, pa.Array] = {TIME_COLUMN: pa.array(buckets[starts] * NS, pa.int64())}
    if indexed:
        sal = pc.cast(raw[SAL_INDEX_FIELD], pa.int64())
        out[SAL_INDEX_FIELD] = pc.take(sal, pa.array(starts)).combine_chunks()
    out[ROWS] = pa.array(lengths, pa.int64())
    if len(times) == 0:
        return pa.table(out)
    scalars = [f for f in fields if not f.is_array]
    if scalars:  # every scalar field in one block: one pass of numpy for all of them
        block = np.column_stack([_matrix(raw[f.name], False)[:, 0] for f in scalars])
        result = group_stats(block, starts)
        for j, f in enumerate(scalars):
            for stat in STATS:
                out[stat_column(f.name, stat)] = _stat_array(result[stat][:, j], stat)
    for f in fields:
        if not f.is_array:
            continue
        values = _matrix(raw[f.name], True)
        result = group_stats(values, starts)
        width = values.shape[1]
        offsets = pa.array(np.arange(len(starts) + 1, dtype=np.int32) * width)
        for stat in STATS:
            flat = _stat_array(result[stat].ravel(), stat)
            out[stat_column(f.name, stat)] = pa.ListArray.from_arrays(offsets, flat)
    return pa.table({name: out[name] for name in _column_order(out, fields)})


def _stat_array(values: npt.NDArray[np.float64], stat: str) -> pa.Array:
    if stat == "count":
        return pa.array(values.astype(np.int64), pa.int64())
    return pa.array(values, pa.float64(), from_pandas=True)


def _column_order(out: dict[str, pa.Array], fields: list[FieldSchema]) -> list[str]:
    """Key columns, then each field's statistics in the order of the fields."""
    keys = [c for c in (TIME_COLUMN, SAL_INDEX_FIELD, ROWS) if c in out]
    return keys + [stat_column(f.name, stat) for f in fields for stat in STATS]
