"""Per-exposure summaries against numpy over the store's own rows of each window."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from typer.testing import CliRunner

from openefd.analysis.summaries import ExposureSummaries, summarize, summarize_exposures
from openefd.analysis.summaries_config import load_config, parse_config
from openefd.analysis.summaries_functions import Windows, poly_rms, reduce_windows
from openefd.cli.summaries_cmd import app as summarize_command
from openefd.errors import UnknownFieldError
from openefd.ingest.exposure_loader import load_exposures
from openefd.ingest.writer import TopicBatch, Writer
from openefd.query.asof import run_asof
from openefd.query.select import RowSelect, run_select
from openefd.settings import SchemaMode
from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures

START = "2024-05-01T23:30:00Z"
DAY = 20240501
NS = 1_000_000_000
TOPICS = {
    "lsst.sal.ESS.airFlow",
    "lsst.sal.ESS.temperature",
    "lsst.sal.DIMM.logevent_dimmMeasurement",
    "lsst.sal.MTMount.azimuth",
    "lsst.sal.MTMount.elevation",
    "lsst.sal.MTDome.azimuth",
    "lsst.sal.MTM1M3.forceActuatorData",
}

CONFIG = """
version: 1
topics:
  - topic: lsst.sal.MTMount.elevation
    columns:
      - {name: el_mean, field: actualPosition, function: mean}
      - {name: el_std, field: actualPosition, function: {name: stddev, ddof: 1}}
      - {name: el_min, field: actualPosition, function: min}
      - {name: el_max, field: actualPosition, function: max}
      - {name: el_median, field: actualPosition, function: median}
      - {name: el_first, field: actualPosition, function: first}
      - {name: el_last, field: actualPosition, function: last}
      - {name: el_count, field: actualPosition, function: count}
      - {name: el_start, field: actualPosition, function: at_start}
      - {name: el_end, field: actualPosition, function: at_end}
      - {name: el_delta, field: actualPosition, function: delta}
      - name: el_rms_t
        field: actualPosition
        function: {name: rms_from_polynomial_fit, degree: 2, basis: time}
      - name: el_rms_i
        field: actualPosition
        function: {name: rms_from_polynomial_fit, degree: 1, basis: index}
  - topic: lsst.sal.ESS.airFlow
    sal_index: 301
    padding_s: 7.5
    columns:
      - {name: wind_mean, field: speed, function: mean, units: m/s, ucd: phys.veloc}
  - topic: lsst.sal.ESS.temperature
    sal_index: 102
    pre_padding_s: 2
    post_padding_s: 1
    columns:
      - {name: dome_t_mean, field: temperatureItem, function: mean, flatten: true}
      - {name: dome_t_median, field: temperatureItem, function: median}
  - topic: lsst.sal.ESS.temperature
    sal_index: [1, 101]
    columns:
      - {name: two_sensors_count, field: numChannels, function: count}
  - topic: lsst.sal.DIMM.logevent_dimmMeasurement
    columns:
      - {name: fwhm_recent, field: fwhm, function: {name: most_recent_value, lookback_s: 600}}
      - {name: fwhm_recent_short, field: fwhm, function: {name: most_recent_value, lookback_s: 2}}
  - topic: lsst.sal.MTM1M3.forceActuatorData
    columns:
      - {name: z_std, field: zForce, function: stddev}
      - {name: z_rms, field: zForce, function: {name: rms_from_polynomial_fit, degree: 1}}
"""


@pytest.fixture(scope="module")
def store(sal_xml_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Six simulated minutes (DEMO profile) of the topics summarised, and the exposures."""
    sim = NightSimulator(SimConfig(sal_xml_dir, START, hours=0.1, seed=1, profile=Profile.DEMO))
    path = tmp_path_factory.mktemp("summaries") / "store"
    with Store(path) as st_:
        st_.register_topics([t for t in sim.topics() if t.name in TOPICS])
        writer = Writer(st_, SchemaMode.STRICT)
        with st_.transaction():
            for chunk in sim.chunks(seconds=120.0):
                writer.write_batches(
                    [TopicBatch(n, t) for n, t in chunk.tables.items() if n in TOPICS]
                )
        load_exposures(st_, sim.exposures(), sim.arrivals())
    with Store(path, read_only=True) as st_:
        yield st_


