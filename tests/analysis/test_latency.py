"""Latency of a simulated night with planted anomalies: the report gives the planted answers,
exactly as NumPy computes them from the simulator's own frames, and counts what it leaves out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from openefd.analysis.latency import (
    LatencyOptions,
    LatencyReport,
    analyse_latency,
    night_latency,
)
from openefd.errors import QueryError
from openefd.sim import NightSimulator
from openefd.sim.detectors import detector_id, lsstcam_detectors
from openefd.store.duckdb_store import Store

DAY = 20240501
NS = 1_000_000_000


@pytest.fixture(scope="module")
def report(night_store: Path) -> LatencyReport:
    with Store(night_store, read_only=True) as st:
        return night_latency(st, DAY)


@pytest.fixture(scope="module")
def truth(sim: NightSimulator) -> pd.DataFrame:
    """First deliveries with NumPy latencies from the simulator's frames."""
    ex = sim.exposures().set_index("id")
    arr = sim.arrivals()
    first = arr[~arr["resend"]].sort_values(["exposure_id", "detector"], ignore_index=True)
    close = ex.loc[first["exposure_id"], "timespan_end_tai_ns"].to_numpy()
    return first.assign(
        close_ns=close,
        transfer_s=(first["s3_arrival_tai_ns"].to_numpy() - close) / NS,
        ingest_s=(first["ingest_tai_ns"].to_numpy() - close) / NS,
        observation_type=ex.loc[first["exposure_id"], "observation_type"].to_numpy(),
    )


def test_per_image_latencies_are_exact(report: LatencyReport, truth: pd.DataFrame) -> None:
    img = report.per_image
    assert img["exposure_id"].tolist() == truth["exposure_id"].tolist()
    assert img["detector"].tolist() == truth["detector"].tolist()
    assert np.array_equal(img["transfer_s"].to_numpy(), truth["transfer_s"].to_numpy())
    assert np.array_equal(img["ingest_s"].to_numpy(), truth["ingest_s"].to_numpy())
    assert (img["transfer_status"] == "ok").all() and (img["ingest_status"] == "ok").all()


def test_summary_is_numpy_over_the_simulator(report: LatencyReport, truth: pd.DataFrame) -> None:
    row = report.summary.loc["transfer_s"]
    t = truth["transfer_s"].to_numpy()
    assert row["count"] == len(t) == 87 * 205
    assert row["median"] == np.median(t)
    assert row["p90"] == np.percentile(t, 90) and row["p99"] == np.percentile(t, 99)
    assert row["mean"] == pytest.approx(t.mean(), rel=1e-12)
    assert row["std"] == pytest.approx(t.std(), rel=1e-12)
    assert row["min"] == t.min() and row["max"] == t.max()
    assert row["within_transfer_target"] == (t <= 7.0).mean()
    assert row["within_cadence_target"] == (t <= 34.0).mean()
    ingest = truth["ingest_s"].to_numpy()
    assert report.summary.loc["ingest_s", "median"] == np.median(ingest)
    slowest = truth.groupby("exposure_id")["transfer_s"].max().to_numpy()
    assert np.array_equal(report.per_exposure["transfer_max_s"].to_numpy(), slowest)
    assert report.summary.loc["exposure_transfer_max_s", "median"] == np.median(slowest)
    assert report.summary.loc["exposure_transfer_max_s", "within_transfer_target"] == 0.0


def test_slow_transfer_window_is_found(report: LatencyReport, sim: NightSimulator) -> None:
    (window,) = [a for a in sim.anomalies() if a.name == "slow_transfers"]
    per = report.per_exposure
    close = per["shutter_close_tai_ns"].to_numpy(dtype=np.int64)
    planted = (close >= window.start_tai_ns) & (close < window.end_tai_ns)
    assert planted.sum() > 10
    # Every image of an exposure in the window took 20 s or more; no other exposure's did.
    found = per["transfer_min_s"].to_numpy() >= 20.0
    assert found.tolist() == planted.tolist()
    # Outside the stuck detector, the window's images took 20–60 s, as planted.
    img = report.per_image
    inside = img["exposure_id"].isin(per.loc[planted, "exposure_id"]) & (img["label"] != "R03_S12")
    assert img.loc[inside, "transfer_s"].between(20.0, 60.0).all()


def test_stuck_detector_is_the_only_slow_one(report: LatencyReport, truth: pd.DataFrame) -> None:
    assert report.slow_detectors == ["R03_S12"]
    det = report.detectors.set_index("label")
    assert len(det) == 205
    stuck = det.loc["R03_S12"]
    assert stuck["detector"] == detector_id("R03_S12") == 23
    assert 28.0 < stuck["median_transfer_excess_s"] < 32.0
    assert stuck["late_fraction"] == 1.0
    others = det.drop(index="R03_S12")
    assert others["median_transfer_excess_s"].abs().max() < 1.0
    # The slowest image of each exposure, as NumPy finds it; mostly the stuck detector.
    slowest = truth.loc[truth.groupby("exposure_id")["transfer_s"].idxmax(), "detector_name"]
    per = report.per_exposure
    assert per["transfer_max_detector"].tolist() == slowest.tolist()
    assert (
        per.loc[per["transfer_min_s"] < 20, "transfer_max_detector"] == "R03_S12"
    ).mean() > 0.95


