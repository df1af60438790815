"""Stored per-exposure summaries kept up to date as exposures and telemetry arrive."""

from __future__ import annotations

import itertools
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from openefd.analysis.summaries import summarize
from openefd.analysis.summaries_config import SummaryConfig, parse_config
from openefd.analysis.summaries_stored import SUMMARISED_COLUMN, stored_summaries
from openefd.analysis.summary_upkeep import SummaryUpkeep, attach_summaries
from openefd.cli.common import open_for_writing
from openefd.cli.summaries_cmd import app as summarize_command
from openefd.ingest.exposure_loader import load_exposures
from openefd.ingest.writer import TopicBatch, Writer
from openefd.settings import SchemaMode, Settings
from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures
from openefd.store.summary_tables import RUNS, VALUES

START = "2024-05-01T23:30:00Z"
DAY = 20240501
NS = 1_000_000_000
ELEVATION = "lsst.sal.MTMount.elevation"
DIMM = "lsst.sal.DIMM.logevent_dimmMeasurement"
TOPICS = (ELEVATION, DIMM, "lsst.sal.ESS.temperature")

CONFIG = parse_config(
    """
version: 1
topics:
  - topic: lsst.sal.MTMount.elevation
    padding_s: 1.0
    columns:
      - {name: el_mean, field: actualPosition, function: mean}
      - {name: el_max, field: actualPosition, function: max}
      - {name: el_count, field: actualPosition, function: count}
      - {name: el_start, field: actualPosition, function: {name: at_start, lookback_s: 30}}
  - topic: lsst.sal.DIMM.logevent_dimmMeasurement
    columns:
      - {name: fwhm, field: fwhm, function: {name: most_recent_value, lookback_s: 600}}
  - topic: lsst.sal.ESS.temperature
    sal_index: 102
    columns:
      - {name: dome_t_end, field: temperatureItem, function: at_end, flatten: true}
"""
)


class Night:
    """Six simulated minutes of the summarised topics, as tables, and the exposures."""

    def __init__(self, sim: NightSimulator) -> None:
        self.schemas = [t for t in sim.topics() if t.name in TOPICS]
        parts: dict[str, list[pa.Table]] = {}
        for chunk in sim.chunks(seconds=120.0):
            for name, table in chunk.tables.items():
                if name in TOPICS:
                    parts.setdefault(name, []).append(table)
        self.tables = {n: pa.concat_tables(p) for n, p in parts.items()}
        self.exposures = sim.exposures()


@pytest.fixture(scope="module")
def night(sal_xml_dir: Path) -> Night:
    return Night(
        NightSimulator(SimConfig(sal_xml_dir, START, hours=0.1, seed=1, profile=Profile.DEMO))
    )


