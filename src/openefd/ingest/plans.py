"""Write plans: the fast path for a live feed that repeats the same shape of table.

A live feed sends each topic, second after second, as Arrow tables with the
same columns and types. The first such table goes through the full
validation (:meth:`openefd.ingest.writer.Writer.prepare`); if its columns map
one to one onto store columns, the mapping is kept as a plan, and later tables
with exactly the same Arrow schema are cast in one call and given their time
from ``private_efdStamp`` (or ``time_tai_ns``). Anything unusual — a cast
that fails, a missing or non-finite time, rows out of time order — returns
``None`` and the caller takes the full path, which explains the problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from openefd.store.columns import TIME_COLUMN
from openefd.timescales import UTC_EARLIEST_NS, seconds_to_ns, utc_offset_ns, utc_to_tai_ns

__all__ = ["DeferredRows", "WritePlans"]

_EFD_STAMP = "private_efdStamp"
_EARLIEST_S = UTC_EARLIEST_NS / 1e9
_LATEST_S = 9.2e9


_Bound = tuple[int, bool, int, int]  # incoming column, is a list, lowest, highest allowed


@dataclass(frozen=True, slots=True)
class _Plan:
    incoming: pa.Schema
    conformed: pa.Schema  # the full result, as Store.conform returns it
    # Per conformed column after time: (incoming column index, or -1 for nulls; its type).
    steps: tuple[tuple[int, pa.DataType], ...]
    # Integer columns cast to a narrower integer: their values must lie in the bounds.
    bounds: tuple[_Bound, ...]
    deferrable: bool  # every cast cannot fail, or is an integer narrowing checked by bounds
    cast_to: pa.Schema  # ``incoming`` with each mapped column's store type: one cast call
    time_index: int  # the incoming column holding the time: time_tai_ns, else private_efdStamp
    time_is_tai: bool  # time_tai_ns (integer TAI ns), not private_efdStamp (float UTC seconds)

    def conform(self, table: pa.Table, tai: np.ndarray) -> pa.Table | None:
        """``table`` (of schema ``incoming``) as the store's columns; None if a cast fails."""
        try:  # every column in one call; those of the right type pass through
            cast = table.cast(self.cast_to)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None
        arrays: list[pa.Array | pa.ChunkedArray] = [pa.array(tai, type=pa.int64())]
        for index, dtype in self.steps:
            arrays.append(pa.nulls(table.num_rows, dtype) if index < 0 else cast.column(index))
        return pa.Table.from_arrays(arrays, schema=self.conformed)

    def within_bounds(self, table: pa.Table) -> bool:
        """True when every narrowed integer value fits its store type (no nulls inside)."""
        for index, is_list, lo, hi in self.bounds:
            column = table.column(index)
            if is_list:
                column = column.combine_chunks().flatten()
            if column.null_count:
                return False
            values = column.to_numpy()
            if values.size and (int(values.min()) < lo or int(values.max()) > hi):
                return False
        return True


class DeferredRows(NamedTuple):
    """Accepted rows not yet cast to the store's types (see the module docstring).

    ``tai`` holds the rows' canonical TAI ns times; :meth:`conform_all` casts a
    run of them that share one plan in a single pass. A named tuple: one is made
    per live write, and a frozen dataclass costs several times more to make.
    """

    raw: pa.Table
    tai: np.ndarray
    plan: _Plan

    @property
    def num_rows(self) -> int:
        return int(self.raw.num_rows)

    @staticmethod
    def conform_all(run: list[DeferredRows]) -> pa.Table:
        """The rows of ``run`` (same plan) as one conformed table."""
        plan = run[0].plan
        # One contiguous run before the casts: each column is cast (or copied) once, and the
        # result needs no further combining before DuckDB reads it.
        raw = run[0].raw
        if len(run) > 1:
            raw = pa.concat_tables([d.raw for d in run]).combine_chunks()
        tai = np.concatenate([d.tai for d in run]) if len(run) > 1 else run[0].tai
        table = plan.conform(raw, tai)
        if table is None:  # pragma: no cover - deferred rows were checked to cast cleanly
            raise AssertionError("a deferred plan's cast failed")
        return table


def _element(dtype: pa.DataType) -> tuple[pa.DataType, bool]:
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return dtype.value_type, True
    return dtype, False


