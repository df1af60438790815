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
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "PLAIN_FUNCTIONS",
    "UNDEFINED_RESULTANT",
    "Windows",
    "circular_windows",
    "poly_rms",
    "reduce_windows",
    "take_rows",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PLAIN_FUNCTIONS = (
    "mean", "stddev", "min", "max", "median", "first", "last", "count", "circular_mean",
)  # fmt: skip
UNDEFINED_RESULTANT = 1e-9  # below this mean resultant length, angles have no mean direction


class Windows:
    """Row ranges ``[lo, hi)`` of a sorted series, and the gathered rows they cover.

    ``rows`` lists the row numbers of every window one after the other, so that
    the windows become contiguous, non-overlapping ``[start, stop)`` slices of
    ``rows``, which ``ufunc.reduceat`` reduces in one call.
    """

    def __init__(self, lo: npt.ArrayLike, hi: npt.ArrayLike) -> None:
        self.lo: IntArray = np.asarray(lo, dtype=np.int64)
        self.hi: IntArray = np.maximum(np.asarray(hi, dtype=np.int64), self.lo)
        self.lengths: IntArray = self.hi - self.lo
        self.stop: IntArray = np.cumsum(self.lengths)
        self.start: IntArray = self.stop - self.lengths
        total = int(self.stop[-1]) if len(self.stop) else 0
        self.rows: IntArray = np.arange(total, dtype=np.int64) - np.repeat(
            self.start - self.lo, self.lengths
        )
        self.window_of_row: IntArray = np.repeat(np.arange(len(self.lo)), self.lengths)
        self.nonempty = self.lengths > 0

    def __len__(self) -> int:
        return len(self.lo)

    def reduceat(self, ufunc: np.ufunc, gathered: FloatArray) -> FloatArray:
        """``ufunc`` over each window of gathered rows; NaN for empty windows."""
        out = np.full((len(self), *gathered.shape[1:]), np.nan)
        if gathered.shape[0]:
            out[self.nonempty] = ufunc.reduceat(gathered, self.start[self.nonempty], axis=0)
        return out


def _expand(per_window: FloatArray, windows: Windows) -> FloatArray:
    return np.repeat(per_window, windows.lengths, axis=0)


