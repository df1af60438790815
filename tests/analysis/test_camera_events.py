"""Exposures and per-detector ingests derived from the camera's events in the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from openefd.analysis.camera_events import END_OF_IMAGE, IN_OODS, import_camera_events
from openefd.errors import QueryError
from openefd.ingest.writer import TopicBatch, Writer
from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.sim.detectors import lsstcam_detectors
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures, image_arrivals
from openefd.timescales import seconds_to_ns, utc_to_tai_ns

DAY = 20240501


@pytest.fixture(scope="module")
def short_sim(sal_xml_dir: Path) -> NightSimulator:
    return NightSimulator(
        SimConfig(sal_xml_dir, "2024-05-01T23:30:00Z", hours=0.2, seed=3, profile=Profile.DEMO)
    )


def _store_with_events(sim: NightSimulator, path: Path) -> Store:
    store = Store(path)
    names = [END_OF_IMAGE, IN_OODS]
    store.register_topics([t for t in sim.topics() if t.name in names])
    for name in names:
        table = sim.topic_table(name)
        assert table is not None
        Writer(store).write_batches([TopicBatch(name, table)])
    return store


def test_events_give_the_simulated_exposures_and_oods_ingests(
    short_sim: NightSimulator, tmp_path: Path
) -> None:
    with _store_with_events(short_sim, tmp_path / "s") as store:
        got = import_camera_events(store, DAY)
        again = import_camera_events(store, DAY)
        loaded = exposures(store, day_obs=DAY).sort_values("exposure_id", ignore_index=True)
        arrivals = image_arrivals(store, day_obs=DAY)
    truth = short_sim.exposures().sort_values("id", ignore_index=True)
    assert got.images == len(truth) > 10
    assert got.detector_files == len(truth) * len(lsstcam_detectors())
    assert got.failed_ingests == 0 and got.unknown_detectors == 0
    assert again.load.exposures.new == again.load.exposures.changed == 0  # idempotent
    assert again.load.arrivals.new == again.load.arrivals.changed == 0
    assert loaded["exposure_id"].tolist() == truth["id"].tolist()
    assert loaded["obs_id"].tolist() == truth["obs_id"].tolist()
    assert loaded["observation_type"].tolist() == truth["observation_type"].tolist()
    # SAL stamps are float seconds: the timespan comes back to the microsecond.
    for col in ("timespan_begin_tai_ns", "timespan_end_tai_ns"):
        diff = loaded[col].to_numpy(np.int64) - truth[col].to_numpy(np.int64)
        assert np.abs(diff).max() <= 1_000, col
    # Each detector's ingest time is its imageInOODS event's time (private_efdStamp), exactly.
    oods = short_sim.topic_table(IN_OODS)
    assert oods is not None
    stamps = oods["private_efdStamp"].to_numpy()
    event_ns = np.sort(utc_to_tai_ns(seconds_to_ns(stamps)))
    assert np.array_equal(np.sort(arrivals["ingest_tai_ns"].to_numpy(np.int64)), event_ns)


def test_failed_ingests_are_counted_not_loaded(short_sim: NightSimulator, tmp_path: Path) -> None:
    with _store_with_events(short_sim, tmp_path / "s") as store:
        oods = short_sim.topic_table(IN_OODS)
        assert oods is not None
        one = oods.slice(0, 1)
        failed = one.set_column(
            one.schema.get_field_index("statusCode"), "statusCode", pa.array([7])
        ).set_column(
            one.schema.get_field_index("private_efdStamp"),
            "private_efdStamp",
            pa.array([one["private_efdStamp"][0].as_py() + 1e-3]),
        )
        Writer(store).write_batches([TopicBatch(IN_OODS, failed)])
        got = import_camera_events(store, DAY)
    assert got.failed_ingests == 1


def test_a_night_without_events_loads_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "s") as store:
        got = import_camera_events(store, DAY)
        assert (got.images, got.detector_files) == (0, 0)
    with Store(tmp_path / "s", read_only=True) as store, pytest.raises(QueryError, match="read"):
        import_camera_events(store, DAY)


def test_import_events_command(short_sim: NightSimulator, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from openefd.cli.main import app

    _store_with_events(short_sim, tmp_path / "s").close()
    result = CliRunner().invoke(
        app, ["import-events", "2024-05-01", "--store", str(tmp_path / "s")]
    )
    assert result.exit_code == 0, result.output
    assert f"{len(short_sim.exposures())} images" in result.output
    again = CliRunner().invoke(app, ["import-events", "20240501", "--store", str(tmp_path / "s")])
    assert "0 new, 0 changed" in again.output


def test_events_fill_gaps_and_never_overwrite_the_butler(
    short_sim: NightSimulator, tmp_path: Path
) -> None:
    from openefd.ingest.exposure_loader import load_exposures

    with _store_with_events(short_sim, tmp_path / "s") as store:
        truth = short_sim.exposures()
        arrivals = short_sim.arrivals()
        first = arrivals[~arrivals["resend"]] if "resend" in arrivals else arrivals
        half = first.iloc[: len(first) // 2]  # the butler knew half of the images
        load_exposures(store, truth, half)
        before = image_arrivals(store, day_obs=DAY, first_delivery_only=True)
        got = import_camera_events(store, DAY)
        after = image_arrivals(store, day_obs=DAY, first_delivery_only=True)
    assert got.load.exposures.new == got.load.exposures.changed == 0  # butler's records kept
    known = before.dropna(subset=["ingest_tai_ns"]).set_index(["exposure_id", "detector"])
    kept = after.set_index(["exposure_id", "detector"]).loc[known.index, "ingest_tai_ns"]
    assert (kept == known["ingest_tai_ns"]).all()  # never overwritten
    assert after["ingest_tai_ns"].notna().all()  # the other half filled from the events
    assert got.load.arrivals.changed + got.load.arrivals.new == len(after) - len(known)