@pytest.fixture(scope="module")
def result(store: Store) -> ExposureSummaries:
    return summarize(store, parse_config(CONFIG), day_obs=DAY)


def _rows(
    store: Store, topic: str, field: str, lo: int, hi: int, index: int | None = None
) -> np.ndarray:
    req = RowSelect(topic, [field], lo, hi, end_inclusive=False, index=index, time_scale="tai")
    return run_select(store, req).to_numpy(dtype=np.float64)


def _rms(x: np.ndarray, y: np.ndarray, degree: int) -> float:
    if len(y) <= degree:
        return float("nan")
    coef = np.polynomial.polynomial.polyfit(x, y, degree)
    return float(np.sqrt(np.mean((y - np.polynomial.polynomial.polyval(x, coef)) ** 2)))


def test_every_function_matches_numpy_over_the_window(
    store: Store, result: ExposureSummaries
) -> None:
    frame = exposures(store, day_obs=DAY)
    assert len(frame) == len(result.wide) >= 10
    wide = result.wide.set_index("exposure_id")
    topic = "lsst.sal.MTMount.elevation"
    begins = frame["timespan_begin_tai_ns"].to_numpy(dtype=np.int64)
    ends = frame["timespan_end_tai_ns"].to_numpy(dtype=np.int64)
    start = run_asof(store, topic, ["actualPosition"], begins, max_age_ns=60 * NS)
    end = run_asof(store, topic, ["actualPosition"], ends, max_age_ns=60 * NS)
    checked = 0
    for i, exp in enumerate(frame.itertuples()):
        got = wide.loc[exp.exposure_id]
        assert got["el_start"] == pytest.approx(start["actualPosition"].iloc[i], nan_ok=True)
        assert got["el_end"] == pytest.approx(end["actualPosition"].iloc[i], nan_ok=True)
        assert got["el_delta"] == pytest.approx(
            end["actualPosition"].iloc[i] - start["actualPosition"].iloc[i], nan_ok=True
        )
        b, e = int(exp.timespan_begin_tai_ns), int(exp.timespan_end_tai_ns)
        req = RowSelect(topic, ["actualPosition"], b, e, end_inclusive=False, time_scale="tai")
        rows = run_select(store, req)
        y = rows["actualPosition"].to_numpy()
        assert got["el_count"] == len(y)
        if len(y) == 0:  # a bias: an empty timespan holds no row
            assert np.isnan(
                [got["el_mean"], got["el_min"], got["el_first"], got["el_rms_t"]]
            ).all()
            continue
        checked += 1
        t_s = (rows.index.asi8 - rows.index.asi8[0]) / 1e9
        expected = {
            "el_mean": np.mean(y), "el_std": np.std(y, ddof=1) if len(y) > 1 else np.nan,
            "el_min": np.min(y), "el_max": np.max(y), "el_median": np.median(y),
            "el_first": y[0], "el_last": y[-1], "el_rms_t": _rms(t_s, y, 2),
            "el_rms_i": _rms(np.arange(len(y), dtype=float), y, 1),
        }  # fmt: skip
        for name, value in expected.items():
            assert got[name] == pytest.approx(value, rel=1e-9, abs=1e-9, nan_ok=True), name
    assert checked >= 5


def test_padding_and_sal_index_subset(store: Store, result: ExposureSummaries) -> None:
    frame = exposures(store, day_obs=DAY)
    wide = result.wide.set_index("exposure_id")
    for exp in frame.itertuples():
        b, e = int(exp.timespan_begin_tai_ns), int(exp.timespan_end_tai_ns)
        wind = _rows(
            store, "lsst.sal.ESS.airFlow", "speed", b - 7_500_000_000, e + 7_500_000_000, 301
        )
        assert len(wind) >= 15  # padding reaches rows even for biases
        assert wide.loc[exp.exposure_id, "wind_mean"] == pytest.approx(np.mean(wind))
        dome = _rows(store, "lsst.sal.ESS.temperature", "temperatureItem", b - 2 * NS, e + NS, 102)
        count = (~np.isnan(dome)).sum(axis=0)
        with np.errstate(invalid="ignore"):
            expected = np.where(count > 0, np.nansum(dome, axis=0) / count, np.nan)
        got = wide.loc[exp.exposure_id, [f"dome_t_mean{i}" for i in range(16)]].to_numpy(float)
        np.testing.assert_allclose(got, expected, rtol=1e-12)  # NaN channels stay NaN
        one = _rows(store, "lsst.sal.ESS.temperature", "numChannels", b, e, 1)
        other = _rows(store, "lsst.sal.ESS.temperature", "numChannels", b, e, 101)
        assert wide.loc[exp.exposure_id, "two_sensors_count"] == len(one) + len(other)


