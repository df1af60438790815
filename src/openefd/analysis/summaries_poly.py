"""RMS of the residuals of a least-squares polynomial fit, for every window at once.

Each window's ``x`` is mapped onto [-1, 1] (over the rows with a value), the
fit uses Legendre polynomials of that (well conditioned there), and all the
windows' small normal equations ``G c = b`` are solved in one stacked
``numpy.linalg.solve``; the values are centred on the window's mean first and
the residuals are computed explicitly from the rows. The answer is the same
as ``numpy.polynomial.polynomial.polyfit`` on the window's rows (to rounding).
A window whose ``G`` is nearly singular (``x`` too bunched up for the degree,
e.g. repeated times) falls back to ``numpy.linalg.lstsq`` on its rows, as do
none in practice. Pure numpy, no I/O.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from openefd.analysis.summaries_windows import FloatArray, Windows

__all__ = ["poly_rms"]

_ILL_CONDITIONED = 1e-10  # smallest / largest eigenvalue of G below this: solve with lstsq
_CHUNK_VALUES = 20_000_000  # floats per intermediate array when fitting many elements at once

BoolArray = npt.NDArray[np.bool_]


def poly_rms(values: FloatArray, x: FloatArray, windows: Windows, degree: int) -> FloatArray:
    """RMS of the residuals of a least-squares polynomial of ``degree`` in ``x``, per window.

    Rows with a NaN value are left out; fewer than ``degree + 1`` rows give NaN.
    """
    out = np.full((len(windows), *values.shape[1:]), np.nan)
    if not windows.nonempty.any():
        return out
    rows = windows.rows
    compact = np.cumsum(windows.nonempty) - 1
    seg = compact[windows.window_of_row]
    start = windows.start[windows.nonempty]
    ys = values[rows].reshape(len(rows), -1).T  # (elements, rows): rows along the last axis
    xs = x[rows]
    valid = ~np.isnan(ys)
    shared = bool(valid.all())  # one mask (all rows) for every element
    step = max(1, _CHUNK_VALUES // max(1, len(rows) * (degree + 2)))
    fitted = np.full((ys.shape[0], len(start)), np.nan)
    for lo in range(0, ys.shape[0], step):
        cols = slice(lo, lo + step)
        mask = valid[:1] if shared else valid[cols]
        rms, bad = _fit(xs, np.ascontiguousarray(ys[cols]), mask, seg, start, degree)
        fitted[cols] = rms
        for j, w in zip(*np.nonzero(bad), strict=True):
            _refit(values, x, windows, degree, fitted, int(w), lo + int(j), shared, step)
    out[windows.nonempty] = fitted.T.reshape((len(start), *values.shape[1:]))
    return out


def _fit(
    x: FloatArray, y: FloatArray, valid: BoolArray, seg: Any, start: Any, degree: int
) -> tuple[FloatArray, BoolArray]:
    """RMS per (element, window), and which (mask row, window) need ``lstsq`` instead.

    ``y`` is ``(elements, rows)``, ``valid`` ``(1 or elements, rows)``; every
    per-row array keeps the rows along its last axis, which ``reduceat`` runs
    along fastest.
    """
    p = degree + 1
    weight = valid.astype(np.float64)
    count = np.add.reduceat(weight, start, axis=-1)
    lowest = np.fmin.reduceat(np.where(valid, x, np.nan), start, axis=-1)
    highest = np.fmax.reduceat(np.where(valid, x, np.nan), start, axis=-1)
    span = (highest - lowest)[:, seg]
    shifted = x - lowest[:, seg]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(span > 0, shifted / span * 2 - 1, shifted)
    t = np.where(valid, t, 0.0)
    basis = _legendre(t, degree)  # (p, masks, rows)
    weighted = basis * weight
    gram = np.empty((*count.shape, p, p))  # (masks, windows, p, p)
    for i in range(p):
        for j in range(i, p):
            gram[..., i, j] = gram[..., j, i] = np.add.reduceat(
                weighted[i] * basis[j], start, axis=-1
            )
    zeroed = np.where(valid, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, np.add.reduceat(zeroed, start, axis=-1) / count, 0.0)
    centred = np.where(valid, y - mean[:, seg], 0.0)
    fits = count > degree
    eye = np.eye(p)
    gram = np.where(fits[..., None, None], gram, eye)
    eigen = np.linalg.eigvalsh(gram)
    bad = fits & ~(eigen[..., 0] > _ILL_CONDITIONED * eigen[..., -1])
    gram = np.broadcast_to(
        np.where(bad[..., None, None], eye, gram), (*centred.shape[:1], *gram.shape[1:])
    )
    coef = _solve(gram, _project(weighted, centred, start))
    resid = _residuals(centred, basis, coef, seg)
    # one step of iterative refinement: the normal equations alone lose digits
    coef += _solve(gram, _project(weighted, np.where(valid, resid, 0.0), start))
    resid = _residuals(centred, basis, coef, seg)
    squares = np.add.reduceat(np.where(valid, resid * resid, 0.0), start, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.where(fits & ~bad, np.sqrt(squares / count), np.nan)
    return rms, bad


def _project(weighted: FloatArray, y: FloatArray, start: Any) -> FloatArray:
    """``Σ w·P_i(t)·y`` per window: ``(elements, windows, p)``."""
    return np.stack([np.add.reduceat(w * y, start, axis=-1) for w in weighted], axis=-1)


def _solve(gram: FloatArray, rhs: FloatArray) -> FloatArray:
    solved = np.linalg.solve(gram, rhs[..., None])[..., 0]
    return np.asarray(solved, dtype=np.float64)


def _residuals(y: FloatArray, basis: FloatArray, coef: FloatArray, seg: Any) -> FloatArray:
    """``y`` minus the fit, per row: ``(elements, rows)``."""
    out = y.copy()
    for i in range(basis.shape[0]):
        out -= basis[i] * coef[:, seg, i]
    return out


def _legendre(t: FloatArray, degree: int) -> FloatArray:
    """``P_0(t) … P_degree(t)`` along a new first axis."""
    out = np.empty((degree + 1, *t.shape))
    out[0] = 1.0
    if degree >= 1:
        out[1] = t
    for j in range(1, degree):
        out[j + 1] = ((2 * j + 1) * t * out[j] - j * out[j - 1]) / (j + 1)
    return out


def _refit(
    values: FloatArray,
    x: FloatArray,
    windows: Windows,
    degree: int,
    fitted: FloatArray,
    window: int,
    column: int,
    shared: bool,
    step: int,
) -> None:
    """``lstsq`` for a nearly singular window (every element when they share one mask)."""
    i = int(np.flatnonzero(windows.nonempty)[window])
    lo, hi = int(windows.lo[i]), int(windows.hi[i])
    flat = values[lo:hi].reshape(hi - lo, -1)
    targets = range(column, min(column + step, flat.shape[1])) if shared else [column]
    for j in targets:
        ok = ~np.isnan(flat[:, j])
        fitted[j, window] = _lstsq_rms(x[lo:hi][ok], flat[ok, j], degree)


def _lstsq_rms(x: FloatArray, y: FloatArray, degree: int) -> float:
    if len(x) <= degree:
        return float("nan")
    span = float(x.max() - x.min())
    shifted = np.asarray(x - x.min(), dtype=np.float64)
    basis = np.vander(shifted / span * 2 - 1 if span > 0 else shifted, degree + 1)
    coef: Any = np.linalg.lstsq(basis, y, rcond=None)[0]
    resid = y - basis @ coef
    return float(np.sqrt(np.mean(resid * resid)))