def test_resends_are_listed_and_not_counted_as_latency(
    report: LatencyReport, sim: NightSimulator
) -> None:
    arr = sim.arrivals()
    resent = arr[arr["resend"]].sort_values(["exposure_id", "detector"])
    got = report.late_resends
    assert report.counts["resends"] == len(got) == len(resent) == 62
    assert got["exposure_id"].tolist() == resent["exposure_id"].tolist()
    assert got["s3_arrival_tai_ns"].tolist() == resent["s3_arrival_tai_ns"].tolist()
    close = sim.exposures().set_index("id").loc[resent["exposure_id"], "timespan_end_tai_ns"]
    expected = (resent["s3_arrival_tai_ns"].to_numpy() - close.to_numpy()) / NS
    assert np.array_equal(got["resend_latency_s"].to_numpy(), expected)
    assert (got["after_first_s"] >= 120.0).all()  # planted 2–15 minutes after
    assert report.per_exposure["resends"].sum() == 62
    # The images' latencies are those of the first delivery.
    assert report.per_image["deliveries"].sum() == len(arr)
    assert report.summary.loc["transfer_s", "max"] < 120.0


def test_counts_of_a_complete_night(report: LatencyReport) -> None:
    c = report.counts
    assert c["exposures"] == c["exposures_with_images"] == 87
    assert c["images"] == c["images_expected"] == c["transfer_measured"] == 87 * 205
    assert c["expected_detectors"] == 205
    assert c["deliveries"] == 87 * 205 + 62
    zero = [k for k, v in c.items() if v == 0]
    assert "missing_images" in zero and "images_without_exposure" in zero
    assert c["exposures_without_images"] == 0 and c["s3_arrival_after_ingest"] == 0


def test_cadence_against_nominal(report: LatencyReport, sim: NightSimulator) -> None:
    begin = np.sort(sim.exposures()["timespan_begin_tai_ns"].to_numpy())
    interval = np.diff(begin) / NS
    cad = report.cadence
    assert np.array_equal(cad["interval_s"].to_numpy(), interval)
    assert cad["within_target"].mean() == (interval <= 34.0).mean()
    assert report.summary.loc["cadence_interval_s", "median"] == np.median(interval)
    assert np.isnan(report.summary.loc["cadence_interval_s", "within_transfer_target"])
    science = cad[(cad["observation_type"] == "science") & (cad["interval_s"] < 60)]
    assert 33.0 < science["interval_s"].median() < 35.0


def test_subsets(night_store: Path, truth: pd.DataFrame) -> None:
    with Store(night_store, read_only=True) as st:
        science = night_latency(st, DAY, science_only=True)
        listed = night_latency(st, "2024-05-01", exposure_ids=[2024050100046, 2024050100055, 1])
        centre = night_latency(st, DAY, detectors=["R22_S11"], transfer_target_s=3.0)
        unknown = night_latency(st, DAY, detectors=["R99_S99", "94", 500])
    assert set(science.per_exposure["observation_type"]) == {"science"}
    sci = truth[truth["observation_type"] == "science"]["transfer_s"].to_numpy()
    assert science.counts["exposures"] == 77
    assert science.summary.loc["transfer_s", "median"] == np.median(sci)

    assert listed.per_exposure["exposure_id"].tolist() == [2024050100046, 2024050100055]
    assert listed.counts["requested_exposures_not_found"] == 1
    assert listed.counts["images"] == 2 * 205

    # One detector, as the notebook's R22_S11 table: one image per exposure.
    mine = truth[truth["detector"] == 94]
    img = centre.per_image
    assert img["label"].unique().tolist() == ["R22_S11"]
    assert np.array_equal(img["transfer_s"].to_numpy(), mine["transfer_s"].to_numpy())
    per = centre.per_exposure
    assert np.array_equal(per["transfer_min_s"].to_numpy(), per["transfer_max_s"].to_numpy())
    assert centre.counts["expected_detectors"] == 1 and centre.counts["missing_images"] == 0
    t = mine["transfer_s"].to_numpy()
    assert centre.summary.loc["transfer_s", "within_transfer_target"] == (t <= 3.0).mean()
    assert centre.slow_detectors == ["R03_S12"]  # judged against all detectors
    assert centre.counts["requested_detectors_not_found"] == 0
    assert unknown.counts["requested_detectors_not_found"] == 2
    assert unknown.per_image["label"].unique().tolist() == ["R22_S11"]


def test_empty_night(night_store: Path) -> None:
    with Store(night_store, read_only=True) as st:
        report = night_latency(st, 20240601)
    assert report.instrument is None
    assert set(report.counts.values()) == {0}
    assert report.per_image.empty and report.per_exposure.empty and report.cadence.empty
    assert (report.summary["count"] == 0).all()
    assert report.summary["median"].isna().all()
    assert report.slow_detectors == []


