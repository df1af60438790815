"""Exposure windows as row ranges of a sorted series, and one reduction over all of them.

A window ``i`` is the row range ``[lo[i], hi[i])`` of a topic's rows sorted by
time. :class:`Windows` reduces a column over every window with one
``ufunc.reduceat`` call: when the non-empty windows are disjoint and in order
(unpadded exposures always are) directly on the column, cutting it at the
interleaved bounds ``lo₀, hi₀, lo₁, hi₁, …`` and keeping every other
result; otherwise on the rows gathered window after window (``rows``), so that
overlapping windows become contiguous slices. Pure numpy, no I/O.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["FloatArray", "IntArray", "Windows", "take"]

_COLUMN_LOOP_MAX = 16  # row-major matrices up to this wide are reduced column by column

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Windows:
    """Row ranges ``[lo, hi)`` of a sorted series (``hi`` clipped to ≥ ``lo``).

    ``rows`` lists the row numbers of every window one after the other
    (windows become the contiguous ``[start, stop)`` slices of ``rows``);
    :meth:`data` and :meth:`reduce` pick the cheapest of the two layouts
    described in the module docstring, :meth:`expand` undoes a reduction.
    """

    def __init__(self, lo: npt.ArrayLike, hi: npt.ArrayLike) -> None:
        self.lo: IntArray = np.asarray(lo, dtype=np.int64)
        self.hi: IntArray = np.maximum(np.asarray(hi, dtype=np.int64), self.lo)
        self.lengths: IntArray = self.hi - self.lo
        self.nonempty = self.lengths > 0

    def __len__(self) -> int:
        return len(self.lo)

    @cached_property
    def stop(self) -> IntArray:
        return np.cumsum(self.lengths)

    @cached_property
    def start(self) -> IntArray:
        return self.stop - self.lengths

    @cached_property
    def rows(self) -> IntArray:
        total = int(self.stop[-1]) if len(self.stop) else 0
        return np.arange(total, dtype=np.int64) - np.repeat(self.start - self.lo, self.lengths)

    @cached_property
    def window_of_row(self) -> IntArray:
        return np.repeat(np.arange(len(self.lo)), self.lengths)

    @cached_property
    def disjoint(self) -> bool:
        """Whether the non-empty windows follow one another without overlapping."""
        lo, hi = self.lo[self.nonempty], self.hi[self.nonempty]
        return bool((lo[1:] >= hi[:-1]).all())

    @cached_property
    def _cuts(self) -> tuple[IntArray, Any]:
        """``reduceat`` indices into :meth:`data`, and which of its results are windows."""
        if not self.disjoint:
            return self.start[self.nonempty], slice(None)
        cuts = np.column_stack([self.lo[self.nonempty], self.hi[self.nonempty]]).reshape(-1)
        return cuts, slice(0, None, 2)

    def data(self, values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """``values`` laid out for :meth:`reduce`: as they are, or gathered window by window."""
        if self.disjoint:
            return values
        return take(values, self.rows)

    def reduce(self, ufunc: np.ufunc, data: npt.NDArray[Any]) -> FloatArray:
        """``ufunc`` over each window of ``data`` (from :meth:`data`); NaN for empty windows."""
        out = np.full((len(self), *data.shape[1:]), np.nan)
        cuts, take = self._cuts
        if len(cuts):
            # a cut at the very end would be out of range; the last slice ends there anyway
            usable = cuts[:-1] if cuts[-1] >= data.shape[0] else cuts
            out[self.nonempty] = _reduceat(ufunc, data, usable)[take]
        return out

    def expand(self, per_window: FloatArray, data: npt.NDArray[Any]) -> FloatArray:
        """Each row of ``data`` (from :meth:`data`) given its window's value (0 between)."""
        cuts, take = self._cuts
        if not self.disjoint:
            segments, counts = per_window[self.nonempty], self.lengths[self.nonempty]
        else:
            segments = np.zeros((len(cuts) + 1, *per_window.shape[1:]))
            segments[1:][take] = per_window[self.nonempty]
            counts = np.diff(np.concatenate([[0], cuts, [data.shape[0]]]))
        if _rows_fastest(data):  # keep the layout of ``data``
            return np.repeat(segments.T, counts, axis=1).T
        return np.repeat(segments, counts, axis=0)

    def reduceat(self, ufunc: np.ufunc, gathered: FloatArray) -> FloatArray:
        """``ufunc`` over each window of rows gathered as ``values[rows]``; NaN if empty."""
        out = np.full((len(self), *gathered.shape[1:]), np.nan)
        if gathered.shape[0]:
            out[self.nonempty] = ufunc.reduceat(gathered, self.start[self.nonempty], axis=0)
        return out


def _rows_fastest(data: npt.NDArray[Any]) -> bool:
    """Whether ``data`` is a matrix stored column by column (rows vary fastest)."""
    return data.ndim == 2 and data.shape[1] > 1 and bool(data.flags.f_contiguous)


def _reduceat(ufunc: np.ufunc, data: npt.NDArray[Any], cuts: IntArray) -> npt.NDArray[Any]:
    """``ufunc.reduceat`` along the rows; a row-major matrix column by column (numpy walks
    the rows of a matrix slowly in ``reduceat``, each column contiguous is much faster)."""
    if data.ndim == 1 or _rows_fastest(data) or data.shape[1] > _COLUMN_LOOP_MAX:
        return ufunc.reduceat(data, cuts, axis=0)
    out = np.empty((len(cuts), *data.shape[1:]))
    for j in range(data.shape[1]):
        out[:, j] = ufunc.reduceat(data[:, j], cuts)
    return out


def take(values: npt.NDArray[Any], rows: IntArray) -> npt.NDArray[Any]:
    """``values[rows]``, keeping a column-by-column matrix stored column by column."""
    return np.take(values.T, rows, axis=1).T if _rows_fastest(values) else values[rows]
