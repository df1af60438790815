"""The summaries benchmark's pieces on a tiny night (12 exposures), without timing anything.

No ``influxd`` here (as the other tests of ``bench/``): the per-exposure
approach's arithmetic (:func:`bench.summaries_influx.entry_values`) is fed
the rows its InfluxQL queries select, cut from the very rows the benchmark
loads into both systems, and its answers must equal openefd's
``summarize`` on the store those rows were loaded into.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from openefd.analysis.summaries import ExposureSummaries, summarize, summarize_exposures
from openefd.analysis.summaries_config import (
    AsOf,
    MostRecent,
    PolyRms,
    Stddev,
    SummaryConfig,
    load_config,
    parse_config,
)
from openefd.schema.model import SAL_INDEX_FIELD, FieldType
from openefd.store.columns import TIME_COLUMN
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures as registry_exposures
from openefd.timescales import tai_to_utc_ns

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # bench/ is not an installed package
    sys.path.insert(0, str(REPO))

from bench.summaries import _parse  # noqa: E402
from bench.summaries_compare import (  # noqa: E402
    column_counts,
    compare_results,
    results_from_long,
    rows_config,
)
from bench.summaries_data import (  # noqa: E402
    DAY_OBS,
    Night,
    config_fields,
    load_openefd,
    simulate_night,
)
from bench.summaries_influx import SpecPlan, entry_values, plan_specs, utc_literal  # noqa: E402

from bench import summaries_openefd  # noqa: E402

CONFIG = REPO / "bench" / "summaries_config.yaml"
EXPOSURES = 12  # five biases, two darks, three flats, two science exposures: ~4.5 minutes


@pytest.fixture(scope="module")
def config() -> SummaryConfig:
    return load_config(CONFIG)


@pytest.fixture(scope="module")
def night(sal_xml_dir: Path, config: SummaryConfig) -> Night:
    return simulate_night(sal_xml_dir, config, EXPOSURES, seed=1, say=lambda _: None)


@pytest.fixture(scope="module")
def store_dir(night: Night, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("summaries-bench") / "store"
    load_openefd(path, night)
    return path


@pytest.fixture(scope="module")
def store(store_dir: Path) -> Iterator[Store]:
    with Store(store_dir, read_only=True) as st_:
        yield st_


@pytest.fixture(scope="module")
def result(store: Store, config: SummaryConfig) -> ExposureSummaries:
    return summarize(store, config, day_obs=DAY_OBS)


@pytest.fixture(scope="module")
def plans(night: Night, config: SummaryConfig) -> list[SpecPlan]:
    return plan_specs(config, night.schemas)


def _widths(plans: list[SpecPlan]) -> dict[str, int]:
    return {c.name: p.widths[c.field] for p in plans for c in p.spec.columns}


# -- the configuration -------------------------------------------------------------------
def test_config_has_400_entries_of_every_function_over_published_fields(
    config: SummaryConfig, night: Night
) -> None:
    columns = list(config.all_columns())
    assert len(columns) >= 400
    functions = {c.function.name for _, c in columns}
    assert functions >= {
        "mean", "stddev", "min", "max", "median", "first", "last", "count", "at_start",
        "at_end", "delta", "most_recent_value", "rms_from_polynomial_fit",
    }  # fmt: skip
    assert {c.function.basis for _, c in columns if isinstance(c.function, PolyRms)} == {
        "time",
        "index",
    }
    for spec, column in columns:
        field = night.schemas[spec.topic].field(column.field)
        assert field is not None, f"{spec.topic}.{column.field}"
        assert field.type is not FieldType.STRING
    subsets = [s.sal_indices for s in config.topics if s.sal_indices is not None]
    assert any(len(s) > 1 for s in subsets) and any(len(s) == 1 for s in subsets)
    assert any(s.pre_ns or s.post_ns for s in config.topics)


def test_counts_configured_entries_and_output_values(plans: list[SpecPlan]) -> None:
    configured, values = column_counts(_widths(plans))
    assert configured == 626
    assert values == 4474  # 16-channel temperatures, 96 thermocouples, 400-sample axes …
    assert column_counts({"a": 0, "b": 3, "c": 0}) == (3, 5)


# -- the night -----------------------------------------------------------------------------
def test_night_keeps_only_the_configured_fields(night: Night, config: SummaryConfig) -> None:
    assert len(night.exposures) == EXPOSURES
    wanted = config_fields(config)
    assert set(night.tables) == set(wanted)
    for topic, table in night.tables.items():
        extra = {SAL_INDEX_FIELD} if night.schemas[topic].field(SAL_INDEX_FIELD) else set()
        assert set(table.column_names) == {TIME_COLUMN, *wanted[topic], *extra}
        times = table[TIME_COLUMN].to_numpy()
        assert (np.diff(times) >= 0).all()
        assert night.start_tai_ns <= times[0] and times[-1] < night.end_tai_ns
    last_end = int(night.exposures["timespan_end_tai_ns"].max())
    assert night.end_tai_ns == last_end + 120 * 1_000_000_000


def test_store_holds_the_night(store: Store, night: Night) -> None:
    frame = registry_exposures(store, day_obs=DAY_OBS)
    assert frame["exposure_id"].tolist() == night.exposures["id"].tolist()
    counted = summarize_exposures(store, frame, _whole_night_counts(night)).long
    element = counted["element"].to_numpy(dtype=np.float64, na_value=-1.0)
    counted = counted[element <= 0]
    # Every exposure's window, padded by a day, covers the whole night: every row is there.
    for n, table in enumerate(night.tables.values()):
        values = counted.loc[counted["column"] == f"all_{n}", "value"]
        assert values.tolist() == [float(table.num_rows)] * EXPOSURES


def _whole_night_counts(night: Night) -> SummaryConfig:
    """One entry per topic counting its rows in windows padded by a day (``all_<n>``)."""
    entries = []
    for n, (topic, table) in enumerate(night.tables.items()):
        field = next(c for c in table.column_names if c not in (TIME_COLUMN, SAL_INDEX_FIELD))
        entries.append(
            f"  - topic: {topic}\n    padding_s: 86400\n    columns:\n"
            f"      - {{name: all_{n}, field: {field}, function: count}}\n"
        )
    return parse_config("version: 1\ntopics:\n" + "".join(entries))


# -- (b): the per-exposure approach --------------------------------------------------------
def _answer(
    table: pa.Table, plan: SpecPlan, fields: list[str], lo_tai: int, hi_tai: int, right: bool
) -> tuple[np.ndarray, np.ndarray]:
    """What InfluxDB answers to one of ``plan``'s queries: times (UTC ns), flattened values.

    ``[lo, hi)`` (a window) or ``[lo, hi]`` (``right``: an as-of search, newest row only).
    """
    times = table[TIME_COLUMN].to_numpy()
    keep = (times >= lo_tai) & ((times <= hi_tai) if right else (times < hi_tai))
    if plan.spec.sal_indices is not None:
        keep &= np.isin(table[SAL_INDEX_FIELD].to_numpy(), plan.spec.sal_indices)
    rows = np.flatnonzero(keep)
    if right:
        rows = rows[-1:]
    if not len(rows) or not fields:  # no query is sent for no fields
        return np.empty(0, np.int64), np.empty((0, 0))
    parts = []
    for f in fields:
        col = table[f].combine_chunks().take(pa.array(rows))
        if pa.types.is_list(col.type):
            parts.append(np.stack(col.to_numpy(zero_copy_only=False)).astype(np.float64))
        else:
            parts.append(col.to_numpy(zero_copy_only=False).astype(np.float64)[:, None])
    return tai_to_utc_ns(times[rows]), np.hstack(parts)


def _influx_like(night: Night, plans: list[SpecPlan]) -> dict[str, np.ndarray]:
    """(b)'s answers for every exposure, from the rows the benchmark loads into InfluxDB."""
    per_exposure = []
    for exp in night.exposures.itertuples():
        begin, end = int(exp.timespan_begin_tai_ns), int(exp.timespan_end_tai_ns)
        out: dict[str, np.ndarray] = {}
        for plan in plans:
            table = night.tables[plan.spec.topic]
            lo, hi = begin - plan.spec.pre_ns, end + plan.spec.post_ns
            times, window = _answer(table, plan, plan.window_fields, lo, hi, right=False)
            asof = {
                back: {
                    at: _answer(table, plan, fields, t - back, t, right=True)[1]
                    for at, t in (("begin", begin), ("end", end))
                    if at in instants
                }
                for back, (fields, instants) in plan.asof.items()
            }
            out.update(entry_values(plan, times, window, asof))
        per_exposure.append(out)
    widths = _widths(plans)
    return {
        name: np.array([row[name] for row in per_exposure]).reshape(
            (len(per_exposure), width) if width else len(per_exposure)
        )
        for name, width in widths.items()
    }


