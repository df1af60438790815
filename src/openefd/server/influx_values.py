"""Result columns as the Python values InfluxDB 1.x JSON holds, by Go's rules.

The reference for how every value is written: :mod:`.influx_json` dumps
these values with orjson, and :mod:`.influx_json_fast` must produce the
same bytes (it uses them itself for the columns it does not vectorise).

- float64 that is whole (and below 2**63 in magnitude; Go's limit is 1e21)
  becomes a Python int, so it is written without a decimal point (``1``,
  not ``1.0``) and pandas makes that column int64 exactly as it does
  against InfluxDB; other floats stay floats (orjson writes the shortest
  text that reads back to the same float); NaN and ±Inf become None
  (``null``: InfluxDB stores neither, and Go's encoder refuses them);
- ints and bools as they are; datetimes as RFC 3339 text (NaT: None);
- anything else in an object column by the same rules, bytes decoded as
  UTF-8, other objects as ``str()``;
- the time column (UTC ns) per ``epoch``: integers (:func:`.epoch_values`)
  or RFC 3339 text (:func:`.rfc3339nano`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from openefd.query.influxql.results import Series
from openefd.server.influx_time import epoch_values, rfc3339nano

__all__ = ["INT64_LIMIT", "column_list", "float_list", "series_rows", "time_list"]

INT64_LIMIT = 2.0**63
_PLAIN_TYPES = frozenset({str, int, bool, type(None)})


def float_list(values: np.ndarray[Any, Any]) -> list[Any]:
    """A float column as Python values: whole floats as ints, NaN/Inf as None."""
    floats = values.astype(np.float64, copy=False)
    finite = np.isfinite(floats)
    magnitude = np.abs(floats)
    # Whole floats of 2**63 and more stay floats: orjson writes no integer wider than
    # 64 bits (Go writes the digits up to 1e21; no telemetry value comes near).
    whole = finite & (np.trunc(floats) == floats) & (magnitude < INT64_LIMIT)
    all_finite = bool(finite.all())
    if all_finite and not whole.any():
        return floats.tolist()  # type: ignore[no-any-return]
    out = floats.astype(object)
    out[whole] = floats[whole].astype(np.int64)
    if not all_finite:
        out[~finite] = None
    return out.tolist()  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    """One value of an object column, as JSON-ready Python (Go's rules for floats)."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            return None
        if number.is_integer() and abs(number) < INT64_LIMIT:
            return int(number)
        return number
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _object_list(values: Sequence[Any] | np.ndarray[Any, Any]) -> list[Any]:
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if set(map(type, items)) <= _PLAIN_TYPES:
        return items
    return [_plain(v) for v in items]


def column_list(values: np.ndarray[Any, Any] | Sequence[Any]) -> list[Any]:
    """A value column (not the time column) as JSON-ready Python values."""
    if not isinstance(values, np.ndarray):
        return _object_list(values)
    kind = values.dtype.kind
    if kind == "f":
        return float_list(values)
    if kind in "iub":
        return values.tolist()  # type: ignore[no-any-return]
    if kind == "M":
        ns = values.astype("datetime64[ns]")
        text: list[Any] = rfc3339nano(ns.view(np.int64))
        for i in np.flatnonzero(np.isnat(ns)):
            text[i] = None
        return text
    return _object_list(values)


def time_list(values: np.ndarray[Any, Any] | Sequence[Any], divisor: int | None) -> list[Any]:
    """The time column (UTC ns) per ``divisor`` (None: RFC 3339 text)."""
    utc_ns = np.asarray(values, dtype=np.int64)
    if divisor is None:
        return rfc3339nano(utc_ns)
    return epoch_values(utc_ns, divisor)


def series_rows(series: Series, divisor: int | None) -> list[tuple[Any, ...]]:
    """The rows of ``series`` as tuples; time per ``divisor`` (None: RFC 3339 text)."""
    if not series.values:
        return []
    columns = []
    for i, column in enumerate(series.values):
        if i == 0 and series.time_column:
            columns.append(time_list(column, divisor))
        else:
            columns.append(column_list(column))
    return list(zip(*columns, strict=True))
