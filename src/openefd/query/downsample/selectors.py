"""Selections: operators that keep some samples, at their own times, unchanged."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from openefd.query.downsample.bins import Bins, FloatArray, IntArray, bin_numbers

__all__ = ["BoolArray", "every_nth", "within_deviations"]

BoolArray = npt.NDArray[np.bool_]


def every_nth(count: int, n: int) -> IntArray:
    """Indices of samples 0, n, 2n, … of ``count`` (the Archiver Appliance's ``nth``)."""
    return np.arange(0, count, n, dtype=np.int64)


def within_deviations(
    times_ns: IntArray, values: FloatArray, width_ns: int, origin_ns: int, deviations: float
) -> BoolArray:
    """Which samples lie within ``deviations`` standard deviations of their bin's mean.

    Keeps a sample when ``|value − mean| <= deviations · std`` over its bin,
    ``std`` the sample one (n − 1) and 0 for a one-sample bin: the Archiver
    Appliance's ``ignoreflyers``, which uses Commons Math's
    ``SummaryStatistics``. ``values`` are NaN-free and ``times_ns`` sorted.
    """
    bins = Bins.from_bin_numbers(bin_numbers(times_ns, width_ns, origin_ns), values)
    if len(bins) == 0:
        return np.zeros(0, dtype=np.bool_)
    with np.errstate(all="ignore"):  # ±inf samples give NaN deviations: never kept
        cutoffs = np.repeat(deviations * bins.sample_stds(single=0.0), bins.counts)
        distance = np.abs(bins.deviations, out=bins.deviations)  # bins is local: reuse buffer
        return np.less_equal(distance, cutoffs)