@pytest.fixture(scope="module")
def empty_store(night: Night, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("upkeep") / "template"
    with Store(path) as st_:
        st_.register_topics(night.schemas)
    return path


@pytest.fixture
def store(empty_store: Path, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "store"
    shutil.copytree(empty_store, path)
    with Store(path) as st_:
        yield st_


def _write(store: Store, tables: dict[str, pa.Table]) -> None:
    writer = Writer(store, SchemaMode.STRICT)
    with store.transaction():
        writer.write_batches([TopicBatch(n, t) for n, t in tables.items()])


def _values(frame: pd.DataFrame) -> np.ndarray:
    names = [c for c in frame.columns if c.startswith(("el_", "fwhm", "dome_"))]
    return frame[names].to_numpy(dtype=np.float64)


def _assert_stored_is_fresh(store: Store, config: SummaryConfig = CONFIG) -> pd.DataFrame:
    kept = stored_summaries(store, day_obs=DAY)
    fresh = summarize(store, config, day_obs=DAY)
    assert len(kept.wide) == len(fresh.wide) >= 5
    assert kept.wide[SUMMARISED_COLUMN].notna().all()
    np.testing.assert_allclose(_values(kept.wide), _values(fresh.wide), equal_nan=True)
    assert list(kept.columns["column"]) == list(fresh.columns["column"])
    return kept.wide


def test_exposures_recorded_after_telemetry_are_summarised_at_commit(
    store: Store, night: Night
) -> None:
    upkeep = SummaryUpkeep(store, CONFIG)
    _write(store, night.tables)
    assert upkeep.runs == 0  # no exposure recorded yet
    load_exposures(store, night.exposures)
    assert upkeep.runs == 1
    assert upkeep.summarised == len(night.exposures)
    assert upkeep.errors == []
    wide = _assert_stored_is_fresh(store)
    assert np.isfinite(wide["el_mean"]).sum() >= 5  # real values, not only NaN


def test_telemetry_arriving_after_the_exposures_updates_them(store: Store, night: Night) -> None:
    upkeep = SummaryUpkeep(store, CONFIG)
    load_exposures(store, night.exposures)
    first = stored_summaries(store, day_obs=DAY).wide
    assert first[SUMMARISED_COLUMN].notna().all()
    assert np.isnan(first["el_mean"]).all()  # no telemetry yet
    for name, table in night.tables.items():
        half = table.num_rows // 2
        _write(store, {name: table.slice(0, half)})
        _write(store, {name: table.slice(half)})
    assert upkeep.errors == []
    _assert_stored_is_fresh(store)


def test_a_late_row_changes_the_summary_of_its_exposure_only(store: Store, night: Night) -> None:
    upkeep = SummaryUpkeep(store, CONFIG)
    _write(store, night.tables)
    load_exposures(store, night.exposures)
    before = stored_summaries(store, day_obs=DAY).wide.set_index("exposure_id")
    target = before.index[len(before) // 2]
    exp = exposures(store, day_obs=DAY).set_index("exposure_id").loc[target]
    inside = int(exp["timespan_begin_tai_ns"]) + NS // 3  # shutter open: in the window
    late = night.tables[ELEVATION].slice(0, 1)
    late = late.set_column(
        late.schema.get_field_index("actualPosition"),
        "actualPosition",
        pa.array([1000.0], late.schema.field("actualPosition").type),
    )
    private = late.schema.get_field_index("private_efdStamp")
    late = late.set_column(
        private, "private_efdStamp", pa.array([inside / NS - 37.0], pa.float64())
    )
    runs = upkeep.runs
    _write(store, {ELEVATION: late})
    assert upkeep.runs == runs + 1
    after = _assert_stored_is_fresh(store).set_index("exposure_id")
    assert after.loc[target, "el_max"] == 1000.0
    assert after.loc[target, "el_count"] == before.loc[target, "el_count"] + 1
    assert after.loc[target, SUMMARISED_COLUMN] > before.loc[target, SUMMARISED_COLUMN]
    far = [e for e in before.index if abs(int(e) - int(target)) > 3]
    assert far
    pd.testing.assert_series_equal(
        after.loc[far, SUMMARISED_COLUMN], before.loc[far, SUMMARISED_COLUMN]
    )


def test_a_rolled_back_write_marks_nothing(store: Store, night: Night) -> None:
    upkeep = SummaryUpkeep(store, CONFIG)
    load_exposures(store, night.exposures)
    runs = upkeep.runs
    with pytest.raises(RuntimeError, match="abandon"), store.transaction():
        Writer(store, SchemaMode.STRICT).write_batches(
            [TopicBatch(ELEVATION, night.tables[ELEVATION])]
        )
        raise RuntimeError("abandon the write")
    load_exposures(store, night.exposures)  # unchanged rows: nothing recorded, nothing to do
    assert upkeep.runs == runs
    wide = stored_summaries(store, day_obs=DAY).wide
    assert np.isnan(wide["el_mean"]).all()


def test_a_failure_is_logged_never_fails_the_write_and_writes_nothing(
    store: Store, night: Night, caplog: pytest.LogCaptureFixture
) -> None:
    _write(store, night.tables)
    with store.transaction():  # a foreign table where the runs table belongs
        store._con.execute(f"CREATE TABLE {RUNS} (unexpected INTEGER)")
    upkeep = SummaryUpkeep(store, CONFIG)
    with caplog.at_level(logging.WARNING):
        load_exposures(store, night.exposures)  # the write itself succeeds
    assert len(exposures(store, day_obs=DAY)) == len(night.exposures)
    assert len(upkeep.errors) == 1 and "per-exposure summaries not updated" in upkeep.errors[0]
    assert "per-exposure summaries not updated" in caplog.text
    assert "unexpected" in upkeep.errors[0]  # the cause, not a follow-up error
    found = store._con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [VALUES]
    ).fetchone()
    assert found == (0,)  # the summaries' transaction was rolled back as a whole


def test_topics_and_fields_the_store_does_not_define_are_left_out(
    store: Store, night: Night
) -> None:
    text = (
        "version: 1\ntopics:\n  - topic: lsst.sal.NoSuchCSC.thing\n    columns:\n"
        "      - {name: x, field: value, function: mean}\n"
        "  - topic: lsst.sal.MTMount.elevation\n    columns:\n"
        "      - {name: el_mean, field: actualPosition, function: mean}\n"
        "      - {name: el_gone, field: noSuchField, function: mean}\n"
    )
    upkeep = SummaryUpkeep(store, parse_config(text))
    _write(store, night.tables)
    load_exposures(store, night.exposures)
    assert upkeep.errors == []
    kept = stored_summaries(store, day_obs=DAY)
    assert list(kept.columns["column"]) == ["el_mean"]
    assert np.isfinite(kept.wide["el_mean"]).any()


def test_settings_turn_it_off_and_read_only_stores_never_keep_it(
    store: Store, tmp_path: Path
) -> None:
    assert isinstance(attach_summaries(store), SummaryUpkeep)
    off = Settings(store=tmp_path / "off", summaries_auto=False)
    with open_for_writing(off) as st_:
        assert st_.commit_listeners == []
    with open_for_writing(Settings(store=tmp_path / "on")) as st_:
        assert len(st_.commit_listeners) == 1
    with Store(tmp_path / "on", read_only=True) as st_:
        assert attach_summaries(st_) is None
        with pytest.raises(Exception, match="opened for writing"):
            SummaryUpkeep(st_, CONFIG)


def test_stored_summaries_of_a_store_without_any(store: Store, night: Night) -> None:
    load_exposures(store, night.exposures)
    kept = stored_summaries(store, day_obs=DAY)
    assert len(kept.wide) == len(night.exposures)
    assert kept.wide[SUMMARISED_COLUMN].isna().all()
    assert kept.long.empty and kept.columns.empty


def test_cli_save_then_read_the_stored_summaries(
    store: Store, night: Night, tmp_path: Path
) -> None:
    _write(store, night.tables)
    load_exposures(store, night.exposures)  # no upkeep attached: nothing stored yet
    path = store.path
    store.close()
    config = tmp_path / "summaries.yaml"
    config.write_text(CONFIG.model_dump_json())  # JSON is YAML
    runner = CliRunner()
    base = ["--store", str(path), "--day-obs", str(DAY)]
    missing = runner.invoke(summarize_command, [*base, "--stored", "-o", str(tmp_path / "a.csv")])
    assert missing.exit_code == 0, missing.output
    assert f"{len(night.exposures)} of {len(night.exposures)} exposures have no stored" in (
        missing.output
    )
    saved = runner.invoke(summarize_command, [*base, "--config", str(config), "--save"])
    assert saved.exit_code == 0, saved.output
    assert "kept in" in saved.output
    read = runner.invoke(summarize_command, [*base, "--stored", "-o", str(tmp_path / "b.csv")])
    assert read.exit_code == 0, read.output
    kept = pd.read_csv(tmp_path / "b.csv")
    with Store(path, read_only=True) as st_:
        fresh = summarize(st_, CONFIG, day_obs=DAY).wide
    np.testing.assert_allclose(_values(kept), _values(fresh), equal_nan=True)
    both = runner.invoke(summarize_command, [*base, "--stored", "--save"])
    assert both.exit_code != 0 and "give one" in both.output


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    pieces=st.integers(min_value=1, max_value=5),
    exposures_at=st.integers(min_value=0, max_value=5),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_any_order_of_writes_ends_equal_to_a_fresh_computation(
    empty_store: Path,
    night: Night,
    tmp_path_factory: pytest.TempPathFactory,
    pieces: int,
    exposures_at: int,
    seed: int,
) -> None:
    """Telemetry cut in random pieces written in random order, exposures recorded at any
    point between them: the stored summaries end equal to summarising from scratch."""
    rng = np.random.default_rng(seed)
    path = tmp_path_factory.mktemp("order") / "store"
    shutil.copytree(empty_store, path)
    writes: list[dict[str, pa.Table]] = []
    for name, table in night.tables.items():
        cuts = np.sort(rng.integers(0, table.num_rows, size=pieces - 1))
        bounds = [0, *cuts.tolist(), table.num_rows]
        for a, b in itertools.pairwise(bounds):
            rows = rng.permutation(np.arange(a, b))
            writes.append({name: table.take(pa.array(rows, pa.int64()))})
    order = rng.permutation(len(writes))
    with Store(path) as st_:
        upkeep = SummaryUpkeep(st_, CONFIG)
        for i, k in enumerate(order):
            if i == min(exposures_at, len(order)):
                load_exposures(st_, night.exposures)
            if writes[k][next(iter(writes[k]))].num_rows:
                _write(st_, writes[k])
        if exposures_at >= len(order):
            load_exposures(st_, night.exposures)
        assert upkeep.errors == []
        _assert_stored_is_fresh(st_)
