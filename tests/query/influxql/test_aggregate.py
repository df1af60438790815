"""Aggregates with and without GROUP BY time(), against numpy/pandas over the same rows."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.query.influxql.conftest import AZ, NOW, NS, STATE, TEMP, Efd

from openefd.query.influxql import Series

QAZ = f'"{AZ}"'
M = 60 * NS


def nearest_rank(values: np.ndarray, p: float) -> float:
    ordered = np.sort(values)
    rank = math.floor(len(ordered) * p / 100 + 0.5)
    return float(ordered[rank - 1]) if 1 <= rank <= len(ordered) else math.nan


REDUCERS: dict[str, Callable[[np.ndarray], float]] = {
    "mean": np.mean,
    "median": np.median,
    "min": np.min,
    "max": np.max,
    "stddev": lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else math.nan,
    "count": len,
    "sum": np.sum,
    "first": lambda v: v[0],
    "last": lambda v: v[-1],
    "spread": lambda v: np.max(v) - np.min(v),
    "percentile": lambda v: nearest_rank(v, 90),
}


def call(name: str, field: str) -> str:
    return f"percentile({field}, 90)" if name == "percentile" else f"{name}({field})"


def only(efd: Efd, text: str, **kwargs: Any) -> Series:
    (series,) = efd.one(text, **kwargs).series
    return series


def as_float(values: Any) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in np.asarray(values)], dtype=float)


@pytest.mark.parametrize("name", list(REDUCERS))
@pytest.mark.parametrize("field", ["actualPosition", "actualTorque"])
def test_aggregate_without_group_by(efd: Efd, name: str, field: str) -> None:
    az = efd.frames[AZ]
    lo, hi = int(az["utc"].iloc[300]), int(az["utc"].iloc[1700])
    s = only(efd, f"SELECT {call(name, field)} FROM {QAZ} WHERE time >= {lo} AND time <= {hi}")
    rows = az[(az["utc"] >= lo) & (az["utc"] <= hi)]
    values = rows[field].dropna().to_numpy(dtype=float)
    assert s.columns == ["time", name]
    assert s.values[1].tolist() == pytest.approx([REDUCERS[name](values)], rel=1e-12)
    if name in ("first", "last", "min", "max", "percentile"):  # a lone selector: its point's time
        times = rows["utc"][rows[field].notna()].to_numpy()
        value = s.values[1][0]
        assert s.values[0][0] in times[values == value]
        if name == "last":
            assert s.values[0][0] == times[-1]
    else:  # the start of the range
        assert s.values[0].tolist() == [lo]
        assert s.values[0].dtype == np.int64


def test_several_aggregates_names_and_types(efd: Efd) -> None:
    az = efd.frames[AZ]
    s = only(
        efd,
        f"SELECT mean(private_seqNum), max(private_seqNum), sum(private_seqNum), "
        f"count(private_seqNum) AS n, max(actualPosition), mean(actualPosition) FROM {QAZ}",
    )
    assert s.columns == ["time", "mean", "max", "sum", "n", "max_1", "mean_1"]
    seq = az["private_seqNum"].to_numpy()
    assert s.values[0].tolist() == [0]  # no lower bound: 1970-01-01
    assert s.values[1].dtype == np.float64 and s.values[1][0] == pytest.approx(seq.mean())
    assert s.values[2].dtype == np.int64 and s.values[2].tolist() == [seq.max()]
    assert s.values[3].dtype == np.int64 and s.values[3].tolist() == [seq.sum()]
    assert s.values[4].tolist() == [len(seq)]
    assert s.values[5][0] == az["actualPosition"].max()


def test_selector_with_other_fields_gives_that_row(efd: Efd) -> None:
    az = efd.frames[AZ]
    s = only(efd, f"SELECT max(actualPosition), actualVelocity, private_identity FROM {QAZ}")
    row = az.loc[az["actualPosition"].idxmax()]
    assert s.columns == ["time", "max", "actualVelocity", "private_identity"]
    assert s.values[0].tolist() == [row["utc"]]
    assert s.values[2].tolist() == [row["actualVelocity"]]
    assert s.values[3].tolist() == [row["private_identity"]]


def test_strings_and_wildcards(efd: Efd) -> None:
    temp = efd.frames[TEMP]
    located = temp[temp["location"].notna()]
    s = only(efd, f'SELECT count(location), first(location), last(location) FROM "{TEMP}"')
    assert s.values[1].tolist() == [len(located)]
    assert s.values[2].tolist() == [located["location"].iloc[0]]
    assert s.values[3].tolist() == [located["location"].iloc[-1]]
    s = only(efd, f'SELECT count(/^(location|numChannels|salIndex)$/) FROM "{TEMP}"')
    assert s.columns == ["time", "count_location", "count_numChannels", "count_salIndex"]
    want = [len(located), int(temp["numChannels"].notna().sum()), len(temp)]
    assert [int(v[0]) for v in s.values[1:]] == want
    s = only(efd, f'SELECT mean(*) FROM "{TEMP}" WHERE salIndex = 2')
    assert "mean_location" not in s.columns and "mean_temperatureItem11" in s.columns
    assert "mean_temperatureItem15" not in s.columns  # never written: no field key
    two = temp[temp["salIndex"] == 2]
    got = s.values[s.columns.index("mean_temperatureItem11")][0]
    assert got == pytest.approx(np.mean([row[11] for row in two["temperatureItem"]]))


def reference_buckets(
    frame: pd.DataFrame,
    field: str,
    name: str,
    width: int,
    offset: int,
    start: int,
    end: int,
    fill: str,
) -> tuple[list[int], np.ndarray]:
    """Buckets as InfluxDB fills them: a present bucket's null value is a value for fill."""
    rows = frame[(frame["utc"] >= start) & (frame["utc"] < end)]
    rows = rows[rows[field].notna()]
    keys = (rows["utc"] - offset) // width
    groups = {k: REDUCERS[name](g[field].to_numpy(dtype=float)) for k, g in rows.groupby(keys)}
    first, last = (start - offset) // width, (end - 1 - offset) // width
    present = sorted(groups)
    out: dict[int, float] = {}
    for k in range(first, last + 1):
        if k in groups:
            out[k] = groups[k]
        elif fill == "none":
            continue
        elif fill == "null":
            out[k] = 0.0 if name == "count" else math.nan
        elif fill == "previous":
            before = [p for p in present if p < k]
            out[k] = groups[before[-1]] if before else math.nan
        elif fill == "linear":
            before = [p for p in present if p < k]
            after = [p for p in present if p > k]
            if not before or not after:
                out[k] = math.nan
            else:
                p, n = before[-1], after[0]
                out[k] = groups[p] + (groups[n] - groups[p]) * (k - p) / (n - p)
        else:
            out[k] = float(int(float(fill))) if name == "count" else float(fill)
    return [offset + k * width for k in out], np.array(list(out.values()), dtype=float)


