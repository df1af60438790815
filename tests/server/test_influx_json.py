"""InfluxDB JSON encoding without a server: Go's numbers, RFC 3339 times, chunks."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openefd.query.influxql.results import Series, StatementResult
from openefd.server.influx_json import chunk_documents, encode_results, error_document
from openefd.server.influx_time import epoch_divisor, epoch_values, rfc3339nano

T0 = 1714532400_000_000_000  # 2024-05-01T03:00:00Z


def go_rfc3339nano(utc_ns: int) -> str:
    """Reference: Go's time.RFC3339Nano of a UTC ns time, written out by hand."""
    seconds, fraction = divmod(utc_ns, 10**9)
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        text += "." + f"{fraction:09d}".rstrip("0")
    return text + "Z"


def go_float(x: float) -> Any:
    """Reference: the JSON value Go's encoder gives a float64, as Python reads it back."""
    if x != x or x in (float("inf"), float("-inf")):
        return None
    if x.is_integer() and abs(x) < 2.0**63:
        return int(x)
    return x


def one(values: list[Any], columns: list[str] | None = None, **kw: Any) -> Series:
    cols = columns or ["time", *(f"c{i}" for i in range(len(values) - 1))]
    return Series("m", cols, values, **kw)


def decode(body: bytes) -> Any:
    assert body.endswith(b"\n")
    return json.loads(body)


def test_whole_floats_are_written_without_a_decimal_point() -> None:
    times = np.array([T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4], dtype=np.int64)
    floats = np.array([1.0, -3.0, 2.5, np.nan, 1e20])
    body = encode_results([StatementResult(0, [one([times, floats])])], divisor=1)
    assert b'"values":[[1714532400000000000,1],[1714532400000000001,-3],' in body
    assert b"[1714532400000000002,2.5]" in body
    assert b"[1714532400000000003,null]" in body  # NaN cannot come from InfluxDB: null
    values = decode(body)["results"][0]["series"][0]["values"]
    assert [type(v) for _, v in values] == [int, int, float, type(None), float]


def test_object_and_typed_columns() -> None:
    times = np.array([T0, T0 + 10**9], dtype=np.int64)
    mixed = np.array([2.0, None], dtype=object)
    text = ["a<b", "é\n"]
    ints = np.array([7, -8], dtype=np.int32)
    flags = np.array([True, False])
    series = one([times, mixed, text, ints, flags])
    got = decode(encode_results([StatementResult(0, [series])], divisor=None))
    assert got["results"][0]["series"][0]["values"] == [
        ["2024-05-01T03:00:00Z", 2, "a<b", 7, True],
        ["2024-05-01T03:00:01Z", None, "é\n", -8, False],
    ]


def test_document_shapes_follow_influxdb() -> None:
    empty = StatementResult(0)
    failed = StatementResult(1, error="database not found: nope")
    tagged = StatementResult(
        2, [one([np.array([T0])], columns=["time"], tags={"b": "2", "a": "1"})]
    )
    no_rows = StatementResult(3, [Series("m", ["time", "x"], [np.array([], dtype=np.int64), []])])
    body = encode_results([empty, failed, tagged, no_rows], divisor=1)
    assert body == (
        b'{"results":[{"statement_id":0},'
        b'{"statement_id":1,"error":"database not found: nope"},'
        b'{"statement_id":2,"series":[{"name":"m","tags":{"a":"1","b":"2"},'
        b'"columns":["time"],"values":[[1714532400000000000]]}]},'
        b'{"statement_id":3,"series":[{"name":"m","columns":["time","x"]}]}]}\n'
    )
    assert error_document('missing required parameter "q"') == (
        b'{"error":"missing required parameter \\"q\\""}\n'
    )


def test_pretty_is_indented_by_four_like_go() -> None:
    series = one([np.array([T0, T0 + 5]), np.array([1.5, 2.0]), ["x", "y"]], tags={"k": "v"})
    results = [StatementResult(0, [series]), StatementResult(1)]
    compact = encode_results(results, divisor=None)
    pretty = encode_results(results, divisor=None, pretty=True)
    assert pretty.decode() == json.dumps(json.loads(compact), indent=4, ensure_ascii=False) + "\n"
    assert b'\n    "results": [\n        {\n            "statement_id": 0,' in pretty


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [
        ("ns", [-1_500_000_000, 2_500_000_001]),
        ("u", [-1_500_000, 2_500_000]),
        ("ms", [-1_500, 2_500]),
        ("s", [-1, 2]),  # truncated toward zero, as Go divides
        ("m", [0, 0]),
        ("h", [0, 0]),
    ],
)
def test_epoch_units(epoch: str, expected: list[int]) -> None:
    divisor = epoch_divisor(epoch)
    assert divisor is not None
    assert epoch_values(np.array([-1_500_000_000, 2_500_000_001]), divisor) == expected


