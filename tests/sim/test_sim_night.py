"""A simulated hour: exposures, image arrivals, planted anomalies, environment, EFD shape."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.sim.detectors import detector_id, lsstcam_detectors
from openefd.sim.pointing import dome_azimuth, mount_axes

START = "2024-05-01T23:30:00Z"
NS = 1_000_000_000
MINUTE = 60 * NS


@pytest.fixture(scope="module")
def night(sal_xml_dir: Path) -> NightSimulator:
    return NightSimulator(SimConfig(sal_xml_dir, START, hours=1.0, seed=1))


@pytest.fixture(scope="module")
def latency(night: NightSimulator) -> pd.DataFrame:
    """Arrivals with their exposure's shutter close and latencies in seconds."""
    ex = night.exposures().set_index("id")
    arr = night.arrivals()
    close = ex.loc[arr["exposure_id"], "timespan_end_tai_ns"].to_numpy()
    return arr.assign(
        close_ns=close,
        s3_s=(arr["s3_arrival_tai_ns"] - close) / NS,
        ingest_s=(arr["ingest_tai_ns"] - close) / NS,
    )


def test_science_visits_every_34_seconds_after_calibrations(night: NightSimulator) -> None:
    ex = night.exposures()
    science = ex[ex["observation_type"] == "science"]
    cadence = np.diff(science["timespan_begin_tai_ns"].to_numpy()) / NS
    assert 33.0 < np.median(cadence) < 35.0
    assert (science["exposure_time"] == 30.0).all() and science["can_see_sky"].all()
    assert (science["dark_time"] > 30.0).all()
    calibrations = ex[ex["observation_type"] != "science"]
    assert set(calibrations["observation_type"]) == {"bias", "dark", "flat"}
    assert calibrations.index.max() < science.index.min()
    assert not calibrations["can_see_sky"].any() and calibrations["tracking_ra"].isna().all()
    assert science["tracking_dec"].between(-90, 90).all()
    assert science["zenith_angle"].between(0, 70).all()
    assert (ex["timespan_end_tai_ns"] >= ex["timespan_begin_tai_ns"]).all()
    # One filter change (26 minutes in), taking about two minutes.
    filters = science["physical_filter"].to_numpy()
    change = np.flatnonzero(filters[1:] != filters[:-1])
    assert len(change) == 1
    assert 110 < cadence[change[0]] - 30 < 140
    assert set(science["band"]) == {f.split("_")[0] for f in filters}
    assert 80 < len(ex) < 100


def test_exposure_ids_names_and_day_obs(night: NightSimulator) -> None:
    ex = night.exposures()
    assert (ex["instrument"] == "LSSTCam").all()
    assert (ex["day_obs"] == 20240501).all()  # 23:30–00:30 UTC: one observing night
    assert (ex["seq_num"] == np.arange(1, len(ex) + 1)).all()
    assert (ex["id"] == ex["day_obs"] * 100000 + ex["seq_num"]).all()
    assert all(re.fullmatch(r"MC_O_20240501_\d{6}", o) for o in ex["obs_id"])
    assert ex["obs_id"].iloc[9] == "MC_O_20240501_000010"
    assert (ex["group"].str[:10] >= "2024-05-01").all()
    assert (ex["group"].str[:10] == "2024-05-02").any()  # the night crossed UTC midnight


def test_day_obs_rolls_over_at_noon_utc(sal_xml_dir: Path) -> None:
    sim = NightSimulator(SimConfig(sal_xml_dir, "2024-05-02T11:55:00Z", hours=0.2))
    ex = sim.exposures()
    begin_utc = pd.to_datetime(ex["timespan_begin_tai_ns"] - 37 * NS, utc=True)
    before = begin_utc < pd.Timestamp("2024-05-02T12:00:00Z")
    assert before.any() and (~before).any()
    assert (ex.loc[before, "day_obs"] == 20240501).all()
    assert (ex.loc[~before, "day_obs"] == 20240502).all()
    assert ex.loc[~before, "seq_num"].iloc[0] == 1
    assert ex.loc[~before, "obs_id"].iloc[0] == "MC_O_20240502_000001"