def _cast_rule(source: pa.DataType, target: pa.DataType) -> tuple[bool, tuple[int, int] | None]:
    """(deferrable, bounds): whether a cast can wait, and the value bounds it needs."""
    (src, src_list), (dst, dst_list) = _element(source), _element(target)
    if src_list != dst_list:
        return False, None
    if src == dst or (pa.types.is_floating(src) and pa.types.is_floating(dst)):
        return True, None  # float64 → float32 overflows to ±inf, as SAL's float does
    if pa.types.is_integer(src) and pa.types.is_integer(dst):
        have = np.iinfo(src.to_pandas_dtype())
        fits = np.iinfo(dst.to_pandas_dtype())
        if fits.min <= have.min and have.max <= fits.max:
            return True, None
        return True, (int(fits.min), int(fits.max))
    return False, None


class WritePlans:
    """Plans per topic, learned from tables the full path accepted."""

    def __init__(self) -> None:
        self._plans: dict[str, _Plan] = {}

    def learn(self, topic: str, incoming: pa.Table, conformed: pa.Table) -> None:
        """Keep a plan if ``incoming``'s columns map one to one onto ``conformed``'s."""
        names = [n for n in incoming.column_names if n != TIME_COLUMN]
        if not set(names) <= set(conformed.column_names):
            return  # flattened array elements were packed: no one-to-one plan
        if TIME_COLUMN not in incoming.column_names and _EFD_STAMP not in names:
            return
        steps = []
        bounds: list[_Bound] = []
        deferrable = True
        for field in conformed.schema:
            if field.name == TIME_COLUMN:
                continue
            if field.name not in names:
                steps.append((-1, field.type))
                continue
            index = incoming.schema.get_field_index(field.name)
            source = incoming.schema.field(index).type
            can_wait, limits = _cast_rule(source, field.type)
            deferrable = deferrable and can_wait
            if limits is not None:
                bounds.append((index, _element(source)[1], *limits))
            steps.append((index, field.type))
        targets = dict(zip(conformed.column_names, conformed.schema.types, strict=True))
        cast_to = pa.schema(
            [
                f.with_type(targets[f.name]) if f.name in targets and f.name != TIME_COLUMN else f
                for f in incoming.schema
            ]
        )
        is_tai = TIME_COLUMN in incoming.column_names
        self._plans[topic] = _Plan(
            incoming.schema,
            conformed.schema,
            tuple(steps),
            tuple(bounds),
            deferrable,
            cast_to,
            incoming.schema.get_field_index(TIME_COLUMN if is_tai else _EFD_STAMP),
            is_tai,
        )

    def _checked(self, topic: str, table: pa.Table) -> tuple[_Plan, np.ndarray] | None:
        plan = self._plans.get(topic)
        if plan is None or table.num_rows == 0 or not table.schema.equals(plan.incoming):
            return None
        tai = _times(table.column(plan.time_index), plan.time_is_tai)
        if tai is None or not bool((tai[1:] > tai[:-1]).all()):
            return None
        return plan, tai

    def apply(self, topic: str, table: pa.Table) -> pa.Table | None:
        """``table`` conformed by the topic's plan, or None to take the full path."""
        checked = self._checked(topic, table)
        return None if checked is None else checked[0].conform(table, checked[1])

    def defer(self, topic: str, table: pa.Table) -> DeferredRows | pa.Table | None:
        """Like :meth:`apply`, but rows known to cast cleanly come back uncast (deferred)."""
        checked = self._checked(topic, table)
        if checked is None:
            return None
        plan, tai = checked
        if plan.deferrable:
            return DeferredRows(table, tai, plan) if plan.within_bounds(table) else None
        return plan.conform(table, tai)


def _times(col: pa.ChunkedArray, is_tai: bool) -> np.ndarray | None:
    """TAI ns of a batch's time column (``time_tai_ns``, or ``private_efdStamp``); None if
    a value is missing or out of range."""
    if is_tai:
        if col.null_count or not pa.types.is_integer(col.type):
            return None
        return np.asarray(col.to_numpy(), dtype=np.int64)
    if col.null_count or not pa.types.is_floating(col.type):
        return None
    seconds = col.to_numpy()
    # NaN fails both comparisons; ±inf fails one.
    if not (seconds.min() >= _EARLIEST_S and seconds.max() <= _LATEST_S):
        return None
    utc = seconds_to_ns(seconds, checked=True)
    # One offset for the whole batch (a live feed's batch spans a second or so); a batch
    # that straddles a leap second takes the element-wise conversion. First and last are
    # the extremes of a batch in time order; any other fails the caller's order check
    # whichever offset it gets (one offset keeps the order of the UTC times).
    offset = utc_offset_ns(int(utc[0]), int(utc[-1])) if utc[0] <= utc[-1] else None
    if offset is None:
        return np.asarray(utc_to_tai_ns(utc), dtype=np.int64)
    utc += offset
    return utc