def test_unknown_epoch_has_no_divisor() -> None:
    assert epoch_divisor("µ") == epoch_divisor("u") == 1000
    assert epoch_divisor("sec") is None


def test_rfc3339nano_trims_the_fraction() -> None:
    times = np.array([T0, T0 + 100_000_000, T0 + 20_000, T0 + 1, 0, -1])
    assert rfc3339nano(times) == [
        "2024-05-01T03:00:00Z",
        "2024-05-01T03:00:00.1Z",
        "2024-05-01T03:00:00.00002Z",
        "2024-05-01T03:00:00.000000001Z",
        "1970-01-01T00:00:00Z",
        "1969-12-31T23:59:59.999999999Z",
    ]
    assert rfc3339nano(np.array([], dtype=np.int64)) == []


@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=50))
def test_rfc3339nano_matches_go_layout(times: list[int]) -> None:
    assert rfc3339nano(np.array(times, dtype=np.int64)) == [go_rfc3339nano(t) for t in times]


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=50))
def test_float_columns_match_go(values: list[float]) -> None:
    times = np.arange(len(values), dtype=np.int64)
    body = encode_results([StatementResult(0, [one([times, np.array(values)])])], divisor=1)
    got = [v for _, v in decode(body)["results"][0].get("series", [{}])[0].get("values", [])]
    expected = [go_float(v) for v in values]
    assert got == expected
    assert [type(v) for v in got] == [type(v) for v in expected]


def merged(chunks: list[bytes]) -> dict[tuple[int, str, str], list[Any]]:
    rows: dict[tuple[int, str, str], list[Any]] = {}
    for chunk in chunks:
        for result in decode(chunk)["results"]:
            for s in result.get("series", []):
                key = (result["statement_id"], s["name"], json.dumps(s.get("tags")))
                rows.setdefault(key, []).extend(s.get("values", []))
    return rows


def test_chunks_follow_influxdb_emitter() -> None:
    a = Series("a", ["time", "v"], [np.arange(5, dtype=np.int64), np.arange(5) * 1.5])
    b = Series("b", ["time", "v"], [np.arange(2, dtype=np.int64), [1, 2]], tags={"t": "x"})
    results = [StatementResult(0, [a, b]), StatementResult(1), StatementResult(2, error="bad")]
    chunks = list(chunk_documents(results, divisor=1, chunk_size=2))
    docs = [decode(c)["results"] for c in chunks]
    assert all(len(d) == 1 for d in docs)
    shape = [
        (
            d[0]["statement_id"],
            [
                (s["name"], len(s.get("values", [])), s.get("partial", False))
                for s in d[0].get("series", [])
            ],
            d[0].get("partial", False),
        )
        for d in docs
    ]
    assert shape == [
        (0, [("a", 2, True)], True),
        (0, [("a", 2, True)], True),
        (0, [("a", 1, False)], True),  # series done, statement not: result stays partial
        (0, [("b", 2, False)], False),
        (1, [], False),
        (2, [], False),
    ]
    assert docs[-1][0]["error"] == "bad"
    whole = [encode_results(results, divisor=1)]
    assert merged(chunks) == merged(whole)


@given(
    sizes=st.lists(st.integers(0, 30), min_size=1, max_size=4),
    chunk_size=st.integers(1, 12),
)
def test_concatenated_chunks_equal_the_whole_answer(sizes: list[int], chunk_size: int) -> None:
    series = [
        Series(f"m{i}", ["time", "v"], [np.arange(n, dtype=np.int64), np.arange(n) / 4])
        for i, n in enumerate(sizes)
    ]
    results = [StatementResult(0, series)]
    chunks = list(chunk_documents(results, divisor=None, chunk_size=chunk_size))
    assert merged(chunks) == merged([encode_results(results, divisor=None)])
    rows_per_chunk = [
        len(s.get("values", [])) for c in chunks for s in decode(c)["results"][0]["series"]
    ]
    assert max(rows_per_chunk) <= chunk_size
    finals = [decode(c)["results"][0].get("partial", False) for c in chunks]
    assert finals[-1] is False and all(finals[:-1])
