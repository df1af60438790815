"""Wind speed and direction in a time window (DMTN-082: "correlate wind speed and direction").

:func:`wind_in_window` reads the weather tower's ``ESS.airFlow`` rows
(salIndex 301 by default) in ``[begin, end)`` with one query and returns a
:class:`WindReport`: the raw samples (time in UTC and TAI), a table of
fixed-width bins, the statistics of the whole window, and PNG plots.

Directions are degrees from north (0 = north, 90 = east: where the wind
comes from, as ESS reports it) and wrap at north, so every average of them
is circular: the direction of the mean unit vector
(:func:`~openefd.analysis.summaries_functions.circular_windows`) — 350° and
10° average to 0°, not 180°. Their spread is the circular standard deviation
``sqrt(−2 ln R)`` (degrees), ``R`` the mean resultant length (1: one steady
direction, 0: none). Speeds are m/s; standard deviations are numpy's
(``ddof=0``). NaN values are left out of every statistic.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from openefd.analysis.summaries_functions import (
    UNDEFINED_RESULTANT,
    FloatArray,
    IntArray,
    Windows,
    circular_windows,
    reduce_windows,
)
from openefd.errors import QueryError
from openefd.query.select import RowSelect, run_select
from openefd.store.duckdb_store import Store
from openefd.timeinput import tai_ns_to_index, to_tai_ns
from openefd.timescales import NS_PER_S

__all__ = [
    "DEFAULT_SPEED_LIMIT_M_S",
    "WIND_TOPIC",
    "WindReport",
    "WindStats",
    "compass_point",
    "wind_in_window",
]

WIND_TOPIC = "lsst.sal.ESS.airFlow"
WEATHER_TOWER = 301
DEFAULT_SPEED_LIMIT_M_S = 10.0
MAX_BINS = 200_000
_SPEED_UNITS = {"m/s", "m s-1", "m.s-1", "meter/second", "m/sec"}
_ANGLE_UNITS = {"deg", "degree", "degrees"}
_COMPASS = (
    "N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE",
    "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW",
)  # fmt: skip


def compass_point(direction_deg: float) -> str:
    """The 16-point compass name of a direction (``N``, ``NNE``, …; ``—`` for NaN)."""
    if not math.isfinite(direction_deg):
        return "—"
    return _COMPASS[round(direction_deg % 360.0 / 22.5) % 16]


def circular_spread_deg(resultant: FloatArray) -> FloatArray:
    """Circular standard deviation ``sqrt(−2 ln R)`` in degrees; NaN where R is undefined."""
    r = np.clip(resultant, 0.0, 1.0)
    defined = np.nan_to_num(r, nan=0.0) >= UNDEFINED_RESULTANT
    safe = np.where(defined, r, 1.0)
    return np.where(defined, np.degrees(np.sqrt(-2.0 * np.log(safe))), np.nan)


@dataclass(frozen=True)
class WindStats:
    """Statistics of the whole window (NaN / None when it holds no sample).

    ``gust_max_m_s`` is the largest value of the gust field (``maxSpeed``), or
    of the speed when the report has no gust field; ``gust_time_utc`` is the
    first sample reaching it. ``fraction_above_limit`` is the fraction of the
    samples with a speed above ``speed_limit_m_s`` — the fraction of the time
    with data, at the topic's steady rate.
    """

    samples: int
    speed_mean_m_s: float
    speed_std_m_s: float
    speed_max_m_s: float
    gust_max_m_s: float
    gust_time_utc: pd.Timestamp | None
    direction_mean_deg: float
    direction_spread_deg: float
    direction_resultant: float
    speed_limit_m_s: float
    fraction_above_limit: float

    @property
    def prevailing(self) -> str:
        """The compass point of the circular mean direction."""
        return compass_point(self.direction_mean_deg)

    def as_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "speed_mean_m_s": self.speed_mean_m_s,
            "speed_std_m_s": self.speed_std_m_s,
            "speed_max_m_s": self.speed_max_m_s,
            "gust_max_m_s": self.gust_max_m_s,
            "gust_time_utc": self.gust_time_utc,
            "direction_mean_deg": self.direction_mean_deg,
            "direction_spread_deg": self.direction_spread_deg,
            "direction_resultant": self.direction_resultant,
            "prevailing": self.prevailing,
            "speed_limit_m_s": self.speed_limit_m_s,
            "fraction_above_limit": self.fraction_above_limit,
        }


@dataclass(frozen=True)
class WindReport:
    """Wind in the half-open window ``[begin_tai_ns, end_tai_ns)`` (TAI ns).

    - ``samples``: one row per stored row, in time order: ``time_utc``
      (tz-aware), ``time_tai_ns``, ``speed_m_s``, ``direction_deg``, and
      ``gust_m_s`` when there is a gust field;
    - ``bins``: consecutive bins of ``bin_s`` seconds from ``begin`` (the last
      one cut at ``end``), every bin listed, empty ones with ``samples`` 0 and
      NaN: ``bin_start_utc``, ``bin_start_tai_ns``, ``bin_end_tai_ns``,
      ``samples``, ``speed_mean_m_s``, ``speed_std_m_s``, ``speed_max_m_s``,
      ``gust_max_m_s``, ``direction_mean_deg`` (circular), ``direction_spread_deg``
      (circular standard deviation), ``direction_resultant`` (R);
    - ``stats``: the whole window (:class:`WindStats`).

    A window without a row is a report like any other with ``empty`` true
    and ``message`` saying so.
    """

    topic: str
    sal_index: int | None
    gust_field: str | None
    begin_tai_ns: int
    end_tai_ns: int
    bin_s: float
    samples: pd.DataFrame
    bins: pd.DataFrame
    stats: WindStats

    @property
    def begin_utc(self) -> pd.Timestamp:
        return pd.Timestamp(tai_ns_to_index(np.array([self.begin_tai_ns]))[0])

    @property
    def end_utc(self) -> pd.Timestamp:
        return pd.Timestamp(tai_ns_to_index(np.array([self.end_tai_ns]))[0])

    @property
    def source(self) -> str:
        """The topic and sensor, as a title says it: ``ESS.airFlow salIndex 301``."""
        name = self.topic.removeprefix("lsst.sal.")
        return name if self.sal_index is None else f"{name} salIndex {self.sal_index}"

    @property
    def empty(self) -> bool:
        return self.stats.samples == 0

    @property
    def message(self) -> str:
        """One sentence: how many samples in which window, or that there are none."""
        span = f"[{_iso(self.begin_utc)}, {_iso(self.end_utc)}) UTC"
        if self.empty:
            return f"no rows of {self.source} in {span}: no wind data in this window"
        return f"{self.stats.samples:,} samples of {self.source} in {span}"

    def plots(self) -> dict[str, tuple[str, bytes]]:
        """Every plot: name → (caption, PNG bytes)."""
        from openefd.analysis.investigations.plots_env import (
            wind_direction_png,
            wind_rose_png,
            wind_speed_png,
        )

        return {
            "wind_speed": ("Wind speed and gusts against time", wind_speed_png(self)),
            "wind_direction": ("Wind direction against time", wind_direction_png(self)),
            "wind_rose": ("Wind rose: where the wind came from, by speed", wind_rose_png(self)),
        }

    def write(self, out_dir: Path | str) -> list[Path]:
        """The plots (PNG) and the samples, bins and stats (CSV) in ``out_dir``; the paths."""
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, (_, png) in self.plots().items():
            path = folder / f"{name}.png"
            path.write_bytes(png)
            written.append(path)
        tables = {
            "wind_samples.csv": self.samples,
            "wind_bins.csv": self.bins,
            "wind_stats.csv": pd.DataFrame([self.stats.as_dict()]),
        }
        for file, frame in tables.items():
            frame.to_csv(folder / file, index=False)
            written.append(folder / file)
        return written


def _iso(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S")


def _check_units(store: Store, topic: str, field: str, allowed: set[str], needed: str) -> None:
    spec = store.layout(topic).field(field)
    units = (spec.units or "").strip() if spec is not None else ""
    if units and units.lower() not in allowed and units.lower() != "unitless":
        raise QueryError(
            f"field {field!r} of {topic} is in {units!r}; wind_in_window needs the {needed}"
        )


def _window(begin: Any, end: Any, bin_s: float) -> tuple[int, int, int]:
    begin_ns, end_ns = to_tai_ns(begin, "begin"), to_tai_ns(end, "end")
    if begin_ns >= end_ns:
        raise QueryError(f"begin ({begin}) must be before end ({end})")
    if not (isinstance(bin_s, numbers.Real) and math.isfinite(bin_s) and bin_s > 0):
        raise QueryError(f"bin_s must be a positive number of seconds, got {bin_s!r}")
    bin_ns = max(1, round(bin_s * NS_PER_S))
    bins = -(-(end_ns - begin_ns) // bin_ns)
    if bins > MAX_BINS:
        raise QueryError(
            f"the window holds {bins:,} bins of {bin_s:g} s (at most {MAX_BINS:,}); "
            "give a larger bin_s"
        )
    return begin_ns, end_ns, bin_ns


def wind_in_window(
    store: Store,
    begin: Any,
    end: Any,
    *,
    sal_index: int | None = WEATHER_TOWER,
    topic: str = WIND_TOPIC,
    bin_s: float = 60.0,
    speed_field: str = "speed",
    direction_field: str = "direction",
    gust_field: str | None = "maxSpeed",
    speed_limit_m_s: float = DEFAULT_SPEED_LIMIT_M_S,
) -> WindReport:
    """Wind speed and direction in ``[begin, end)``.

    ``begin``/``end``: anything :func:`openefd.timeinput.to_tai_ns` takes (an
    ISO 8601 string, UTC unless it carries an offset; an astropy ``Time`` of
    any scale; an aware ``datetime``). ``sal_index`` picks the sensor (None:
    every row of the topic); ``gust_field`` None takes gusts from the speed.
    Unknown topic or field, ``begin ≥ end`` or a bad ``bin_s`` raise
    :class:`~openefd.errors.UnknownTopicError`,
    :class:`~openefd.errors.UnknownFieldError`, :class:`~openefd.errors.QueryError`.
    """
    begin_ns, end_ns, bin_ns = _window(begin, end, bin_s)
    if not (math.isfinite(speed_limit_m_s) and speed_limit_m_s >= 0):
        raise QueryError(f"speed_limit_m_s must be ≥ 0, got {speed_limit_m_s!r}")
    fields = [speed_field, direction_field] + ([gust_field] if gust_field else [])
    req = RowSelect(
        topic, fields, begin_ns, end_ns, end_inclusive=False, index=sal_index, time_scale="tai"
    )
    rows = run_select(store, req)
    _check_units(store, topic, speed_field, _SPEED_UNITS, "speed in m/s")
    _check_units(store, topic, direction_field, _ANGLE_UNITS, "direction in degrees")
    if gust_field:
        _check_units(store, topic, gust_field, _SPEED_UNITS, "gust speed in m/s")
    times: IntArray = np.asarray(pd.DatetimeIndex(rows.index).asi8, dtype=np.int64)
    speed = rows[speed_field].to_numpy(dtype=np.float64, na_value=np.nan)
    direction = rows[direction_field].to_numpy(dtype=np.float64, na_value=np.nan)
    gust = rows[gust_field].to_numpy(dtype=np.float64, na_value=np.nan) if gust_field else speed
    samples = pd.DataFrame(
        {
            "time_utc": tai_ns_to_index(times),
            "time_tai_ns": times,
            "speed_m_s": speed,
            "direction_deg": direction,
        }
    )
    if gust_field:
        samples["gust_m_s"] = gust
    bins = _bins(times, speed, direction, gust, begin_ns, end_ns, bin_ns)
    stats = _stats(times, speed, direction, gust, speed_limit_m_s)
    return WindReport(
        topic, sal_index, gust_field, begin_ns, end_ns, float(bin_s), samples, bins, stats
    )


def _bins(
    times: IntArray,
    speed: FloatArray,
    direction: FloatArray,
    gust: FloatArray,
    begin_ns: int,
    end_ns: int,
    bin_ns: int,
) -> pd.DataFrame:
    starts = np.arange(begin_ns, end_ns, bin_ns, dtype=np.int64)
    stops = np.minimum(starts + bin_ns, end_ns)
    windows = Windows(
        np.searchsorted(times, starts, side="left"), np.searchsorted(times, stops, side="left")
    )
    mean_dir, resultant = circular_windows(direction, windows)
    return pd.DataFrame(
        {
            "bin_start_utc": tai_ns_to_index(starts),
            "bin_start_tai_ns": starts,
            "bin_end_tai_ns": stops,
            "samples": windows.lengths,
            "speed_mean_m_s": reduce_windows("mean", speed, windows),
            "speed_std_m_s": reduce_windows("stddev", speed, windows),
            "speed_max_m_s": reduce_windows("max", speed, windows),
            "gust_max_m_s": reduce_windows("max", gust, windows),
            "direction_mean_deg": mean_dir,
            "direction_spread_deg": circular_spread_deg(resultant),
            "direction_resultant": resultant,
        }
    )


def _stats(
    times: IntArray, speed: FloatArray, direction: FloatArray, gust: FloatArray, limit: float
) -> WindStats:
    whole = Windows([0], [len(times)])
    mean_dir, resultant = circular_windows(direction, whole)
    gust_max = float(reduce_windows("max", gust, whole)[0])
    gust_time = None
    if math.isfinite(gust_max):
        first = int(np.flatnonzero(gust == gust_max)[0])
        gust_time = pd.Timestamp(tai_ns_to_index(times[first : first + 1])[0])
    measured = speed[~np.isnan(speed)]
    above = float(np.mean(measured > limit)) if len(measured) else math.nan
    return WindStats(
        samples=len(times),
        speed_mean_m_s=float(reduce_windows("mean", speed, whole)[0]),
        speed_std_m_s=float(reduce_windows("stddev", speed, whole)[0]),
        speed_max_m_s=float(reduce_windows("max", speed, whole)[0]),
        gust_max_m_s=gust_max,
        gust_time_utc=gust_time,
        direction_mean_deg=float(mean_dir[0]),
        direction_spread_deg=float(circular_spread_deg(resultant)[0]),
        direction_resultant=float(resultant[0]),
        speed_limit_m_s=float(limit),
        fraction_above_limit=above,
    )
