"""1-second statistics of many columns at once: against numpy, group by group."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from openefd.store import agg_stats
from openefd.store.agg_stats import group_stats


@st.composite
def grouped(draw: st.DrawFn) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """Rows × columns of float32-like values (some NaN, maybe), and group starts."""
    uniform = draw(st.booleans())
    groups = draw(st.integers(1, 6))
    if uniform:
        lengths = [draw(st.integers(1, 7))] * groups
    else:
        lengths = draw(st.lists(st.integers(1, 7), min_size=groups, max_size=groups))
    columns = draw(st.integers(1, 5))
    rows = sum(lengths)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    values = (rng.standard_normal((rows, columns)) * 1e3).astype(np.float32).astype(np.float64)
    if draw(st.booleans()):
        values[rng.random((rows, columns)) < 0.3] = np.nan
    starts = np.cumsum([0, *lengths[:-1]]).astype(np.intp)
    return values, starts


@settings(max_examples=200, deadline=None)
@given(grouped())
def test_every_statistic_is_numpys_for_each_group(
    case: tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]],
) -> None:
    values, starts = case
    result = group_stats(values, starts)
    ends = [*starts[1:], len(values)]
    for g, (lo, hi) in enumerate(zip(starts, ends, strict=True)):
        for c in range(values.shape[1]):
            seen = values[lo:hi, c][~np.isnan(values[lo:hi, c])]
            assert result["count"][g, c] == len(seen)
            if not len(seen):
                for stat in ("mean", "min", "max", "median", "std"):
                    assert np.isnan(result[stat][g, c])
                continue
            assert result["min"][g, c] == seen.min()
            assert result["max"][g, c] == seen.max()
            assert result["median"][g, c] == np.median(seen)
            assert np.isclose(result["mean"][g, c], seen.mean(), rtol=1e-12, atol=0)
            if len(seen) > 1:
                assert np.isclose(result["std"][g, c], seen.std(ddof=1), rtol=1e-9, atol=1e-9)
            else:
                assert np.isnan(result["std"][g, c])


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(1, 9), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_steady_rate_block_path_equals_the_general_one(
    groups: int, width: int, columns: int, seed: int
) -> None:
    """Groups of one size without nulls take a faster path: exactly the same numbers."""
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((groups * width, columns)) + 1.7e9
    starts = np.arange(0, groups * width, width, dtype=np.intp)
    lengths = np.full(groups, width, dtype=np.intp)
    count = np.full((groups, columns), float(width))
    result = group_stats(values, starts)
    assert np.array_equal(result["min"], np.fmin.reduceat(values, starts, axis=0))
    assert np.array_equal(result["max"], np.fmax.reduceat(values, starts, axis=0))
    assert np.array_equal(result["median"], agg_stats._medians(values, starts, lengths, count))
