"""A simulated hour (profile DEMO, seed 1) in a real store's exposure registry, made once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from openefd.ingest.exposure_loader import load_exposures
from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures, image_arrivals

START = "2024-05-01T23:30:00Z"  # as `openefd demo` starts
DAY = 20240501


@pytest.fixture(scope="session")
def sim(sal_xml_dir: Path) -> NightSimulator:
    return NightSimulator(SimConfig(sal_xml_dir, START, hours=1.0, seed=1, profile=Profile.DEMO))


@pytest.fixture(scope="session")
def night_store(sim: NightSimulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed store directory holding the hour's exposures and image arrivals."""
    path = tmp_path_factory.mktemp("latency") / "openefd-store"
    with Store(path) as st:
        load_exposures(st, sim.exposures(), sim.arrivals())
    return path


@pytest.fixture(scope="session")
def registry_frames(night_store: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The night's exposures and arrivals as the registry returns them."""
    with Store(night_store, read_only=True) as st:
        return exposures(st, day_obs=DAY), image_arrivals(st, day_obs=DAY)
