"""Vectorised reducers over the rows of many windows at once (pure numpy, no I/O).

Rows are a topic's sorted rows; a window ``i`` is the row range
``[lo[i], hi[i])`` (windows may overlap, as padded exposures do). Values are
float64, one column (shape ``(n,)``) or an array field (``(n, k)``, reduced
element by element). NaN values are left out of ``mean``, ``stddev``,
``min``, ``max``, ``median``, ``count`` and of polynomial fits; a window
with no (non-NaN) value gives NaN. ``first`` and ``last`` are the values of
the window's first and last rows, as they are.

``circular_mean`` is the mean of angles in degrees (wind direction: 350° and
10° average to 0°, not 180°): the direction of the sum of unit vectors,
in ``[0, 360)``; NaN where the vectors cancel out (mean resultant length
below :data:`UNDEFINED_RESULTANT`, e.g. 90° and 270°).

A :class:`FieldReducer` computes what several functions of one field share
(NaN mask, counts, sums, means) once; ``median`` takes each window's slice
in turn (``np.median`` per window is several times faster than one sort of
every window's rows at the sizes of exposures).
"""

from __future__ import annotations

import warnings
from functools import cached_property

import numpy as np
import numpy.typing as npt

from openefd.analysis.summaries_poly import poly_rms
from openefd.analysis.summaries_windows import FloatArray, IntArray, Windows

__all__ = [
    "PLAIN_FUNCTIONS",
    "UNDEFINED_RESULTANT",
    "FieldReducer",
    "FloatArray",
    "IntArray",
    "Windows",
    "circular_windows",
    "poly_rms",
    "reduce_windows",
    "take_rows",
]

PLAIN_FUNCTIONS = (
    "mean", "stddev", "min", "max", "median", "first", "last", "count", "circular_mean",
)  # fmt: skip
UNDEFINED_RESULTANT = 1e-9  # below this mean resultant length, angles have no mean direction


class FieldReducer:
    """The functions of one field's ``values`` over ``windows``, sharing their parts.

    The NaN mask, the counts, the sums and the means are computed on first
    use and kept, so that ``mean``, ``stddev``, ``count``… of one field read
    its rows once.
    """

    def __init__(self, values: FloatArray, windows: Windows) -> None:
        self.values = values
        self.windows = windows

    @cached_property
    def data(self) -> FloatArray:
        return self.windows.data(self.values)

    @cached_property
    def missing(self) -> npt.NDArray[np.bool_] | None:
        """The NaN mask of :attr:`data`; None when no value is NaN."""
        mask = np.isnan(self.data)
        return mask if mask.any() else None

    @cached_property
    def count(self) -> FloatArray:
        """Non-NaN values per window (float, 0 for empty windows)."""
        w = self.windows
        if self.missing is None:
            per = w.lengths.astype(np.float64)
            return np.broadcast_to(
                per.reshape((-1,) + (1,) * (self.values.ndim - 1)),
                (len(w), *self.values.shape[1:]),
            ).copy()
        return np.nan_to_num(w.reduce(np.add, (~self.missing).astype(np.float64)))

    @cached_property
    def zeroed(self) -> FloatArray:
        """:attr:`data` with NaN as 0."""
        return self.data if self.missing is None else np.where(self.missing, 0.0, self.data)

    @cached_property
    def mean(self) -> FloatArray:
        total = self.windows.reduce(np.add, self.zeroed)
        n = self.count
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, total / n, np.nan)

    def stddev(self, ddof: int) -> FloatArray:
        dev = self.windows.expand(self.mean, self.data)  # a new array: worked in place
        np.subtract(self.data, dev, out=dev)
        if self.missing is not None:
            dev[self.missing] = 0.0
        np.multiply(dev, dev, out=dev)
        squares = self.windows.reduce(np.add, dev)
        n = self.count
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n - ddof > 0, np.sqrt(squares / (n - ddof)), np.nan)

    def median(self) -> FloatArray:
        return _median(self.values, self.windows, self.count)

    def reduce(self, name: str, *, ddof: int = 0) -> FloatArray:
        """``name`` (one of :data:`PLAIN_FUNCTIONS`) over every window."""
        w = self.windows
        if name == "circular_mean":
            return circular_windows(self.values, w)[0]
        if name == "first" or name == "last":
            out = np.full((len(w), *self.values.shape[1:]), np.nan)
            rows = w.lo if name == "first" else w.hi - 1
            out[w.nonempty] = self.values[rows[w.nonempty]]
            return out
        if name == "min":
            return w.reduce(np.fmin, self.data)
        if name == "max":
            return w.reduce(np.fmax, self.data)
        if name == "median":
            return self.median()
        if name == "count":
            return self.count.copy()
        if name == "mean":
            return self.mean.copy()
        if name == "stddev":
            return self.stddev(ddof)
        raise ValueError(f"unknown summary function {name!r}; known: {', '.join(PLAIN_FUNCTIONS)}")