def test_arrays_in_key_value_form(store: Store, result: ExposureSummaries) -> None:
    long = result.long
    z = long[long["column"] == "z_std"]
    frame = exposures(store, day_obs=DAY)
    assert len(z) == 156 * len(frame)
    assert "z_std0" not in result.wide.columns  # not flattened: long form only
    science = frame[frame["observation_type"] == "science"].iloc[0]
    b, e = int(science.timespan_begin_tai_ns), int(science.timespan_end_tai_ns)
    rows = _rows(store, "lsst.sal.MTM1M3.forceActuatorData", "zForce", b, e)
    assert rows.shape[1] == 156
    mine = z[z["exposure_id"] == science.exposure_id].sort_values("element")
    assert mine["element"].tolist() == list(range(156))
    np.testing.assert_allclose(mine["value"].to_numpy(), np.std(rows, axis=0), rtol=1e-9)
    t_s = np.arange(len(rows)) / 50.0  # 50 Hz
    rms = long[(long["column"] == "z_rms") & (long["exposure_id"] == science.exposure_id)]
    expected = [_rms(t_s, rows[:, j], 1) for j in (0, 77, 155)]
    np.testing.assert_allclose(rms.sort_values("element")["value"].to_numpy()[[0, 77, 155]],
                               expected, rtol=1e-6)  # fmt: skip
    scalars = long[long["column"] == "wind_mean"]
    assert scalars["element"].isna().all()
    meta = result.columns.set_index("column")
    assert meta.loc["z_std", "units"] == "N" and meta.loc["z_std", "elements"] == 156
    assert meta.loc["wind_mean", "ucd"] == "phys.veloc"
    assert meta.loc["el_std", "function"] == "stddev(ddof=1)"


def test_missing_data_and_most_recent_value_lookback(store: Store) -> None:
    frame = exposures(store, day_obs=DAY)
    dimm = run_select(store, RowSelect("lsst.sal.DIMM.logevent_dimmMeasurement", ["fwhm"],
                                       time_scale="tai"))  # fmt: skip
    first_event = int(dimm.index.asi8[0])
    synthetic = pd.DataFrame(
        {
            "exposure_id": [1, 2, 3],
            "timespan_begin_tai_ns": pd.array(
                [first_event - 3600 * NS, first_event + 30 * NS, None], dtype="Int64"
            ),
            "timespan_end_tai_ns": pd.array(
                [first_event - 3570 * NS, first_event + 60 * NS, None], dtype="Int64"
            ),
        }
    )
    out = summarize_exposures(store, synthetic, parse_config(CONFIG)).wide.set_index("exposure_id")
    # before any data: nothing in the window, nothing to look back to
    assert np.isnan(out.loc[1].drop(["el_count", "two_sensors_count"]).to_numpy(float)).all()
    assert out.loc[1, "el_count"] == 0
    # 30 s after an event: found with a 600 s look-back, not with a 2 s one
    assert out.loc[2, "fwhm_recent"] == pytest.approx(float(dimm["fwhm"].iloc[0]))
    assert np.isnan(out.loc[2, "fwhm_recent_short"])
    assert out.loc[3].isna().all()  # unknown timespan
    assert len(frame) > 0


def test_unknown_field_is_named(store: Store) -> None:
    bad = CONFIG.replace("field: fwhm, function: {name: most_recent_value, lookback_s: 600}",
                         "field: fwhmm, function: mean")  # fmt: skip
    with pytest.raises(UnknownFieldError, match="fwhm_recent.*fwhmm"):
        summarize(store, parse_config(bad), day_obs=DAY)