def _analyse(exposures: pd.DataFrame, arrivals: pd.DataFrame) -> LatencyReport:
    return analyse_latency(exposures, arrivals, day_obs=DAY)


def test_exposures_without_images(registry_frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ex, arr = registry_frames
    bare = ex["exposure_id"].iloc[[10, 20, 30]].tolist()
    report = _analyse(ex, arr[~arr["exposure_id"].isin(bare)])
    c = report.counts
    assert c["exposures"] == 87 and c["exposures_without_images"] == 3
    assert c["images_expected"] == c["images"] == 84 * 205 and c["missing_images"] == 0
    rows = report.per_exposure.set_index("exposure_id").loc[bare]
    assert (rows["images"] == 0).all() and rows["transfer_max_s"].isna().all()


def test_images_without_exposures(registry_frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ex, arr = registry_frames
    gone = ex["exposure_id"].iloc[[5, 6]].tolist()
    report = _analyse(ex[~ex["exposure_id"].isin(gone)], arr)
    c = report.counts
    resent = int(arr[arr["exposure_id"].isin(gone)]["resend"].sum())
    assert c["images_without_exposure"] == 2 * 205
    assert c["exposure_ids_without_record"] == 2
    assert c["exposures"] == 85 and c["images"] == 85 * 205
    orphans = report.images_without_exposure
    assert sorted(set(orphans["exposure_id"].tolist())) == sorted(gone)
    assert orphans["deliveries"].sum() == 2 * 205 + resent
    assert not report.per_image["exposure_id"].isin(gone).any()


def test_missing_arrivals_are_listed(registry_frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ex, arr = registry_frames
    first = int(ex["exposure_id"].iloc[40])
    drop = (arr["exposure_id"] == first) & arr["detector"].isin([94, 200])
    drop |= (arr["exposure_id"] == int(ex["exposure_id"].iloc[41])) & (arr["detector"] == 3)
    report = _analyse(ex, arr[~drop])
    missing = report.missing_images
    assert report.counts["missing_images"] == len(missing) == 3
    names = {d.id: d.name for d in lsstcam_detectors()}
    assert missing["label"].tolist() == [names[94], names[200], names[3]]
    assert missing["detector"].tolist() == [94, 200, 3]
    per = report.per_exposure.set_index("exposure_id")
    assert per.loc[first, "missing_images"] == 2 and per.loc[first, "images"] == 203
    assert report.counts["images"] + 3 == report.counts["images_expected"]


def test_unknown_and_impossible_times_are_counted_and_left_out(
    registry_frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    ex, arr = registry_frames
    arr = arr.copy()
    close = ex.set_index("exposure_id")["timespan_end_tai_ns"]
    firsts = arr.index[~arr["resend"]]
    no_s3, no_ingest, early, overwritten = firsts[0], firsts[1], firsts[2], firsts[3]
    arr.loc[no_s3, "s3_arrival_tai_ns"] = pd.NA
    arr.loc[no_ingest, "ingest_tai_ns"] = pd.NA
    arr.loc[early, "s3_arrival_tai_ns"] = close[arr.loc[early, "exposure_id"]] - NS
    arr.loc[overwritten, "s3_arrival_tai_ns"] = arr.loc[overwritten, "ingest_tai_ns"] + 60 * NS
    no_close = ex.copy()
    no_close.loc[no_close.index[50], "timespan_end_tai_ns"] = pd.NA
    report = _analyse(no_close, arr)
    c = report.counts
    assert c["images_without_s3_arrival"] == 1 and c["images_without_ingest"] == 1
    assert c["s3_arrival_before_shutter_close"] == 1 and c["s3_arrival_after_ingest"] == 1
    assert c["exposures_without_shutter_close"] == 1
    assert c["images_without_shutter_close"] == 205
    left_out = 4 - 1 + 205  # the no-ingest image still has its transfer
    assert c["transfer_measured"] == c["images"] - left_out
    assert report.summary.loc["transfer_s", "count"] == c["transfer_measured"]
    assert c["ingest_measured"] == c["images"] - 1 - 205
    status = report.per_image.set_index(["exposure_id", "detector"])["transfer_status"]
    key = (arr.loc[overwritten, "exposure_id"], arr.loc[overwritten, "detector"])
    assert status.loc[key] == "after_ingest"
    assert report.per_image["transfer_s"].min() > 0


def test_instruments_must_be_told_apart(
    registry_frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    ex, arr = registry_frames
    other = ex.iloc[:2].assign(instrument="LATISS")
    both = pd.concat([ex, other], ignore_index=True)
    with pytest.raises(QueryError, match="several instruments"):
        _analyse(both, arr)
    report = analyse_latency(both, arr, day_obs=DAY, instrument="LATISS")
    assert report.counts["exposures"] == 2 and report.counts["images"] == 0


def test_options_are_checked() -> None:
    with pytest.raises(QueryError, match="transfer_target_s"):
        LatencyOptions(transfer_target_s=-1.0)
    with pytest.raises(QueryError, match="percentiles"):
        LatencyOptions(percentiles=(50.0, 101.0))
