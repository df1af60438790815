"""Finding each row's canonical time (TAI ns) in incoming data.

In order of precedence a row's time comes from: a ``time_tai_ns`` column; an
explicit UTC time (a line-protocol timestamp, a tz-aware DataFrame index or a
tz-aware ``time`` column); ``private_efdStamp`` (UTC unix seconds, the EFD's
own index time); ``private_sndStamp`` (TAI unix seconds).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from openefd.errors import RecordError, TimeValueError
from openefd.store.columns import TIME_COLUMN
from openefd.timescales import UTC_EARLIEST_NS, seconds_to_ns, utc_to_tai_ns

__all__ = ["TIME_FIELD", "row_times_tai_ns", "utc_ns_from_arrow"]

TIME_FIELD = "time"
_MISSING = np.iinfo(np.int64).min


def utc_ns_from_arrow(col: pa.ChunkedArray | pa.Array, what: str) -> npt.NDArray[np.int64]:
    """UTC ns from an Arrow timestamp (must be tz-aware) or ISO-string column."""
    dtype = col.type
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        try:
            col = pc.cast(col, pa.timestamp("ns", tz="UTC"))
        except pa.ArrowInvalid as exc:
            raise RecordError(
                f"{what}: cannot read time strings as ISO 8601 with a UTC offset "
                f"(e.g. 2024-05-01T03:00:00Z): {exc}"
            ) from exc
        dtype = col.type
    if not pa.types.is_timestamp(dtype):
        raise RecordError(f"{what}: must hold timestamps, not {dtype}")
    if dtype.tz is None:
        raise RecordError(
            f"{what}: timestamps have no time zone; give UTC times (e.g. tz-aware or ending in Z)"
        )
    ns = pc.cast(col, pa.timestamp("ns", tz=dtype.tz)).cast(pa.int64())
    return np.asarray(ns.fill_null(_MISSING).to_numpy(), dtype=np.int64)


def _seconds_column(
    table: pa.Table, name: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    col = table[name]
    if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)):
        raise RecordError(f"field {name!r} must be a number of seconds, not {col.type}")
    values = col.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    usable = np.isfinite(values)
    ns = np.full(len(values), _MISSING, dtype=np.int64)
    if usable.any():
        try:
            ns[usable] = seconds_to_ns(values[usable])
        except TimeValueError as exc:
            raise RecordError(f"field {name!r}: {exc}") from exc
    return ns, usable


def row_times_tai_ns(
    table: pa.Table,
    *,
    utc_ns: npt.NDArray[np.int64] | None,
    origins: Sequence[str] | None,
    what: str,
) -> npt.NDArray[np.int64]:
    """TAI ns for every row; RecordError naming the first row that has no usable time.

    ``utc_ns`` carries explicit UTC times with ``INT64_MIN`` where a row has none.
    """
    n = table.num_rows
    if TIME_COLUMN in table.column_names:
        col = table[TIME_COLUMN]
        if not pa.types.is_integer(col.type) or col.null_count:
            raise RecordError(f"{what}: {TIME_COLUMN} must be integers with no nulls")
        return np.asarray(col.cast(pa.int64()).to_numpy(), dtype=np.int64)
    tai = np.full(n, _MISSING, dtype=np.int64)
    missing = np.ones(n, dtype=bool)
    if utc_ns is not None:
        early = (utc_ns != _MISSING) & (utc_ns < UTC_EARLIEST_NS)
        if early.any():
            first = int(np.argmax(early))
            where = origins[first] if origins is not None else f"row {first}"
            raise RecordError(
                f"{what}, {where}: time {int(utc_ns[first])} ns is before 1972-01-01 UTC, "
                "which is not supported (wrong precision? line protocol defaults to ns)"
            )
    try:
        if utc_ns is not None:
            have = utc_ns != _MISSING
            tai[have] = utc_to_tai_ns(utc_ns[have])
            missing &= ~have
        if missing.any() and "private_efdStamp" in table.column_names:
            ns, have = _seconds_column(table, "private_efdStamp")
            use = missing & have
            tai[use] = utc_to_tai_ns(ns[use])
            missing &= ~use
    except TimeValueError as exc:
        raise RecordError(f"{what}: {exc}") from exc
    if missing.any() and "private_sndStamp" in table.column_names:
        ns, have = _seconds_column(table, "private_sndStamp")
        use = missing & have
        tai[use] = ns[use]
        missing &= ~use
    if missing.any():
        first = int(np.argmax(missing))
        where = origins[first] if origins is not None else f"row {first}"
        raise RecordError(
            f"{what}, {where}: no time; give a timestamp, a tz-aware time index or 'time' "
            "column, time_tai_ns, private_efdStamp (UTC s) or private_sndStamp (TAI s)"
        )
    return tai
