"""Selects against plain pandas: ranges, latest rows found in growing windows, nulls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from openefd.ingest.writer import Writer
from openefd.query.select import RowSelect, run_select
from openefd.store.duckdb_store import Store

ESS = "lsst.sal.ESS.temperature"
DAY_NS = 86_400 * 10**9
T0_TAI = 1714532437 * 10**9


@pytest.fixture
def sparse(store: Store) -> pd.DataFrame:
    """Rows minutes to days apart, two salIndex values, some nulls."""
    rng = np.random.default_rng(7)
    gaps = rng.choice([10**9, 600 * 10**9, 3 * DAY_NS], size=60)
    times = T0_TAI + np.cumsum(gaps)
    frame = pd.DataFrame(
        {
            "time_tai_ns": times,
            "salIndex": rng.choice([1, 2], size=60),
            "numChannels": pd.array(rng.integers(0, 16, size=60), dtype="Int64"),
            "location": rng.choice(["dome", None], size=60),
        }
    )
    frame.loc[5, "numChannels"] = pd.NA
    Writer(store).write(ESS, frame)
    return frame


@pytest.mark.parametrize("limit", [1, 3, 17, 60, 100])
@pytest.mark.parametrize("index", [None, 2])
@pytest.mark.parametrize("cut_row", [None, 40])
def test_latest_rows_match_a_full_sort(
    store: Store, sparse: pd.DataFrame, limit: int, index: int | None, cut_row: int | None
) -> None:
    cut = None if cut_row is None else int(sparse["time_tai_ns"].iloc[cut_row])
    req = RowSelect(
        ESS,
        ["salIndex"],
        None,
        cut,
        end_inclusive=False,
        index=index,
        limit=limit,
        descending=True,
        time_scale="tai",
    )
    got = run_select(store, req)
    want = sparse
    if cut is not None:
        want = want[want["time_tai_ns"] < cut]
    if index is not None:
        want = want[want["salIndex"] == index]
    want = want.sort_values("time_tai_ns", ascending=False).head(limit)
    assert got.index.asi8.tolist() == want["time_tai_ns"].tolist()


def test_nulls_read_as_the_efd_gives_them(store: Store, sparse: pd.DataFrame) -> None:
    got = run_select(store, RowSelect(ESS, ["numChannels", "location"], time_scale="tai"))
    assert got["numChannels"].dtype == np.float64  # an int column with a null: NaN
    assert np.isnan(got["numChannels"].iloc[5])
    assert got["location"].isna().sum() == sparse["location"].isna().sum()


def test_range_ends(store: Store, sparse: pd.DataFrame) -> None:
    t = sparse["time_tai_ns"]
    both = run_select(
        store, RowSelect(ESS, ["salIndex"], int(t[10]), int(t[20]), time_scale="tai")
    )
    half = run_select(
        store,
        RowSelect(
            ESS, ["salIndex"], int(t[10]), int(t[20]), end_inclusive=False, time_scale="tai"
        ),
    )
    assert len(both) == 11
    assert len(half) == 10
