"""Statistics of one set of durations: summary, empirical CDF, log-binned histogram.

Pure functions over NumPy arrays of seconds; NaN means "not measured" and is
left out (the callers count those separately). Definitions, so that any
reader can check a number:

- ``std`` is the population standard deviation (ddof 0, NumPy's default);
- percentiles interpolate linearly between order statistics (NumPy's
  default method), ``median`` is the 50th percentile;
- ``within`` a target means ``value ≤ target``;
- the empirical CDF at the i-th smallest of n values (i from 1) is i / n, so
  it reaches 1 at the largest value;
- the histogram's bins are equal in log(duration); values above the cap are
  counted in the last bin and reported as ``over_cap``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["LogHistogram", "describe", "ecdf", "log_histogram", "percentile_label"]

F64 = npt.NDArray[np.float64]


def percentile_label(q: float) -> str:
    """Column name of a percentile: 90 → ``p90``, 99.9 → ``p99.9``."""
    return f"p{q:g}"


def _measured(values: npt.ArrayLike) -> F64:
    arr = np.asarray(values, dtype=np.float64)
    return arr[~np.isnan(arr)]


def describe(
    values: npt.ArrayLike,
    percentiles: Sequence[float],
    targets: dict[str, float | None],
    cap_s: float,
) -> dict[str, float]:
    """count, mean, std, min, percentiles, median, max, one fraction per target, over_cap.

    ``targets`` maps a column name (``within_transfer_target``) to its target
    in seconds, or None for NaN (a target that does not apply). With no
    measured value every statistic is NaN and ``count`` 0.
    """
    arr = _measured(values)
    n = int(arr.size)
    out: dict[str, float] = {"count": float(n)}
    if n:
        qs = np.percentile(arr, list(percentiles)) if percentiles else np.array([])
        out |= {"mean": float(arr.mean()), "std": float(arr.std()), "min": float(arr.min())}
        out |= {percentile_label(q): float(v) for q, v in zip(percentiles, qs, strict=True)}
        out |= {"median": float(np.median(arr)), "max": float(arr.max())}
    else:
        out |= dict.fromkeys(["mean", "std", "min"], math.nan)
        out |= {percentile_label(q): math.nan for q in percentiles}
        out |= {"median": math.nan, "max": math.nan}
    for name, target in targets.items():
        out[name] = float((arr <= target).mean()) if n and target is not None else math.nan
    out["over_cap"] = float((arr > cap_s).sum())
    return out


def ecdf(values: npt.ArrayLike, max_points: int | None = None) -> pd.DataFrame:
    """The empirical CDF: ``seconds`` sorted and ``fraction`` of values ≤ it.

    With ``max_points``, at most that many points evenly spaced in rank, the
    first and last always included (for plots and JSON; the steps between
    them are those of the full curve).
    """
    arr = np.sort(_measured(values))
    n = arr.size
    fraction = np.arange(1, n + 1, dtype=np.float64) / n if n else np.empty(0)
    if max_points is not None and n > max_points > 1:
        ranks = np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(np.int64))
        arr, fraction = arr[ranks], fraction[ranks]
    return pd.DataFrame({"seconds": arr, "fraction": fraction})


@dataclass(frozen=True, slots=True)
class LogHistogram:
    """Counts in log-spaced bins ``[edges[i], edges[i+1])``, the last bin closed.

    ``over_cap`` of the counts of the last bin are values above the cap,
    drawn at the cap; values under the first edge (zero) count in the first.
    """

    counts: npt.NDArray[np.int64]
    edges: F64
    over_cap: int

    @property
    def total(self) -> int:
        return int(self.counts.sum())


def log_histogram(values: npt.ArrayLike, cap_s: float, bins: int = 60) -> LogHistogram:
    """Histogram of ``values`` in ``bins`` log-spaced bins up to ``cap_s``, the rest capped.

    The first edge is the power of ten at or below the smallest positive
    value (at least 1 ms and below the cap); values from 0 up to it count in
    the first bin.
    """
    arr = _measured(values)
    positive = arr[arr > 0]
    smallest = float(positive.min()) if positive.size else 1.0
    lo = 10.0 ** math.floor(math.log10(max(min(smallest, cap_s / 10.0), 1e-3)))
    edges = np.geomspace(lo, cap_s, bins + 1)
    clipped = np.clip(arr, lo, cap_s)
    counts, _ = np.histogram(clipped, bins=edges)
    return LogHistogram(counts.astype(np.int64), edges, int((arr > cap_s).sum()))
