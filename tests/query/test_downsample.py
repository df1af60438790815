"""Downsampling operators: hand-computed cases, a naive per-bin reference, the parsers."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openefd.errors import QueryError
from openefd.query.downsample import (
    INFLUXQL_FUNCTIONS,
    OPERATORS,
    Operator,
    aggregate,
    downsample,
    influxql_reducer,
    operators_markdown,
    parse_operator,
)
from openefd.query.downsample.bins import Bins

S = 1_000_000_000
NAN = math.nan

# Six samples: bin 0 s holds 1, 3; bin 1 s holds 2, 10, 4; bins 2 s and 3 s are empty; bin 4 s: 7.
TIMES = np.array([0, 500_000_000, 1_200_000_000, 1_700_000_000, 1_900_000_000, 4_100_000_000])
VALUES = np.array([1.0, 3.0, 2.0, 10.0, 4.0, 7.0])
STD_BIN1 = math.sqrt(((2 - 16 / 3) ** 2 + (10 - 16 / 3) ** 2 + (4 - 16 / 3) ** 2) / 2)


def same(actual: np.ndarray[Any, Any], expected: Sequence[float]) -> bool:
    """Equal element by element, NaN equal to NaN, within 1e-12 relative."""
    want = np.asarray(expected, dtype=np.float64)
    got = np.asarray(actual, dtype=np.float64)
    return got.shape == want.shape and bool(
        np.all(np.isclose(got, want, rtol=1e-12, atol=0, equal_nan=True) | (got == want))
    )


# ---------------------------------------------------------------- every operator, by hand


HAND_CASES = [
    ("firstSample_1", [0, 1, 4], [1, 2, 7]),
    ("lastSample_1", [0, 1, 4], [3, 4, 7]),
    ("firstFill_1", [0, 1, 2, 3, 4], [1, 2, 2, 2, 7]),
    ("lastFill_1", [0, 1, 2, 3, 4], [3, 4, 4, 4, 7]),
    ("mean_1", [0, 1, 4], [2, 16 / 3, 7]),
    ("min_1", [0, 1, 4], [1, 2, 7]),
    ("max_1", [0, 1, 4], [3, 10, 7]),
    ("count_1", [0, 1, 4], [2, 3, 1]),
    ("median_1", [0, 1, 4], [2, 4, 7]),
    ("std_1", [0, 1, 4], [math.sqrt(2), STD_BIN1, 0]),
    ("jitter_1", [0, 1, 4], [math.sqrt(2) / 2, STD_BIN1 / (16 / 3), 0]),
    # |10 − 16/3| = 4.67 > 1 · 4.16: the 10 is a flyer; every other sample stays.
    ("ignoreflyers_1_1", [0, 0.5, 1.2, 1.9, 4.1], [1, 3, 2, 4, 7]),
    ("ignoreflyers_1", [0, 0.5, 1.2, 1.7, 1.9, 4.1], [1, 3, 2, 10, 4, 7]),  # K = 3
    ("nth_2", [0, 1.2, 1.9], [1, 2, 4]),
    ("nth_1", [0, 0.5, 1.2, 1.7, 1.9, 4.1], [1, 3, 2, 10, 4, 7]),
    ("mean_2", [0, 4], [4, 7]),  # bins [0, 2) and [4, 6)
    ("count_5", [0], [6]),
    ("median_2", [0, 4], [3, 7]),  # 1 2 3 4 10
    ("median_5", [0], [3.5]),  # 1 2 3 4 7 10: even count, mean of 3 and 4
]


@pytest.mark.parametrize(("op", "times_s", "values"), HAND_CASES)
def test_operator_by_hand(op: str, times_s: list[float], values: list[float]) -> None:
    times, out = downsample(TIMES, VALUES, op)
    assert times.dtype == np.int64
    assert times.tolist() == [round(t * S) for t in times_s]
    assert same(out, values), out


def test_every_operator_has_a_hand_computed_case() -> None:
    assert {op.split("_")[0] for op, _, _ in HAND_CASES} == set(OPERATORS)


@pytest.mark.parametrize(
    ("fill", "expected"),
    [
        ("none", ([0, 1, 4], [2, 16 / 3, 7])),
        ("null", ([-2, -1, 0, 1, 2, 3, 4, 5], [NAN, NAN, 2, 16 / 3, NAN, NAN, 7, NAN])),
        ("previous", ([-2, -1, 0, 1, 2, 3, 4, 5], [NAN, NAN, 2, 16 / 3, 16 / 3, 16 / 3, 7, 7])),
        # 16/3 → 7 over three bins: + 5/9 per bin; NaN outside the first and last non-empty bins.
        ("linear", ([-2, -1, 0, 1, 2, 3, 4, 5], [NAN, NAN, 2, 16 / 3, 53 / 9, 58 / 9, 7, NAN])),
        (0, ([-2, -1, 0, 1, 2, 3, 4, 5], [0, 0, 2, 16 / 3, 0, 0, 7, 0])),
        ("-1.5", ([-2, -1, 0, 1, 2, 3, 4, 5], [-1.5, -1.5, 2, 16 / 3, -1.5, -1.5, 7, -1.5])),
    ],
)
def test_fill_modes_by_hand(fill: str | float, expected: tuple[list[int], list[float]]) -> None:
    times, out = downsample(TIMES, VALUES, "mean_1", fill=fill, start_ns=-2 * S, end_ns=6 * S)
    assert times.tolist() == [k * S for k in expected[0]]
    assert same(out, expected[1]), out


def test_fill_without_range_runs_from_first_to_last_sample() -> None:
    times, out = downsample(TIMES, VALUES, "max_1", fill="null")
    assert times.tolist() == [0, S, 2 * S, 3 * S, 4 * S]
    assert same(out, [3, 10, NAN, NAN, 7])


def test_count_fills_empty_bins_with_zero_as_influxql() -> None:
    _, out = downsample(TIMES, VALUES, "count_1", fill="null", end_ns=6 * S)
    assert same(out, [2, 3, 0, 0, 1, 0])
    _, out = downsample(TIMES, VALUES, "count_1", fill="previous")
    assert same(out, [2, 3, 3, 3, 1])


def test_range_ignores_samples_outside_and_unaligned_start_gives_aligned_bins() -> None:
    times, out = downsample(TIMES, VALUES, "mean_1", start_ns=1_500_000_000, end_ns=4 * S)
    assert times.tolist() == [S]  # the bin holding start_ns, at its own start
    assert same(out, [7])  # 10 and 4; 2 at 1.2 s is before the range, 7 at 4.1 s after


def test_empty_range_with_fill_gives_only_filled_bins() -> None:
    times, out = downsample(TIMES, VALUES, "mean_1", fill=5, start_ns=10 * S, end_ns=12 * S)
    assert times.tolist() == [10 * S, 11 * S]
    assert same(out, [5, 5])
    times, out = downsample(TIMES, VALUES, "mean_1", start_ns=10 * S, end_ns=10 * S, fill="null")
    assert len(times) == 0
    assert len(out) == 0


def test_fill_operators_start_from_the_last_sample_before_the_range() -> None:
    times, out = downsample(TIMES, VALUES, "firstFill_1", start_ns=2 * S, end_ns=6 * S)
    assert times.tolist() == [2 * S, 3 * S, 4 * S, 5 * S]
    assert same(out, [4, 4, 7, 7])  # 4 at 1.9 s is the last sample before 2 s
    _, out = downsample(TIMES, VALUES, "lastFill_1", start_ns=2 * S, end_ns=5 * S, fill="previous")
    assert same(out, [4, 4, 7])


def test_fill_operators_leave_out_leading_bins_with_nothing_before() -> None:
    times, out = downsample(TIMES, VALUES, "firstFill_2", start_ns=-6 * S, end_ns=6 * S)
    assert times.tolist() == [0, 2 * S, 4 * S]
    assert same(out, [1, 1, 7])


def test_bins_before_1970_are_floor_aligned() -> None:
    times = np.array([-1_500_000_000, -1_000_000_000, -1, 0, 999_999_999])
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    t, out = downsample(times, values, "mean_1")
    assert t.tolist() == [-2 * S, -S, 0]  # −0.5 s truncated toward zero would join bin 0
    assert same(out, [1, 2.5, 4.5])
    t, out = downsample(times, values, "count_2")
    assert t.tolist() == [-2 * S, 0]
    assert same(out, [3, 2])


def test_origin_shifts_the_bins() -> None:
    times, out = downsample(TIMES, VALUES, "mean_1", origin_ns=S // 2)
    assert times.tolist() == [-S // 2, S // 2, 3 * S // 2, 7 * S // 2]
    assert same(out, [1, 2.5, 7, 7])
    shifted, again = downsample(TIMES, VALUES, "mean_1", origin_ns=S // 2 + 7 * S)
    assert shifted.tolist() == times.tolist()
    assert same(again, out)


def test_nan_samples_are_ignored_and_an_all_nan_bin_is_empty() -> None:
    values = np.array([NAN, 3.0, NAN, NAN, NAN, 7.0])
    times, out = downsample(TIMES, values, "count_1")
    assert times.tolist() == [0, 4 * S]
    assert same(out, [1, 1])
    times, out = downsample(TIMES, values, "firstSample_1", fill="null")
    assert same(out, [3, NAN, NAN, NAN, 7])
    times, kept = downsample(TIMES, values, "nth_1")
    assert times.tolist() == [500_000_000, 4_100_000_000]
    assert same(kept, [3, 7])


def test_integer_and_boolean_values() -> None:
    _, out = downsample(TIMES, VALUES.astype(np.int64), "mean_1")
    assert out.dtype == np.float64
    assert same(out, [2, 16 / 3, 7])
    flags = np.array([True, False, True, True, False, True])
    _, out = downsample(TIMES, flags, "mean_1")
    assert same(out, [0.5, 2 / 3, 1])
    _, out = downsample(TIMES, flags, "max_1")
    assert same(out, [1, 1, 1])
    _, kept = downsample(TIMES, flags, "nth_2")
    assert kept.dtype == np.bool_
    assert kept.tolist() == [True, True, False]


def test_selections_keep_the_input_dtype_and_honour_the_range() -> None:
    ints = np.array([1, 3, 2, 10, 4, 7], dtype=np.int32)
    times, kept = downsample(TIMES, ints, "nth_2", start_ns=S, end_ns=5 * S)
    assert times.tolist() == [1_200_000_000, 1_900_000_000]
    assert kept.dtype == np.int32
    assert kept.tolist() == [2, 4]


def test_ties_in_time_keep_input_order() -> None:
    times = np.array([0, 0, 0, S])
    _, first = downsample(times, np.array([5.0, 6.0, 7.0, 8.0]), "firstSample_1")
    _, last = downsample(times, np.array([5.0, 6.0, 7.0, 8.0]), "lastSample_1")
    assert same(first, [5, 8])
    assert same(last, [7, 8])


def test_empty_input() -> None:
    for op in ("mean_1", "nth_3", "ignoreflyers_1_2", "firstFill_1"):
        times, out = downsample(np.array([], dtype=np.int64), np.array([]), op)
        assert len(times) == 0
        assert len(out) == 0


def test_infinite_samples_follow_ieee() -> None:
    values = np.array([math.inf, 1.0, -math.inf, math.inf, 4.0, 7.0])
    _, out = downsample(TIMES, values, "mean_1")
    assert same(out, [math.inf, NAN, 7])
    _, out = downsample(TIMES, values, "max_1")
    assert same(out, [math.inf, math.inf, 7])
    times, _ = downsample(TIMES, values, "ignoreflyers_1_3")
    assert times.tolist() == [4_100_000_000]  # NaN deviations keep nothing in bins 0 and 1


def test_jitter_of_a_zero_mean_is_infinite_or_nan() -> None:
    times = np.array([0, 1, S, S + 1])
    _, out = downsample(times, np.array([-1.0, 1.0, 0.0, 0.0]), "jitter_1")
    assert same(out, [math.inf, NAN])


def test_a_parsed_operator_is_accepted() -> None:
    op = parse_operator("max_2")
    times, out = downsample(TIMES, VALUES, op)
    assert times.tolist() == [0, 4 * S]
    assert same(out, [10, 7])


# ---------------------------------------------------------------- InfluxQL reducers


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("mean", (), [2, 16 / 3, 7]),
        ("MEAN", (), [2, 16 / 3, 7]),
        ("median", (), [2, 4, 7]),
        ("min", (), [1, 2, 7]),
        ("max", (), [3, 10, 7]),
        ("stddev", (), [math.sqrt(2), STD_BIN1, NAN]),  # null for one sample, unlike std_N
        ("count", (), [2, 3, 1]),
        ("sum", (), [4, 16, 7]),
        ("first", (), [1, 2, 7]),
        ("last", (), [3, 4, 7]),
        ("spread", (), [2, 8, 0]),
        # nearest rank floor(n·P/100 + 0.5): n = 2, 3, 1.
        ("percentile", (50,), [1, 4, 7]),
        ("percentile", (90,), [3, 10, 7]),
        ("percentile", (100,), [3, 10, 7]),
        ("percentile", (0,), [NAN, NAN, NAN]),
        ("percentile", (25,), [1, 2, NAN]),  # ranks floor(1.0), floor(1.25), floor(0.75)
        ("percentile", (20,), [NAN, 2, NAN]),  # ranks floor(0.9), floor(1.1), floor(0.7)
    ],
)
def test_influxql_reducers_by_hand(
    name: str, args: tuple[float, ...], expected: list[float]
) -> None:
    times, out = aggregate(TIMES, VALUES, influxql_reducer(name, args), S)
    assert times.tolist() == [0, S, 4 * S]
    assert same(out, expected), out


def test_percentile_of_ten_values_as_influxdb() -> None:
    times = np.arange(10, dtype=np.int64)
    values = np.arange(10, 0, -1, dtype=np.float64)  # 10 … 1, any order
    for p, rank in [(50, 5), (90, 9), (95, 10), (99, 10), (5, 1), (4, NAN)]:
        _, out = aggregate(times, values, influxql_reducer("percentile", [p]), S)
        assert same(out, [rank]), (p, out)


def test_aggregate_with_sub_second_bins_and_offset() -> None:
    times, out = aggregate(TIMES, VALUES, influxql_reducer("sum"), 600_000_000, origin_ns=100_000)
    # bins [0.0001 + 0.6k s): 0 s → k −1; 0.5 → 0; 1.2 → 1; 1.7 → 2; 1.9 → 3; 4.1 → 6
    assert times.tolist() == [
        -599_900_000,
        100_000,
        600_100_000,
        1_200_100_000,
        1_800_100_000,
        3_600_100_000,
    ]
    assert same(out, [1, 3, 2, 10, 4, 7])


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("mode", (), "unsupported aggregate 'mode'.*mean, median"),
        ("integral", (), "unsupported aggregate"),
        ("mean", (3,), r"mean\(\) takes only a field"),
        ("percentile", (), r"percentile\(\) takes a field and one number"),
        ("percentile", (1, 2), r"percentile\(\) takes a field and one number"),
        ("percentile", (101,), "between 0 and 100; got 101"),
        ("percentile", (-1,), "between 0 and 100; got -1"),
        ("percentile", (True,), "between 0 and 100; got True"),
    ],
)
def test_influxql_reducer_errors(name: str, args: tuple[float, ...], message: str) -> None:
    with pytest.raises(QueryError, match=message):
        influxql_reducer(name, args)


def test_influxql_functions_are_those_asked_for() -> None:
    assert set(INFLUXQL_FUNCTIONS) == {
        "mean",
        "median",
        "min",
        "max",
        "stddev",
        "count",
        "sum",
        "first",
        "last",
        "spread",
        "percentile",
    }


# ---------------------------------------------------------------- parsing operator names


@pytest.mark.parametrize(
    ("text", "name", "n", "k"),
    [
        ("mean_60", "mean", 60, None),
        ("min_1", "min", 1, None),
        ("max_3600", "max", 3600, None),
        ("std_900", "std", 900, None),
        ("median_5", "median", 5, None),
        ("count_86400", "count", 86400, None),
        ("firstSample_10", "firstSample", 10, None),
        ("lastSample_10", "lastSample", 10, None),
        ("firstFill_10", "firstFill", 10, None),
        ("lastFill_10", "lastFill", 10, None),
        ("jitter_2", "jitter", 2, None),
        ("ignoreflyers_60_2.5", "ignoreflyers", 60, 2.5),
        ("ignoreflyers_60_3", "ignoreflyers", 60, 3.0),
        ("ignoreflyers_60_.5", "ignoreflyers", 60, 0.5),
        ("ignoreflyers_60_1e1", "ignoreflyers", 60, 10.0),
        ("ignoreflyers_60", "ignoreflyers", 60, 3.0),
        ("nth_50", "nth", 50, None),
        ("mean_0060", "mean", 60, None),
        ("mean_2147483647", "mean", 2**31 - 1, None),
    ],
)
def test_parse_operator(text: str, name: str, n: int, k: float | None) -> None:
    op = parse_operator(text)
    assert (op.spec.name, op.n, op.deviations) == (name, n, k)
    assert parse_operator(op.text) == op
    assert op.bin_ns == (None if name == "nth" else n * S)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "unknown operator ''.*the operators are firstSample_N"),
        ("average_60", "unknown operator 'average_60'; the operators are .*nth_N"),
        ("Mean_60", r"unknown operator 'Mean_60' \(did you mean mean_N\?\)"),
        ("firstsample_60", r"did you mean firstSample_N\?"),
        ("ignoreflier_60", r"did you mean ignoreflyers_N_K\?"),
        ("mean", r"'mean' needs its parameters: mean_N .*e\.g\. mean_60"),
        (
            "mean_",
            r"bin size N \(seconds\) in 'mean_' must be a whole number from 1 to 2147483647",
        ),
        ("mean_0", "bin size N .* must be at least 1; got 0"),
        ("mean_-5", "must be a whole number from 1 to 2147483647; got '-5'"),
        ("mean_1.5", "must be a whole number .*; got '1.5'"),
        ("mean_1e3", "must be a whole number .*; got '1e3'"),
        ("mean_ 60", "must be a whole number .*; got ' 60'"),
        ("mean_١٢", "must be a whole number"),  # Arabic-Indic digits are not ASCII ones
        ("mean_2147483648", "must be at most 2147483647; got 2147483648"),
        ("mean_" + "9" * 40, "must be at most 2147483647"),
        ("mean_60_3", r"'mean_60_3' has too many parameters: write mean_N"),
        ("mean_1_000", "too many parameters"),
        ("nth_0", "the stride N in 'nth_0' must be at least 1"),
        ("ignoreflyers_60_0", "standard deviations K .* must be greater than 0; got '0'"),
        ("ignoreflyers_60_0.0", "must be greater than 0"),
        ("ignoreflyers_60_-1", "K .* must be a positive number such as 3 or 2.5; got '-1'"),
        ("ignoreflyers_60_nan", "positive number .*; got 'nan'"),
        ("ignoreflyers_60_inf", "positive number .*; got 'inf'"),
        ("ignoreflyers_60_1e999", "must be finite; got '1e999'"),
        ("ignoreflyers_60_3_1", "too many parameters: write ignoreflyers_N_K"),
        ("mean_60" + " " * 100, "is too long"),
    ],
)
def test_parse_operator_errors(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_operator(text)


def test_parse_operator_refuses_non_strings() -> None:
    with pytest.raises(QueryError, match="an operator is a string such as 'mean_60', not int"):
        parse_operator(60)  # type: ignore[arg-type]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fill": "zero"}, "unknown fill 'zero'; use none, null, previous, linear or a finite"),
        ({"fill": "nan"}, "fill value must be finite"),
        ({"fill": math.inf}, "fill value must be finite"),
        ({"fill": True}, "fill must be a string or a number, not bool"),
        ({"start_ns": 5 * S, "end_ns": S}, r"start_ns \(5000000000\) is after end_ns"),
        ({"start_ns": 1.5}, "start_ns must be an integer"),
        ({"end_ns": 2**63}, "end_ns .* is outside the 64-bit nanosecond range"),
        ({"origin_ns": "0"}, "origin_ns must be an integer"),
        ({"fill": "null", "start_ns": 0, "end_ns": 10**17}, "more than the limit of 10000000"),
        ({"fill": "null", "max_bins": 3}, "filling would give 5 bins, more than the limit of 3"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(QueryError, match=message):
        downsample(TIMES, VALUES, "mean_1", **kwargs)


@pytest.mark.parametrize(
    ("op", "fill", "message"),
    [
        ("firstFill_1", "null", "firstFill always fills .*; for fill='null' use firstSample_N"),
        ("lastFill_1", 0, "lastFill always fills .*; for fill=0 use lastSample_N"),
        ("nth_2", "null", "nth_N returns samples, not bins, so it cannot fill"),
        ("ignoreflyers_1_3", "previous", "ignoreflyers_N_K returns samples"),
    ],
)
def test_operators_that_cannot_take_a_fill(op: str, fill: str | float, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        downsample(TIMES, VALUES, op, fill=fill)


@pytest.mark.parametrize(
    ("times", "values", "message"),
    [
        ([0, 2, 1], [1.0, 2.0, 3.0], r"sorted ascending; sample 2 \(1 ns\) comes before sample 1"),
        ([0, 1], [1.0, 2.0, 3.0], "same length; got 2 and 3"),
        ([[0, 1]], [[1.0, 2.0]], "1-D arrays; got 2-D and 2-D"),
        ([0.0, 1.0], [1.0, 2.0], "integer ns .*; got dtype float64"),
        (np.array([0, 1], dtype="datetime64[ns]"), [1.0, 2.0], r"use \.view\('int64'\)"),
        ([0, 1], ["a", "b"], "values must be numbers or booleans; got dtype <U1"),
        (np.array([0, 2**64 - 1], dtype=np.uint64), [1.0, 2.0], "beyond the int64 ns range"),
    ],
)
def test_bad_samples(times: Any, values: Any, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        downsample(times, values, "mean_1")


def test_bad_operator_objects_and_widths() -> None:
    with pytest.raises(QueryError, match="op must be an operator name or Operator, not int"):
        downsample(TIMES, VALUES, 5)  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="bin width must be from 1 ns"):
        aggregate(TIMES, VALUES, influxql_reducer("mean"), 0)
    with pytest.raises(QueryError, match="bin width must be an integer number of ns"):
        aggregate(TIMES, VALUES, influxql_reducer("mean"), 1.5)  # type: ignore[arg-type]


def test_times_near_the_int64_limit() -> None:
    times = np.array([-(2**63) + 5], dtype=np.int64)
    with pytest.raises(QueryError, match="int64 limit|64-bit nanosecond range"):
        downsample(times, np.array([1.0]), "mean_1")


# ---------------------------------------------------------------- naive reference, property tests


def _fsum_seq(xs: list[float]) -> float:
    total = 0.0
    for x in xs:
        total += x
    return total


def _sample_std(xs: list[float], single: float) -> float:
    if len(xs) < 2:
        return single
    mean = _fsum_seq(xs) / len(xs)
    return math.sqrt(_fsum_seq([(x - mean) ** 2 for x in xs]) / (len(xs) - 1))


def _median(xs: list[float]) -> float:
    ys = sorted(xs)
    lo, hi = ys[(len(ys) - 1) // 2], ys[len(ys) // 2]
    return lo + (hi - lo) / 2


def _percentile(p: float) -> Callable[[list[float]], float]:
    def compute(xs: list[float]) -> float:
        rank = math.floor(len(xs) * float(p) / 100.0 + 0.5)
        return sorted(xs)[rank - 1] if 1 <= rank <= len(xs) else NAN

    return compute


def _jitter(xs: list[float]) -> float:
    with np.errstate(all="ignore"):
        return float(np.float64(_sample_std(xs, 0.0)) / np.float64(_fsum_seq(xs) / len(xs)))


NAIVE: dict[str, Callable[[list[float]], float]] = {
    "mean": lambda xs: _fsum_seq(xs) / len(xs),
    "sum": _fsum_seq,
    "count": lambda xs: float(len(xs)),
    "min": min,
    "max": max,
    "first": lambda xs: xs[0],
    "last": lambda xs: xs[-1],
    "spread": lambda xs: max(xs) - min(xs),
    "median": _median,
    "stddev": lambda xs: _sample_std(xs, NAN),
    "std": lambda xs: _sample_std(xs, 0.0),
    "jitter": _jitter,
}
ARCHIVER_NAIVE = {
    "firstSample": "first",
    "lastSample": "last",
    "mean": "mean",
    "min": "min",
    "max": "max",
    "count": "count",
    "median": "median",
    "std": "std",
    "jitter": "jitter",
}


def naive_groups(
    times: list[int],
    values: list[float],
    width: int,
    origin: int,
    start: int | None,
    end: int | None,
) -> dict[int, list[float]]:
    groups: dict[int, list[float]] = {}
    for t, v in zip(times, values, strict=True):
        if (start is not None and t < start) or (end is not None and t >= end) or math.isnan(v):
            continue
        groups.setdefault((t - origin) // width, []).append(v)
    return groups


def naive_aggregate(
    times: list[int],
    values: list[float],
    stat: Callable[[list[float]], float],
    width: int,
    fill: str | float,
    origin: int,
    start: int | None,
    end: int | None,
    empty: float = NAN,
) -> tuple[list[int], list[float]]:
    """One bin at a time, in plain Python: the reference the vectorised code must match."""
    origin %= width
    groups = naive_groups(times, values, width, origin, start, end)
    stats = {k: stat(xs) for k, xs in groups.items()}
    first = (start - origin) // width if start is not None else min(groups, default=None)
    last = (end - 1 - origin) // width if end is not None else max(groups, default=None)
    if first is None or last is None:
        return [], []
    keys = sorted(stats) if fill == "none" else list(range(first, last + 1))
    out: list[float] = []
    present = sorted(stats)
    for k in keys:
        if k in stats:
            out.append(stats[k])
        elif fill == "null":
            out.append(empty)
        elif fill == "previous":
            before = [p for p in present if p < k]
            out.append(stats[before[-1]] if before else NAN)
        elif fill == "linear":
            before = [p for p in present if p < k]
            after = [p for p in present if p > k]
            if before and after:
                kp, kn = before[-1], after[0]
                slope = (stats[kn] - stats[kp]) / float((kn - kp) * width)
                out.append(slope * float((k - kp) * width) + stats[kp])
            else:
                out.append(NAN)
        else:
            out.append(float(fill))
    return [origin + k * width for k in keys], out


S3 = 3 * S
sample_times = st.integers(min_value=-S3 - 123, max_value=S3 + 456)
exact_values = st.one_of(
    st.integers(-1000, 1000).map(float), st.just(NAN), st.sampled_from([0.0, -0.0, 0.5])
)
any_values = st.one_of(st.floats(-1e6, 1e6, allow_subnormal=False), st.just(NAN))
fills = st.one_of(st.sampled_from(["none", "null", "previous", "linear"]), st.integers(-5, 5))
ranges = st.one_of(
    st.just((None, None)),
    st.tuples(st.none(), sample_times),
    st.tuples(sample_times, st.none()),
    st.tuples(sample_times, sample_times).map(sorted).map(tuple),
)


@st.composite
def samples(draw: st.DrawFn, values: st.SearchStrategy[float]) -> tuple[list[int], list[float]]:
    pairs = draw(st.lists(st.tuples(sample_times, values), max_size=40))
    pairs.sort(key=lambda p: p[0])  # stable: ties keep their drawn order
    return [t for t, _ in pairs], [v for _, v in pairs]


def _check(
    got: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]],
    want: tuple[list[int], list[float]],
) -> None:
    assert got[0].tolist() == want[0]
    assert got[1].dtype == np.float64
    assert np.allclose(got[1], want[1], rtol=1e-9, atol=1e-9, equal_nan=True), (got, want)


@pytest.mark.parametrize("name", sorted(NAIVE))
@settings(max_examples=150, deadline=None)
@given(
    data=samples(exact_values),
    width=st.one_of(st.sampled_from([S, 2 * S, S // 3]), st.integers(S // 10, 4 * S)),
    origin=st.integers(-2 * S3, 2 * S3),
    fill=fills,
    span=ranges,
)
def test_reducers_match_a_naive_loop(
    name: str,
    data: tuple[list[int], list[float]],
    width: int,
    origin: int,
    fill: str | int,
    span: tuple[int | None, int | None],
) -> None:
    reducer = influxql_reducer(name) if name in INFLUXQL_FUNCTIONS else _archiver_reducer(name)
    times, values = data
    got = aggregate(
        np.array(times, dtype=np.int64),
        np.array(values),
        reducer,
        width,
        fill=fill,
        start_ns=span[0],
        end_ns=span[1],
        origin_ns=origin,
    )
    empty = 0.0 if name == "count" else NAN
    want = naive_aggregate(times, values, NAIVE[name], width, fill, origin, *span, empty=empty)
    _check(got, want)


def _archiver_reducer(name: str) -> Any:
    reducer = OPERATORS[name].reducer
    assert reducer is not None
    return reducer


@settings(max_examples=200, deadline=None)
@given(
    data=samples(any_values),
    p=st.one_of(st.integers(0, 100), st.floats(0, 100)),
    width=st.integers(S // 10, 4 * S),
    origin=st.integers(-S3, S3),
)
def test_percentile_matches_a_naive_loop(
    data: tuple[list[int], list[float]], p: float, width: int, origin: int
) -> None:
    times, values = data
    got = aggregate(
        np.array(times, dtype=np.int64),
        np.array(values),
        influxql_reducer("percentile", [p]),
        width,
        origin_ns=origin,
    )
    _check(got, naive_aggregate(times, values, _percentile(p), width, "none", origin, None, None))


@pytest.mark.parametrize("name", ["median", "min", "max", "first", "last", "spread"])
@settings(max_examples=100, deadline=None)
@given(data=samples(any_values), width=st.integers(S // 10, 4 * S), fill=fills)
def test_order_statistics_on_any_floats(
    name: str, data: tuple[list[int], list[float]], width: int, fill: str | int
) -> None:
    times, values = data
    got = aggregate(
        np.array(times, dtype=np.int64), np.array(values), influxql_reducer(name), width, fill=fill
    )
    _check(got, naive_aggregate(times, values, NAIVE[name], width, fill, 0, None, None))


@pytest.mark.parametrize("name", sorted(ARCHIVER_NAIVE))
@settings(max_examples=100, deadline=None)
@given(
    data=samples(exact_values),
    n=st.integers(1, 3),
    origin=st.integers(-S3, S3),
    fill=fills,
    span=ranges,
)
def test_archiver_operators_match_a_naive_loop(
    name: str,
    data: tuple[list[int], list[float]],
    n: int,
    origin: int,
    fill: str | int,
    span: tuple[int | None, int | None],
) -> None:
    times, values = data
    got = downsample(
        np.array(times, dtype=np.int64),
        np.array(values),
        f"{name}_{n}",
        fill=fill,
        start_ns=span[0],
        end_ns=span[1],
        origin_ns=origin,
    )
    empty = 0.0 if name == "count" else NAN
    stat = NAIVE[ARCHIVER_NAIVE[name]]
    _check(got, naive_aggregate(times, values, stat, n * S, fill, origin, *span, empty=empty))


@pytest.mark.parametrize("name", ["firstFill", "lastFill"])
@settings(max_examples=150, deadline=None)
@given(data=samples(exact_values), n=st.integers(1, 3), origin=st.integers(-S3, S3), span=ranges)
def test_fill_operators_match_a_naive_loop(
    name: str,
    data: tuple[list[int], list[float]],
    n: int,
    origin: int,
    span: tuple[int | None, int | None],
) -> None:
    times, values = data
    start, end = span
    got = downsample(
        np.array(times, dtype=np.int64),
        np.array(values),
        f"{name}_{n}",
        start_ns=start,
        end_ns=end,
        origin_ns=origin,
    )
    width, origin = n * S, origin % (n * S)
    groups = naive_groups(times, values, width, origin, start, end)
    pick = (lambda xs: xs[0]) if name == "firstFill" else (lambda xs: xs[-1])
    before = [v for t, v in zip(times, values, strict=True) if start is not None and t < start]
    known = [v for v in before if not math.isnan(v)]
    current = known[-1] if known else None
    first = (start - origin) // width if start is not None else min(groups, default=None)
    last = (end - 1 - origin) // width if end is not None else max(groups, default=None)
    want_t: list[int] = []
    want_v: list[float] = []
    if first is not None and last is not None:
        for k in range(first, last + 1):
            if k in groups:
                current = pick(groups[k])
            if current is not None:
                want_t.append(origin + k * width)
                want_v.append(current)
    _check(got, (want_t, want_v))


@settings(max_examples=150, deadline=None)
@given(data=samples(exact_values), n=st.integers(1, 5), span=ranges)
def test_nth_matches_a_naive_loop(
    data: tuple[list[int], list[float]], n: int, span: tuple[int | None, int | None]
) -> None:
    times, values = data
    start, end = span
    kept = [
        (t, v)
        for t, v in zip(times, values, strict=True)
        if not math.isnan(v) and (start is None or t >= start) and (end is None or t < end)
    ][::n]
    got_t, got_v = downsample(
        np.array(times, dtype=np.int64), np.array(values), f"nth_{n}", start_ns=start, end_ns=end
    )
    assert got_t.tolist() == [t for t, _ in kept]
    assert got_v.tolist() == [v for _, v in kept]


@settings(max_examples=150, deadline=None)
@given(
    data=samples(exact_values),
    n=st.integers(1, 3),
    k=st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]),
    origin=st.integers(-S3, S3),
)
def test_ignoreflyers_matches_a_naive_loop(
    data: tuple[list[int], list[float]], n: int, k: float, origin: int
) -> None:
    times, values = data
    width = n * S
    stats: dict[int, tuple[float, float]] = {}
    for key, xs in naive_groups(times, values, width, origin % width, None, None).items():
        stats[key] = (_fsum_seq(xs) / len(xs), _sample_std(xs, 0.0))
    kept = []
    for t, v in zip(times, values, strict=True):
        if math.isnan(v):
            continue
        mean, std = stats[(t - origin % width) // width]
        if abs(v - mean) <= k * std:
            kept.append((t, v))
    got_t, got_v = downsample(
        np.array(times, dtype=np.int64),
        np.array(values),
        f"ignoreflyers_{n}_{k}",
        origin_ns=origin,
    )
    assert got_t.tolist() == [t for t, _ in kept]
    assert got_v.tolist() == [v for _, v in kept]


@settings(max_examples=200, deadline=None)
@given(
    counts=st.lists(st.integers(1, 70), min_size=1, max_size=30),
    seed=st.integers(0, 2**32 - 1),
)
def test_sorting_within_bins_of_mixed_sizes(counts: list[int], seed: int) -> None:
    values = np.random.default_rng(seed).integers(-50, 50, sum(counts)).astype(np.float64)
    numbers = np.repeat(np.arange(len(counts), dtype=np.int64) * 3, counts)
    bins = Bins.from_bin_numbers(numbers, values)
    assert bins.counts.tolist() == counts
    expected = np.concatenate(
        [np.sort(values[s : s + c]) for s, c in zip(bins.starts, counts, strict=True)]
    )
    assert bins.sorted_values.tolist() == expected.tolist()


# ---------------------------------------------------------------- the generated reference


def test_operators_reference_is_generated() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "reference" / "operators.md"
    assert doc.read_text() == operators_markdown(), (
        f"regenerate: python -m openefd.query.downsample > {doc}"
    )


def test_reference_lists_every_operator_and_function() -> None:
    text = operators_markdown()
    for spec in OPERATORS.values():
        assert f"| `{spec.pattern}` |" in text
        assert spec.description in text
    for name in INFLUXQL_FUNCTIONS:
        assert f"| `{name}(field" in text


def test_operator_is_hashable_and_compares_by_value() -> None:
    assert parse_operator("mean_60") == Operator(OPERATORS["mean"], 60)
    assert len({parse_operator("mean_60"), parse_operator("mean_60")}) == 1
