"""Splitting list columns into element columns, whole or ragged."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from openefd.query.arrays import element_columns


def test_regular_lists_split_by_reshape() -> None:
    arr = pa.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    cols = element_columns(arr, [2, 0, 5])
    assert cols[0].tolist() == [3.0, 6.0]
    assert cols[1].tolist() == [1.0, 4.0]
    assert np.isnan(cols[2]).all()  # beyond the length: missing


def test_ragged_and_null_lists() -> None:
    arr = pa.chunked_array([pa.array([[1, 2], None]), pa.array([[3], [4, None, 6]])])
    zero, one, two = element_columns(arr, [0, 1, 2])
    assert zero.tolist()[0] == 1 and np.isnan(zero[1]) and zero.tolist()[2:] == [3, 4]
    assert one[0] == 2 and np.isnan(one[1:]).all()
    assert np.isnan(two[:3]).all() and two[3] == 6


def test_strings_and_booleans_keep_none() -> None:
    cols = element_columns(pa.array([["a", None], ["c", "d"]]), [1])
    assert cols[0].tolist() == [None, "d"]
    flags = element_columns(pa.array([[True], []]), [0])
    assert flags[0].tolist() == [True, None]
