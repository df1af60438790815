"""Where the mount and the dome point at any instant of the plan (vectorised).

A slew follows a minimum-jerk profile (position ``p0 + Δ·u³(10 − 15u + 6u²)``,
``u`` from 0 to 1 over the slew: velocity and acceleration start and end at
zero), then the mount tracks linearly and rings
down (a 1.8 Hz oscillation of a few mdeg, damped in ~0.6 s): the settling
seen in real mount telemetry. The demanded position has no ringing. The
dome follows the mount's azimuth on its own slower profile and, once there,
crawls with it 2 s behind. Angles in degrees, rates per second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from openefd.sim.plan import Moves
from openefd.timescales import NS_PER_S

__all__ = [
    "SITE_LATITUDE_DEG",
    "SITE_LONGITUDE_DEG",
    "AxisMotion",
    "altaz_to_radec",
    "dome_azimuth",
    "mount_axes",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

SITE_LATITUDE_DEG = -30.2446
SITE_LONGITUDE_DEG = -70.7494
DOME_LAG_S = 2.0
_RING_HZ = 1.8
_RING_TAU_S = 0.6


@dataclass(frozen=True, slots=True)
class AxisMotion:
    """One axis: actual position, velocity, acceleration; demanded position and velocity."""

    position: F64
    velocity: F64
    acceleration: F64
    demand_position: F64
    demand_velocity: F64
    slewing: npt.NDArray[np.bool_]


def _profile(u: F64, span: F64) -> tuple[F64, F64, F64]:
    """Minimum-jerk move over ``span`` s: fraction done, and its first two time derivatives."""
    x = u**3 * (10 - 15 * u + 6 * u**2)
    xd = 30 * u**2 * (1 - u) ** 2 / span
    xdd = 60 * u * (1 - u) * (1 - 2 * u) / span**2
    return x, xd, xdd


def _segment(moves: Moves, t_ns: I64) -> tuple[npt.NDArray[np.intp], F64]:
    i = np.clip(np.searchsorted(moves.start_ns, t_ns, side="right") - 1, 0, None)
    tau = (t_ns - moves.start_ns[i]) / NS_PER_S
    return i, np.asarray(tau, dtype=np.float64)


def _axis(p0: F64, p1: F64, rate: F64, d: F64, tau: F64) -> AxisMotion:
    delta = p1 - p0
    span = np.maximum(d, 1e-9)
    u = np.clip(tau / span, 0.0, 1.0)
    slewing = tau < d
    x, xd, xdd = _profile(u, span)
    after = np.maximum(tau - d, 0.0)
    amp = 0.004 * np.sign(delta) * np.minimum(np.abs(delta), 10.0) / 10.0
    w = 2 * math.pi * _RING_HZ
    decay = np.exp(-after / _RING_TAU_S)
    s, c = np.sin(w * after), np.cos(w * after)
    ring = amp * decay * s
    ring_v = amp * decay * (w * c - s / _RING_TAU_S)
    ring_a = amp * decay * ((1 / _RING_TAU_S**2 - w**2) * s - 2 * w / _RING_TAU_S * c)
    track = p1 + rate * after
    demand = np.where(slewing, p0 + delta * x, track)
    demand_v = np.where(slewing, delta * xd, rate)
    return AxisMotion(
        position=np.where(slewing, demand, track + ring),
        velocity=np.where(slewing, demand_v, rate + ring_v),
        acceleration=np.where(slewing, delta * xdd, ring_a),
        demand_position=demand,
        demand_velocity=demand_v,
        slewing=slewing,
    )


def mount_axes(moves: Moves, t_ns: I64) -> tuple[AxisMotion, AxisMotion]:
    """Azimuth and elevation of the mount at TAI ``t_ns``."""
    i, tau = _segment(moves, t_ns)
    d = moves.mount_s[i]
    az = _axis(moves.az0[i], moves.az1[i], moves.az_rate[i], d, tau)
    el = _axis(moves.el0[i], moves.el1[i], moves.el_rate[i], d, tau)
    return az, el


def dome_azimuth(moves: Moves, t_ns: I64) -> tuple[F64, F64, npt.NDArray[np.bool_], F64]:
    """Dome azimuth, its velocity, whether it is slewing, and the commanded azimuth."""
    i, tau = _segment(moves, t_ns)
    d = moves.mount_s[i]
    dd = np.maximum(moves.dome_s[i], 1e-9)
    p0, p1, rate = moves.az0[i], moves.az1[i], moves.az_rate[i]
    target = p1 + rate * (dd - d - DOME_LAG_S)
    u = np.clip(tau / dd, 0.0, 1.0)
    slewing = tau < moves.dome_s[i]
    crawl = p1 + rate * (tau - d - DOME_LAG_S)
    x, xd, _ = _profile(u, dd)
    position = np.where(slewing, p0 + (target - p0) * x, crawl)
    velocity = np.where(slewing, (target - p0) * xd, rate)
    commanded = np.where(slewing, target, crawl)
    return position, velocity, slewing, commanded


def altaz_to_radec(az_deg: F64, el_deg: F64, utc_ns: I64) -> tuple[F64, F64]:
    """ICRS-ish right ascension and declination (deg) of an azimuth/elevation at the site.

    Azimuth from north through east; sidereal time from the GMST formula
    (UT1 ≈ UTC); no refraction, precession or nutation: good to a fraction
    of a degree, enough for plausible ``tracking_ra``/``tracking_dec``.
    """
    lat = math.radians(SITE_LATITUDE_DEG)
    az, el = np.radians(az_deg), np.radians(el_deg)
    sin_dec = np.sin(el) * math.sin(lat) + np.cos(el) * math.cos(lat) * np.cos(az)
    dec = np.degrees(np.arcsin(np.clip(sin_dec, -1.0, 1.0)))
    ha = np.degrees(
        np.arctan2(
            -np.sin(az) * np.cos(el),
            np.sin(el) * math.cos(lat) - np.cos(el) * math.sin(lat) * np.cos(az),
        )
    )
    jd = np.asarray(utc_ns, dtype=np.float64) / NS_PER_S / 86400.0 + 2440587.5
    gmst = 280.46061837 + 360.98564736629 * (jd - 2451545.0)
    ra = np.mod(gmst + SITE_LONGITUDE_DEG - ha, 360.0)
    return np.asarray(ra, dtype=np.float64), np.asarray(dec, dtype=np.float64)
