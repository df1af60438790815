"""A small, deterministic sample of EFD data for the demo and the tests.

Not the observatory simulator (that models a whole night); just enough of a
few real topics, with SAL's private stamps set as SAL sets them
(``private_sndStamp`` TAI s, ``private_efdStamp`` UTC s = the EFD's index
time, ``private_seqNum`` increasing per topic):

- ``lsst.sal.MTMount.azimuth`` and ``.elevation`` at ``mount_hz`` (slews
  between pointings every few minutes);
- ``lsst.sal.ESS.temperature`` (indexed, salIndex 1) at 1 Hz, 16-element
  array drifting down through the night;
- ``lsst.sal.MTMount.logevent_heartbeat`` at 1 Hz and
  ``logevent_summaryState`` once;
- ``lsst.sal.MTMount.command_enable`` once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from openefd.timescales import NS_PER_S, utc_to_tai_ns

__all__ = ["sample_topics"]


def _stamps(utc_ns: np.ndarray, identity: str) -> dict[str, np.ndarray | list[str] | str]:
    tai_ns = utc_to_tai_ns(utc_ns)
    n = len(utc_ns)
    return {
        "private_sndStamp": tai_ns / NS_PER_S,
        "private_rcvStamp": (tai_ns + 2_000_000) / NS_PER_S,
        "private_efdStamp": utc_ns / NS_PER_S,
        "private_kafkaStamp": (tai_ns + 5_000_000) / NS_PER_S,
        "private_seqNum": np.arange(1, n + 1, dtype=np.int64),
        "private_identity": [identity] * n,
        "private_origin": np.full(n, 4242, dtype=np.int64),
        "private_revCode": ["c0ffee01"] * n,
    }


def _times(start_utc_ns: int, seconds: float, hz: float) -> np.ndarray:
    n = int(seconds * hz)
    return start_utc_ns + np.round(np.arange(n) * (NS_PER_S / hz)).astype(np.int64)


def _axis(t_s: np.ndarray, rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    """Position: hold a target, slew (2 deg/s) to a new one every ~3 minutes."""
    targets = rng.uniform(lo, hi, size=int(t_s[-1] // 180) + 2)
    seg = (t_s // 180).astype(int)
    start, goal = targets[seg], targets[seg + 1]
    into = t_s - seg * 180
    step = np.clip(into * 2.0, 0, np.abs(goal - start))
    return np.asarray(start + np.sign(goal - start) * step, dtype=np.float64)


def sample_topics(
    start_utc: str = "2024-05-01T03:00:00Z",
    hours: float = 1.0,
    mount_hz: float = 20.0,
    seed: int = 1,
) -> dict[str, pd.DataFrame]:
    """DataFrames per topic (no time index: times are in the private stamps)."""
    rng = np.random.default_rng(seed)
    t0 = int(pd.Timestamp(start_utc).value)
    seconds = hours * 3600
    out: dict[str, pd.DataFrame] = {}
    mt = _times(t0, seconds, mount_hz)
    ts = (mt - t0) / NS_PER_S
    for axis, (lo, hi) in {"azimuth": (-180.0, 180.0), "elevation": (20.0, 88.0)}.items():
        pos = _axis(ts, rng, lo, hi)
        vel = np.gradient(pos, ts) if len(ts) > 1 else np.zeros_like(pos)
        out[f"lsst.sal.MTMount.{axis}"] = pd.DataFrame(
            {
                "actualPosition": pos + rng.normal(0, 1e-4, len(pos)),
                "demandPosition": pos,
                "actualVelocity": vel,
                "actualTorque": rng.normal(0, 50, len(pos)),
                "timestamp": utc_to_tai_ns(mt) / NS_PER_S,
                **_stamps(mt, "MTMount"),
            }
        )
    et = _times(t0, seconds, 1.0)
    hours_in = (et - t0) / NS_PER_S / 3600
    temps = 12.0 - 0.8 * hours_in[:, None] + rng.normal(0, 0.05, (len(et), 16))
    out["lsst.sal.ESS.temperature"] = pd.DataFrame(
        {
            "salIndex": np.ones(len(et), dtype=np.int64),
            "sensorName": ["Dome Temperatures"] * len(et),
            "numChannels": np.full(len(et), 16, dtype=np.int64),
            "temperatureItem": list(temps.astype(np.float32)),
            "location": ["dome"] * len(et),
            "timestamp": utc_to_tai_ns(et) / NS_PER_S,
            **_stamps(et, "ESS:1"),
        }
    )
    out["lsst.sal.MTMount.logevent_heartbeat"] = pd.DataFrame(
        {"heartbeat": (np.arange(len(et)) % 2).astype(bool), **_stamps(et, "MTMount")}
    )
    one = np.array([t0 + 5 * NS_PER_S], dtype=np.int64)
    out["lsst.sal.MTMount.logevent_summaryState"] = pd.DataFrame(
        {"summaryState": [2], **_stamps(one, "MTMount")}
    )
    out["lsst.sal.MTMount.command_enable"] = pd.DataFrame(_stamps(one - NS_PER_S, "user@host"))
    return out
