"""The life of every raw image: arrival in S3, bucket notification, butler ingest.

One row per (exposure, detector, delivery) for all 205 LSSTCam detectors of
every exposure; times TAI ns. Latency is counted from shutter close (the
exposure's ``timespan_end_tai_ns``), as the image-latency notebooks do:

- S3 arrival: log-normal around 2.7 s (σ of log 0.25) plus a fixed offset
  per raft (0–0.6 s, the order the REBs are read out and sent); 3 % of
  files take an extra exponential tail (mean 5 s); 1.2 % of exposures stall
  — one raft (7 in 10 stalls) or the whole focal plane — for 1–5 minutes.
- The bucket notification follows the arrival by 0.05–0.4 s, the butler
  ingest the notification by a log-normal ~1.2 s.
- 0.4 % of files are sent again 2–15 minutes later: an extra row with
  ``resend`` True, the same ``object_key`` and size.
- Planted anomalies (:mod:`openefd.sim.anomalies`): slow transfers (20–60 s)
  for exposures closing in the slow window; detector R03_S12 30 s late.

``size_bytes``: ~18.9 MB for a science or guide sensor (compressed raw),
half for a wavefront sensor, scaled by exposure type (bias 0.8, dark 0.85,
flat 1.1) within ±2 %.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from openefd.sim.anomalies import (
    SLOW_TRANSFER_LATENCY_S,
    STUCK_DELAY_S,
    STUCK_DETECTOR,
    slow_transfer_window,
)
from openefd.sim.detectors import detector_id, lsstcam_detectors
from openefd.sim.rng import generator
from openefd.timescales import NS_PER_S

__all__ = ["ARRIVAL_COLUMNS", "arrivals_frame"]

ARRIVAL_COLUMNS = {
    "exposure_id": "int64",
    "detector": "int64",
    "detector_name": "object",
    "object_key": "object",
    "size_bytes": "int64",
    "s3_arrival_tai_ns": "int64",
    "ingest_tai_ns": "int64",
    "notification_tai_ns": "int64",
    "resend": "bool",
}
P_TAIL = 0.03
P_STALL = 0.012
P_RESEND = 0.004
SCIENCE_BYTES = 18_900_000
_TYPE_SCALE = {"science": 1.0, "bias": 0.8, "dark": 0.85, "flat": 1.1}


def arrivals_frame(exposures: pd.DataFrame, start_ns: int, seed: int) -> pd.DataFrame:
    """Arrivals of every detector of every exposure, sorted by exposure, detector, arrival."""
    if exposures.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in ARRIVAL_COLUMNS.items()})
    rng = generator(seed, "arrivals")
    dets = lsstcam_detectors()
    n_det, n_exp = len(dets), len(exposures)
    det_ids = np.array([d.id for d in dets], dtype=np.int64)
    rafts = sorted({d.raft for d in dets})
    raft_offset = dict(zip(rafts, rng.uniform(0.0, 0.6, len(rafts)), strict=True))
    det_offset = np.array([raft_offset[d.raft] for d in dets])
    raft_index = np.array([rafts.index(d.raft) for d in dets])

    close = exposures["timespan_end_tai_ns"].to_numpy(dtype=np.int64)
    shape = (n_exp, n_det)
    latency = rng.lognormal(np.log(2.7), 0.25, shape) + det_offset[None, :]
    latency += np.where(rng.random(shape) < P_TAIL, rng.exponential(5.0, shape), 0.0)
    stalled = rng.random(n_exp) < P_STALL
    whole = rng.random(n_exp) < 0.3
    stall_raft = rng.integers(0, len(rafts), n_exp)
    stall_s = rng.uniform(60.0, 300.0, n_exp)
    hit = stalled[:, None] & (whole[:, None] | (raft_index[None, :] == stall_raft[:, None]))
    latency += np.where(hit, stall_s[:, None] + rng.uniform(0.0, 3.0, shape), 0.0)
    slow_a, slow_b = slow_transfer_window(start_ns)
    slow = (close >= slow_a) & (close < slow_b)
    lo, hi = SLOW_TRANSFER_LATENCY_S
    latency = np.where(slow[:, None], rng.uniform(lo, hi, shape), latency)
    latency[:, det_ids == detector_id(STUCK_DETECTOR)] += STUCK_DELAY_S + rng.normal(
        0, 1, (n_exp, 1)
    )

    s3 = close[:, None] + np.round(latency * NS_PER_S).astype(np.int64)
    notify = s3 + np.round(rng.uniform(0.05, 0.4, shape) * NS_PER_S).astype(np.int64)
    ingest = notify + np.round(rng.lognormal(np.log(1.2), 0.3, shape) * NS_PER_S).astype(np.int64)
    half = np.array([0.5 if d.purpose == "wavefront" else 1.0 for d in dets])
    scale = exposures["observation_type"].map(_TYPE_SCALE).fillna(1.0).to_numpy(dtype=float)
    size = SCIENCE_BYTES * half[None, :] * scale[:, None] * rng.uniform(0.98, 1.02, shape)

    names = np.array([d.name for d in dets], dtype=object)
    obs_ids = exposures["obs_id"].to_numpy(dtype=object)
    day_obs = exposures["day_obs"].to_numpy(dtype=np.int64)
    keys = [
        f"LSSTCam/{d}/{o}/{o}_{n}.fits"
        for d, o in zip(day_obs, obs_ids, strict=True)
        for n in names
    ]
    frame = pd.DataFrame(
        {
            "exposure_id": np.repeat(exposures["id"].to_numpy(dtype=np.int64), n_det),
            "detector": np.tile(det_ids, n_exp),
            "detector_name": np.tile(names, n_exp),
            "object_key": keys,
            "size_bytes": np.round(size).astype(np.int64).ravel(),
            "s3_arrival_tai_ns": s3.ravel(),
            "ingest_tai_ns": ingest.ravel(),
            "notification_tai_ns": notify.ravel(),
            "resend": False,
        }
    )
    again = rng.random(len(frame)) < P_RESEND
    if again.any():
        extra = frame[again].copy()
        delay = np.round(rng.uniform(120.0, 900.0, len(extra)) * NS_PER_S).astype(np.int64)
        for col in ("s3_arrival_tai_ns", "ingest_tai_ns", "notification_tai_ns"):
            extra[col] = extra[col].to_numpy() + delay
        extra["resend"] = True
        frame = pd.concat([frame, extra], ignore_index=True)
    frame = frame.sort_values(
        ["exposure_id", "detector", "s3_arrival_tai_ns"], kind="stable", ignore_index=True
    )
    return frame.astype(ARRIVAL_COLUMNS)
