"""The benchmark's vectorised line protocol, read back by openefd's exact parser."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from openefd.ingest.line_protocol import parse_line_protocol

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # bench/ is not an installed package
    sys.path.insert(0, str(REPO))

from bench.lp_fast import line_body  # noqa: E402

TOPIC = "lsst.sal.Test.topic"


def _parse(body: bytes) -> list:
    return parse_line_protocol(body.decode())


def test_every_type_round_trips() -> None:
    table = pa.table(
        {
            "time_tai_ns": pa.array([1, 2, 3], pa.int64()),  # the row time, not a field
            "d": pa.array([0.1, -1e300, 5e-324]),
            "f": pa.array(np.array([0.1, 2.5, -3.25], dtype=np.float32)),
            "i": pa.array([-(2**31), 0, 2**31 - 1], pa.int32()),
            "ll": pa.array([-(2**63), 7, 2**63 - 1], pa.int64()),
            "b": pa.array([True, False, True]),
            "s": pa.array(['a "quoted" \\ back', "comma, = space", ""]),
            "arr": pa.array([[1.5, 2.5], [3.5, 4.5], [5.5, 6.5]], pa.list_(pa.float64())),
            "iarr": pa.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], pa.list_(pa.int32())),
        }
    )
    utc = np.array([1714600800_000000001, 1714600800_020000000, 1714600801_999999999])
    points = _parse(line_body(TOPIC, table, utc).bytes())
    assert [p.timestamp for p in points] == utc.tolist()
    assert all(p.measurement == TOPIC and p.tags == {} for p in points)
    for row, p in enumerate(points):
        want = {
            "d": table["d"][row].as_py(),
            "f": float(np.float32(table["f"][row].as_py())),
            "i": table["i"][row].as_py(),
            "ll": table["ll"][row].as_py(),
            "b": table["b"][row].as_py(),
            "s": table["s"][row].as_py(),
            **{f"arr{k}": v for k, v in enumerate(table["arr"][row].as_py())},
            **{f"iarr{k}": v for k, v in enumerate(table["iarr"][row].as_py())},
        }
        assert p.fields == want
        assert type(p.fields["i"]) is int and type(p.fields["d"]) is float


def test_nan_null_and_short_lists_are_left_out() -> None:
    table = pa.table(
        {
            "x": pa.array([math.nan, 1.0, None, math.inf]),
            "s": pa.array([None, "a", None, None]),
            "arr": pa.array([[1.0], [2.0, 3.0], None, [4.0, 5.0]], pa.list_(pa.float64())),
        }
    )
    body = line_body(TOPIC, table, np.arange(4) + 1714600800_000000000)
    points = _parse(body.bytes())
    assert [p.fields for p in points] == [
        {"arr0": 1.0},
        {"x": 1.0, "s": "a", "arr0": 2.0, "arr1": 3.0},
        {"arr0": 4.0, "arr1": 5.0},
    ]
    assert body.lines == 3  # the row with no field left is dropped


def test_array_elements_keep_their_index() -> None:
    table = pa.table(
        {
            "v": pa.array([[1.0, math.nan, 3.0], [math.nan, math.nan, math.nan], [7.0, 8.0, 9.0]]),
            "fixed": pa.array([[1, 2], [3, 4], [5, 6]], pa.list_(pa.int64(), 2)),
        }
    )
    points = _parse(line_body(TOPIC, table, np.arange(3) + 1714600800_000000000).bytes())
    assert [p.fields for p in points] == [
        {"v0": 1.0, "v2": 3.0, "fixed0": 1, "fixed1": 2},
        {"fixed0": 3, "fixed1": 4},
        {"v0": 7.0, "v1": 8.0, "v2": 9.0, "fixed0": 5, "fixed1": 6},
    ]


def test_batches_cut_at_line_ends() -> None:
    n = 1003
    table = pa.table({"v": pa.array(np.arange(n, dtype=np.float64))})
    body = line_body(TOPIC, table, np.arange(n) + 1714600800_000000000)
    parts = [bytes(b) for b in body.batches(100)]
    assert len(parts) == 11 and all(p.endswith(b"\n") for p in parts)
    assert b"".join(parts) == body.bytes() and len(body.bytes()) == body.nbytes
    values = [p.fields["v"] for part in parts for p in _parse(part)]
    assert values == list(range(n))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=50))
def test_floats_are_exact(values: list[float]) -> None:
    table = pa.table({"v": pa.array(values, pa.float64())})
    points = _parse(line_body(TOPIC, table, np.arange(len(values)) + 10**18).bytes())
    assert [p.fields["v"] for p in points] == values