def _median(gathered: FloatArray, windows: Windows) -> FloatArray:
    """Median per window: sort by (window, value), NaN last, and pick the middle."""
    seg = windows.window_of_row
    if gathered.ndim == 1:
        order = np.lexsort((gathered, seg))
        ordered = gathered[order]
    else:
        by_value = np.argsort(gathered, axis=0, kind="stable")
        by_window = np.argsort(seg[by_value], axis=0, kind="stable")
        ordered = np.take_along_axis(gathered, np.take_along_axis(by_value, by_window, 0), 0)
    n = windows.reduceat(np.add, (~np.isnan(gathered)).astype(np.float64))
    n = np.nan_to_num(n).astype(np.int64)
    out = np.full(n.shape, np.nan)
    have = n > 0
    start = np.broadcast_to(windows.start.reshape((-1,) + (1,) * (n.ndim - 1)), n.shape)
    low = (start + (n - 1) // 2)[have]
    high = (start + n // 2)[have]
    if gathered.ndim == 1:
        out[have] = (ordered[low] + ordered[high]) / 2
    else:
        cols = np.broadcast_to(np.arange(n.shape[1]), n.shape)[have]
        out[have] = (ordered[low, cols] + ordered[high, cols]) / 2
    return out


def circular_windows(values_deg: FloatArray, windows: Windows) -> tuple[FloatArray, FloatArray]:
    """Circular mean (degrees, ``[0, 360)``) and mean resultant length ``R`` per window.

    ``R`` is the length of the mean of the angles' unit vectors: 1 when every
    angle is the same, near 0 when they spread all round. The mean is NaN where
    ``R`` < :data:`UNDEFINED_RESULTANT`; both are NaN for a window without a value.
    """
    gathered = values_deg[windows.rows]
    missing = np.isnan(gathered)
    radians = np.radians(np.where(missing, 0.0, gathered))
    n = np.nan_to_num(windows.reduceat(np.add, (~missing).astype(np.float64)))
    sin = windows.reduceat(np.add, np.where(missing, 0.0, np.sin(radians)))
    cos = windows.reduceat(np.add, np.where(missing, 0.0, np.cos(radians)))
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
    if name == "circular_mean":
        return circular_windows(values, windows)[0]
    if name == "first" or name == "last":
        out = np.full((len(windows), *values.shape[1:]), np.nan)
        rows = windows.lo if name == "first" else windows.hi - 1
        out[windows.nonempty] = values[rows[windows.nonempty]]
        return out
    gathered = values[windows.rows]
    if name == "min":
        return windows.reduceat(np.fmin, gathered)
    if name == "max":
        return windows.reduceat(np.fmax, gathered)
    if name == "median":
        return _median(gathered, windows)
    missing = np.isnan(gathered)
    n = np.nan_to_num(windows.reduceat(np.add, (~missing).astype(np.float64)))
    if name == "count":
        return n
    total = windows.reduceat(np.add, np.where(missing, 0.0, gathered))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        if name == "mean":
            return mean
        if name == "stddev":
            dev = np.where(missing, 0.0, gathered - _expand(mean, windows))
            squares = windows.reduceat(np.add, dev * dev)
            return np.where(n - ddof > 0, np.sqrt(squares / (n - ddof)), np.nan)
    raise ValueError(f"unknown summary function {name!r}; known: {', '.join(PLAIN_FUNCTIONS)}")


def take_rows(values: FloatArray, rows: IntArray, found: npt.NDArray[np.bool_]) -> FloatArray:
    """``values[rows]`` where ``found``, else NaN (as-of lookups)."""
    out = np.full((len(rows), *values.shape[1:]), np.nan)
    out[found] = values[rows[found]]
    return out


def _fit_rms(x: FloatArray, y: FloatArray, degree: int) -> float:
    if len(x) <= degree:
        return float("nan")
    basis = np.vander(_scaled(x), degree + 1)
    coef: Any = np.linalg.lstsq(basis, y, rcond=None)[0]
    resid = y - basis @ coef
    return float(np.sqrt(np.mean(resid * resid)))


def poly_rms(values: FloatArray, x: FloatArray, windows: Windows, degree: int) -> FloatArray:
    """RMS of the residuals of a least-squares polynomial of ``degree`` in ``x``, per window.

    Rows with a NaN value are left out; fewer than ``degree + 1`` rows give NaN.
    """
    out = np.full((len(windows), *values.shape[1:]), np.nan)
    for i in np.flatnonzero(windows.nonempty):
        lo, hi = int(windows.lo[i]), int(windows.hi[i])
        y, xs = values[lo:hi], x[lo:hi]
        if y.ndim == 1:
            ok = ~np.isnan(y)
            out[i] = _fit_rms(xs[ok], y[ok], degree)
        elif not np.isnan(y).any():
            if len(xs) > degree:
                basis = np.vander(_scaled(xs), degree + 1)
                coef: Any = np.linalg.lstsq(basis, y, rcond=None)[0]
                resid = y - basis @ coef
                out[i] = np.sqrt(np.mean(resid * resid, axis=0))
        else:
            for j in range(y.shape[1]):
                ok = ~np.isnan(y[:, j])
                out[i, j] = _fit_rms(xs[ok], y[ok, j], degree)
    return out


def _scaled(x: FloatArray) -> FloatArray:
    """``x`` mapped onto [-1, 1], for well-conditioned fits."""
    span = float(x.max() - x.min())
    shifted = np.asarray(x - x.min(), dtype=np.float64)
    return shifted / span * 2 - 1 if span > 0 else shifted
