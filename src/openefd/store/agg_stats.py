"""1-second statistics of many columns at once, as DMTN-082 §10.3 asks.

Rows arrive sorted by group (``salIndex``, then second); each group's rows are
contiguous, so every statistic is one ``ufunc.reduceat`` over all columns of
a field at once (an array field is a 2-D block, one column per element).
Null samples (NaN) are ignored, as InfluxDB ignores nulls; a group with no
value gives null. Standard deviation is the sample one (``ddof=1``, as
InfluxQL's ``stddev``) computed in two passes, so large offsets (TAI seconds
near 1.7e9) do not cancel.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["STATS", "GroupStats", "group_starts", "group_stats"]

STATS = ("mean", "min", "max", "median", "std", "count")

F64 = npt.NDArray[np.float64]
GroupStats = dict[str, F64]


def group_starts(keys: list[npt.NDArray[np.int64]]) -> npt.NDArray[np.intp]:
    """Row positions where any of ``keys`` (equal-length, sorted together) changes."""
    n = len(keys[0])
    if n == 0:
        return np.empty(0, dtype=np.intp)
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for key in keys:
        change[1:] |= key[1:] != key[:-1]
    return np.flatnonzero(change)


def group_stats(values: F64, starts: npt.NDArray[np.intp]) -> GroupStats:
    """Statistics of each group of rows of ``values`` (rows × columns, NaN = null).

    ``starts`` are the first row of each group, ascending, starting at 0.
    Every result is groups × columns; NaN where a group has no value (and
    for ``std``, fewer than two).
    """
    if values.ndim != 2:
        raise ValueError("values must be a rows × columns array")
    # ±inf samples give inf or NaN statistics (inf − inf), as numpy does, without warnings.
    with np.errstate(invalid="ignore", over="ignore"):
        return _group_stats(values, starts)


def _group_stats(values: F64, starts: npt.NDArray[np.intp]) -> GroupStats:
    present = ~np.isnan(values)
    lengths = np.diff(np.append(starts, len(values)))
    # Without nulls (the usual case) the masks change nothing: the same numbers, less work.
    full = bool(present.all())
    if full:
        count = np.repeat(lengths.astype(np.float64)[:, None], values.shape[1], axis=1)
        zeroed = values
    else:
        count = np.add.reduceat(present, starts, axis=0).astype(np.float64)
        zeroed = np.where(present, values, 0.0)
    total = np.add.reduceat(zeroed, starts, axis=0)
    has = count > 0
    mean = np.divide(total, count, out=np.full_like(total, np.nan), where=has)
    row_mean = np.repeat(mean, lengths, axis=0)
    dev = values - row_mean if full else np.where(present, values - row_mean, 0.0)
    m2 = np.add.reduceat(dev * dev, starts, axis=0)
    many = count > 1
    var = np.divide(m2, count - 1, out=np.full_like(m2, np.nan), where=many)
    std = np.sqrt(var, out=np.full_like(var, np.nan), where=many)
    width = int(lengths.max()) if len(lengths) else 0
    uniform = width > 0 and int(lengths.min()) == width  # groups of one size (a steady rate)
    if full and uniform:  # min/max of a block: the same numbers as reduceat, ~7× faster
        block = values.reshape(len(starts), width, values.shape[1])
        low, high = block.min(axis=1), block.max(axis=1)
        median = _full_medians(block)
    elif full:
        low = np.minimum.reduceat(values, starts, axis=0)  # no NaN: minimum is fmin
        high = np.maximum.reduceat(values, starts, axis=0)
        median = _medians(values, starts, lengths, count)
    else:
        low = np.fmin.reduceat(values, starts, axis=0)  # fmin/fmax skip NaN unless all are NaN
        high = np.fmax.reduceat(values, starts, axis=0)
        median = _medians(values, starts, lengths, count)
    return {
        "mean": mean,
        "min": low,
        "max": high,
        "median": median,
        "std": std,
        "count": count,
    }


def _full_medians(block: npt.NDArray[np.float64]) -> F64:
    """Medians of groups × rows × columns without nulls: each column's rows sorted as one
    contiguous run (sorting along the middle axis strides through memory)."""
    runs = block.transpose(0, 2, 1).copy()  # C order: each run contiguous, sorted in place
    runs.sort(axis=-1)
    width = runs.shape[-1]
    lo, hi = runs[..., (width - 1) // 2], runs[..., width // 2]
    result: F64 = lo + (hi - lo) / 2.0
    return result


def _medians(
    values: F64, starts: npt.NDArray[np.intp], lengths: npt.NDArray[np.intp], count: F64
) -> F64:
    """Per-group medians of every column: groups padded with NaN into one block, sorted."""
    width = int(lengths.max())
    if int(lengths.min()) == width:  # groups of one size (a steady rate): no padding
        block = values.reshape(len(starts), width, values.shape[1]).copy()
    else:
        block = np.full((len(starts), width, values.shape[1]), np.nan)
        position = np.arange(len(values)) - np.repeat(starts, lengths)
        block[np.repeat(np.arange(len(starts)), lengths), position] = values
    block.sort(axis=1)  # NaN (nulls and padding) sort last
    c = count.astype(np.intp)[:, None, :]
    lo = np.take_along_axis(block, np.maximum(c - 1, 0) // 2, axis=1)[:, 0]
    hi = np.take_along_axis(block, np.minimum(c // 2, np.maximum(c - 1, 0)), axis=1)[:, 0]
    return np.where(c[:, 0] > 0, lo + (hi - lo) / 2.0, np.nan)
