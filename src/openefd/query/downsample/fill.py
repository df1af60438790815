"""Filling empty bins, as InfluxQL's ``fill()`` does.

Modes: ``none`` drops empty bins; ``null`` gives them NaN (``count`` gives 0,
as InfluxQL does); ``previous`` repeats the value of the last non-empty bin
before (NaN before the first); ``linear`` interpolates between the
neighbouring non-empty bins, in time (NaN before the first and after the
last); a number fills with that number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from openefd.errors import QueryError
from openefd.query.downsample.bins import FloatArray, IntArray

__all__ = ["FILL_MODES", "Fill", "fill_bins", "parse_fill"]

FILL_MODES = ("none", "null", "previous", "linear")

FillMode = Literal["none", "null", "previous", "linear", "number"]


@dataclass(frozen=True)
class Fill:
    """A parsed fill mode; ``value`` is the number of ``fill(<number>)``."""

    mode: FillMode
    value: float = math.nan


def parse_fill(fill: str | float) -> Fill:
    """``"none"``, ``"null"``, ``"previous"``, ``"linear"`` or a finite number.

    A string that reads as a number (``"0"``, ``"-1.5"``) counts as one, as it
    would in InfluxQL's ``fill(0)``.

    Raises
    ------
    QueryError
        For anything else.
    """
    allowed = "none, null, previous, linear or a finite number"
    if isinstance(fill, str):
        if fill in FILL_MODES:
            return Fill(fill)  # type: ignore[arg-type]  # checked against FILL_MODES
        try:
            number = float(fill)
        except ValueError:
            raise QueryError(f"unknown fill {fill!r}; use {allowed}") from None
    elif isinstance(fill, int | float) and not isinstance(fill, bool):
        number = float(fill)
    else:
        raise QueryError(f"fill must be a string or a number, not {type(fill).__name__}")
    if not math.isfinite(number):
        raise QueryError(f"fill value must be finite; got {fill!r} (use 'null' for NaN)")
    return Fill("number", number)


def fill_bins(
    numbers: IntArray,
    values: FloatArray,
    first: int,
    last: int,
    fill: Fill,
    empty_value: float,
    width_ns: int,
) -> tuple[IntArray, FloatArray]:
    """Every bin ``first … last`` with the non-empty ones' ``values``, the rest filled.

    ``numbers`` are the non-empty bins (strictly increasing, all within
    ``[first, last]``). Returns the bin numbers and their values; for
    ``fill.mode == "none"`` these are just the non-empty bins.
    """
    if fill.mode == "none":
        return numbers, values
    every = np.arange(first, last + 1, dtype=np.int64)
    present = numbers - first
    if fill.mode == "null" or fill.mode == "number":
        empty = empty_value if fill.mode == "null" else fill.value
        out = np.full(len(every), empty)
        out[present] = values
        return every, out
    if fill.mode == "previous":
        return every, forward_filled(present, values, len(every))
    return every, _linear(present, values, len(every), width_ns)


def forward_filled(present: IntArray, values: FloatArray, size: int) -> FloatArray:
    """``size`` slots: ``values`` at ``present``, each gap the value before (NaN at first)."""
    source = np.full(size, -1, dtype=np.int64)
    source[present] = np.arange(len(present))
    np.maximum.accumulate(source, out=source)
    out = np.full(size, np.nan)
    known = source >= 0
    out[known] = values[source[known]]
    return out


def _linear(present: IntArray, values: FloatArray, size: int, width_ns: int) -> FloatArray:
    # InfluxQL's linear fill: slope (next − prev) / (t_next − t_prev) in ns, times (t − t_prev).
    out = np.full(size, np.nan)
    out[present] = values
    if len(present) < 2:
        return out
    slot = np.arange(size, dtype=np.int64)
    after = np.searchsorted(present, slot, side="right")  # index of the next present bin
    gap = (after > 0) & (after < len(present))
    gap[present] = False
    prev, nxt = present[after[gap] - 1], present[after[gap]]
    v_prev, v_next = values[after[gap] - 1], values[after[gap]]
    width = float(width_ns)  # float products: no int64 overflow, one rounding as Go's
    slope = (v_next - v_prev) / ((nxt - prev).astype(np.float64) * width)
    out[gap] = slope * ((slot[gap] - prev).astype(np.float64) * width) + v_prev
    return out
