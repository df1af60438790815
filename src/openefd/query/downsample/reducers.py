"""Reducers: one statistic of a bin's samples, computed for all bins at once.

Each reducer is a pure function of :class:`~openefd.query.downsample.bins.Bins`
(the non-empty bins' NaN-free float64 values) returning one float64 per bin.
Conventions, chosen to match the systems users compare against:

- standard deviations are *sample* ones (ddof=1): InfluxQL's ``stddev`` and
  Apache Commons Math ``SummaryStatistics.getStandardDeviation`` (behind the
  Archiver Appliance's ``std``) both divide by n − 1. They differ for one
  sample: InfluxQL gives null (NaN here), Commons Math 0.0; :data:`STDDEV`
  follows InfluxQL, :data:`STD_ARCHIVER` the Archiver Appliance;
- the median of an even count is ``lo + (hi − lo) / 2`` of the two middle
  values, as both InfluxQL and Commons Math's 50th percentile compute it;
- ``percentile(P)`` is InfluxQL's nearest rank: the value of rank
  ``floor(n·P/100 + 0.5)`` (1-based) in ascending order, NaN when that rank
  is 0 (e.g. P = 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from openefd.errors import QueryError
from openefd.query.downsample.bins import Bins, FloatArray

__all__ = [
    "COUNT",
    "FIRST",
    "JITTER",
    "LAST",
    "MAX",
    "MEAN",
    "MEDIAN",
    "MIN",
    "PERCENTILE_DESCRIPTION",
    "SPREAD",
    "STDDEV",
    "STD_ARCHIVER",
    "SUM",
    "Reducer",
    "percentile",
]


@dataclass(frozen=True)
class Reducer:
    """A statistic of one bin's values, computed vectorised over all bins.

    Attributes
    ----------
    name
        Short name, with parameters: ``"mean"``, ``"percentile(90)"``.
    description
        One line saying exactly what is computed.
    compute
        ``Bins -> float64 array`` with one value per non-empty bin.
    empty_value
        What an empty bin holds under ``fill="null"``: NaN, except ``count``
        which is 0 (as InfluxQL reports it).
    """

    name: str
    description: str
    compute: Callable[[Bins], FloatArray]
    empty_value: float = math.nan

    def __call__(self, bins: Bins) -> FloatArray:
        """The statistic of every bin of ``bins`` (empty array for no bins)."""
        if len(bins) == 0:
            return np.empty(0, dtype=np.float64)
        with np.errstate(all="ignore"):  # IEEE results (inf, NaN) as Java and Go give them
            return self.compute(bins)


def _median(bins: Bins) -> FloatArray:
    ordered = bins.sorted_values
    lo: FloatArray = ordered[bins.starts + (bins.counts - 1) // 2]
    hi: FloatArray = ordered[bins.starts + bins.counts // 2]
    return lo + (hi - lo) / 2


def _jitter(bins: Bins) -> FloatArray:
    return bins.sample_stds(single=0.0) / bins.means  # mean 0: ±inf or NaN, as in Java


MEAN = Reducer("mean", "arithmetic mean of the bin's samples", lambda b: b.means)
SUM = Reducer("sum", "sum of the bin's samples", lambda b: b.sums)
COUNT = Reducer(
    "count", "number of (non-null) samples in the bin", lambda b: b.counts.astype(np.float64), 0.0
)
MIN = Reducer("min", "smallest sample", lambda b: np.minimum.reduceat(b.values, b.starts))
MAX = Reducer("max", "largest sample", lambda b: np.maximum.reduceat(b.values, b.starts))
SPREAD = Reducer(
    "spread",
    "largest minus smallest sample",
    lambda b: np.maximum.reduceat(b.values, b.starts) - np.minimum.reduceat(b.values, b.starts),
)
FIRST = Reducer("first", "the bin's earliest sample", lambda b: b.values[b.starts])
LAST = Reducer("last", "the bin's latest sample", lambda b: b.values[b.lasts])
MEDIAN = Reducer("median", "middle sample; mean of the two middle ones for an even count", _median)
STDDEV = Reducer(
    "stddev",
    "sample standard deviation (divides by n − 1); NaN for one sample",
    lambda b: b.sample_stds(single=math.nan),
)
STD_ARCHIVER = Reducer(
    "std",
    "sample standard deviation (divides by n − 1); 0 for one sample",
    lambda b: b.sample_stds(single=0.0),
)
JITTER = Reducer(
    "jitter",
    "standard deviation (n − 1; 0 for one sample) divided by the mean",
    _jitter,
)


PERCENTILE_DESCRIPTION = (
    "nearest-rank {p}th percentile: the sample of rank floor(n·{p}/100 + 0.5) in ascending "
    "order; NaN when that rank is 0"
)


def percentile(p: float) -> Reducer:
    """InfluxQL's ``percentile(field, P)``: the nearest-rank P-th percentile.

    The sample of 1-based rank ``floor(n·P/100 + 0.5)`` in ascending order, as
    InfluxDB 1.x computes it (in float64, in that order); NaN when the rank is
    0, e.g. for P = 0 or P < 50/n.

    Raises
    ------
    QueryError
        If ``p`` is not a number in [0, 100].
    """
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 100:
        raise QueryError(f"percentile needs a number between 0 and 100; got {p!r}")
    fraction = float(p)

    def compute(bins: Bins) -> FloatArray:
        rank = np.floor(bins.counts * fraction / 100.0 + 0.5).astype(np.int64)
        valid = (rank >= 1) & (rank <= bins.counts)
        out = np.full(len(bins), np.nan)
        out[valid] = bins.sorted_values[bins.starts[valid] + rank[valid] - 1]
        return out

    return Reducer(
        f"percentile({p:g})",
        PERCENTILE_DESCRIPTION.format(p=f"{p:g}"),
        compute,
    )