def test_per_exposure_answers_equal_openefd(
    night: Night, plans: list[SpecPlan], result: ExposureSummaries
) -> None:
    ids = night.exposures["id"].to_numpy()
    theirs = _influx_like(night, plans)
    ours = results_from_long(result.long, ids, _widths(plans))
    comparison = compare_results(ours, theirs)
    assert comparison.agree, comparison.examples
    assert comparison.values == EXPOSURES * 4474
    # Biases have empty windows: their window functions are NaN on both sides.
    assert comparison.both_nan > 0
    assert comparison.max_rel_diff < 1e-9
    # And the comparison would have seen a difference.
    name = "dome_air_temp_temperature_item_mean"
    theirs[name] = theirs[name].copy()
    theirs[name][-1, 3] *= 1 + 1e-4
    assert compare_results(ours, theirs).mismatches == 1


def test_function_kinds_are_planned_as_window_or_asof(plans: list[SpecPlan]) -> None:
    for plan in plans:
        asof_fields = {f for fields, _ in plan.asof.values() for f in fields}
        for col in plan.spec.columns:
            if isinstance(col.function, AsOf | MostRecent):
                assert col.field in asof_fields
            else:
                assert col.field in plan.window_fields
    wind = next(p for p in plans if p.spec.topic == "lsst.sal.ESS.airFlow")
    assert set(wind.asof) == {60_000_000_000}
    assert wind.asof[60_000_000_000][1] == {"begin", "end"}
    dimm = next(p for p in plans if p.spec.topic.endswith("dimmMeasurement"))
    assert {back: instants for back, (_, instants) in dimm.asof.items()} == {
        600_000_000_000: {"begin"},
        3_600_000_000_000: {"begin"},
    }
    assert any(isinstance(c.function, Stddev) for p in plans for c in p.spec.columns)