def _median(values: FloatArray, windows: Windows, count: FloatArray) -> FloatArray:
    """Median per window of the non-NaN values: ``np.median`` of each window's slice."""
    out = np.full((len(windows), *values.shape[1:]), np.nan)
    complete = count == windows.lengths.reshape((-1,) + (1,) * (values.ndim - 1))
    whole = complete if values.ndim == 1 else complete.all(axis=1)
    for i in np.flatnonzero(windows.nonempty).tolist():
        seg = values[windows.lo[i] : windows.hi[i]]
        if whole[i]:
            out[i] = np.median(seg, axis=0)
        elif values.ndim == 1:
            ok = seg[~np.isnan(seg)]
            if len(ok):
                out[i] = np.median(ok)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN elements give NaN
                out[i] = np.nanmedian(seg, axis=0)
    return out


def circular_windows(values_deg: FloatArray, windows: Windows) -> tuple[FloatArray, FloatArray]:
    """Circular mean (degrees, ``[0, 360)``) and mean resultant length ``R`` per window.

    ``R`` is the length of the mean of the angles' unit vectors: 1 when every
    angle is the same, near 0 when they spread all round. The mean is NaN where
    ``R`` < :data:`UNDEFINED_RESULTANT`; both are NaN for a window without a value.
    """
    data = windows.data(values_deg)
    missing = np.isnan(data)
    radians = np.radians(np.where(missing, 0.0, data))
    n = np.nan_to_num(windows.reduce(np.add, (~missing).astype(np.float64)))
    sin = windows.reduce(np.add, np.where(missing, 0.0, np.sin(radians)))
    cos = windows.reduce(np.add, np.where(missing, 0.0, np.cos(radians)))
    with np.errstate(invalid="ignore", divide="ignore"):
        resultant = np.where(n > 0, np.hypot(sin, cos) / n, np.nan)
    mean = np.mod(np.degrees(np.arctan2(sin, cos)), 360.0)
    mean = np.where(mean >= 360.0, mean - 360.0, mean)  # -1e-15 % 360 rounds to 360.0
    defined = np.nan_to_num(resultant, nan=0.0) >= UNDEFINED_RESULTANT
    return np.where(defined, mean, np.nan), resultant


def reduce_windows(
    name: str, values: FloatArray, windows: Windows, *, ddof: int = 0
) -> FloatArray:
    """``name`` (one of :data:`PLAIN_FUNCTIONS`) of ``values`` over every window."""
    return FieldReducer(values, windows).reduce(name, ddof=ddof)


def take_rows(values: FloatArray, rows: IntArray, found: npt.NDArray[np.bool_]) -> FloatArray:
    """``values[rows]`` where ``found``, else NaN (as-of lookups)."""
    out = np.full((len(rows), *values.shape[1:]), np.nan)
    out[found] = values[rows[found]]
    return out
