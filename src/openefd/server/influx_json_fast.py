"""The ``values`` of a series as InfluxDB 1.x JSON text, without a Python object per row.

The row-by-row encoder (:func:`.influx_values.series_rows`, then orjson)
makes a tuple per row and a Python object per value; for 30,000 rows × 4
columns that is most of an answer's time. Here each column becomes JSON
text on its own and the texts are interleaved into rows by byte ranges:

1. each column's values as a JSON array, with the end of every value known:
   numeric numpy columns through orjson's numpy serialiser (one C call;
   whole floats, which the reference writes as integers, are written again
   as int64 and patched in), the time column as epoch integers or RFC 3339
   text built in numpy (:mod:`.influx_time`), and any other column that
   holds no text (nulls in object columns, datetimes) as the reference
   encoder's Python values dumped by orjson: the same bytes by construction;
2. all values go into one Arrow string array, each with its comma, except
   that a value of the last column and its comma are two strings, and one
   more string is ``],[``;
3. Arrow's ``take`` copies, row by row, the row's values and ``],[``:
   ``t,a,b,c],[t,a,b,c],[…``, the rows, found again by their offsets (so
   chunks are slices).

The bytes are exactly those of the row-by-row encoder (a property test
compares the two). It declines (returns None) what it cannot write that
way: no rows, columns of unequal length, or text values (strings may hold
the comma it splits on); the caller then uses the row-by-row encoder.
A float64 written by orjson's numpy path must read the same as one written
from a Python float; that is checked once, on tricky values, at import —
if it ever differs, float columns go through Python values too. Large
buffers come from Arrow's memory pool, which reuses freed memory, where
fresh pages from malloc cost a page fault per 4 kB on every answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa

from openefd.query.influxql.results import Series
from openefd.server.influx_time import epoch_array, rfc3339nano_json
from openefd.server.influx_values import INT64_LIMIT, column_list, float_list

__all__ = ["RowsJson", "joined", "rows_json"]

_COMMA = 44
_LAST_SEPARATOR = b"],["  # every row of the joined text ends with it
_NUMPY = orjson.OPT_SERIALIZE_NUMPY
_SMALL = 2**31 - 1  # sizes that fit Arrow's 32-bit offsets and indices
Int64s = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RowsJson:
    """Rows as JSON text: ``text`` holds ``t,a,b],[t,a,b],[…``, each row's values then ``],[``.

    Row ``i`` spans ``text[starts[i]:starts[i + 1]]``; ``starts`` has one
    offset per row and one past the end.
    """

    text: memoryview
    starts: Int64s

    def __len__(self) -> int:
        return int(self.starts.shape[0]) - 1

    def values(self, start: int = 0, stop: int | None = None) -> list[bytes | memoryview]:
        """The JSON array of rows ``start`` to ``stop`` (exclusive), in parts to join."""
        end = len(self) if stop is None else min(stop, len(self))
        if end <= start:
            return [b"[]"]
        body = self.text[int(self.starts[start]) : int(self.starts[end]) - len(_LAST_SEPARATOR)]
        return [b"[[", body, b"]]"]


def joined(parts: Sequence[bytes | memoryview]) -> memoryview:
    """``parts`` back to back in one buffer of Arrow's pool (see :func:`_arrow_array`)."""
    buffer, out = _arrow_array(sum(len(p) for p in parts), np.uint8)
    position = 0
    for part in parts:
        size = len(part)
        out[position : position + size] = np.frombuffer(part, dtype=np.uint8)
        position += size
    return memoryview(buffer)


def _numpy_floats_agree() -> bool:
    """Whether orjson writes float64 arrays exactly as it writes Python floats."""
    finite = [0.1, -2.5, 1e-7, 1.5e-5, 1e16 + 2, 1.7976931348623157e308, 5e-324, -1e22, 12.75]
    probe = np.array([*finite, np.nan, np.inf, -np.inf])
    as_python = [None if not np.isfinite(x) else x for x in probe.tolist()]
    return orjson.dumps(probe, option=_NUMPY) == orjson.dumps(as_python)


_FLOATS_BY_NUMPY = _numpy_floats_agree()


def _arrow_array(count: int, dtype: type[np.generic]) -> tuple[pa.Buffer, npt.NDArray[Any]]:
    """A new buffer from Arrow's memory pool and a writable numpy view of it.

    Arrow's allocator keeps freed memory for the next answer, where malloc
    often hands out fresh pages: a page fault per 4 kB, on every answer
    (measured for 30,000 rows × 4 columns: ~1,500 faults, a quarter of the
    encoding time, before the encoder's large buffers came from here).
    """
    buffer = pa.allocate_buffer(count * np.dtype(dtype).itemsize)
    return buffer, np.frombuffer(buffer, dtype=dtype)


@dataclass(frozen=True, slots=True)
class _Values:
    """Values of one column as a JSON array ``[v,v,…,v]``.

    ``ends[j]``: the offset, in the array's inside ``v,v,…,v``, just past
    value ``j``'s comma (for the last value, where its comma would be);
    None: found by looking for the commas.
    """

    array: bytes
    ends: Int64s | None = None

    def inside(self) -> memoryview:
        return memoryview(self.array)[1:-1]

    def value_ends(self) -> Int64s:
        if self.ends is not None:
            return self.ends
        inside = np.frombuffer(self.inside(), dtype=np.uint8)
        _, is_comma = _arrow_array(inside.shape[0], np.bool_)
        commas = np.flatnonzero(np.equal(inside, _COMMA, out=is_comma))
        _, out = _arrow_array(commas.shape[0] + 1, np.int64)
        np.add(commas, 1, out=out[:-1])
        out[-1] = inside.shape[0] + 1
        return out


@dataclass(frozen=True, slots=True)
class _ColumnJson:
    """A column's values; ``patch`` replaces those of rows ``patched`` (in order)."""

    values: _Values
    patch: _Values | None = None
    patched: Int64s | None = None


def _numpy_json(values: np.ndarray[Any, Any]) -> _Values:
    return _Values(orjson.dumps(np.ascontiguousarray(values), option=_NUMPY))


def _fixed_width_ends(values: Int64s) -> Int64s | None:
    """Value ends of integers that all print with the same width, else None (look)."""
    low, high = int(values.min()), int(values.max())
    if (low < 0) != (high < 0) or len(str(low)) != len(str(high)):
        return None
    return np.arange(1, values.shape[0] + 1, dtype=np.int64) * (len(str(low)) + 1)


def _time_json(values: np.ndarray[Any, Any] | Sequence[Any], divisor: int | None) -> _ColumnJson:
    utc_ns = np.asarray(values, dtype=np.int64)
    if divisor is None:
        return _ColumnJson(_Values(*rfc3339nano_json(utc_ns)))
    epoch = np.ascontiguousarray(epoch_array(utc_ns, divisor))
    return _ColumnJson(_Values(orjson.dumps(epoch, option=_NUMPY), _fixed_width_ends(epoch)))


def _float_json(values: np.ndarray[Any, Any]) -> _ColumnJson:
    """Floats as :func:`.float_list` writes them: whole ones (below 2**63) as integers.

    orjson writes every value as a float; the whole ones are then written
    again as int64 and patched in. NaN and ±Inf are ``null`` either way.
    """
    floats = np.ascontiguousarray(values, dtype=np.float64)
    if not _FLOATS_BY_NUMPY:
        return _ColumnJson(_Values(orjson.dumps(float_list(floats))))
    with np.errstate(invalid="ignore"):
        whole = (np.trunc(floats) == floats) & (np.abs(floats) < INT64_LIMIT)
    patched = np.flatnonzero(whole)
    if patched.shape[0] == floats.shape[0]:
        return _ColumnJson(_numpy_json(floats.astype(np.int64)))
    as_floats = _numpy_json(floats)
    if not patched.shape[0]:
        return _ColumnJson(as_floats)
    return _ColumnJson(as_floats, _numpy_json(floats[patched].astype(np.int64)), patched)


def _value_json(values: np.ndarray[Any, Any] | Sequence[Any]) -> _ColumnJson | None:
    """A value column as JSON, or None when it holds text (which may hold commas)."""
    if isinstance(values, np.ndarray) and values.dtype.isnative:
        kind = values.dtype.kind
        if kind in "iub":
            return _ColumnJson(_numpy_json(values))
        if kind == "f":
            return _float_json(values)
    items = column_list(values)
    if any(type(v) is str for v in items) and not (
        isinstance(values, np.ndarray) and values.dtype.kind == "M"  # RFC 3339: no commas
    ):
        return None
    return _ColumnJson(_Values(orjson.dumps(items)))


def _length(series: Series) -> int | None:
    lengths = {len(column) for column in series.values}
    return lengths.pop() if len(lengths) == 1 else None


def rows_json(series: Series, divisor: int | None) -> RowsJson | None:
    """The rows of ``series`` as JSON text; time per ``divisor`` (None: RFC 3339 text).

    None when this encoder does not apply (no rows, unequal columns, text
    values); :func:`.influx_values.series_rows` then gives the rows.
    """
    count = _length(series) if series.values else None
    if not count:
        return None
    columns: list[_ColumnJson] = []
    for i, column in enumerate(series.values):
        if i == 0 and series.time_column:
            columns.append(_time_json(column, divisor))
            continue
        json = _value_json(column)
        if json is None:
            return None
        columns.append(json)
    return _interleave(columns, count)


def _interleave(columns: list[_ColumnJson], count: int) -> RowsJson | None:
    """Rows from the columns' values: copied in row order by Arrow's take.

    Every value goes into one string array: with the comma after it, but
    for the last column the value and its comma are two strings, and one
    more string is ``],[``. Row ``i`` is then taken as its values and
    ``],[``: ``t,`` ``a,`` ``b`` ``],[``.
    """
    width = len(columns)
    parts = [
        (k, part, rows)
        for k, column in enumerate(columns)
        for part, rows in zip(
            [column.values] if column.patch is None else [column.values, column.patch],
            (None, column.patched),
            strict=False,
        )
    ]
    all_ends = [part.value_ends() for _, part, _ in parts]
    for (_, _, rows), ends in zip(parts, all_ends, strict=True):
        if ends.shape[0] != (count if rows is None else rows.shape[0]):
            return None  # a value held a comma after all: not for this encoder
    last_values = sum(
        e.shape[0] for (k, _, _), e in zip(parts, all_ends, strict=True) if k == width - 1
    )
    strings = sum(e.shape[0] for e in all_ends) + last_values + 1
    size = sum(len(part.array) - 1 for _, part, _ in parts) + len(_LAST_SEPARATOR)
    small = size < _SMALL and strings * 2 < _SMALL  # Arrow's string: 32-bit offsets
    index_type = np.int32 if small else np.int64
    text_buffer, text = _arrow_array(size, np.uint8)
    offsets_buffer, offsets = _arrow_array(strings + 1, index_type)
    _, order = _arrow_array(count * (width + 1), index_type)
    order = order.reshape(count, width + 1)
    offsets[0] = 0
    position = 0  # bytes so far
    index = 0  # strings so far
    for (k, part, rows), ends in zip(parts, all_ends, strict=True):
        inside = np.frombuffer(part.inside(), dtype=np.uint8)
        text[position : position + inside.shape[0]] = inside
        text[position + inside.shape[0]] = _COMMA
        found = ends.shape[0]
        if k < width - 1:
            np.add(ends, position, out=offsets[index + 1 : index + 1 + found], casting="unsafe")
            taken = np.arange(index, index + found)
            index += found
        else:  # the value, then its comma
            pairs = offsets[index + 1 : index + 1 + 2 * found]
            np.add(ends, position - 1, out=pairs[0::2], casting="unsafe")
            np.add(ends, position, out=pairs[1::2], casting="unsafe")
            taken = np.arange(index, index + 2 * found, 2)
            index += 2 * found
        if rows is None:
            order[:, k] = taken
        else:
            order[rows, k] = taken
        position += inside.shape[0] + 1
    text[position:] = np.frombuffer(_LAST_SEPARATOR, dtype=np.uint8)
    offsets[index + 1] = size
    order[:, width] = index
    if bool((offsets[1:] <= offsets[:-1]).any()):
        return None  # not the text expected (Arrow would read out of bounds): decline
    kind = pa.StringArray if small else pa.LargeStringArray
    strings_array = kind.from_buffers(strings, offsets_buffer, text_buffer)
    rows_text = strings_array.take(pa.array(order.reshape(-1)))
    row_offsets = np.frombuffer(rows_text.buffers()[1], dtype=index_type)
    first = rows_text.offset
    starts = row_offsets[first : first + (width + 1) * count + 1 : width + 1].astype(np.int64)
    return RowsJson(memoryview(rows_text.buffers()[2]), starts)