def test_default_config_runs(store: Store) -> None:
    out = summarize(store, load_config(), day_obs=DAY)
    science = out.wide[out.wide["obs_id"].str.len() > 0]
    assert science["mount_elevation_mean"].notna().sum() > 5
    assert (out.long["column"] == "m1m3_z_force_mean").sum() == 156 * len(out.wide)


def test_cli_writes_parquet_with_units(store: Store, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    out = tmp_path / "s.parquet"
    result = CliRunner().invoke(
        summarize_command,
        ["--store", str(store.path), "--day-obs", str(DAY), "--config", str(config),
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows == len(exposures(store, day_obs=DAY))
    meta = table.schema.field("wind_mean").metadata
    assert meta[b"units"] == b"m/s" and meta[b"ucd"] == b"phys.veloc"
    long = tmp_path / "s.csv"
    result = CliRunner().invoke(
        summarize_command,
        ["--store", str(store.path), "--day-obs", str(DAY), "--config", str(config),
         "--out", str(long), "--long"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(long).columns) == ["exposure_id", "column", "element", "value"]


_NAMES = ["mean", "stddev", "min", "max", "median", "first", "last", "count"]


@settings(max_examples=60, deadline=None)
@given(
    values=arrays(
        np.float64, st.integers(0, 40), elements=st.one_of(st.floats(-1e6, 1e6), st.just(np.nan))
    ),
    bounds=st.lists(st.tuples(st.integers(0, 45), st.integers(0, 45)), min_size=1, max_size=6),
    ddof=st.integers(0, 2),
)
def test_reducers_match_numpy(
    values: np.ndarray, bounds: list[tuple[int, int]], ddof: int
) -> None:
    n = len(values)
    lo = np.array([min(a, b, n) for a, b in bounds])
    hi = np.array([min(max(a, b), n) for a, b in bounds])
    windows = Windows(lo, hi)
    for name in _NAMES:
        got = reduce_windows(name, values, windows, ddof=ddof)
        for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
            seg = values[a:b]
            ok = seg[~np.isnan(seg)]
            if name == "first":
                exp = seg[0] if len(seg) else np.nan
            elif name == "last":
                exp = seg[-1] if len(seg) else np.nan
            elif name == "count":
                exp = len(ok)
            elif len(ok) == 0 or (name == "stddev" and len(ok) <= ddof):
                exp = np.nan
            elif name == "stddev":
                exp = np.std(ok, ddof=ddof)
            else:
                exp = getattr(np, name)(ok)
            assert got[i] == pytest.approx(exp, rel=1e-9, abs=1e-6, nan_ok=True), (name, a, b)


def test_poly_rms_exact_on_a_polynomial() -> None:
    x = np.linspace(0, 10, 50)
    y = np.column_stack([3 + 2 * x - 0.5 * x**2, np.sin(x)])
    got = poly_rms(y, x, Windows([0, 10], [50, 10]), 2)
    assert got[0, 0] == pytest.approx(0, abs=1e-9)
    assert got[0, 1] == pytest.approx(_rms(x, y[:, 1], 2))
    assert np.isnan(got[1]).all()


# -- rows out of order, several entries of one topic, the batched paths ----------------------


@pytest.fixture(scope="module")
def scrambled_store(
    sal_xml_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """The rows of ``store``, written newest chunk first and shuffled within each chunk."""
    sim = NightSimulator(SimConfig(sal_xml_dir, START, hours=0.1, seed=1, profile=Profile.DEMO))
    path = tmp_path_factory.mktemp("summaries-scrambled") / "store"
    rng = np.random.default_rng(7)
    chunks = [
        {n: t for n, t in chunk.tables.items() if n in TOPICS}
        for chunk in sim.chunks(seconds=120.0)
    ]
    with Store(path) as st_:
        st_.register_topics([t for t in sim.topics() if t.name in TOPICS])
        writer = Writer(st_, SchemaMode.STRICT)
        with st_.transaction():
            for tables in reversed(chunks):
                writer.write_batches(
                    [TopicBatch(n, t.take(rng.permutation(t.num_rows))) for n, t in tables.items()]
                )
        load_exposures(st_, sim.exposures(), sim.arrivals())
    with Store(path, read_only=True) as st_:
        yield st_


def test_rows_out_of_order_give_the_same_summaries(
    store: Store, scrambled_store: Store, result: ExposureSummaries
) -> None:
    scan = (
        scrambled_store.cursor()
        .sql('SELECT time_tai_ns FROM "lsst.sal.MTMount.elevation"')
        .fetchall()
    )
    times = np.array([t for (t,) in scan])
    assert (np.diff(times) < 0).any()  # the store really hands rows back out of order
    again = summarize(scrambled_store, parse_config(CONFIG), day_obs=DAY)
    pd.testing.assert_frame_equal(again.wide, result.wide, check_exact=True)
    pd.testing.assert_frame_equal(again.long, result.long, check_exact=True)


SHARED_TOPIC = """
version: 1
topics:
  - topic: lsst.sal.ESS.temperature
    sal_index: 102
    pre_padding_s: 2
    post_padding_s: 1
    columns:
      - {name: a_mean, field: temperatureItem, function: mean}
      - {name: a_first, field: temperatureItem, function: first}
      - {name: a_last, field: temperatureItem, function: last}
      - {name: a_start, field: temperatureItem, function: at_start}
  - topic: lsst.sal.ESS.temperature
    sal_index: [1, 101]
    columns:
      - {name: b_count, field: numChannels, function: count}
      - {name: b_first, field: numChannels, function: first}
      - {name: b_median, field: temperatureItem, function: median}
  - topic: lsst.sal.ESS.temperature
    padding_s: 20
    columns:
      - {name: c_max, field: temperatureItem, function: max}
      - {name: c_last, field: numChannels, function: last}
      - name: c_recent
        field: numChannels
        function: {name: most_recent_value, lookback_s: 900}
"""


def test_entries_of_one_topic_read_together_as_each_alone(store: Store) -> None:
    config = parse_config(SHARED_TOPIC)
    together = summarize(store, config, day_obs=DAY)
    for spec in config.topics:
        alone = summarize(store, config.model_copy(update={"topics": [spec]}), day_obs=DAY)
        names = [c.name for c in spec.columns]
        mine = together.long[together.long["column"].isin(names)].reset_index(drop=True)
        expected = alone.long.astype({"column": str}).reset_index(drop=True)
        pd.testing.assert_frame_equal(mine.astype({"column": str}), expected, check_exact=True)
    frame = exposures(store, day_obs=DAY)
    wide = together.wide.set_index("exposure_id")
    for exp in frame.itertuples():
        b, e = int(exp.timespan_begin_tai_ns), int(exp.timespan_end_tai_ns)
        one = _rows(store, "lsst.sal.ESS.temperature", "numChannels", b, e, 1)
        other = _rows(store, "lsst.sal.ESS.temperature", "numChannels", b, e, 101)
        assert wide.loc[exp.exposure_id, "b_count"] == len(one) + len(other)
        padded = _rows(
            store, "lsst.sal.ESS.temperature", "temperatureItem", b - 20 * NS, e + 20 * NS
        )
        got = wide.loc[exp.exposure_id, "c_max"] if "c_max" in wide else None
        assert got is None  # arrays stay in the long form unless flattened
        long = together.long
        c_max = long[(long["column"] == "c_max") & (long["exposure_id"] == exp.exposure_id)]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN channels
            expected_max = np.nanmax(padded, axis=0)
        np.testing.assert_array_equal(
            c_max.sort_values("element")["value"].to_numpy(), expected_max
        )


def test_long_frame_types(result: ExposureSummaries) -> None:
    long = result.long
    config = parse_config(CONFIG)
    assert isinstance(long["column"].dtype, pd.CategoricalDtype)
    assert list(long["column"].cat.categories) == [c.name for _, c in config.all_columns()]
    assert long["element"].dtype == "Int64"
    scalar = long["column"] == "el_mean"
    assert long.loc[scalar, "element"].isna().all()
    assert long.loc[long["column"] == "z_std", "element"].notna().all()
    assert list(result.wide.columns[:4]) == ["instrument", "exposure_id", "obs_id", "day_obs"]
    assert (result.wide.dtypes.iloc[4:] == np.float64).all()


def _window_cases() -> st.SearchStrategy[tuple[np.ndarray, list[tuple[int, int]]]]:
    values = arrays(
        np.float64,
        st.tuples(st.integers(0, 30), st.integers(1, 3)),
        elements=st.one_of(st.floats(-1e3, 1e3), st.just(np.nan)),
    )
    bounds = st.lists(st.tuples(st.integers(0, 35), st.integers(0, 35)), min_size=1, max_size=5)
    return st.tuples(values, bounds)


def _bounds(n: int, bounds: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    lo = np.array([min(a, b, n) for a, b in bounds])
    hi = np.array([min(max(a, b), n) for a, b in bounds])
    return lo, hi


@settings(max_examples=60, deadline=None)
@given(case=_window_cases(), column_major=st.booleans())
def test_array_reducers_match_numpy_in_either_layout(
    case: tuple[np.ndarray, list[tuple[int, int]]], column_major: bool
) -> None:
    values, bounds = case
    lo, hi = _bounds(len(values), bounds)
    laid_out = np.asfortranarray(values) if column_major else values
    for name in ("mean", "stddev", "min", "max", "median", "count"):
        got = reduce_windows(name, laid_out, Windows(lo, hi), ddof=1)
        for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
            for j in range(values.shape[1]):
                ok = values[a:b, j][~np.isnan(values[a:b, j])]
                if name == "count":
                    exp = len(ok)
                elif len(ok) == 0 or (name == "stddev" and len(ok) < 2):
                    exp = np.nan
                elif name == "stddev":
                    exp = np.std(ok, ddof=1)
                else:
                    exp = getattr(np, name)(ok)
                assert got[i, j] == pytest.approx(exp, rel=1e-9, abs=1e-9, nan_ok=True), name


@settings(max_examples=60, deadline=None)
@given(
    case=_window_cases(),
    steps=arrays(np.float64, 30, elements=st.floats(0.05, 10)),
    degree=st.integers(0, 3),
    scalar=st.booleans(),
)
def test_batched_poly_rms_matches_polyfit(
    case: tuple[np.ndarray, list[tuple[int, int]]], steps: np.ndarray, degree: int, scalar: bool
) -> None:
    values, bounds = case
    values = values[:, 0] if scalar else values
    n = len(values)
    x = np.cumsum(steps[:n])  # strictly increasing: polyfit is never rank deficient
    lo, hi = _bounds(n, bounds)
    got = poly_rms(values, x, Windows(lo, hi), degree).reshape(len(lo), -1)
    flat = values[:, None] if values.ndim == 1 else values
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        for j in range(flat.shape[1]):
            ok = ~np.isnan(flat[a:b, j])
            y = flat[a:b, j][ok]
            exp = _rms(x[a:b][ok], y, degree)
            scale = 1 + float(np.abs(y).max(initial=0))
            assert got[i, j] == pytest.approx(exp, rel=1e-6, abs=1e-9 * scale, nan_ok=True)


def test_poly_rms_on_repeated_x_falls_back_to_lstsq() -> None:
    x = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0])
    y = np.array([1.0, 2.0, 3.0, 2.0, 2.5, 3.5, 0.5, 1.0])
    got = poly_rms(y, np.zeros_like(x), Windows([0], [8]), 1)  # one x for all: rank 1
    assert got[0] == pytest.approx(np.std(y))
    got = poly_rms(y, x, Windows([0], [8]), 2)
    assert got[0] == pytest.approx(_rms(x, y, 2))


def test_progress_counts_exposures_once_per_batch(store: Store) -> None:
    t0 = int(exposures(store, day_obs=DAY)["timespan_begin_tai_ns"].iloc[0])
    hour = 3600 * NS
    synthetic = pd.DataFrame(
        {
            "exposure_id": [1, 2, 3, 4],
            "timespan_begin_tai_ns": pd.array([t0, t0 + 10 * hour, None, t0 + NS], "Int64"),
            "timespan_end_tai_ns": pd.array([t0 + NS, t0 + 10 * hour + NS, None, t0 + 2 * NS],
                                            "Int64"),
        }
    )  # fmt: skip
    calls: list[int] = []
    out = summarize_exposures(store, synthetic, parse_config(CONFIG), progress=calls.append)
    assert calls == [3, 4]  # the unknown timespan at once, then two batches 10 h apart
    assert out.wide.loc[out.wide["exposure_id"] == 2, "el_count"].item() == 0
