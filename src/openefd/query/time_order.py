"""Rows read without an SQL ``ORDER BY`` put in time order, when they are not already.

DuckDB's sort of a time range costs as much as the rest of such a query, and
rows come back in time order anyway unless they were written out of order
(late data, re-written aggregates). Readers that want every row of a range in
ascending order skip the SQL sort and ask :func:`time_order` for the
permutation to apply, which is None in the usual case.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["time_order"]


def time_order(times: npt.NDArray[np.int64]) -> npt.NDArray[np.intp] | None:
    """The stable permutation sorting ``times`` (rows of equal time keep the order they
    were read in), or None when they are in order already."""
    if times.shape[0] < 2 or bool((times[1:] >= times[:-1]).all()):
        return None
    return np.argsort(times, kind="stable")
