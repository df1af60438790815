"""The plain frame on the native API's wire: a time index and numeric columns.

Most answers are a time index in ns (tz-aware UTC, or naive TAI) and columns
of numbers or booleans. Such a frame travels as plain Arrow columns, the index
last (named as pandas names it: its name, or ``__index_level_0__``), without
pandas metadata, which costs more to write and read than the values do. The
schema metadata ``openefd.plain_frame`` is JSON: ``index_name``, and under
``float64`` the float64 columns sent as float32 because every value is a
float32 (SAL's float, stored so; 40 % less to send).

The server writes it from a DataFrame (:func:`table_of_frame`) or, for a
select, straight from the query's rows (:func:`table_of_rows`: no DataFrame
built on the server); the client reads either with :func:`frame_of_table`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

from openefd.query.rows import Rows
from openefd.timescales import tai_to_utc_ns

__all__ = ["PLAIN", "frame_of_table", "table_of_frame", "table_of_rows"]

PLAIN = b"openefd.plain_frame"
_KINDS = frozenset("fiub")
_UTC_NS = pa.timestamp("ns", tz="UTC")
_NAIVE_NS = pa.timestamp("ns")


def _index_column(index_name: Any, names: Sequence[Any]) -> str | None:
    """The index's column name, or None when the names do not fit the plain form."""
    column = "__index_level_0__" if index_name is None else index_name
    if (
        not isinstance(column, str)
        or not all(isinstance(name, str) for name in names)
        or len({*names, column}) != len(names) + 1
    ):
        return None
    return column


def _narrowed(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any] | None:
    """float64 ``values`` as float32 when every one is a float32, else None."""
    with np.errstate(over="ignore", invalid="ignore"):  # too big: stays float64
        narrow = values.astype(np.float32)
    return narrow if np.array_equal(narrow.astype(np.float64), values, equal_nan=True) else None


def _table(
    names: list[str],
    columns: list[np.ndarray[Any, Any]],
    stamps: pa.Array,
    index_name: str | None,
    index_column: str,
    widen_float32: bool,
) -> pa.Table:
    """The plain table; ``widen_float32``: float32 columns are float64 ones sent narrow."""
    arrays = []
    widen = []
    for name, values in zip(names, columns, strict=True):
        if values.dtype == np.float32 and widen_float32:
            widen.append(name)
        elif values.dtype == np.float64:
            narrow = _narrowed(values)
            if narrow is not None:
                widen.append(name)
                values = narrow
        arrays.append(pa.array(values))
    meta = orjson.dumps({"index_name": index_name, "float64": widen})
    return pa.Table.from_arrays(
        [*arrays, stamps], names=[*names, index_column], metadata={PLAIN: meta}
    )


def table_of_frame(frame: pd.DataFrame) -> pa.Table | None:
    """The plain table of ``frame``; None unless it has a time index in ns (naive or
    UTC) and numeric or boolean columns with distinct string names."""
    index = frame.index
    if type(index) is not pd.DatetimeIndex or index.unit != "ns":
        return None
    if index.tz is not None and str(index.tz) != "UTC":
        return None
    names = list(frame.columns)
    index_column = _index_column(index.name, names)
    if index_column is None:
        return None
    columns = [frame[name] for name in names]
    if not all(isinstance(c.dtype, np.dtype) and c.dtype.kind in _KINDS for c in columns):
        return None
    stamps = pa.array(index.asi8).view(_UTC_NS if index.tz else _NAIVE_NS)
    values = [c.to_numpy() for c in columns]
    name = index.name if isinstance(index.name, str) else None  # else None already
    return _table(names, values, stamps, name, index_column, widen_float32=False)


def table_of_rows(rows: Rows) -> pa.Table | None:
    """The plain table of ``rows.frame()``, made without it; None when that frame is
    not plain (nulls, strings, a clashing name) or ``rows.frame()`` would raise."""
    if rows.time_scale == "utc":
        index_name = None
        stamps = pa.array(tai_to_utc_ns(rows.times_tai_ns)).view(_UTC_NS)
    elif rows.time_scale == "tai":
        index_name = "time_tai"
        stamps = pa.array(rows.times_tai_ns).view(_NAIVE_NS)
    else:
        return None  # rows.frame() says what is wrong
    names = list(rows.columns)
    index_column = _index_column(index_name, names)
    values = list(rows.columns.values())
    if index_column is None or not all(
        type(v) is np.ndarray and v.dtype.kind in _KINDS for v in values
    ):
        return None
    return _table(names, values, stamps, index_name, index_column, widen_float32=True)


def _float64_block(columns: list[pa.ChunkedArray], rows: int) -> np.ndarray[Any, Any]:
    """The columns widened to float64, one row each of a 2-D block in Arrow's memory pool.

    One block is what pandas would consolidate them into anyway. Arrow's pool keeps
    freed memory for the next answer; a fresh block from the C allocator was
    returned to the system and faulted back in page by page each time, which cost
    more than filling it.
    """
    if rows == 0:
        return np.empty((len(columns), 0))
    buffer = pa.allocate_buffer(len(columns) * rows * 8)
    block = np.frombuffer(buffer, dtype=np.float64).reshape(len(columns), rows)
    for row, column in zip(block, columns, strict=True):
        row[:] = column.to_numpy()
    return block


def frame_of_table(table: pa.Table, meta: bytes) -> pd.DataFrame:
    """The DataFrame a plain table (schema metadata ``meta``) holds."""
    last = table.num_columns - 1
    stamps = table.column(last)
    values = stamps.cast(pa.int64()).to_numpy().view("datetime64[ns]")
    tz = "UTC" if stamps.type.tz is not None else None
    info = orjson.loads(meta)
    index = pd.DatetimeIndex(values, tz=tz, name=info["index_name"])
    widen = set(info.get("float64", ()))
    names = table.column_names[:last]
    columns = [table.column(i) for i in range(last)]
    if names and all(
        name in widen or column.type == pa.float64()
        for name, column in zip(names, columns, strict=True)
    ):
        block = _float64_block(columns, table.num_rows)
        return pd.DataFrame(block.T, index=index, columns=names, copy=False)
    frame = {}
    for name, column in zip(names, columns, strict=True):
        data = column.to_numpy()
        frame[name] = data.astype(np.float64) if name in widen else data
    return pd.DataFrame(frame, index=index)
