"""Times in InfluxDB 1.x HTTP answers: ``epoch`` integers or RFC 3339 strings.

Pure, vectorised functions over int64 arrays of **UTC** nanoseconds since
1970 (the EFD's time; the InfluxQL engine hands them over in that scale).

- ``epoch=ns|u|µ|ms|s|m|h``: integers in that unit, divided as Go divides
  (truncated toward zero), as ``convertToEpoch`` in InfluxDB's handler does.
- no ``epoch``: strings in Go's ``time.RFC3339Nano`` layout, UTC, with the
  fraction's trailing zeros (and a bare ``.``) dropped:
  ``2024-05-01T03:00:00Z``, ``2024-05-01T03:00:00.02Z``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "EPOCH_DIVISORS",
    "epoch_array",
    "epoch_divisor",
    "epoch_values",
    "rfc3339nano",
    "rfc3339nano_json",
]

EPOCH_DIVISORS: dict[str, int] = {
    "ns": 1,
    "n": 1,
    "u": 1_000,
    "µ": 1_000,  # the micro sign (U+00B5), as InfluxDB documents the epoch
    "μ": 1_000,  # the Greek mu (U+03BC), which clients may send for it
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}

_WIDTH = 31  # "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" is 30 bytes; one spare for NUL padding
_DIGIT = 48
_DASH, _T, _COLON, _DOT, _Z = 45, 84, 58, 46, 90
_QUOTE, _COMMA, _CLOSE = 34, 44, 93


def epoch_divisor(epoch: str) -> int | None:
    """Nanoseconds per unit of ``epoch``; None for an unknown unit."""
    return EPOCH_DIVISORS.get(epoch)


def epoch_array(utc_ns: npt.NDArray[np.int64], divisor: int) -> npt.NDArray[np.int64]:
    """``utc_ns`` in units of ``divisor`` ns, truncated toward zero (``utc_ns`` itself for ns)."""
    if divisor == 1:
        return utc_ns
    quotient = utc_ns // divisor
    # Go's integer division truncates toward zero; numpy's floors.
    quotient += (utc_ns < 0) & (quotient * divisor != utc_ns)
    return quotient


def epoch_values(utc_ns: npt.NDArray[np.int64], divisor: int) -> list[Any]:
    """``utc_ns`` in units of ``divisor`` ns, truncated toward zero, as Python ints."""
    return epoch_array(utc_ns, divisor).tolist()  # type: ignore[no-any-return]


def _digits(values: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.uint8]:
    """Decimal digits (0–9, not ASCII) of non-negative ``values``, shape (width, n)."""
    out = np.empty((width, values.shape[0]), dtype=np.uint8)
    rest = values
    for k in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, 10)
        out[k] = digit
    return out


def _date_time_bytes(seconds: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """ASCII ``YYYY-MM-DDTHH:MM:SS`` of Unix seconds, shape (n, 19)."""
    days, second_of_day = np.divmod(seconds, 86_400)
    # Proleptic Gregorian civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    z = days + 719_468
    era = z // 146_097
    day_of_era = z - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    mp = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = year_of_era + era * 400 + (month <= 2)
    hour, rest = np.divmod(second_of_day, 3600)
    minute, second = np.divmod(rest, 60)
    n = seconds.shape[0]
    out = np.empty((19, n), dtype=np.uint8)
    out[0:4] = _digits(year, 4)
    out[5:7] = _digits(month, 2)
    out[8:10] = _digits(day, 2)
    out[11:13] = _digits(hour, 2)
    out[14:16] = _digits(minute, 2)
    out[17:19] = _digits(second, 2)
    out += _DIGIT
    out[4] = out[7] = _DASH
    out[10] = _T
    out[13] = out[16] = _COLON
    return np.ascontiguousarray(out.T)


def _rfc3339_buffer(
    times: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Go's ``RFC3339Nano`` text of each time, NUL-padded rows of ``_WIDTH`` bytes, and lengths.

    Date and clock are worked out once per run of equal seconds (telemetry at
    tens of Hz shares them), the fraction per row.
    """
    n = times.shape[0]
    seconds, fraction = np.divmod(times, 1_000_000_000)
    run_start = np.empty(n, dtype=bool)
    run_start[0] = True
    np.not_equal(seconds[1:], seconds[:-1], out=run_start[1:])
    run = np.cumsum(run_start) - 1
    buf = np.zeros((n, _WIDTH), dtype=np.uint8)
    buf[:, :19] = _date_time_bytes(seconds[run_start])[run]
    digits = _digits(fraction, 9)  # (9, n)
    nonzero = digits != 0
    last = 8 - np.argmax(nonzero[::-1], axis=0)  # index of the last significant digit
    has_fraction = fraction != 0
    keep = (np.arange(9)[:, None] <= last[None, :]) & has_fraction[None, :]
    buf[:, 20:29] = np.where(keep, digits + _DIGIT, 0).T
    buf[:, 19] = np.where(has_fraction, _DOT, _Z)
    rows = np.flatnonzero(has_fraction)
    buf[rows, 21 + last[rows]] = _Z
    # "…SSZ" is 20 bytes; with a fraction, "…SS.d…dZ" ends just after the last digit's Z.
    lengths = np.where(has_fraction, 22 + last, 20).astype(np.int64)
    return buf, lengths


def rfc3339nano(utc_ns: npt.NDArray[np.int64]) -> list[str]:
    """Go's ``RFC3339Nano`` text of each UTC ns time, as a list of str.

    Every row is assembled in one byte buffer and split once into Python
    strings.
    """
    times = np.asarray(utc_ns, dtype=np.int64)
    if times.shape[0] == 0:
        return []
    buf, _ = _rfc3339_buffer(times)
    # Fixed-width bytes drop their trailing NULs; one join and one split make the strs.
    packed = buf.view(f"S{_WIDTH}").ravel().tolist()
    return b"\n".join(packed).decode("ascii").split("\n")


def rfc3339nano_json(utc_ns: npt.NDArray[np.int64]) -> tuple[bytes, npt.NDArray[np.int64]]:
    """The JSON array of each time's ``RFC3339Nano`` text, and where each value ends.

    ``["2024-05-01T03:00:00Z","2024-05-01T03:00:00.02Z"]``, built in numpy
    (no Python string per row); ends: the offset in the array's inside just
    past each value's comma (for the last value, where its comma would be).
    """
    times = np.asarray(utc_ns, dtype=np.int64)
    if times.shape[0] == 0:
        return b"[]", np.zeros(0, dtype=np.int64)
    buf, lengths = _rfc3339_buffer(times)
    rows = np.zeros((times.shape[0], _WIDTH + 3), dtype=np.uint8)
    rows[:, 0] = _QUOTE
    rows[:, 1 : _WIDTH + 1] = buf
    index = np.arange(times.shape[0])
    rows[index, lengths + 1] = _QUOTE
    rows[index, lengths + 2] = _COMMA
    flat = rows.ravel()
    packed = flat[flat != 0]  # '"…",' after '"…",': the NUL padding squeezed out
    packed[-1] = _CLOSE  # the last comma
    return b"[" + packed.tobytes(), np.cumsum(lengths + 3)
