"""The night's observing plan: calibrations, pointings, exposures, filter changes.

Made once per run from the seed, before any telemetry, so every topic and
table agrees with every other. All times TAI ns.

- **Start-up** (first 45 s): the CSCs report their states; the telescope
  holds at the calibration pose (azimuth 0°, elevation 40°, facing the flat
  screen).
- **Calibrations**: 5 biases (0 s, one every ~3 s), 2 darks (30 s) and
  3 dome flats (10 s), shutter-close to next start ~3 s. They cannot see the
  sky.
- **Science**: 30 s visits. Between visits the telescope moves while the
  camera reads out (2 s): usually a few degrees to the next field, sometimes
  (1 in 12, and for the first field) tens of degrees. A slew of Δ degrees
  takes ``max(1.5 s, 1.875·Δ/v_max, √(5.774·Δ/a_max))`` (a minimum-jerk
  profile; azimuth 10 °/s and 10 °/s², elevation 5 °/s and 5 °/s²), then
  1 s (small) or 2.5 s (large) to settle; the dome (1.5 °/s, 0.75 °/s²) is
  waited for only after large slews. Visits therefore start every ~34 s.
  While exposing the telescope tracks (a few mdeg/s in each axis).
- **Filter changes**: the first 26 minutes after the start, then every
  2–3 hours; each takes ~2 minutes, with the slew to the next field made
  meanwhile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from openefd.sim.rng import generator
from openefd.timescales import NS_PER_S

__all__ = ["FILTERS", "FilterChange", "Moves", "NightPlan", "Visit", "make_plan"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

FILTERS: dict[str, str] = {
    "u_24": "u",
    "g_6": "g",
    "r_57": "r",
    "i_39": "i",
    "z_20": "z",
    "y_10": "y",
}
CAL_POSE = (0.0, 40.0)
STARTUP_S = 45.0
READOUT_S = 2.0
SCIENCE_EXPOSURE_S = 30.0
FILTER_CHANGE_S = 120.0
FIRST_FILTER_CHANGE_S = 26 * 60.0
P_LARGE_SLEW = 1 / 12
AZ_LIMITS = (10.0, 10.0)  # deg/s, deg/s^2
EL_LIMITS = (5.0, 5.0)
DOME_LIMITS = (1.5, 0.75)


@dataclass(frozen=True, slots=True)
class Visit:
    """One exposure as planned: shutter open ``[begin_ns, end_ns)`` (TAI)."""

    begin_ns: int
    end_ns: int
    exposure_time_s: float
    dark_time_s: float
    observation_type: str  # science, bias, dark, flat
    physical_filter: str
    can_see_sky: bool


@dataclass(frozen=True, slots=True)
class FilterChange:
    """A filter change ``[start_ns, end_ns)`` (TAI)."""

    start_ns: int
    end_ns: int
    old_filter: str
    new_filter: str


@dataclass(frozen=True, slots=True)
class Moves:
    """Telescope moves, one per row: a slew from (az0, el0) to (az1, el1), then tracking.

    Move *i* starts at ``start_ns[i]``; the mount takes ``mount_s[i]`` and
    the dome ``dome_s[i]`` (≥ ``mount_s``) seconds; afterwards the mount
    tracks at ``az_rate``/``el_rate`` (deg/s) until the next move.
    ``science`` marks moves to a sky target (commanded through MTPtg).
    """

    start_ns: I64
    mount_s: F64
    dome_s: F64
    az0: F64
    az1: F64
    el0: F64
    el1: F64
    az_rate: F64
    el_rate: F64
    science: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.start_ns)


@dataclass(frozen=True, slots=True)
class NightPlan:
    start_ns: int
    end_ns: int
    moves: Moves
    visits: tuple[Visit, ...]
    filter_changes: tuple[FilterChange, ...]


def slew_seconds(delta: float, limits: tuple[float, float], minimum: float = 1.5) -> float:
    """Duration of a minimum-jerk move of ``delta`` deg under (velocity, acceleration) limits.

    Such a move peaks at 1.875·Δ/T in velocity and 5.774·Δ/T² in acceleration.
    """
    d = abs(delta)
    v_max, a_max = limits
    return max(minimum, 1.875 * d / v_max, math.sqrt(5.774 * d / a_max))


# start_ns, mount_s, dome_s, az0, az1, el0, el1, az_rate, el_rate, science
_Move = tuple[int, float, float, float, float, float, float, float, float, bool]


class _Planner:
    def __init__(self, start_ns: int, end_ns: int, seed: int) -> None:
        self.rng = generator(seed, "plan")
        self.start_ns = start_ns
        self.end_ns = end_ns
        az, el = CAL_POSE
        self.moves: list[_Move] = [(start_ns, 0.0, 0.0, az, az, el, el, 0.0, 0.0, False)]
        self.visits: list[Visit] = []
        self.filter_changes: list[FilterChange] = []
        self.filter = str(self.rng.choice(["g_6", "r_57", "i_39"]))

    def _ns(self, seconds: float) -> int:
        return round(seconds * NS_PER_S)

    def _position(self, t_ns: int) -> tuple[float, float]:
        start, mount_s, _, _, az1, _, el1, az_rate, el_rate, _ = self.moves[-1]
        after = max(0.0, (t_ns - start) / NS_PER_S - mount_s)
        return az1 + az_rate * after, el1 + el_rate * after

    def calibrations(self, t_ns: int) -> int:
        sequence = [("bias", 0.0)] * 5 + [("dark", 30.0)] * 2 + [("flat", 10.0)] * 3
        for kind, exposure in sequence:
            end = t_ns + self._ns(exposure)
            if end > self.end_ns:
                break
            dark = exposure + float(self.rng.uniform(0.3, 0.5))
            self.visits.append(Visit(t_ns, end, exposure, dark, kind, self.filter, False))
            t_ns = end + self._ns(READOUT_S + self.rng.uniform(0.6, 1.2))
        return t_ns

    def science(self, t_free: int) -> None:
        rng = self.rng
        next_change = self.start_ns + self._ns(FIRST_FILTER_CHANGE_S)
        first = True
        while t_free < self.end_ns:
            change = None
            if t_free >= next_change:
                new = str(rng.choice([f for f in FILTERS if f not in (self.filter, "u_24")]))
                duration = FILTER_CHANGE_S + rng.uniform(-8.0, 12.0)
                change = FilterChange(t_free, t_free + self._ns(duration), self.filter, new)
                self.filter_changes.append(change)
                self.filter = new
                next_change += self._ns(rng.uniform(2.0, 3.0) * 3600)
            az0, el0 = self._position(t_free)
            large = first or rng.random() < P_LARGE_SLEW
            if large:
                el1 = float(rng.uniform(35.0, 82.0))
                step = float(rng.uniform(20.0, 95.0)) * (1 if rng.random() < 0.5 else -1)
                az1 = az0 + (step if abs(az0 + step) < 240 else -step)
            else:
                el1 = float(np.clip(el0 + rng.uniform(-3.0, 3.0), 25.0, 86.0))
                step = float(rng.uniform(-3.5, 3.5)) / max(math.cos(math.radians(el1)), 0.3)
                if abs(az0) > 200:  # keep clear of the ±270° azimuth limits
                    step = -math.copysign(abs(step), az0)
                az1 = az0 + step
            mount_s = max(slew_seconds(az1 - az0, AZ_LIMITS), slew_seconds(el1 - el0, EL_LIMITS))
            dome_s = max(mount_s, slew_seconds(az1 - az0, DOME_LIMITS, 2.0))
            ready_s = mount_s + (2.5 if large else 1.0)
            if large:
                ready_s = max(ready_s, dome_s + 1.0)
            ready = t_free + self._ns(max(ready_s, READOUT_S))
            if change is not None:
                ready = max(ready, change.end_ns + self._ns(1.0))
            rates = rng.uniform(-0.004, 0.004, 2)
            self.moves.append(
                (
                    t_free,
                    mount_s,
                    dome_s,
                    az0,
                    az1,
                    el0,
                    el1,
                    float(rates[0]),
                    float(rates[1]),
                    True,
                )
            )
            begin = ready + self._ns(rng.uniform(0.6, 1.8))
            end = begin + self._ns(SCIENCE_EXPOSURE_S)
            if end > self.end_ns:
                break
            dark = SCIENCE_EXPOSURE_S + float(rng.uniform(0.3, 0.5))
            self.visits.append(
                Visit(begin, end, SCIENCE_EXPOSURE_S, dark, "science", self.filter, True)
            )
            t_free = end
            first = False

    def plan(self) -> NightPlan:
        t = self.calibrations(self.start_ns + self._ns(STARTUP_S))
        self.science(t)
        cols = list(zip(*self.moves, strict=True))
        moves = Moves(
            start_ns=np.asarray(cols[0], dtype=np.int64),
            mount_s=np.asarray(cols[1], dtype=np.float64),
            dome_s=np.asarray(cols[2], dtype=np.float64),
            az0=np.asarray(cols[3], dtype=np.float64),
            az1=np.asarray(cols[4], dtype=np.float64),
            el0=np.asarray(cols[5], dtype=np.float64),
            el1=np.asarray(cols[6], dtype=np.float64),
            az_rate=np.asarray(cols[7], dtype=np.float64),
            el_rate=np.asarray(cols[8], dtype=np.float64),
            science=np.asarray(cols[9], dtype=bool),
        )
        return NightPlan(
            self.start_ns, self.end_ns, moves, tuple(self.visits), tuple(self.filter_changes)
        )


def make_plan(start_ns: int, end_ns: int, seed: int) -> NightPlan:
    """The plan of ``[start_ns, end_ns)`` for run ``seed``."""
    return _Planner(start_ns, end_ns, seed).plan()
