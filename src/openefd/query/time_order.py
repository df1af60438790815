"""Rows read without an SQL ``ORDER BY`` put in time order, when they are not already.

DuckDB's sort of a time range costs as much as the rest of such a query, and
rows come back in time order anyway unless they were written out of order
(late data, re-written aggregates). Readers that want every row of a range in
ascending order skip the SQL sort and ask :func:`time_order` for the
permutation to apply, which is None in the usual case.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["in_time_order", "time_order"]


def time_order(times: npt.NDArray[np.int64]) -> npt.NDArray[np.intp] | None:
    """The stable permutation sorting ``times`` (rows of equal time keep the order they
    were read in), or None when they are in order already."""
    if times.shape[0] < 2 or bool((times[1:] >= times[:-1]).all()):
        return None
    return np.argsort(times, kind="stable")


Columns = dict[str, Any]  # output name → numpy values (or a Categorical), one per time


def in_time_order(
    times: npt.NDArray[np.int64], columns: Columns
) -> tuple[npt.NDArray[np.int64], Columns]:
    """``times`` and their ``columns`` (one value per time) put in time order by
    :func:`time_order`; the same arrays when they are in order already."""
    order = time_order(times)
    if order is None:
        return times, columns
    return times[order], {name: values[order] for name, values in columns.items()}
