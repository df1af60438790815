"""LSSTCam exposures of the plan, as the butler's ``exposure`` dimension records them.

One row per exposure. ``day_obs`` is the date (YYYYMMDD) of the exposure's
start in UTC−12 h, so a night keeps one ``day_obs`` across UTC midnight;
``seq_num`` counts from 1 within each ``day_obs`` (from the first exposure
simulated); ``id = day_obs × 100000 + seq_num``; ``obs_id`` is
``MC_O_{day_obs}_{seq_num:06d}``. The timespan is the shutter-open interval
``[timespan_begin_tai_ns, timespan_end_tai_ns)`` in TAI ns (a bias has an
empty one). ``azimuth`` and ``zenith_angle`` (deg) are the mount's at
mid-exposure, ``tracking_ra``/``tracking_dec`` (deg) the sky position there
(NaN when the exposure cannot see the sky).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from openefd.sim.plan import FILTERS, NightPlan
from openefd.sim.pointing import altaz_to_radec, mount_axes
from openefd.timescales import NS_PER_S, tai_to_utc_ns

__all__ = ["EXPOSURE_COLUMNS", "day_obs_of", "exposures_frame", "obs_id_of"]

INSTRUMENT = "LSSTCam"
_HALF_DAY_NS = 12 * 3600 * NS_PER_S
EXPOSURE_COLUMNS = {
    "instrument": "object",
    "id": "int64",
    "obs_id": "object",
    "day_obs": "int64",
    "seq_num": "int64",
    "group": "object",
    "physical_filter": "object",
    "band": "object",
    "observation_type": "object",
    "observation_reason": "object",
    "science_program": "object",
    "exposure_time": "float64",
    "dark_time": "float64",
    "timespan_begin_tai_ns": "int64",
    "timespan_end_tai_ns": "int64",
    "can_see_sky": "bool",
    "tracking_ra": "float64",
    "tracking_dec": "float64",
    "azimuth": "float64",
    "zenith_angle": "float64",
}
_REASONS = {
    "science": "survey",
    "bias": "calibration",
    "dark": "calibration",
    "flat": "calibration",
}
_PROGRAMS = {
    "science": "BLOCK-365",
    "bias": "BLOCK-T294",
    "dark": "BLOCK-T294",
    "flat": "BLOCK-T294",
}


def day_obs_of(tai_ns: int) -> int:
    """The observing day (YYYYMMDD) of a TAI instant: its UTC date 12 hours earlier."""
    utc = int(tai_to_utc_ns(np.int64(tai_ns)))
    stamp = pd.Timestamp(utc - _HALF_DAY_NS, unit="ns")
    return stamp.year * 10000 + stamp.month * 100 + stamp.day


def obs_id_of(day_obs: int, seq_num: int) -> str:
    return f"MC_O_{day_obs}_{seq_num:06d}"


def exposures_frame(plan: NightPlan) -> pd.DataFrame:
    """The exposures of ``plan``, in time order, columns as :data:`EXPOSURE_COLUMNS`."""
    visits = plan.visits
    if not visits:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in EXPOSURE_COLUMNS.items()})
    begin = np.array([v.begin_ns for v in visits], dtype=np.int64)
    end = np.array([v.end_ns for v in visits], dtype=np.int64)
    mid = begin + (end - begin) // 2
    az, el = mount_axes(plan.moves, mid)
    ra, dec = altaz_to_radec(az.position, el.position, tai_to_utc_ns(mid))
    sky = np.array([v.can_see_sky for v in visits], dtype=bool)
    day_obs = [day_obs_of(int(b)) for b in begin]
    seq_nums: list[int] = []
    counters: dict[int, int] = {}
    for d in day_obs:
        counters[d] = counters.get(d, 0) + 1
        seq_nums.append(counters[d])
    groups = pd.to_datetime(tai_to_utc_ns(begin), unit="ns").strftime("%Y-%m-%dT%H:%M:%S.%f")
    frame = pd.DataFrame(
        {
            "instrument": INSTRUMENT,
            "id": [d * 100000 + s for d, s in zip(day_obs, seq_nums, strict=True)],
            "obs_id": [obs_id_of(d, s) for d, s in zip(day_obs, seq_nums, strict=True)],
            "day_obs": day_obs,
            "seq_num": seq_nums,
            "group": [g[:-3] for g in groups],
            "physical_filter": [v.physical_filter for v in visits],
            "band": [FILTERS[v.physical_filter] for v in visits],
            "observation_type": [v.observation_type for v in visits],
            "observation_reason": [_REASONS[v.observation_type] for v in visits],
            "science_program": [_PROGRAMS[v.observation_type] for v in visits],
            "exposure_time": [v.exposure_time_s for v in visits],
            "dark_time": [v.dark_time_s for v in visits],
            "timespan_begin_tai_ns": begin,
            "timespan_end_tai_ns": end,
            "can_see_sky": sky,
            "tracking_ra": np.where(sky, ra, np.nan),
            "tracking_dec": np.where(sky, dec, np.nan),
            "azimuth": np.mod(az.position, 360.0),
            "zenith_angle": 90.0 - el.position,
        }
    )
    return frame.astype(EXPOSURE_COLUMNS)
