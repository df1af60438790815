"""Exposures with bad seeing and the dome temperature change during each (DMTN-082).

"Select start and stop times for exposures with seeing > 1.2 arcsec. Select
the dome temperature at the start and stop times for each of the exposures.
Plot delta T vs seeing." :func:`bad_seeing_exposures` does that for the
exposures of a night or a time range, on the per-exposure summaries
machinery (:func:`~openefd.analysis.summaries.summarize_exposures` with the
small configuration of :func:`seeing_summary_config`): one query per topic
for all the exposures, not one per exposure.

- **Seeing** of an exposure: the DIMM ``fwhm`` (arcsec) of the newest
  ``DIMM.logevent_dimmMeasurement`` at or before the exposure's start, no
  older than ``seeing_lookback_s`` (600 s, as the shipped summaries'
  ``dimm_fwhm``; the DIMM measures about once a minute). None within it: NaN,
  and the exposure is not above the threshold.
- **Dome temperature** at start (end): ``ESS.temperature`` of salIndex 102
  (dome air), field ``temperatureItem``, as of the exposure's begin (end):
  the newest row at or before it, no older than ``temperature_lookback_s``
  (60 s; ESS reports at 1 Hz). The sensor has several channels: the value is
  the mean over ``dome_channels`` (default: every channel) of the channels
  that have a value at both start and end, so that ΔT = T_end − T_start is
  the mean of the channels' own changes. ``dome_channels_used`` counts them.
- Times: exposure timespans are TAI; columns say their scale
  (``timespan_begin_utc``, ``timespan_begin_tai_ns``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from openefd.analysis.summaries import summarize_exposures
from openefd.analysis.summaries_config import (
    AsOf,
    ColumnSpec,
    MostRecent,
    SummaryConfig,
    TopicSpec,
)
from openefd.analysis.summaries_functions import FloatArray
from openefd.errors import QueryError
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures as registry_exposures
from openefd.store.exposures import parse_day_obs
from openefd.timeinput import tai_ns_to_index, to_tai_ns

__all__ = [
    "DEFAULT_SEEING_LOOKBACK_S",
    "DEFAULT_TEMPERATURE_LOOKBACK_S",
    "DEFAULT_THRESHOLD_ARCSEC",
    "DIMM_TOPIC",
    "DOME_SAL_INDEX",
    "DOME_TOPIC",
    "SeeingReport",
    "bad_seeing_exposures",
    "seeing_summary_config",
]

DIMM_TOPIC = "lsst.sal.DIMM.logevent_dimmMeasurement"
DOME_TOPIC = "lsst.sal.ESS.temperature"
DOME_SAL_INDEX = 102
DEFAULT_THRESHOLD_ARCSEC = 1.2
DEFAULT_SEEING_LOOKBACK_S = 600.0  # as dimm_fwhm in default_summaries.yaml
DEFAULT_TEMPERATURE_LOOKBACK_S = 60.0

_SEEING = "seeing"
_T_START = "dome_t_start"
_T_END = "dome_t_end"
_ID_COLUMNS = ("exposure_id", "obs_id", "day_obs", "observation_type")


@dataclass(frozen=True)
class SeeingReport:
    """Seeing and dome temperature of every exposure considered, and which are above threshold.

    ``exposures`` has one row per exposure (in the registry's order):
    ``exposure_id``, ``obs_id``, ``day_obs``, ``observation_type``,
    ``timespan_begin_utc`` / ``timespan_end_utc`` (tz-aware),
    ``timespan_begin_tai_ns`` / ``timespan_end_tai_ns``, ``seeing_arcsec``,
    ``above_threshold`` (seeing > threshold), ``dome_temperature_start_degC``,
    ``dome_temperature_end_degC``, ``delta_t_degC`` (end − start) and
    ``dome_channels_used``. Unknown values are NaN. ``selected`` is the rows
    above the threshold: the investigation's answer. No exposure in the range
    gives an ``empty`` report whose ``message`` says so.
    """

    exposures: pd.DataFrame
    threshold_arcsec: float
    scope: str
    dome_channels: tuple[int, ...] | None
    seeing_lookback_s: float
    temperature_lookback_s: float

    @property
    def selected(self) -> pd.DataFrame:
        return self.exposures[self.exposures["above_threshold"]].reset_index(drop=True)

    @property
    def empty(self) -> bool:
        return self.exposures.empty

    @property
    def channels_label(self) -> str:
        if self.dome_channels is None:
            return "mean of the channels with data"
        return "mean of channels " + ", ".join(str(c) for c in self.dome_channels)

    @property
    def message(self) -> str:
        """One sentence: how many exposures, how many above the threshold, how many unknown."""
        if self.empty:
            return f"the exposure registry holds no exposure for {self.scope}"
        frame = self.exposures
        unknown = int(frame["seeing_arcsec"].isna().sum())
        no_temp = int(frame["delta_t_degC"].isna().sum())
        return (
            f"{len(self.selected):,} of {len(frame):,} exposures of {self.scope} with seeing > "
            f"{self.threshold_arcsec:g} arcsec; {unknown:,} without a DIMM measurement in the "
            f"{self.seeing_lookback_s:g} s before their start, {no_temp:,} without a dome ΔT"
        )

    def scatter_png(self) -> bytes:
        """ΔT against seeing, every exposure, those above the threshold highlighted."""
        from openefd.analysis.investigations.plots_env import seeing_scatter_png

        return seeing_scatter_png(self)

    def write(self, out_dir: Path | str) -> list[Path]:
        """``seeing_delta_t.png`` and ``seeing_exposures.csv`` (every exposure) in ``out_dir``."""
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        png = folder / "seeing_delta_t.png"
        png.write_bytes(self.scatter_png())
        csv = folder / "seeing_exposures.csv"
        self.exposures.to_csv(csv, index=False)
        return [png, csv]


def seeing_summary_config(
    *,
    seeing_topic: str = DIMM_TOPIC,
    seeing_field: str = "fwhm",
    seeing_lookback_s: float = DEFAULT_SEEING_LOOKBACK_S,
    dome_topic: str = DOME_TOPIC,
    dome_sal_index: int | None = DOME_SAL_INDEX,
    dome_field: str = "temperatureItem",
    temperature_lookback_s: float = DEFAULT_TEMPERATURE_LOOKBACK_S,
) -> SummaryConfig:
    """The summaries it needs: seeing before start, dome temperature at both ends."""
    for name, value in (
        ("seeing_lookback_s", seeing_lookback_s),
        ("temperature_lookback_s", temperature_lookback_s),
    ):
        if not (math.isfinite(value) and value > 0):
            raise QueryError(f"{name} must be a positive number of seconds, got {value!r}")
    seeing = ColumnSpec(
        name=_SEEING,
        field=seeing_field,
        function=MostRecent(name="most_recent_value", lookback_s=seeing_lookback_s),
    )
    start = ColumnSpec(
        name=_T_START,
        field=dome_field,
        function=AsOf(name="at_start", lookback_s=temperature_lookback_s),
        flatten=True,
    )
    end = ColumnSpec(
        name=_T_END,
        field=dome_field,
        function=AsOf(name="at_end", lookback_s=temperature_lookback_s),
        flatten=True,
    )
    return SummaryConfig(
        topics=[
            TopicSpec(topic=seeing_topic, columns=[seeing]),
            TopicSpec(topic=dome_topic, sal_index=dome_sal_index, columns=[start, end]),
        ]
    )


def _scope(day_obs: int | str | None, begin: Any, end: Any) -> tuple[str, int | None]:
    if day_obs is not None:
        day = parse_day_obs(day_obs)
        return f"day_obs {day}", day
    if begin is None or end is None:
        raise QueryError("give day_obs, or both begin and end, to choose the exposures")
    begin_ns, end_ns = to_tai_ns(begin, "begin"), to_tai_ns(end, "end")
    if begin_ns >= end_ns:
        raise QueryError(f"begin ({begin}) must be before end ({end})")
    lo, hi = tai_ns_to_index(np.array([begin_ns, end_ns]))
    return f"[{lo:%Y-%m-%dT%H:%M:%S}, {hi:%Y-%m-%dT%H:%M:%S}) UTC", None


def _matrix(wide: pd.DataFrame, name: str, width: int) -> FloatArray:
    """The ``(n, channels)`` values of a summary (a scalar field is one channel)."""
    names = [f"{name}{i}" for i in range(width)] if width else [name]
    return np.asarray(wide[names].to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _dome(
    start: FloatArray, end: FloatArray, channels: Sequence[int] | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean start and end temperature over the channels known at both ends, and their count."""
    if channels is not None:
        start, end = start[:, list(channels)], end[:, list(channels)]
    both = np.isfinite(start) & np.isfinite(end)
    count = both.sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_start = np.where(count > 0, np.where(both, start, 0.0).sum(axis=1) / count, np.nan)
        t_end = np.where(count > 0, np.where(both, end, 0.0).sum(axis=1) / count, np.nan)
    return t_start, t_end, count


def _utc(tai_ns: pd.Series) -> pd.Series:
    """A registry time column (nullable TAI ns) as tz-aware UTC timestamps, NaT when unknown."""
    known = tai_ns.notna().to_numpy(dtype=bool)
    out = pd.Series(pd.NaT, index=pd.RangeIndex(len(tai_ns)), dtype="datetime64[ns, UTC]")
    if known.any():
        ns = tai_ns.to_numpy(dtype=np.int64, na_value=0)[known]
        out.iloc[np.flatnonzero(known)] = tai_ns_to_index(ns)
    return out


def bad_seeing_exposures(
    store: Store,
    *,
    day_obs: int | str | None = None,
    begin: Any = None,
    end: Any = None,
    instrument: str | None = None,
    observation_types: Iterable[str] | None = None,
    threshold_arcsec: float = DEFAULT_THRESHOLD_ARCSEC,
    dome_channels: Sequence[int] | None = None,
    seeing_lookback_s: float = DEFAULT_SEEING_LOOKBACK_S,
    temperature_lookback_s: float = DEFAULT_TEMPERATURE_LOOKBACK_S,
    seeing_topic: str = DIMM_TOPIC,
    seeing_field: str = "fwhm",
    dome_topic: str = DOME_TOPIC,
    dome_sal_index: int | None = DOME_SAL_INDEX,
    dome_field: str = "temperatureItem",
) -> SeeingReport:
    """Seeing and dome ΔT of the exposures of ``day_obs`` or overlapping ``[begin, end)``.

    ``begin``/``end``: anything :func:`openefd.timeinput.to_tai_ns` takes.
    ``observation_types`` (e.g. ``["science"]``) keeps only those exposures.
    An exposure is selected when its seeing is above ``threshold_arcsec``.
    Unknown topics or fields raise :class:`~openefd.errors.UnknownTopicError` /
    :class:`~openefd.errors.UnknownFieldError`; bad arguments :class:`~openefd.errors.QueryError`.
    """
    if not (math.isfinite(threshold_arcsec) and threshold_arcsec > 0):
        raise QueryError(f"threshold_arcsec must be a positive number, got {threshold_arcsec!r}")
    scope, day = _scope(day_obs, begin, end)
    config = seeing_summary_config(
        seeing_topic=seeing_topic,
        seeing_field=seeing_field,
        seeing_lookback_s=seeing_lookback_s,
        dome_topic=dome_topic,
        dome_sal_index=dome_sal_index,
        dome_field=dome_field,
        temperature_lookback_s=temperature_lookback_s,
    )
    frame = registry_exposures(
        store,
        instrument=instrument,
        day_obs=day,
        begin=None if day is not None else begin,
        end=None if day is not None else end,
        observation_types=observation_types,
    )
    result = summarize_exposures(store, frame, config)
    meta = result.columns.set_index("column")["elements"]
    width = int(meta.to_dict()[_T_START])
    channels = tuple(int(c) for c in dome_channels) if dome_channels is not None else None
    if channels is not None:
        if not channels:
            raise QueryError("dome_channels is empty: give channel numbers, or None for all")
        bad = [c for c in channels if not 0 <= c < max(width, 1)]
        if bad:
            raise QueryError(
                f"dome_channels {bad} out of range: {dome_topic}.{dome_field} has "
                f"{max(width, 1)} channel(s), numbered from 0"
            )
    t_start, t_end, count = _dome(
        _matrix(result.wide, _T_START, width), _matrix(result.wide, _T_END, width), channels
    )
    seeing = result.wide[_SEEING].to_numpy(dtype=np.float64, na_value=np.nan)
    frame = frame.reset_index(drop=True)
    out = pd.DataFrame({c: frame[c] for c in _ID_COLUMNS if c in frame.columns})
    out["timespan_begin_utc"] = _utc(frame["timespan_begin_tai_ns"])
    out["timespan_end_utc"] = _utc(frame["timespan_end_tai_ns"])
    out["timespan_begin_tai_ns"] = frame["timespan_begin_tai_ns"].astype("Int64")
    out["timespan_end_tai_ns"] = frame["timespan_end_tai_ns"].astype("Int64")
    out["seeing_arcsec"] = seeing
    out["above_threshold"] = np.nan_to_num(seeing, nan=-np.inf) > threshold_arcsec
    out["dome_temperature_start_degC"] = t_start
    out["dome_temperature_end_degC"] = t_end
    out["delta_t_degC"] = t_end - t_start
    out["dome_channels_used"] = count.astype(np.int64)
    return SeeingReport(
        out, float(threshold_arcsec), scope, channels, seeing_lookback_s, temperature_lookback_s
    )
