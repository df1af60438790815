"""Rows come back in time order however they were written (DuckDB does not sort them).

A range's rows are read without ORDER BY and sorted in numpy; LIMIT, OFFSET
and DESC still sort in SQL. Float fields are read as stored and widened to
float64 in numpy, which must give exactly what DuckDB's CAST gave.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from tests.query.influxql.conftest import FA, LEAP_NS, NODATA, NS, U0, Efd

from openefd.ingest.writer import Writer
from openefd.query.influxql.results import Series

ROWS = 300


def shuffled_rows(seed: int) -> pd.DataFrame:
    """Rows a second apart, in random order (UTC ns in ``utc``)."""
    rng = np.random.default_rng(seed)
    utc = U0 + np.arange(ROWS, dtype=np.int64) * NS + 250_000_000
    frame = pd.DataFrame(
        {"utc": utc, "demandPosition": rng.normal(size=ROWS), "actualPosition": np.arange(ROWS)}
    )
    return frame.iloc[rng.permutation(ROWS)].reset_index(drop=True)


@pytest.fixture
def out_of_order(fresh: Efd) -> pd.DataFrame:
    """NODATA written in three batches, none in time order; returned sorted by time."""
    frame = shuffled_rows(7)
    writer = Writer(fresh.store)
    for part in np.array_split(np.arange(ROWS), 3):
        rows = frame.iloc[part]
        writer.write(
            NODATA,
            rows.drop(columns="utc").assign(time_tai_ns=rows["utc"] + LEAP_NS),
        )
    return frame.sort_values("utc").reset_index(drop=True)


def only(efd: Efd, text: str) -> Series:
    (series,) = efd.one(text).series
    return series


def test_rows_written_out_of_order_come_back_sorted(
    fresh: Efd, out_of_order: pd.DataFrame
) -> None:
    s = only(fresh, f'SELECT demandPosition, actualPosition FROM "{NODATA}"')
    assert s.values[0].tolist() == out_of_order["utc"].tolist()
    assert np.asarray(s.values[1]).tolist() == out_of_order["demandPosition"].tolist()
    assert (
        np.asarray(s.values[2]).tolist() == out_of_order["actualPosition"].astype(float).tolist()
    )


def test_a_time_range_and_its_aggregates(fresh: Efd, out_of_order: pd.DataFrame) -> None:
    lo, hi = U0 + 40 * NS, U0 + 250 * NS
    rfc = pd.Timestamp(lo, tz="UTC").isoformat(), pd.Timestamp(hi, tz="UTC").isoformat()
    where = f"WHERE time >= '{rfc[0]}' AND time < '{rfc[1]}'"
    s = only(fresh, f'SELECT demandPosition FROM "{NODATA}" {where}')
    inside = out_of_order[(out_of_order["utc"] >= lo) & (out_of_order["utc"] < hi)]
    assert s.values[0].tolist() == inside["utc"].tolist()
    assert np.asarray(s.values[1]).tolist() == inside["demandPosition"].tolist()
    s = only(fresh, f'SELECT mean(demandPosition) FROM "{NODATA}" {where} GROUP BY time(30s)')
    starts = inside["utc"] // (30 * NS) * (30 * NS)  # buckets start at multiples of 30 s
    expected = inside.groupby(starts)["demandPosition"].mean()
    assert s.values[0].tolist() == expected.index.tolist()
    assert np.allclose(np.asarray(s.values[1], dtype=float), expected.to_numpy(), rtol=1e-12)


def test_desc_limit_and_offset_still_pick_by_time(fresh: Efd, out_of_order: pd.DataFrame) -> None:
    s = only(fresh, f'SELECT actualPosition FROM "{NODATA}" ORDER BY time DESC LIMIT 4 OFFSET 2')
    assert s.values[0].tolist() == out_of_order["utc"].tolist()[::-1][2:6]
    s = only(fresh, f'SELECT actualPosition FROM "{NODATA}" LIMIT 3 OFFSET 10')
    assert s.values[0].tolist() == out_of_order["utc"].tolist()[10:13]


def test_pending_rows_in_the_middle_are_sorted_in(fresh: Efd, out_of_order: pd.DataFrame) -> None:
    store = fresh.store
    middle = U0 + 100 * NS + 500_000_000  # between two stored rows
    table = pa.table({"time_tai_ns": [middle + LEAP_NS], "demandPosition": [42.5]})
    store.pending.add(NODATA, store.conform(NODATA, table))
    s = only(fresh, f'SELECT demandPosition FROM "{NODATA}"')
    times = s.values[0].tolist()
    assert times == sorted([*out_of_order["utc"].tolist(), middle])
    assert np.asarray(s.values[1])[times.index(middle)] == 42.5


def test_float_fields_are_their_float32_values_as_float64(efd: Efd) -> None:
    s = only(efd, f'SELECT fz FROM "{FA}"')
    fz = np.asarray(s.values[1])
    assert fz.dtype == np.float64
    assert fz.tolist() == efd.frames[FA]["fz"].tolist()
    assert np.array_equal(fz.astype(np.float32).astype(np.float64), fz)