def test_arrivals_cover_all_205_detectors(night: NightSimulator) -> None:
    arr, ex = night.arrivals(), night.exposures()
    first = arr[~arr["resend"]]
    assert len(first) == 205 * len(ex)
    assert (first.groupby("exposure_id")["detector"].nunique() == 205).all()
    names = dict(zip(first["detector"], first["detector_name"], strict=False))
    assert names[94] == "R22_S11" and names[189] == "R00_SG0" and names[204] == "R44_SW1"
    purposes = pd.Series([d.purpose for d in lsstcam_detectors()]).value_counts()
    assert purposes.to_dict() == {"science": 189, "guider": 8, "wavefront": 8}
    row = first.iloc[94]
    obs_id = ex.set_index("id").loc[row["exposure_id"], "obs_id"]
    assert row["object_key"] == f"LSSTCam/20240501/{obs_id}/{obs_id}_R22_S11.fits"
    assert first["size_bytes"].between(5_000_000, 25_000_000).all()


def test_resends_repeat_a_file_later(night: NightSimulator) -> None:
    arr = night.arrivals()
    again = arr[arr["resend"]]
    assert 0 < len(again) < 0.01 * len(arr)
    original = arr[~arr["resend"]].set_index("object_key")
    matched = original.loc[again["object_key"]]
    assert (again["s3_arrival_tai_ns"].to_numpy() > matched["s3_arrival_tai_ns"].to_numpy()).all()
    assert (again["size_bytes"].to_numpy() == matched["size_bytes"].to_numpy()).all()


def test_latency_after_shutter_close(night: NightSimulator, latency: pd.DataFrame) -> None:
    slow = next(a for a in night.anomalies() if a.name == "slow_transfers")
    normal = latency[
        ~latency["resend"]
        & (latency["detector"] != detector_id("R03_S12"))
        & ((latency["close_ns"] < slow.start_tai_ns) | (latency["close_ns"] >= slow.end_tai_ns))
    ]
    assert 2.0 < normal["s3_s"].median() < 4.0
    assert 0.01 < (normal["s3_s"] > 6.0).mean() < 0.1  # a slow tail
    assert (latency["notification_tai_ns"] > latency["s3_arrival_tai_ns"]).all()
    assert (latency["ingest_tai_ns"] > latency["notification_tai_ns"]).all()
    assert 1.0 < (normal["ingest_s"] - normal["s3_s"]).median() < 3.0


def test_anomalies_at_their_documented_times(night: NightSimulator, latency: pd.DataFrame) -> None:
    start = night.start_tai_ns
    found = {a.name: a for a in night.anomalies()}
    assert set(found) == {"temperature_excursion", "slow_transfers", "stuck_detector"}
    excursion, slow, stuck = (
        found[n] for n in ("temperature_excursion", "slow_transfers", "stuck_detector")
    )
    assert (excursion.start_tai_ns - start, excursion.end_tai_ns - start) == (
        20 * MINUTE,
        30 * MINUTE,
    )
    assert (slow.start_tai_ns - start, slow.end_tai_ns - start) == (35 * MINUTE, 50 * MINUTE)
    assert (stuck.start_tai_ns, stuck.end_tai_ns) == (start, night.end_tai_ns)

    inside = latency[
        ~latency["resend"]
        & (latency["detector"] != stuck.details["detector"])
        & (latency["close_ns"] >= slow.start_tai_ns)
        & (latency["close_ns"] < slow.end_tai_ns)
    ]
    assert inside["exposure_id"].nunique() > 20
    assert inside["s3_s"].between(20.0, 60.0).all()

    first = latency[~latency["resend"]]
    by_detector = first.groupby("detector")["s3_s"].median()
    late = by_detector[stuck.details["detector"]] - by_detector.drop(stuck.details["detector"])
    assert 25.0 < late.median() < 35.0

    table = night.topic_table(excursion.topic_or_table, start + 15 * MINUTE, start + 35 * MINUTE)
    assert table is not None
    t = table.to_pandas()
    t = t[t["salIndex"] == excursion.details["salIndex"]]
    item = (
        np.stack(t["temperatureItem"].to_numpy())[:, 3]
        - np.stack(t["temperatureItem"].to_numpy())[:, 2]
    )
    minute = (t["private_sndStamp"].to_numpy() * NS - start) / MINUTE
    jump = item[(minute > 21) & (minute < 28)].mean() - item[minute < 19].mean()
    assert 5.0 < jump < 7.0
    assert abs(item[minute > 31].mean() - item[minute < 19].mean()) < 0.5


