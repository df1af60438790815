"""Summary statistics, the empirical CDF and the capped log histogram."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from openefd.analysis.distributions import describe, ecdf, log_histogram

TARGETS = {"within_transfer_target": 7.0, "within_cadence_target": 34.0}
durations = st.lists(
    st.one_of(st.floats(0.0, 1e4, allow_nan=False), st.just(math.nan)), max_size=300
)


def test_describe_matches_numpy() -> None:
    values = np.array([1.0, 2.0, np.nan, 10.0, 400.0])
    got = describe(values, [50, 90], TARGETS, cap_s=300.0)
    known = values[~np.isnan(values)]
    assert got["count"] == 4
    assert got["median"] == got["p50"] == np.median(known)
    assert got["p90"] == np.percentile(known, 90)
    assert got["std"] == np.std(known)  # population, ddof 0
    assert got["within_transfer_target"] == 0.5
    assert got["within_cadence_target"] == 0.75
    assert got["over_cap"] == 1


def test_describe_of_nothing_is_nan_with_count_zero() -> None:
    got = describe(np.array([np.nan]), [50], {**TARGETS, "other": None}, cap_s=300.0)
    assert got["count"] == 0 and got["over_cap"] == 0
    assert all(math.isnan(v) for k, v in got.items() if k not in ("count", "over_cap"))


def test_ecdf_reaches_one_and_decimates_keeping_the_ends() -> None:
    values = np.arange(1, 10_001, dtype=float)[::-1]
    full = ecdf(values)
    assert full["fraction"].iloc[-1] == 1.0 and full["fraction"].iloc[0] == 1e-4
    assert full["seconds"].is_monotonic_increasing
    small = ecdf(values, max_points=100)
    assert len(small) == 100
    assert small["seconds"].iloc[0] == 1.0 and small["seconds"].iloc[-1] == 10_000.0
    assert small["fraction"].iloc[-1] == 1.0
    assert ecdf(np.array([np.nan])).empty


def test_histogram_caps_into_the_last_bin() -> None:
    values = np.array([0.0, 0.5, 3.0, 3.0, 299.0, 301.0, 5000.0, np.nan])
    hist = log_histogram(values, cap_s=300.0, bins=10)
    assert hist.total == 7 and hist.over_cap == 2
    assert hist.edges[0] == 0.1 and hist.edges[-1] == 300.0
    assert hist.counts[-1] == 3  # 299 s and the two above the cap
    assert hist.counts[0] == 1  # zero counts in the first bin


@given(durations)
def test_histogram_and_ecdf_account_for_every_measured_value(values: list[float]) -> None:
    arr = np.array(values, dtype=float)
    measured = int((~np.isnan(arr)).sum())
    hist = log_histogram(arr, cap_s=300.0)
    assert hist.total == measured
    assert hist.over_cap == int((arr > 300.0).sum())
    curve = ecdf(arr)
    assert len(curve) == measured
    assert (np.diff(curve["fraction"]) > 0).all()