@pytest.mark.parametrize("fill", ["null", "none", "previous", "linear", "-1.5"])
@pytest.mark.parametrize("name", ["mean", "count", "max", "percentile", "stddev", "first"])
def test_group_by_time_fill(efd: Efd, fill: str, name: str) -> None:
    az = efd.frames[AZ]
    start, end = int(az["utc"].iloc[50]) - 7 * M, int(az["utc"].iloc[1200])
    s = only(
        efd,
        f"SELECT {call(name, 'actualTorque')} FROM {QAZ} WHERE time >= {start} AND "
        f"time < {end} GROUP BY time(1m, 15s) fill({fill})",
    )
    times, want = reference_buckets(az, "actualTorque", name, M, 15 * NS, start, end, fill)
    assert s.values[0].tolist() == times
    np.testing.assert_allclose(as_float(s.values[1]), want, rtol=1e-12)
    if name == "count" and fill in ("null", "none"):
        assert s.values[1].dtype == np.int64


def test_group_by_time_bounds_default_to_first_point_and_now(efd: Efd) -> None:
    state = efd.frames[STATE]
    s = only(efd, f'SELECT last(summaryState) FROM "{STATE}" GROUP BY time(5m)')
    first = int(state["utc"].iloc[0]) // (5 * M) * (5 * M)
    assert s.values[0][0] == first
    assert s.values[0][-1] == NOW // (5 * M) * (5 * M)  # up to now(), empty buckets null
    assert len(s.values[0]) == (NOW // (5 * M) * (5 * M) - first) // (5 * M) + 1
    assert s.values[1].tolist()[:5] == [2, 2, None, 4, None]
    s = only(efd, f'SELECT last(summaryState) FROM "{STATE}" GROUP BY time(5m) fill(none)')
    assert s.values[1].dtype == np.int64 and s.values[1].tolist() == [2, 2, 4]
    (before,) = efd.run(f'SELECT last(summaryState) FROM "{STATE}" GROUP BY time(5m)', now=0)
    assert before.error is None and before.series == []  # all rows are after now()


def test_group_by_time_desc_limit_offset_and_multiple_columns(efd: Efd) -> None:
    az = efd.frames[AZ]
    start, end = int(az["utc"].iloc[0]), int(az["utc"].iloc[1500])
    where = f"WHERE time >= {start} AND time < {end}"
    full = only(
        efd,
        f"SELECT mean(actualPosition), count(actualTorque) FROM {QAZ} {where} GROUP BY time(2m)",
    )
    s = only(
        efd,
        f"SELECT mean(actualPosition), count(actualTorque) FROM {QAZ} {where} "
        "GROUP BY time(2m) ORDER BY time DESC LIMIT 3 OFFSET 1",
    )
    assert s.columns == ["time", "mean", "count"]
    assert s.values[0].tolist() == full.values[0][::-1][1:4].tolist()
    assert s.values[2].tolist() == full.values[2][::-1][1:4].tolist()


def test_fill_none_keeps_buckets_where_any_column_has_a_value(efd: Efd) -> None:
    temp = efd.frames[TEMP]
    s = only(
        efd,
        f'SELECT first(location), max(numChannels) FROM "{TEMP}" GROUP BY time(4s) fill(none)',
    )
    assert s.columns == ["time", "first", "max"]
    keys = (temp["utc"] // (4 * NS)) * (4 * NS)
    present = temp[temp["location"].notna() | temp["numChannels"].notna()]
    assert s.values[0].tolist() == sorted(set(keys[present.index]))


def test_no_rows_no_series(efd: Efd) -> None:
    for text in (
        f"SELECT mean(actualPosition) FROM {QAZ} WHERE time < 1000",
        f"SELECT count(actualPosition) FROM {QAZ} WHERE time < 1000 GROUP BY time(1h)",
        f"SELECT max(nosuch) FROM {QAZ}",
    ):
        (result,) = efd.run(text)
        assert result.error is None and result.series == [], text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT mean(location) FROM m", "unsupported mean() of string field"),
        (
            "SELECT mean(a), b FROM m",
            "mixing aggregate and non-aggregate queries is not supported",
        ),
        ("SELECT max(a), min(a), b FROM m", "mixing multiple selector functions"),
        ("SELECT a FROM m GROUP BY time(1m)", "GROUP BY requires at least one aggregate function"),
        ("SELECT a FROM m fill(none)", "fill(none) must be used with a function"),
        ("SELECT derivative(a) FROM m", "unsupported call: derivative"),
        ("SELECT mean(a, 1) FROM m", "invalid number of arguments for mean, expected 1, got 2"),
        ("SELECT percentile(a, 101) FROM m", "percentile must be between 0 and 100"),
        ("SELECT mean(1) FROM m", "expected field argument in mean()"),
        ("SELECT a + 1 FROM m", "unsupported expression in SELECT"),
        ("SELECT time FROM m", "at least 1 non-time field must be queried"),
    ],
)
def test_invalid_aggregates(efd: Efd, text: str, message: str) -> None:
    text = text.replace("FROM m", f'FROM "{TEMP}"')
    (result,) = efd.run(text)
    assert result.error is not None and message in result.error


@pytest.mark.parametrize("fill", ["null", "previous", "none"])
def test_first_last_of_strings_by_bucket(efd: Efd, fill: str) -> None:
    temp = efd.frames[TEMP]
    start, end = int(temp["utc"].iloc[0]) - 20 * NS, int(temp["utc"].iloc[40])
    s = only(
        efd,
        f'SELECT last(location) FROM "{TEMP}" WHERE time >= {start} AND time < {end} '
        f"GROUP BY time(5s) fill({fill})",
    )
    rows = temp[(temp["utc"] >= start) & (temp["utc"] < end) & temp["location"].notna()]
    last = rows.groupby(rows["utc"] // (5 * NS) * (5 * NS))["location"].last()
    buckets = range(start // (5 * NS) * (5 * NS), end, 5 * NS)
    want = pd.Series([last.get(b) for b in buckets], index=list(buckets), dtype=object)
    if fill == "none":
        want = want.dropna()
    elif fill == "previous":
        want = want.ffill()
    assert s.values[0].tolist() == list(want.index)
    assert s.values[1].tolist() == [None if pd.isna(v) else v for v in want]
