"""Applying an operator or a reducer to one field's samples.

The samples come as two aligned 1-D arrays: times (int64 ns, one time scale,
sorted ascending; ties allowed) and values (float, int or bool). NaN values
are null samples and are ignored by every operator, as InfluxDB ignores
nulls: a bin holding only NaN is empty. Samples outside ``[start_ns,
end_ns)`` are ignored too (except as the seed of ``firstFill``/``lastFill``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from openefd.errors import QueryError
from openefd.query.downsample.bins import (
    INT64_MAX,
    Bins,
    FloatArray,
    IntArray,
    bin_numbers,
    check_int64,
)
from openefd.query.downsample.fill import Fill, fill_bins, forward_filled, parse_fill
from openefd.query.downsample.reducers import Reducer
from openefd.query.downsample.registry import Operator, OperatorKind, parse_operator

__all__ = ["MAX_FILLED_BINS", "aggregate", "downsample"]

MAX_FILLED_BINS = 10_000_000
"""Most bins a filled result may have (80 MB of values); ``max_bins`` overrides it."""


def downsample(
    times_ns: npt.ArrayLike,
    values: npt.ArrayLike,
    op: Operator | str,
    *,
    fill: str | float = "none",
    start_ns: int | None = None,
    end_ns: int | None = None,
    origin_ns: int = 0,
    max_bins: int = MAX_FILLED_BINS,
) -> tuple[IntArray, npt.NDArray[Any]]:
    """Downsample one field's samples with an Archiver Appliance operator.

    Parameters
    ----------
    times_ns
        Sample times, integer ns in one time scale, sorted ascending.
    values
        Sample values (float, int or bool); NaN marks a null sample.
    op
        An operator name such as ``"mean_60"`` or a parsed :class:`Operator`.
    fill
        What empty bins hold: ``"none"`` (dropped), ``"null"`` (NaN; 0 for
        ``count``), ``"previous"``, ``"linear"`` or a number. ``firstFill`` and
        ``lastFill`` always fill with the previous value (``"none"`` and
        ``"previous"`` are accepted); ``nth`` and ``ignoreflyers`` have no
        bins and accept only ``"none"``.
    start_ns, end_ns
        The range ``[start_ns, end_ns)``: samples outside it are ignored, and
        bins run from the one holding ``start_ns`` to the one holding
        ``end_ns − 1`` so that leading and trailing empty bins are filled.
        Without them bins run from the first sample's to the last one's.
    origin_ns
        Bins are ``[origin + k·N s, origin + (k+1)·N s)``; 0 aligns them to
        whole multiples of N seconds since the epoch of the time scale.
    max_bins
        Refuse a filled result with more bins than this.

    Returns
    -------
    times, values
        For bin operators, the bins' start times (int64 ns) and float64
        values. For ``nth`` and ``ignoreflyers``, the samples kept: their own
        times and their values unchanged (same dtype as given).

    Raises
    ------
    QueryError
        For an unknown or malformed operator, an unusable fill, unsorted
        times, arrays of different lengths or unusable types, or a range with
        ``start_ns > end_ns``.
    """
    parsed = parse_operator(op) if isinstance(op, str) else op
    if not isinstance(parsed, Operator):
        raise QueryError(f"op must be an operator name or Operator, not {type(op).__name__}")
    spec = parsed.spec
    mode = parse_fill(fill)
    times, originals = _validated(times_ns, values)
    span = _Span.of(times, start_ns, end_ns, origin_ns, max_bins)
    times_in, originals_in, floats_in = _non_null(
        times[span.lo : span.hi], originals[span.lo : span.hi]
    )
    if spec.kind is OperatorKind.SELECTION:
        assert spec.select is not None
        if mode.mode != "none":
            raise QueryError(
                f"{spec.pattern} returns samples, not bins, so it cannot fill; use fill='none'"
            )
        origin = span.origin % parsed.bin_ns if parsed.bin_ns else 0
        kept = spec.select(times_in, floats_in, parsed, origin)
        return times_in[kept], originals_in[kept]
    assert spec.reducer is not None
    assert parsed.bin_ns is not None
    if spec.kind is OperatorKind.FILLED:
        if mode.mode not in ("none", "previous"):
            other = "firstSample" if spec.name == "firstFill" else "lastSample"
            raise QueryError(
                f"{spec.name} always fills empty bins with the value before them; "
                f"for fill={fill!r} use {other}_N"
            )
        seed = _last_non_null(originals[: span.lo]) if span.start is not None else None
        return _binned(
            times_in, floats_in, spec.reducer, parsed.bin_ns, mode, span, filled=True, seed=seed
        )
    return _binned(times_in, floats_in, spec.reducer, parsed.bin_ns, mode, span)


def aggregate(
    times_ns: npt.ArrayLike,
    values: npt.ArrayLike,
    reducer: Reducer,
    width_ns: int,
    *,
    fill: str | float = "none",
    start_ns: int | None = None,
    end_ns: int | None = None,
    origin_ns: int = 0,
    max_bins: int = MAX_FILLED_BINS,
) -> tuple[IntArray, FloatArray]:
    """One reducer over bins of any width: InfluxQL's ``GROUP BY time(width, offset)``.

    As :func:`downsample` for a bin operator, with the reducer (e.g. from
    :func:`~openefd.query.downsample.registry.influxql_reducer`) and the bin
    width in ns given directly; ``origin_ns`` is InfluxQL's offset.

    Returns
    -------
    times, values
        Bin start times (int64 ns) and float64 values.

    Raises
    ------
    QueryError
        As :func:`downsample`, and for a width that is not a positive integer.
    """
    if isinstance(width_ns, bool) or not isinstance(width_ns, int | np.integer):
        raise QueryError(f"bin width must be an integer number of ns, not {width_ns!r}")
    if not 0 < int(width_ns) <= INT64_MAX:
        raise QueryError(f"bin width must be from 1 ns to {INT64_MAX} ns; got {int(width_ns)}")
    mode = parse_fill(fill)
    times, originals = _validated(times_ns, values)
    span = _Span.of(times, start_ns, end_ns, origin_ns, max_bins)
    times_in, _, floats_in = _non_null(times[span.lo : span.hi], originals[span.lo : span.hi])
    return _binned(times_in, floats_in, reducer, int(width_ns), mode, span)


@dataclass(frozen=True)
class _Span:
    """The validated range: sample indices ``[lo, hi)``, start, end, origin, bin limit."""

    lo: int
    hi: int
    start: int | None
    end: int | None
    origin: int
    max_bins: int

    @classmethod
    def of(
        cls,
        times: IntArray,
        start_ns: int | None,
        end_ns: int | None,
        origin_ns: int,
        max_bins: int,
    ) -> _Span:
        start = None if start_ns is None else _integer(start_ns, "start_ns")
        end = None if end_ns is None else _integer(end_ns, "end_ns")
        origin = _integer(origin_ns, "origin_ns")
        if start is not None and end is not None and start > end:
            raise QueryError(
                f"start_ns ({start}) is after end_ns ({end}); the range is [start, end)"
            )
        if _integer(max_bins, "max_bins") < 1:
            raise QueryError(f"max_bins must be at least 1; got {max_bins}")
        lo = int(np.searchsorted(times, start, side="left")) if start is not None else 0
        hi = int(np.searchsorted(times, end, side="left")) if end is not None else len(times)
        return cls(lo, max(lo, hi), start, end, origin, max_bins)


def _binned(
    times: IntArray,
    floats: FloatArray,
    reducer: Reducer,
    width_ns: int,
    fill: Fill,
    span: _Span,
    *,
    filled: bool = False,
    seed: float | None = None,
) -> tuple[IntArray, FloatArray]:
    """Reduce into bins, then fill as ``fill`` asks, or as a FILLED operator does."""
    origin = span.origin % width_ns
    bins = Bins.from_bin_numbers(bin_numbers(times, width_ns, origin), floats)
    numbers, reduced = bins.numbers, reducer(bins)
    first = (span.start - origin) // width_ns if span.start is not None else None
    last = (span.end - 1 - origin) // width_ns if span.end is not None else None
    if first is None and len(numbers):
        first = int(numbers[0])
    if last is None and len(numbers):
        last = int(numbers[-1])
    if first is None or last is None or first > last:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    check_int64(origin + first * width_ns, "the first bin's start")
    check_int64(origin + last * width_ns, "the last bin's start")
    if (fill.mode != "none" or filled) and last - first + 1 > span.max_bins:
        raise QueryError(
            f"filling would give {last - first + 1} bins, more than the limit of "
            f"{span.max_bins}; use larger bins, a shorter time range or fill='none'"
        )
    if filled:
        numbers, reduced = _previous_filled(numbers, reduced, first, last, seed)
    else:
        numbers, reduced = fill_bins(
            numbers, reduced, first, last, fill, reducer.empty_value, width_ns
        )
    return np.int64(origin) + numbers * np.int64(width_ns), reduced


def _previous_filled(
    numbers: IntArray, values: FloatArray, first: int, last: int, seed: float | None
) -> tuple[IntArray, FloatArray]:
    """Bins ``first … last``, empty ones repeating the value before (``seed`` before the range).

    Leading bins with no value before them are left out, as the Archiver
    Appliance's ``firstFill`` leaves them out.
    """
    if seed is not None:
        numbers = np.concatenate(([first - 1], numbers)).astype(np.int64)
        values = np.concatenate(([seed], values))
    if len(numbers) == 0:
        return numbers, values
    base = max(first, int(numbers[0]))
    every = np.arange(base, last + 1, dtype=np.int64)
    origin_slot = int(numbers[0])
    out = forward_filled(numbers - origin_slot, values, last - origin_slot + 1)
    return every, out[base - origin_slot :]


def _validated(
    times_ns: npt.ArrayLike, values: npt.ArrayLike
) -> tuple[IntArray, npt.NDArray[Any]]:
    times = np.asarray(times_ns)
    vals = np.asarray(values)
    if times.ndim != 1 or vals.ndim != 1:
        raise QueryError(
            f"times_ns and values must be 1-D arrays; got {times.ndim}-D and {vals.ndim}-D"
        )
    if len(times) != len(vals):
        raise QueryError(
            f"times_ns and values must have the same length; got {len(times)} and {len(vals)}"
        )
    if times.dtype.kind not in "iu" and not (times.dtype.kind in "fO" and len(times) == 0):
        hint = " (use .view('int64') on datetime64[ns])" if times.dtype.kind == "M" else ""
        raise QueryError(f"times_ns must be integer ns (int64); got dtype {times.dtype}{hint}")
    if times.dtype.kind == "u" and len(times) and int(times.max()) > INT64_MAX:
        raise QueryError(f"times_ns holds {int(times.max())}, beyond the int64 ns range")
    if vals.dtype.kind not in "fiub" and not (vals.dtype.kind == "O" and len(vals) == 0):
        raise QueryError(f"values must be numbers or booleans; got dtype {vals.dtype}")
    times = times.astype(np.int64, copy=False)
    if len(times) > 1:
        backwards = np.flatnonzero(times[1:] < times[:-1])
        if len(backwards):
            i = int(backwards[0]) + 1
            raise QueryError(
                f"times_ns must be sorted ascending; sample {i} ({int(times[i])} ns) comes "
                f"before sample {i - 1} ({int(times[i - 1])} ns)"
            )
    return times, vals


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise QueryError(f"{name} must be an integer, not {value!r}")
    check_int64(int(value), name)
    return int(value)


def _non_null(
    times: IntArray, originals: npt.NDArray[Any]
) -> tuple[IntArray, npt.NDArray[Any], FloatArray]:
    """Drop NaN samples; return times, the original values and the values as float64."""
    floats = originals.astype(np.float64, copy=False)
    if originals.dtype.kind == "f":
        keep = ~np.isnan(floats)
        if not keep.all():
            return times[keep], originals[keep], floats[keep]
    return times, originals, floats


def _last_non_null(values: npt.NDArray[Any]) -> float | None:
    if values.dtype.kind == "f":
        known = np.flatnonzero(~np.isnan(values))
        return float(values[known[-1]]) if len(known) else None
    return float(values[-1]) if len(values) else None
