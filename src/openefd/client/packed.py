"""Unpacking packed (array-per-row) telemetry into one sample per row.

High-rate SAL topics publish N samples per message in array fields
(``ax0 … ax49``) with one reference time per message. Sample *i* of a row is
at ``ref + i · Δ/N`` where Δ is the spacing of the reference times — taken,
as ``lsst-efd-client`` takes it, from the first two rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from openefd.errors import QueryError, TimeValueError
from openefd.timescales import seconds_to_ns, tai_to_utc_ns

__all__ = ["element_fields", "unpack"]


def element_fields(all_fields: Sequence[str], base: str) -> list[str]:
    """``base0 … baseN-1`` among ``all_fields``, in element order."""
    found = [f for f in all_fields if f.startswith(base) and f[len(base) :].isdigit()]
    if not found:
        raise QueryError(f"no packed fields {base}0, {base}1, … in this topic")
    return sorted(found, key=lambda f: int(f[len(base) :]))


def _times_to_utc_index(times: np.ndarray, fmt: str, scale: str) -> pd.DatetimeIndex:
    if fmt == "unix_tai" and scale == "tai":
        utc = tai_to_utc_ns(seconds_to_ns(times))
    elif fmt == "unix" and scale == "utc":
        utc = seconds_to_ns(times)
    else:
        from astropy.time import Time

        try:
            t = Time(times, format=fmt, scale=scale).utc
        except ValueError as exc:
            raise TimeValueError(f"cannot read reference times as {fmt}/{scale}: {exc}") from exc
        return pd.DatetimeIndex(t.datetime64)
    return pd.DatetimeIndex(utc.view("datetime64[ns]"))


def unpack(
    frame: pd.DataFrame,
    base_fields: Sequence[str],
    ref_timestamp_col: str,
    fmt: str,
    scale: str,
) -> pd.DataFrame:
    """One row per sample: columns ``base_fields`` and ``times`` (reference scale, s).

    The index is naive UTC ``datetime64``, as ``lsst-efd-client`` returns it.
    """
    n_rows = len(frame)
    columns: dict[str, np.ndarray] = {}
    times: np.ndarray | None = None
    for base in base_fields:
        names = element_fields(list(frame.columns), base)
        n = len(names)
        if columns and n != len(next(iter(columns.values()))) // max(n_rows, 1):
            raise QueryError(f"field lengths do not agree for {base}: {n} elements")
        values = frame[names].to_numpy(dtype=np.float64)
        columns[base] = values.reshape(-1)
        ref = frame[ref_timestamp_col].to_numpy(dtype=np.float64)
        dt = 0.0 if n_rows < 2 else (ref[1] - ref[0]) / n
        times = (ref[:, None] + np.arange(n)[None, :] * dt).reshape(-1)
    if times is None:
        raise QueryError("give at least one base field to unpack")
    columns["times"] = times
    index = _times_to_utc_index(times, fmt, scale) if n_rows else pd.DatetimeIndex([])
    return pd.DataFrame(columns, index=index)
