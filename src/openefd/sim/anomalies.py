"""The anomalies planted in every run, at fixed offsets from its start.

So that even a one-hour run holds all three:

- ``temperature_excursion``, 20:00–30:00 after the start: channel 3
  (``temperatureItem3``) of ESS salIndex 101 rises by 6 °C within 20 s,
  stays there, and falls back over the last minute of the window.
- ``slow_transfers``, 35:00–50:00: every image of an exposure whose shutter
  closes in the window reaches S3 20–60 s after shutter close (instead of
  ~3 s).
- ``stuck_detector``, the whole run: detector R03_S12 (id 23) always
  arrives ~30 s late.

An anomaly that would start after the run ends is not planted; one that
would outlast the run is cut at its end.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from openefd.sim.config import Anomaly
from openefd.sim.detectors import detector_id
from openefd.timescales import NS_PER_S

__all__ = [
    "SLOW_TRANSFER_LATENCY_S",
    "STUCK_DELAY_S",
    "STUCK_DETECTOR",
    "TEMPERATURE_CHANNEL",
    "TEMPERATURE_SAL_INDEX",
    "planted_anomalies",
    "slow_transfer_window",
    "temperature_offset_c",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

TEMPERATURE_SAL_INDEX = 101
TEMPERATURE_CHANNEL = 3
TEMPERATURE_DELTA_C = 6.0
_TEMPERATURE_WINDOW_S = (20 * 60.0, 30 * 60.0)
_SLOW_WINDOW_S = (35 * 60.0, 50 * 60.0)
SLOW_TRANSFER_LATENCY_S = (20.0, 60.0)
STUCK_DETECTOR = "R03_S12"
STUCK_DELAY_S = 30.0


def _window(start_ns: int, offsets_s: tuple[float, float]) -> tuple[int, int]:
    return start_ns + round(offsets_s[0] * NS_PER_S), start_ns + round(offsets_s[1] * NS_PER_S)


def slow_transfer_window(start_ns: int) -> tuple[int, int]:
    """``[begin, end)`` TAI ns of the slow-transfer segment."""
    return _window(start_ns, _SLOW_WINDOW_S)


def temperature_offset_c(start_ns: int, t_ns: I64) -> F64:
    """The excursion added to the anomalous channel at TAI ``t_ns`` (°C)."""
    a, b = _window(start_ns, _TEMPERATURE_WINDOW_S)
    rise = np.clip((t_ns - a) / (20.0 * NS_PER_S), 0.0, 1.0)
    fall = np.clip((b - t_ns) / (60.0 * NS_PER_S), 0.0, 1.0)
    inside = (t_ns >= a) & (t_ns < b)
    return np.where(inside, TEMPERATURE_DELTA_C * rise * fall, 0.0)


def planted_anomalies(start_ns: int, end_ns: int) -> list[Anomaly]:
    """The anomalies of the run ``[start_ns, end_ns)``."""
    ta, tb = _window(start_ns, _TEMPERATURE_WINDOW_S)
    sa, sb = slow_transfer_window(start_ns)
    found = [
        Anomaly(
            "temperature_excursion",
            f"ESS salIndex {TEMPERATURE_SAL_INDEX} channel {TEMPERATURE_CHANNEL} "
            f"jumps by {TEMPERATURE_DELTA_C:g} °C for 10 minutes",
            ta,
            tb,
            "lsst.sal.ESS.temperature",
            {
                "salIndex": TEMPERATURE_SAL_INDEX,
                "field": f"temperatureItem{TEMPERATURE_CHANNEL}",
                "delta_C": TEMPERATURE_DELTA_C,
            },
        ),
        Anomaly(
            "slow_transfers",
            "images of exposures closing in the window reach S3 20–60 s after shutter close",
            sa,
            sb,
            "arrivals",
            {"latency_s": list(SLOW_TRANSFER_LATENCY_S)},
        ),
        Anomaly(
            "stuck_detector",
            f"detector {STUCK_DETECTOR} always arrives ~{STUCK_DELAY_S:g} s late",
            start_ns,
            end_ns,
            "arrivals",
            {
                "detector": detector_id(STUCK_DETECTOR),
                "detector_name": STUCK_DETECTOR,
                "delay_s": STUCK_DELAY_S,
            },
        ),
    ]
    return [
        Anomaly(
            a.name,
            a.description,
            a.start_tai_ns,
            min(a.end_tai_ns, end_ns),
            a.topic_or_table,
            a.details,
        )
        for a in found
        if a.start_tai_ns < end_ns
    ]
