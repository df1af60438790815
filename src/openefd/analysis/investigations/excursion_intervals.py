"""Where a condition holds: run lengths over sorted samples (pure numpy, no I/O).

The rule, for samples at sorted times ``t₀ … tₙ₋₁`` (TAI ns) where the
condition holds or not:

- the data break between two consecutive samples more than ``max_gap_ns``
  apart (a gap); a gap ends every interval;
- an interval **begins** at the first sample of a run of samples where the
  condition holds (``begin_reason``: ``condition`` — the sample before did
  not hold; ``first_sample`` — the first sample read; ``after_gap``);
- it **ends** at the first sample where the condition no longer holds
  (``end_reason`` ``condition``), so the interval ``[begin, end)`` is
  half-open and holds every sample of the run. When the run is followed by a
  gap (``gap``) or by the end of the samples (``last_sample``), nothing says
  when the condition stopped: the interval ends at the run's last sample,
  the last time it is known to hold (a one-sample run is then an instant,
  ``begin = end``, which counts as the instant ``begin``, as an empty
  exposure timespan does);
- intervals shorter than ``min_duration_ns`` are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from openefd.errors import QueryError

__all__ = ["BEGIN_REASONS", "END_REASONS", "Intervals", "find_intervals"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

BEGIN_REASONS = ("condition", "first_sample", "after_gap")
END_REASONS = ("condition", "last_sample", "gap")


@dataclass(frozen=True)
class Intervals:
    """Intervals ``[begin_tai_ns, end_tai_ns)`` and, per interval, the samples of its run.

    ``first``/``last`` are sample positions (the run is ``first … last``
    inclusive); ``begin_reason``/``end_reason`` index :data:`BEGIN_REASONS` /
    :data:`END_REASONS`.
    """

    begin_tai_ns: IntArray
    end_tai_ns: IntArray
    first: IntArray
    last: IntArray
    begin_reason: IntArray
    end_reason: IntArray

    def __len__(self) -> int:
        return len(self.begin_tai_ns)


def _empty() -> Intervals:
    z = np.empty(0, dtype=np.int64)
    return Intervals(z, z.copy(), z.copy(), z.copy(), z.copy(), z.copy())


def find_intervals(
    times_tai_ns: npt.ArrayLike,
    holds: npt.ArrayLike,
    *,
    max_gap_ns: int | None = None,
    min_duration_ns: int = 0,
) -> Intervals:
    """The intervals where ``holds`` is true over samples at ``times_tai_ns`` (see module).

    ``max_gap_ns`` None: no gap breaks an interval. Times must be sorted.
    """
    t = np.asarray(times_tai_ns, dtype=np.int64)
    h = np.asarray(holds, dtype=np.bool_)
    if t.shape != h.shape or t.ndim != 1:
        raise QueryError("times and condition values must be one-dimensional and of one length")
    if max_gap_ns is not None and max_gap_ns < 0:
        raise QueryError(f"the largest gap must be ≥ 0, got {max_gap_ns} ns")
    if min_duration_ns < 0:
        raise QueryError(f"the shortest interval must be ≥ 0, got {min_duration_ns} ns")
    n = len(t)
    if n == 0 or not h.any():
        return _empty()
    step = np.diff(t)
    if bool((step < 0).any()):
        raise QueryError("sample times must be sorted")
    gap = step > max_gap_ns if max_gap_ns is not None else np.zeros(n - 1, dtype=np.bool_)
    gap_before = np.concatenate(([True], gap))  # the first sample follows nothing
    gap_after = np.concatenate((gap, [True]))  # nor does anything follow the last
    # A run starts where h is true and the sample before is false or lies behind a gap;
    # it ends where h is true and the sample after is false or lies behind a gap.
    first = np.flatnonzero(h & ~(np.concatenate(([False], h[:-1])) & ~gap_before))
    last = np.flatnonzero(h & ~(np.concatenate((h[1:], [False])) & ~gap_after))
    first, last = first.astype(np.int64), last.astype(np.int64)
    begin_reason = np.where(first == 0, 1, np.where(gap_before[first], 2, 0))
    end_reason = np.where(last == n - 1, 1, np.where(gap_after[last], 2, 0))
    end = np.where(end_reason == 0, t[np.minimum(last + 1, n - 1)], t[last])
    begin = t[first]
    keep = (end - begin) >= min_duration_ns
    return Intervals(
        begin[keep],
        end[keep].astype(np.int64),
        first[keep],
        last[keep],
        begin_reason[keep].astype(np.int64),
        end_reason[keep].astype(np.int64),
    )
