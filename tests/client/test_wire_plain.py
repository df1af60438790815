"""A select's rows on the native API's wire, written without a DataFrame on the server.

``wire.rows_to_arrow(rows)`` must be what ``wire.frame_to_arrow(rows.frame())``
carries: ``frame_from_arrow`` gives back exactly ``rows.frame()`` (index,
dtypes, values, names), whether the rows go as plain columns or, when they
are not plain (nulls, strings, a clashing name), through the DataFrame.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from openefd.client import wire
from openefd.client.wire_plain import PLAIN, table_of_rows
from openefd.errors import TimeValueError
from openefd.query.rows import Rows

T0_TAI = 1714532437_000_000_000  # 2024-05-01T03:00:00Z as TAI ns


def _times(n: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    return T0_TAI + np.arange(n, dtype=np.int64) * 20_000_000


def _round_trip(rows: Rows) -> pd.DataFrame:
    return wire.frame_from_arrow(bytes(wire.rows_to_arrow(rows)))


PLAIN_COLUMNS: dict[str, np.ndarray[Any, Any]] = {
    "f32": np.array([0.1, -2.5, np.nan, 3e38], dtype=np.float32),
    "f64": np.array([0.1, 1e300, -0.0, np.inf]),
    "i64": np.array([1, -2, 3, 2**62], dtype=np.int64),
    "u64": np.array([1, 2, 3, 2**63], dtype=np.uint64),
    "i32": np.array([1, -2, 3, 4], dtype=np.int32),
    "u8": np.array([0, 1, 2, 255], dtype=np.uint8),
    "b": np.array([True, False, True, True]),
}


@pytest.mark.parametrize("time_scale", ["utc", "tai"])
@pytest.mark.parametrize("names", [["f32"], ["f32", "f64"], list(PLAIN_COLUMNS), []])
def test_plain_rows_come_back_as_their_frame(time_scale: str, names: list[str]) -> None:
    rows = Rows(_times(4), {n: PLAIN_COLUMNS[n] for n in names}, time_scale)
    table = table_of_rows(rows)
    assert table is not None and PLAIN in table.schema.metadata
    got = _round_trip(rows)
    want = rows.frame()
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert list(got.dtypes) == list(want.dtypes)
    assert got.index.name == ("time_tai" if time_scale == "tai" else None)
    if "f64" in names:
        assert np.signbit(got["f64"].iloc[2])  # -0.0 kept


def test_float32_fields_travel_as_float32() -> None:
    rows = Rows(_times(4), {"fx": PLAIN_COLUMNS["f32"], "d": PLAIN_COLUMNS["f64"]}, "utc")
    sent = pa.ipc.open_stream(bytes(wire.rows_to_arrow(rows))).read_all()
    assert sent.schema.field("fx").type == pa.float32()
    assert sent.schema.field("d").type == pa.float64()  # 0.1 and 1e300 are no float32
    assert sent.schema.field("__index_level_0__").type == pa.timestamp("ns", tz="UTC")
    assert sent.schema.metadata[PLAIN] == b'{"index_name":null,"float64":["fx"]}'


def test_the_client_frame_is_its_own_and_writable() -> None:
    rows = Rows(_times(3), {"a": np.array([1, 2, 3], dtype=np.float32)}, "utc")
    data = bytes(wire.rows_to_arrow(rows))
    frame = wire.frame_from_arrow(data)
    frame.iloc[0, 0] = 42.0
    frame["b"] = frame["a"] * 2
    assert frame["a"].tolist() == [42.0, 2.0, 3.0] and frame["b"].tolist() == [84.0, 4.0, 6.0]
    assert wire.frame_from_arrow(data)["a"].tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    "columns",
    [
        {"f": np.ma.masked_array([1.5, 2.5], mask=[False, True], dtype=np.float32)},
        {"i": np.ma.masked_array([1, 2], mask=[True, False], dtype=np.int64)},
        {"s": np.array(["dome", None], dtype=object), "f": np.array([1.0, 2.0])},
        {"time_tai": np.array([1.0, 2.0])},
    ],
    ids=["null-float", "null-int", "strings", "clashes-with-the-index"],
)
def test_rows_that_are_not_plain_go_through_the_frame(columns: dict[str, Any]) -> None:
    rows = Rows(_times(2), columns, "tai")
    assert table_of_rows(rows) is None
    pd.testing.assert_frame_equal(_round_trip(rows), rows.frame(), check_exact=True)


def test_an_unknown_time_scale_is_the_frames_error() -> None:
    rows = Rows(_times(2), {"a": np.array([1.0, 2.0])}, "gps")
    assert table_of_rows(rows) is None
    with pytest.raises(TimeValueError, match="unknown time scale 'gps'"):
        wire.rows_to_arrow(rows)


@settings(max_examples=60, deadline=None)
@given(
    values=hnp.arrays(np.float32, st.integers(0, 50), elements=st.floats(width=32)),
    step_ns=st.integers(1, 10**10),
    time_scale=st.sampled_from(["utc", "tai"]),
)
def test_any_float32_values_and_times_round_trip(
    values: np.ndarray[Any, Any], step_ns: int, time_scale: str
) -> None:
    times = T0_TAI + np.arange(len(values), dtype=np.int64) * step_ns
    rows = Rows(times, {"v": values, "w": values.astype(np.float64) / 3}, time_scale)
    got = _round_trip(rows)
    want = rows.frame()
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert np.array_equal(np.signbit(got["v"]), np.signbit(want["v"]))