def test_influxql_of_the_per_exposure_queries(plans: list[SpecPlan]) -> None:
    dome = next(p for p in plans if p.spec.sal_indices == [102])
    q = dome.window_query(1714606245_000000000, 1714606275_500000000)
    channels = ", ".join(f'"temperatureItem{i}"' for i in range(16))
    assert q == (
        f'SELECT {channels} FROM "lsst.sal.ESS.temperature" '
        "WHERE time >= '2024-05-01T23:30:45.000000000Z' "
        "AND time < '2024-05-01T23:31:15.500000000Z' AND \"salIndex\" = 102"
    )
    pair = next(p for p in plans if p.spec.sal_indices == [104, 106])
    assert pair.window_query(0, 1).endswith(' AND ("salIndex" = 104 OR "salIndex" = 106)')
    fields, _ = dome.asof[60_000_000_000]
    assert dome.asof_query(fields, 1714606245_000000000, 60_000_000_000) == (
        f'SELECT {channels} FROM "lsst.sal.ESS.temperature" '
        "WHERE time >= '2024-05-01T23:29:45.000000000Z' "
        "AND time <= '2024-05-01T23:30:45.000000000Z' AND \"salIndex\" = 102 "
        "ORDER BY time DESC LIMIT 1"
    )
    mount = next(p for p in plans if p.spec.topic == "lsst.sal.MTMount.azimuth")
    assert "salIndex" not in mount.window_query(0, 1)


@given(st.integers(min_value=0, max_value=4_000_000_000_000_000_000))
def test_time_literals_are_exact_to_the_nanosecond(utc_ns: int) -> None:
    literal = utc_literal(utc_ns)
    assert literal.startswith("'") and literal.endswith("Z'")
    assert pd.Timestamp(literal.strip("'")).value == utc_ns


