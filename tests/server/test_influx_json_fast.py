"""The vectorised JSON encoder writes exactly the bytes of the row-by-row one.

The row-by-row encoder (``vectorised=False``) is the reference; its own
tests (test_influx_json.py) hold it to Go's and InfluxDB's rules. Here every
kind of column the engine produces, and the awkward values (whole floats,
NaN, ±Inf, -0.0, magnitudes near 2**63, subnormals, integer extremes,
nulls, text), must come out byte for byte the same, whole and in chunks.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openefd.query.influxql.results import Series, StatementResult
from openefd.server import influx_json_fast
from openefd.server.influx_json import chunk_documents, encode_results, encode_results_view
from openefd.server.influx_json_fast import rows_json
from openefd.server.influx_time import EPOCH_DIVISORS, rfc3339nano, rfc3339nano_json
from openefd.server.influx_values import series_rows

T0 = 1714532400_000_000_000  # 2024-05-01T03:00:00Z
INT64 = (-(2**63), 2**63 - 1)
AWKWARD_FLOATS = [
    0.0,
    -0.0,
    1.0,
    -3.0,
    0.1,
    2.5,
    1e-7,
    5e-324,
    1e16,
    1e21,
    2.0**63,
    -(2.0**63),
    2.0**63 - 1024,
    9007199254740993.0,
    1.7976931348623157e308,
    float("nan"),
    float("inf"),
    float("-inf"),
]
INT_TYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
INT_TYPES += [">i8", ">u4"]  # big-endian: not for orjson's numpy path
DIVISORS = [None, *sorted(set(EPOCH_DIVISORS.values()))]

floats64 = st.one_of(st.floats(width=64), st.sampled_from(AWKWARD_FLOATS))


@st.composite
def time_columns(draw: st.DrawFn, rows: int) -> np.ndarray[Any, Any]:
    """UTC ns: telemetry-like (one width), anything in int64, or around 0 (mixed widths)."""
    kind = draw(st.sampled_from(["telemetry", "any", "around zero"]))
    if kind == "telemetry":
        steps = draw(st.lists(st.integers(0, 10**10), min_size=rows, max_size=rows))
        return T0 + np.cumsum(np.array(steps, dtype=np.int64))
    bound = INT64 if kind == "any" else (-(10**12), 10**12)
    values = draw(st.lists(st.integers(*bound), min_size=rows, max_size=rows))
    return np.array(values, dtype=np.int64)


@st.composite
def value_columns(draw: st.DrawFn, rows: int) -> Any:
    """One column as the engine hands it over (numpy arrays, object arrays, lists)."""
    kind = draw(
        st.sampled_from(
            ["float64", "float32", "int", "bool", "nullable", "text", "list", "datetime"]
        )
    )
    size = {"min_size": rows, "max_size": rows}
    if kind == "float64":
        order = draw(st.sampled_from(["=", ">"]))  # big-endian: not for orjson's numpy path
        return np.array(draw(st.lists(floats64, **size)), dtype=np.dtype(f"{order}f8"))
    if kind == "float32":
        return np.array(draw(st.lists(st.floats(width=32), **size)), dtype=np.float32)
    if kind == "int":
        dtype = np.dtype(draw(st.sampled_from(INT_TYPES)))
        info = np.iinfo(dtype)
        values = draw(st.lists(st.integers(int(info.min), int(info.max)), **size))
        return np.array(values, dtype=dtype)
    if kind == "bool":
        return np.array(draw(st.lists(st.booleans(), **size)), dtype=bool)
    if kind == "nullable":  # what output_array makes of a column with nulls
        items = st.one_of(st.none(), floats64, st.integers(*INT64), st.booleans())
        return np.array(draw(st.lists(items, **size)), dtype=object)
    if kind == "text":
        items = st.one_of(st.none(), st.text(max_size=5), st.sampled_from([",", "a,b", '"']))
        return np.array(draw(st.lists(items, **size)), dtype=object)
    if kind == "list":
        return draw(st.lists(st.one_of(st.none(), st.integers(-5, 5)), **size))
    ns = draw(st.lists(st.integers(*INT64), **size))
    column = np.array(ns, dtype=np.int64).view("datetime64[ns]").copy()
    if rows and draw(st.booleans()):
        column[draw(st.integers(0, rows - 1))] = np.datetime64("NaT")
    return column


@st.composite
def series(draw: st.DrawFn) -> Series:
    rows = draw(st.one_of(st.just(0), st.just(1), st.integers(2, 30)))
    width = draw(st.integers(1, 4))
    time_column = draw(st.booleans()) or draw(st.booleans())  # mostly with a time column
    columns = [draw(value_columns(rows)) for _ in range(width)]
    names = [f"c{i}" for i in range(width)]
    if time_column:
        columns.insert(0, draw(time_columns(rows)))
        names.insert(0, "time")
    tags = draw(st.one_of(st.none(), st.dictionaries(st.text(max_size=3), st.text(max_size=3))))
    return Series(draw(st.text(max_size=8)), names, columns, tags=tags, time_column=time_column)


def has_text(s: Series) -> bool:
    start = 1 if s.time_column else 0
    for column in s.values[start:]:
        if isinstance(column, np.ndarray) and column.dtype.kind == "M":
            continue
        items = column.tolist() if isinstance(column, np.ndarray) else list(column)
        if any(isinstance(v, str) for v in items):
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(s=series(), divisor=st.sampled_from(DIVISORS))
def test_rows_are_the_reference_bytes(s: Series, divisor: int | None) -> None:
    reference = orjson_rows(series_rows(s, divisor))
    fast = rows_json(s, divisor)
    declines = s.row_count == 0 or has_text(s)
    assert (fast is None) == declines
    if fast is not None:
        assert b"".join(fast.values()) == reference
        assert len(fast) == s.row_count


def orjson_rows(rows: list[tuple[Any, ...]]) -> bytes:
    return orjson.dumps(rows)


@settings(max_examples=150, deadline=None)
@given(
    many=st.lists(series(), min_size=1, max_size=3),
    divisor=st.sampled_from(DIVISORS),
    chunk_size=st.integers(1, 7),
    error=st.booleans(),
)
def test_documents_and_chunks_are_the_reference_bytes(
    many: list[Series], divisor: int | None, chunk_size: int, error: bool
) -> None:
    results = [StatementResult(0, many[:2]), StatementResult(1, many[2:])]
    if error:
        results.append(StatementResult(2, error="database not found: x\x00y"))
    whole = encode_results(results, divisor=divisor)
    assert whole == encode_results(results, divisor=divisor, vectorised=False)
    assert bytes(encode_results_view(results, divisor=divisor)) == whole
    chunks = list(chunk_documents(results, divisor=divisor, chunk_size=chunk_size))
    reference = chunk_documents(results, divisor=divisor, chunk_size=chunk_size, vectorised=False)
    assert chunks == list(reference)


def test_benchmark_shape_is_vectorised_and_the_same() -> None:
    """30,000 rows of 3 SAL floats at 50 Hz (whole values among them), epoch=ns."""
    rng = np.random.default_rng(5)
    rows = 30_000
    times = T0 + np.arange(rows, dtype=np.int64) * 20_000_000
    forces = [rng.normal(0, 500, rows).astype(np.float32).astype(np.float64) for _ in range(3)]
    forces[1][::997] = np.round(forces[1][::997])  # whole values: written as integers
    forces[2][5] = np.nan
    s = Series("lsst.sal.MTM1M3.forceActuatorData", ["time", "fx", "fy", "fz"], [times, *forces])
    results = [StatementResult(0, [s])]
    view = encode_results_view(results, divisor=1)
    assert isinstance(view, memoryview)  # sent as it is, no copy into bytes
    body = bytes(view)
    assert body == encode_results(results, divisor=1, vectorised=False)
    values = json.loads(body)["results"][0]["series"][0]["values"]
    assert values[0] == [int(times[0]), *(float(f[0]) for f in forces)]
    assert isinstance(values[0][2], int) and values[5][3] is None
    for divisor in (None, 1000):
        assert encode_results(results, divisor=divisor) == encode_results(
            results, divisor=divisor, vectorised=False
        )


def test_pretty_and_text_columns_go_row_by_row() -> None:
    times = np.array([T0, T0 + 1], dtype=np.int64)
    text = Series("m", ["time", "s"], [times, np.array(["a,b", None], dtype=object)])
    assert rows_json(text, 1) is None
    body = encode_results([StatementResult(0, [text])], divisor=1)
    assert body.endswith(
        b'"values":[[1714532400000000000,"a,b"],[1714532400000000001,null]]}]}]}\n'
    )
    numbers = [StatementResult(0, [Series("m", ["time", "x"], [times, np.array([1.5, 2.0])])])]
    pretty = encode_results(numbers, divisor=1, pretty=True)
    assert pretty == encode_results(numbers, divisor=1, pretty=True, vectorised=False)
    assert isinstance(encode_results_view(numbers, divisor=1, pretty=True), bytes)
    assert json.loads(pretty) == json.loads(encode_results(numbers, divisor=1))


def test_orjson_writes_numpy_floats_as_python_floats() -> None:
    """The vectorised float path is on (it is checked against Python floats at import)."""
    assert influx_json_fast._FLOATS_BY_NUMPY


@given(st.lists(st.integers(*INT64), max_size=40))
def test_rfc3339nano_json_is_the_strings_as_json(times: list[int]) -> None:
    utc = np.array(times, dtype=np.int64)
    text, ends = rfc3339nano_json(utc)
    strings = rfc3339nano(utc)
    assert json.loads(text) == strings
    assert text == json.dumps(strings, separators=(",", ":")).encode()
    assert ends.tolist() == np.cumsum([len(s) + 3 for s in strings], dtype=np.int64).tolist()


@pytest.mark.parametrize("rows", [1, 2, 10_001])
def test_chunks_of_a_long_series(rows: int) -> None:
    times = T0 + np.arange(rows, dtype=np.int64)
    s = Series("m", ["time", "v", "w"], [times, np.arange(rows) / 8, np.arange(rows) % 3 == 0])
    results = [StatementResult(0, [s])]
    chunks = list(chunk_documents(results, divisor=1, chunk_size=4000))
    assert chunks == list(chunk_documents(results, divisor=1, chunk_size=4000, vectorised=False))
    assert len(chunks) == -(-rows // 4000)
    got = [row for c in chunks for row in json.loads(c)["results"][0]["series"][0]["values"]]
    assert len(got) == rows
    assert got[-1] == [int(times[-1]), (rows - 1) / 8, (rows - 1) % 3 == 0]
