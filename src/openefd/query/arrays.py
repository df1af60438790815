"""Splitting array (list) columns into the EFD's flattened element columns.

Reading a whole list column once and cutting it in numpy is far cheaper than
asking DuckDB for each element (``"zForce"[1]``, ``"zForce"[2]``, …): a
156-element array over 50 rows took ~60 ms element by element, ~5 ms whole.
Missing elements (a shorter or null list) come out as NaN for numbers and
None otherwise, as an EFD field absent from a row does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["element_columns", "plain_numpy"]


def plain_numpy(values: pa.Array | pa.ChunkedArray) -> np.ndarray[Any, Any]:
    """A numpy array for an Arrow array: nulls as NaN (numbers) or None (others)."""
    if values.null_count == 0 and (
        pa.types.is_integer(values.type) or pa.types.is_floating(values.type)
    ):
        return np.asarray(values.to_numpy(zero_copy_only=False))
    if pa.types.is_floating(values.type) or pa.types.is_integer(values.type):
        return np.asarray(
            values.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
        )
    return np.asarray(values.to_pylist(), dtype=object)


def element_columns(
    column: pa.ChunkedArray | pa.Array, indices: Sequence[int]
) -> list[np.ndarray[Any, Any]]:
    """Element ``i`` of every row's list, for each ``i`` in ``indices``."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if isinstance(arr, pa.FixedSizeListArray):
        arr = arr.cast(pa.list_(arr.type.value_type))
    n = len(arr)
    lengths = pc.list_value_length(arr).fill_null(0).to_numpy(zero_copy_only=False)
    flat = plain_numpy(pc.list_flatten(arr))
    if n and arr.null_count == 0 and (lengths == lengths[0]).all():
        matrix = flat.reshape(n, int(lengths[0])) if lengths[0] else flat.reshape(n, 0)
        width = matrix.shape[1]
        return [matrix[:, i] if i < width else _missing(n, flat.dtype) for i in indices]
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    out = []
    for i in indices:
        have = lengths > i
        column_i = _missing(n, flat.dtype)
        column_i[have] = flat[starts[have] + i]
        out.append(column_i)
    return out


def _missing(n: int, dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    if dtype.kind == "f" or dtype.kind in "iu":
        return np.full(n, np.nan)
    return np.full(n, None, dtype=object)