def test_a_short_run_plants_only_what_fits(sal_xml_dir: Path) -> None:
    sim = NightSimulator(SimConfig(sal_xml_dir, START, hours=0.25))
    assert [a.name for a in sim.anomalies()] == ["stuck_detector"]


def test_environment_and_telescope(night: NightSimulator) -> None:
    dimm = night.topic_table("lsst.sal.DIMM.logevent_dimmMeasurement")
    assert dimm is not None
    assert 50 <= dimm.num_rows <= 60  # once a minute, except during DIMM's fault
    fwhm = dimm["fwhm"].to_numpy()
    assert ((fwhm >= 0.6) & (fwhm <= 1.5)).all() and np.ptp(fwhm) > 0
    states = night.topic_table("lsst.sal.DIMM.logevent_summaryState")
    assert states is not None and states["summaryState"].to_pylist() == [2, 3, 5, 1, 2]
    bursts = night.topic_table("lsst.sal.MTMount.logevent_logMessage")
    assert bursts is not None and bursts.num_rows >= 50
    seconds = np.floor(bursts["private_sndStamp"].to_numpy())
    assert np.unique(seconds, return_counts=True)[1].max() >= 50  # many within one second
    # When exposing, the dome is where the mount points.
    ex = night.exposures()
    mid = ((ex["timespan_begin_tai_ns"] + ex["timespan_end_tai_ns"]) // 2).to_numpy()
    az, _ = mount_axes(night.world.plan.moves, mid)
    dome, _, _, _ = dome_azimuth(night.world.plan.moves, mid)
    assert np.abs(np.mod(dome - az.position + 180, 360) - 180).max() < 0.1


def test_efd_profile_is_shaped_like_the_rubin_efd(sal_xml_dir: Path) -> None:
    sim = NightSimulator(SimConfig(sal_xml_dir, START, hours=1.0, profile=Profile.EFD))
    volume = sim.volume()
    total = volume["bytes_per_s"].sum()
    assert 1.6e6 * 0.85 < total < 1.6e6 * 1.15
    m1m3 = volume.loc[volume["csc"] == "MTM1M3", "bytes_per_s"].sum() / total
    assert 0.81 < m1m3 < 0.87
    assert 60 <= len(sim.cscs()) <= 70
    events = volume[(volume["kind"] == "event") & ~volume.index.str.endswith("heartbeat")]
    fast = events.index.str.startswith("lsst.sal.MTM1M3.logevent_preclipped")
    assert (events.loc[~fast, "hz"] < 0.1).mean() > 0.9  # but heartbeats, events are sparse
    assert ((volume["csc"] == "ESS") & (volume["hz"] >= 1)).sum() >= 10
    heartbeat = volume.loc["lsst.sal.MTMount.logevent_heartbeat"]
    # 1 B bool + 4 doubles + 2 longs + identity "MTMount" + an 8-digit revCode
    assert heartbeat["bytes_per_message"] == 1 + 32 + 8 + 7 + 8
    assert heartbeat["hz"] == 1.0