# -- (a) in its own process ----------------------------------------------------------------
def test_openefd_run_reports_its_answer(
    store_dir: Path, result: ExposureSummaries, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "long.parquet"
    assert (
        summaries_openefd.main([str(store_dir), str(CONFIG), str(DAY_OBS), "--out", str(out)]) == 0
    )
    doc = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert doc["exposures"] == EXPOSURES
    assert doc["configured_columns"] == 626
    assert doc["long_rows"] == EXPOSURES * doc["values_per_exposure"] == len(result.long)
    assert doc["wide_columns"] == len(result.wide.columns) - 4
    assert doc["seconds"] > 0 and doc["rss_peak_mb"] >= doc["rss_before_mb"] > 0
    saved = pd.read_parquet(out)
    pd.testing.assert_frame_equal(saved, result.long, check_dtype=False)


# -- checking ------------------------------------------------------------------------------
def test_results_from_long_follow_the_given_exposures(
    night: Night, plans: list[SpecPlan], result: ExposureSummaries
) -> None:
    ids = night.exposures["id"].to_numpy()[::-1].copy()
    widths = _widths(plans)
    got = results_from_long(result.long, np.append(ids, 1), widths)
    wide = result.wide.set_index("exposure_id")
    np.testing.assert_array_equal(got["wind_speed_mean"][:-1], wide.loc[ids, "wind_speed_mean"])
    for i in range(16):
        np.testing.assert_array_equal(
            got["dome_air_temp_temperature_item_start"][:-1, i],
            wide.loc[ids, f"dome_air_temp_temperature_item_start{i}"],
        )
    assert got["tel_acc_acceleration_z_std"].shape == (EXPOSURES + 1, 400)
    assert np.isnan(got["wind_speed_mean"][-1])  # exposure 1 is not in the answer


def test_rows_config_counts_every_window_row(
    store: Store, night: Night, config: SummaryConfig
) -> None:
    counting = rows_config(config)
    assert [s.topic for s in counting.topics] == [s.topic for s in config.topics]
    counted = summarize(store, counting, day_obs=DAY_OBS).long
    n = next(i for i, s in enumerate(config.topics) if s.topic == "lsst.sal.ESS.airFlow")
    spec = config.topics[n]
    times = night.tables[spec.topic][TIME_COLUMN].to_numpy()
    want = sum(
        int(((times >= b - spec.pre_ns) & (times < e + spec.post_ns)).sum())
        for b, e in night.exposures[["timespan_begin_tai_ns", "timespan_end_tai_ns"]].to_numpy()
    )
    assert want > 0
    assert counted.loc[counted["column"] == f"rows_{n}", "value"].sum() == want


@settings(max_examples=50, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 30), elements=st.floats(-1e6, 1e6) | st.just(np.nan)),
    st.data(),
)
def test_compare_results_finds_every_difference(values: np.ndarray, data: st.DataObject) -> None:
    same = compare_results({"x": values}, {"x": values.copy()})
    assert same.agree and same.values == values.size
    assert same.both_nan == int(np.isnan(values).sum())
    i = data.draw(st.integers(0, values.size - 1))
    changed = values.copy()
    finite = values[~np.isnan(values)]
    scale = max(float(np.abs(finite).max()) if finite.size else 0.0, 1.0)
    changed[i] = 1.0 if np.isnan(values[i]) else values[i] + 1e-3 * scale
    diff = compare_results({"x": changed}, {"x": values})
    assert diff.mismatches == 1 and not diff.agree
    assert diff.nan_mismatches == int(np.isnan(values[i]))


def test_compare_results_tolerance_and_missing_columns() -> None:
    ref = np.array([1e-7, 2e-7, 0.0])
    assert compare_results({"v": ref * (1 + 1e-9)}, {"v": ref}).agree
    assert compare_results(
        {"v": ref + np.array([0, 0, 1e-17])}, {"v": ref}
    ).agree  # 1e-9 of the scale
    assert not compare_results({"v": ref + np.array([0, 0, 1e-15])}, {"v": ref}).agree
    missing = compare_results({"v": ref}, {"v": ref, "w": ref})
    assert missing.missing_columns == ["w"] and not missing.agree
    shaped = compare_results({"v": ref[:2]}, {"v": ref})
    assert shaped.missing_columns and not shaped.agree


# -- the command ---------------------------------------------------------------------------
def test_quick_mode_is_small_and_unrecorded() -> None:
    quick = _parse(["--quick"])
    assert (quick.exposures, quick.repeat, quick.record, quick.influx_every) == (50, 1, False, 1)
    full = _parse([])
    assert (full.exposures, full.repeat, full.record, full.influx_every) == (1000, 3, True, 0)
    with pytest.raises(SystemExit):
        _parse(["--exposures", "0"])


def test_a_night_too_short_is_refused(sal_xml_dir: Path, config: SummaryConfig) -> None:
    with pytest.raises(SystemExit, match="the simulated night holds 1120 exposures, not 5000"):
        simulate_night(sal_xml_dir, config, 5000, seed=1, say=lambda _: None)
