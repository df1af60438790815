"""The butler importer against a real butler repository (SQLite registry; see conftest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openefd.errors import ConfigurationError
from openefd.ingest.butler_import import import_butler
from openefd.ingest.s3_arrivals import import_s3_arrivals
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures, image_arrivals

from .conftest import DAY_OBS, Night


def test_import_night(store: Store, night: Night, butler_repo: str) -> None:
    seen: list[int] = []
    done = import_butler(store, butler_repo, day_obs=DAY_OBS, progress=seen.append)
    assert done.exposures.new == len(night.exposures)
    assert done.arrivals.new == night.images
    assert seen[-1] == night.images
    got = exposures(store, day_obs=DAY_OBS)
    want = night.exposures
    assert got["exposure_id"].tolist() == want["id"].tolist()
    for col in (
        "obs_id",
        "group",
        "physical_filter",
        "band",
        "observation_type",
        "science_program",
    ):
        assert got[col].tolist() == want[col].tolist(), col
    np.testing.assert_array_equal(got["exposure_time_s"], want["exposure_time"])
    np.testing.assert_array_equal(got["timespan_begin_tai_ns"], want["timespan_begin_tai_ns"])
    # A zero-length exposure is held by the butler as [begin, begin + 1 ns).
    padded = want["timespan_end_tai_ns"] + (
        want["timespan_end_tai_ns"] == want["timespan_begin_tai_ns"]
    )
    np.testing.assert_array_equal(got["timespan_end_tai_ns"], padded)
    images = image_arrivals(store, day_obs=DAY_OBS)
    truth = night.arrivals.sort_values(["exposure_id", "detector"]).reset_index(drop=True)
    assert images["detector_name"].tolist() == truth["detector_name"].tolist()
    np.testing.assert_array_equal(
        images["ingest_tai_ns"].to_numpy(dtype=np.int64), truth["ingest_tai_ns"].to_numpy()
    )


def test_import_twice_changes_nothing(store: Store, night: Night, butler_repo: str) -> None:
    import_butler(store, butler_repo, day_obs=DAY_OBS)
    again = import_butler(store, butler_repo, day_obs=str(DAY_OBS))
    assert (again.exposures.new, again.exposures.changed) == (0, 0)
    assert (again.arrivals.new, again.arrivals.changed) == (0, 0)
    assert again.arrivals.unchanged == night.images


def test_butler_and_s3_fill_the_same_rows(
    store: Store, night: Night, butler_repo: str, raw_bucket: str, s3_client: Any
) -> None:
    import_s3_arrivals(store, raw_bucket, day_obs=DAY_OBS, client=s3_client)
    import_butler(store, butler_repo, day_obs=DAY_OBS)
    images = image_arrivals(store, day_obs=DAY_OBS)
    assert len(images) == night.images
    assert images["s3_arrival_tai_ns"].notna().all()
    assert images["ingest_tai_ns"].notna().all()


def test_other_night_is_empty(store: Store, butler_repo: str) -> None:
    done = import_butler(store, butler_repo, day_obs=20240502)
    assert (done.exposures.new, done.arrivals.new) == (0, 0)


def test_missing_repo(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no butler repository at"):
        import_butler(store, tmp_path / "nowhere")


def test_wrong_collection(store: Store, butler_repo: str) -> None:
    with pytest.raises(ConfigurationError, match="collection not found"):
        import_butler(store, butler_repo, day_obs=DAY_OBS, collections="LSSTCam/raw/nope")
