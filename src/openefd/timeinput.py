"""Turning the times users pass in into canonical TAI nanoseconds.

Accepted: astropy ``Time`` of any scale, timezone-aware ``datetime`` and
``pandas.Timestamp``, and ISO 8601 strings (UTC unless they carry an offset;
``23:59:60`` leap seconds allowed). A naive ``datetime``/``Timestamp`` is an
error, never a guess. Durations: astropy ``TimeDelta``, ``datetime.timedelta``,
``pandas.Timedelta``.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from openefd.errors import TimeValueError
from openefd.timescales import NS_PER_S, UTC_EARLIEST_NS, tai_to_utc_ns, utc_to_tai_ns

__all__ = [
    "INDEX_SCALES",
    "duration_to_ns",
    "tai_ns_to_astropy",
    "tai_ns_to_index",
    "to_tai_ns",
    "to_tai_ns_array",
]

_DAY_NS = 86_400 * NS_PER_S
_UNIX_EPOCH_JD = 2440587.5
_OFFSET_RE = re.compile(r"([+-]\d\d:?\d\d)$")


def _astropy_to_tai_ns(value: Any) -> int:
    if not value.isscalar:
        raise TimeValueError("give one time, not an array of times")
    tai = value.tai
    days = float(tai.jd1) - _UNIX_EPOCH_JD
    whole = np.floor(days)
    frac = (days - whole) + float(tai.jd2)
    return int(whole) * _DAY_NS + round(float(frac) * _DAY_NS)


def _string_to_tai_ns(text: str, what: str) -> int:
    s = text.strip()
    if _OFFSET_RE.search(s) and not s.endswith("Z"):
        try:
            ts = pd.Timestamp(s)
        except ValueError as exc:
            raise TimeValueError(f"{what}: cannot read {text!r} as an ISO 8601 time") from exc
        return int(utc_to_tai_ns(np.int64(ts.tz_convert("UTC").value)))
    from astropy.time import Time

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = Time(s.removesuffix("Z").replace(" ", "T", 1), format="isot", scale="utc")
    except ValueError as exc:
        raise TimeValueError(
            f"{what}: cannot read {text!r} as an ISO 8601 UTC time "
            "(expected e.g. 2024-05-01T03:00:00 or 2024-05-01T03:00:00+00:00)"
        ) from exc
    return _astropy_to_tai_ns(t)


def _check_range(tai_ns: int, what: str) -> int:
    if tai_ns < int(utc_to_tai_ns(np.int64(UTC_EARLIEST_NS))):
        raise TimeValueError(f"{what}: times before 1972-01-01T00:00:00 UTC are not supported")
    return tai_ns


def to_tai_ns(value: Any, what: str = "time") -> int:
    """Canonical TAI ns for a user-supplied time; ``what`` names it in errors."""
    from astropy.time import Time

    if isinstance(value, Time):
        return _check_range(_astropy_to_tai_ns(value), what)
    if isinstance(value, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(value)
        if ts.tzinfo is None:
            raise TimeValueError(
                f"{what}: naive datetime {value!s} has no time zone; give a timezone-aware "
                "value (e.g. tzinfo=datetime.UTC) or an astropy Time with its scale"
            )
        return int(utc_to_tai_ns(np.int64(ts.tz_convert("UTC").value)))
    if isinstance(value, str):
        return _check_range(_string_to_tai_ns(value, what), what)
    raise TimeValueError(
        f"{what}: unsupported time value {value!r} of type {type(value).__name__}; "
        "use astropy.time.Time, an aware datetime/pandas.Timestamp or an ISO 8601 string"
    )


def to_tai_ns_array(values: Any, what: str = "times") -> np.ndarray[Any, np.dtype[np.int64]]:
    """Canonical TAI ns for many times at once: an astropy ``Time`` array, a tz-aware
    ``DatetimeIndex``/Series, or a sequence of the scalars :func:`to_tai_ns` takes."""
    from astropy.time import Time

    if isinstance(values, Time) and not values.isscalar:
        tai = values.tai
        days = np.asarray(tai.jd1, dtype=np.float64).ravel() - _UNIX_EPOCH_JD
        whole = np.floor(days)
        frac = (days - whole) + np.asarray(tai.jd2, dtype=np.float64).ravel()
        out = whole.astype(np.int64) * _DAY_NS + np.round(frac * _DAY_NS).astype(np.int64)
    elif isinstance(values, pd.DatetimeIndex | pd.Series) and isinstance(
        getattr(values, "dtype", None), pd.DatetimeTZDtype
    ):
        utc = pd.DatetimeIndex(values).tz_convert("UTC").as_unit("ns")
        out = utc_to_tai_ns(utc.asi8)
    elif isinstance(values, pd.DatetimeIndex | pd.Series):
        raise TimeValueError(
            f"{what}: naive datetimes have no time zone; localize them (tz_localize('UTC'))"
        )
    else:
        out = np.array([to_tai_ns(v, what) for v in values], dtype=np.int64)
    for t in (out.min(), out.max()) if len(out) else ():
        _check_range(int(t), what)
    return np.asarray(out, dtype=np.int64)


def duration_to_ns(value: Any, what: str = "duration") -> int:
    """Nanoseconds in a duration (astropy TimeDelta, timedelta, pandas Timedelta)."""
    from astropy.time import TimeDelta

    if isinstance(value, TimeDelta):
        return round(float(value.to_value("s")) * NS_PER_S)
    if isinstance(value, dt.timedelta | pd.Timedelta):
        return int(pd.Timedelta(value).value)
    raise TimeValueError(f"{what}: unsupported duration {value!r}; use astropy TimeDelta")


INDEX_SCALES = ("utc", "tai")  # the scales tai_ns_to_index gives an index in


def tai_ns_to_index(tai_ns: np.ndarray[Any, Any], scale: str = "utc") -> pd.DatetimeIndex:
    """A DatetimeIndex for TAI ns: tz-aware UTC (default) or naive TAI named ``time_tai``."""
    arr = np.asarray(tai_ns, dtype=np.int64)
    if scale == "utc":
        utc = tai_to_utc_ns(arr) if arr.size else arr
        return pd.DatetimeIndex(utc.view("datetime64[ns]")).tz_localize("UTC")
    if scale == "tai":
        return pd.DatetimeIndex(arr.view("datetime64[ns]"), name="time_tai")
    raise TimeValueError(f"unknown time scale {scale!r}; use 'utc' or 'tai'")


def tai_ns_to_astropy(tai_ns: int) -> Any:
    """An astropy Time (scale TAI) for canonical TAI ns."""
    from astropy.time import Time

    return Time(tai_ns // NS_PER_S, (tai_ns % NS_PER_S) / NS_PER_S, format="unix_tai", scale="tai")
