"""Generic correlation: planted pairs found first, constant and empty columns dropped, NaNs
handled, same-field pairs marked, results equal to numpy/pandas, and the simulator's per-exposure
summaries (mount azimuth at start vs at end) — through the API and the command."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from typer.testing import CliRunner

from openefd.analysis.investigations.correlations import (
    MAX_EXACT_GROUPS,
    correlate,
    correlate_store,
)
from openefd.analysis.summaries import ExposureSummaries, summarize
from openefd.analysis.summaries_config import parse_config
from openefd.cli.investigate_cmds import correlate as correlate_command
from openefd.errors import QueryError, TimeValueError, UnknownFieldError
from openefd.ingest.exposure_loader import load_exposures
from openefd.ingest.writer import TopicBatch, Writer
from openefd.settings import SchemaMode
from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.store.duckdb_store import Store

DAY = 20240501
TOPICS = ("lsst.sal.MTMount.azimuth", "lsst.sal.MTMount.elevation", "lsst.sal.ESS.temperature")
CONFIG = """
version: 1
topics:
  - topic: lsst.sal.MTMount.azimuth
    columns:
      - {name: az_start, field: actualPosition, function: at_start}
      - {name: az_end, field: actualPosition, function: at_end}
      - {name: az_jitter, field: actualPosition, function: {name: stddev, ddof: 1}}
  - topic: lsst.sal.MTMount.elevation
    columns:
      - {name: el_start, field: actualPosition, function: at_start}
      - {name: el_end, field: actualPosition, function: at_end}
  - topic: lsst.sal.ESS.temperature
    sal_index: 102
    columns:
      - {name: t102_start, field: temperatureItem, function: at_start, flatten: true}
"""


# --- planted frames -----------------------------------------------------------------------


def _planted(n: int = 200, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, n)
    sparse = np.full(n, np.nan)
    sparse[: min(n, 6)] = rng.normal(size=min(n, 6))
    return pd.DataFrame(
        {
            "exposure_id": np.arange(n) + 2024050100001,
            "day_obs": DAY,
            "x": x,
            "y": 2.0 * x + rng.normal(0.0, 0.1, n),  # the planted pair
            "anti": -x + rng.normal(0.0, 1.0, n),  # a weaker, negative one
            "noise": rng.normal(0.0, 1.0, n),
            "constant": 5.0,
            "empty": np.nan,
            "one_value": np.r_[1.0, np.full(n - 1, np.nan)],
            "sparse": sparse,
            "label": ["a"] * n,
            "big": 1.7e18 + 1e9 * x + rng.normal(0.0, 1e8, n),  # TAI-ns-sized numbers
        }
    )


def test_the_planted_pair_ranks_first_and_useless_columns_are_dropped() -> None:
    frame = _planted()
    frame.loc[frame.index[::10], "y"] = np.nan  # 20 exposures lose y
    report = correlate(frame)
    ranked = list(zip(report.pairs["x"], report.pairs["y"], strict=True))
    assert ranked[:3] == [("x", "y"), ("x", "big"), ("y", "big")]
    xy = report.pairs.iloc[0]
    both = frame["y"].notna().to_numpy()
    assert xy["n"] == 180 and xy["r"] > 0.99
    assert xy["r"] == pytest.approx(
        np.corrcoef(frame["x"][both], frame["y"][both])[0, 1], abs=1e-12
    )
    x_big = report.pairs.iloc[1]
    assert x_big["r"] == pytest.approx(np.corrcoef(frame["x"], frame["big"])[0, 1], abs=1e-12)
    anti = report.pairs[(report.pairs["x"] == "x") & (report.pairs["y"] == "anti")].iloc[0]
    assert -0.85 < anti["r"] < -0.55 and anti["p_value"] < 1e-10
    assert dict(zip(report.dropped["column"], report.dropped["reason"], strict=True)) == {
        "constant": "constant",
        "empty": "no values",
        "one_value": "fewer than 2 values",
        "label": "not numeric",
    }
    used = set(report.pairs["x"]) | set(report.pairs["y"])
    assert used == {"x", "y", "anti", "noise", "big"}  # sparse shares 6 < 10 exposures
    assert list(report.values.columns) == ["x", "y", "anti", "noise", "sparse", "big"]
    assert (report.pairs["abs_r"].diff().dropna() <= 0).all()
    assert report.pairs["rank"].tolist() == list(range(1, len(report.pairs) + 1))
    assert report.pairs["same_field"].eq(False).all() and report.pairs["x_topic"].isna().all()
    lowered = correlate(frame, min_pairs=5)
    assert "sparse" in set(lowered.pairs["x"]) | set(lowered.pairs["y"])
    assert lowered.pairs["n"].min() == 5  # sparse and y share 5 exposures


def test_p_values_follow_fishers_transformation() -> None:
    report = correlate(_planted())
    for row in report.pairs.itertuples():
        z = math.atanh(min(abs(row.r), 1 - 1e-16)) * math.sqrt(row.n - 3)
        assert row.p_value == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-9, abs=1e-300)
    spearman = correlate(_planted(), method="spearman")
    row = spearman.pairs.iloc[-1]
    z = math.atanh(abs(row["r"])) * math.sqrt((row["n"] - 3) / 1.06)
    assert row["p_value"] == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-9)


def test_equal_strength_ranks_more_exposures_first() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=60)
    frame = pd.DataFrame({"x": x, "a": 3 * x + 1, "b": -x})
    frame.loc[:19, "a"] = np.nan  # x–a and a–b: |r| = 1 on 40 exposures; x–b: on 60
    pairs = correlate(frame).pairs
    assert list(zip(pairs["x"], pairs["y"], pairs["n"], strict=True)) == [
        ("x", "b", 60), ("x", "a", 40), ("a", "b", 40)
    ]  # fmt: skip
    assert pairs["abs_r"].to_numpy() == pytest.approx(1.0) and (pairs["p_value"] == 0).all()


def _reference(frame: pd.DataFrame, a: str, b: str, method: str) -> tuple[float, int]:
    """numpy's two-pass coefficient over the rows where both columns have values."""
    both = frame[a].notna() & frame[b].notna()
    x, y = frame.loc[both, a], frame.loc[both, b]
    if method == "spearman":
        x, y = x.rank(), y.rank()
    return float(np.corrcoef(x, y)[0, 1]), int(both.sum())


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_every_pair_equals_numpy_over_the_shared_rows(method: str) -> None:
    frame = _planted(120, seed=11).drop(columns=["label", "exposure_id", "day_obs"])
    rng = np.random.default_rng(5)
    for col in ("x", "anti", "noise"):  # three different missing-value patterns
        frame.loc[rng.random(len(frame)) < 0.2, col] = np.nan
    frame["ties"] = np.round(frame["noise"].fillna(0.0))  # many ties for the ranks
    report = correlate(frame, method=method)  # type: ignore[arg-type]
    assert len(report.pairs) == 15  # 7 columns; sparse never reaches 10 shared values
    for row in report.pairs.itertuples():
        r, n = _reference(frame, row.x, row.y, method)
        assert row.r == pytest.approx(r, abs=1e-13) and row.n == n
    # pandas agrees too (its sums lose up to ~1e-7 on the TAI-ns-sized column "big").
    pandas = frame[list(report.values.columns)].corr(method=method, min_periods=10)  # type: ignore[arg-type]
    for row in report.pairs.itertuples():
        assert row.r == pytest.approx(pandas.loc[row.x, row.y], abs=1e-7)


@settings(max_examples=60, deadline=None)
@given(
    data=arrays(
        np.float64,
        st.tuples(st.integers(10, 40), st.integers(2, 6)),
        elements=st.one_of(st.just(np.nan), st.integers(-5, 5).map(float)),
    ),
    method=st.sampled_from(["pearson", "spearman"]),
)
def test_random_frames_with_gaps_and_ties_equal_pandas(data: np.ndarray, method: str) -> None:
    frame = pd.DataFrame(data, columns=[f"c{i}" for i in range(data.shape[1])])
    report = correlate(frame, method=method, min_pairs=3)  # type: ignore[arg-type]
    reference = frame.corr(method=method, min_periods=3)  # type: ignore[arg-type]
    ranked = {(r.x, r.y): r.r for r in report.pairs.itertuples()}
    for (a, b), r in ranked.items():
        assert r == pytest.approx(reference.loc[a, b], abs=1e-9)
    kept = set(report.values.columns)
    for i, a in enumerate(frame.columns):
        for b in frame.columns[i + 1 :]:
            if a in kept and b in kept and np.isfinite(reference.loc[a, b]):
                assert (a, b) in ranked  # every pair pandas can compute is ranked


def test_many_missing_value_patterns_and_a_wide_night() -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(1000, 400))
    data[:, 1] = data[:, 0] * 0.5 + rng.normal(0, 0.01, 1000)
    data[rng.random(data.shape) < 0.02] = np.nan  # every column its own pattern
    frame = pd.DataFrame(data, columns=[f"c{i:03d}" for i in range(400)])
    pearson = correlate(frame)
    assert len(pearson.pairs) == 400 * 399 // 2
    assert (pearson.pairs.iloc[0]["x"], pearson.pairs.iloc[0]["y"]) == ("c000", "c001")
    subset = [f"c{i:03d}" for i in range(0, 400, 20)]
    reference = frame[subset].corr(min_periods=10)
    chosen = pearson.pairs[pearson.pairs["x"].isin(subset) & pearson.pairs["y"].isin(subset)]
    assert len(chosen) == 190
    for row in chosen.itertuples():
        assert row.r == pytest.approx(reference.loc[row.x, row.y], abs=1e-12)
    # Past MAX_EXACT_GROUPS patterns, Spearman ranks each column once: close, not exact.
    sixty = [f"c{i:03d}" for i in range(60)]
    assert frame[sixty].notna().T.drop_duplicates().shape[0] > MAX_EXACT_GROUPS
    spearman = correlate(frame[sixty], method="spearman")
    exact = frame[sixty].corr(method="spearman", min_periods=10)
    assert (spearman.pairs.iloc[0]["x"], spearman.pairs.iloc[0]["y"]) == ("c000", "c001")
    for row in spearman.pairs.itertuples():
        assert row.r == pytest.approx(exact.loc[row.x, row.y], abs=0.02)


def _summaries(
    wide: pd.DataFrame, meta: list[tuple[str, str, str | None, str, str]]
) -> ExposureSummaries:
    """Summaries as :func:`summarize` returns them, from (column, topic, sal_index, field,
    function) rows."""
    columns = pd.DataFrame(
        [
            {"column": c, "topic": t, "field": f, "function": fn, "sal_index": s, "units": None,
             "description": None, "ucd": None, "elements": 0, "flatten": True}
            for c, t, s, f, fn in meta
        ]
    )  # fmt: skip
    return ExposureSummaries(wide, pd.DataFrame(), columns)


def test_same_field_pairs_are_marked_and_left_out_by_default() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=50)
    wide = pd.DataFrame(
        {
            "exposure_id": np.arange(50),
            "az_start": base,
            "az_end": base + rng.normal(0, 0.01, 50),
            "t_start3": base * 2 + rng.normal(0, 0.1, 50),
            "t_end3": base * 2 + rng.normal(0, 0.1, 50),
            "t_end5": base * 3 + rng.normal(0, 0.1, 50),
            "out_t": base + rng.normal(0, 0.5, 50),
        }
    )
    summaries = _summaries(
        wide,
        [
            ("az_start", "lsst.sal.MTMount.azimuth", None, "actualPosition", "at_start"),
            ("az_end", "lsst.sal.MTMount.azimuth", None, "actualPosition", "at_end"),
            ("t_start", "lsst.sal.ESS.temperature", "102", "temperatureItem", "at_start"),
            ("t_end", "lsst.sal.ESS.temperature", "102", "temperatureItem", "at_end"),
            ("out_t", "lsst.sal.ESS.temperature", "301", "temperatureItem3", "mean"),
        ],
    )
    every = correlate(summaries, exclude_same_field=False)
    same = {frozenset((r.x, r.y)) for r in every.pairs.itertuples() if r.same_field}
    assert same == {frozenset(("az_start", "az_end")), frozenset(("t_start3", "t_end3"))}
    row = every.pairs[every.pairs["x"] == "t_start3"].set_index("y").loc["t_end5"]
    assert (row["x_field"], row["y_field"], row["x_sal_index"]) == (
        "temperatureItem3", "temperatureItem5", "102"
    )  # fmt: skip
    assert not row["same_field"]
    other_sensor = every.pairs[(every.pairs["x"] == "t_start3") & (every.pairs["y"] == "out_t")]
    assert not other_sensor["same_field"].iloc[0]  # same field name, another salIndex
    assert row["x_function"] == "at_start" and row["x_topic"] == "lsst.sal.ESS.temperature"
    default = correlate(summaries)
    assert not default.pairs["same_field"].any()
    assert len(default.pairs) == len(every.pairs) - 2


def test_the_plot_is_a_grid_of_the_strongest_pairs() -> None:
    report = correlate(_planted())
    nine = mpimg.imread(io.BytesIO(report.png(9)))
    two = mpimg.imread(io.BytesIO(report.png(2)))
    assert nine.shape[:2] == (int(2.9 * 3 * 96), int(3.3 * 3 * 96))
    assert two.shape[:2] == (int(2.9 * 96), int(3.3 * 2 * 96))
    empty = correlate(pd.DataFrame({"a": np.arange(12.0), "b": 1.0}))
    assert empty.pairs.empty and empty.png().startswith(b"\x89PNG")
    with pytest.raises(QueryError, match="from 1 to 36"):
        report.png(0)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"method": "kendall"}, QueryError, "unknown method"),
        ({"min_pairs": 2}, QueryError, "min_pairs must be an integer ≥ 3"),
        ({"min_pairs": 10.5}, QueryError, "min_pairs"),
        ({"top": 0}, QueryError, "top must be a positive integer"),
        ({"columns": ["x", "nope"]}, UnknownFieldError, "no column 'nope'"),
    ],
)
def test_bad_options(kwargs: dict[str, object], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        correlate(_planted(), **kwargs)  # type: ignore[arg-type]


def test_bad_inputs() -> None:
    with pytest.raises(QueryError, match=r"5 exposure\(s\): correlations need at least"):
        correlate(_planted(5))
    with pytest.raises(QueryError, match="repeat a column"):
        correlate(pd.DataFrame(np.ones((20, 2)), columns=["a", "a"]))
    with pytest.raises(QueryError, match="give ExposureSummaries or a DataFrame"):
        correlate([[1.0, 2.0]] * 20)  # type: ignore[arg-type]
    only = correlate(_planted(), columns=["x", "y"], top=1)
    assert len(only.pairs) == 1 and (only.pairs.iloc[0]["x"], only.pairs.iloc[0]["y"]) == (
        "x",
        "y",
    )


# --- the simulator's per-exposure summaries -----------------------------------------------


@pytest.fixture(scope="module")
def corr_store(sal_xml_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """20 simulated minutes of the mount and ESS temperatures, and the exposures."""
    sim = NightSimulator(
        SimConfig(sal_xml_dir, "2024-05-01T23:30:00Z", hours=0.33, seed=1, profile=Profile.DEMO)
    )
    path = tmp_path_factory.mktemp("correlations") / "store"
    with Store(path) as st_:
        st_.register_topics([t for t in sim.topics() if t.name in TOPICS])
        tables = {n: sim.topic_table(n) for n in TOPICS}
        Writer(st_, SchemaMode.STRICT).write_batches(
            [TopicBatch(n, t) for n, t in tables.items() if t is not None]
        )
        load_exposures(st_, sim.exposures())
    with Store(path, read_only=True) as st_:
        yield st_


@pytest.fixture(scope="module")
def corr_summaries(corr_store: Store) -> ExposureSummaries:
    return summarize(corr_store, parse_config(CONFIG), day_obs=DAY)


def test_mount_azimuth_at_start_and_end_correlate(corr_summaries: ExposureSummaries) -> None:
    report = correlate(corr_summaries, exclude_same_field=False)
    pairs = report.pairs.set_index(["x", "y"])
    az = pairs.loc[("az_start", "az_end")]
    assert az["r"] > 0.999 and az["same_field"]
    assert (az["x_topic"], az["x_field"], az["y_field"]) == (
        "lsst.sal.MTMount.azimuth", "actualPosition", "actualPosition"
    )  # fmt: skip
    assert az["x_function"].startswith("at_start") and az["y_function"].startswith("at_end")
    assert az["rank"] <= 3 and az["n"] == len(corr_summaries.wide) >= 20
    wide = corr_summaries.wide
    for row in report.pairs.itertuples():
        both = wide[row.x].notna() & wide[row.y].notna()
        expect = np.corrcoef(wide.loc[both, row.x], wide.loc[both, row.y])[0, 1]
        assert row.r == pytest.approx(expect, abs=1e-9)
        assert row.n == both.sum()
    # The dome sensor's 8 missing channels say nothing; its 8 channels pair with each other.
    reasons = dict(zip(report.dropped["column"], report.dropped["reason"], strict=True))
    assert {f"t102_start{i}" for i in range(8, 16)} <= set(reasons)
    assert set(reasons.values()) <= {"no values", "constant"}
    default = correlate(corr_summaries)
    assert not default.pairs["same_field"].any()
    assert ("az_start", "az_end") not in set(
        zip(default.pairs["x"], default.pairs["y"], strict=True)
    )
    channels = default.pairs[default.pairs["x"].str.startswith("t102_start")]
    assert len(channels) > 0 and channels["x_sal_index"].eq("102").all()


def test_correlate_store_summarises_then_ranks(
    corr_store: Store, corr_summaries: ExposureSummaries
) -> None:
    direct = correlate_store(corr_store, parse_config(CONFIG), day_obs=DAY, method="spearman")
    assert direct.method == "spearman"
    again = correlate(corr_summaries, method="spearman")
    assert direct.pairs[["x", "y", "r", "n"]].equals(again.pairs[["x", "y", "r", "n"]])
    ranged = correlate_store(
        corr_store, parse_config(CONFIG), begin="2024-05-01T23:30:00Z", end="2024-05-02T00:00:00Z"
    )
    assert len(ranged.values) == len(corr_summaries.wide)
    with pytest.raises(QueryError, match="give day_obs, or begin and end"):
        correlate_store(corr_store, parse_config(CONFIG), begin="2024-05-01T23:30:00Z")
    with pytest.raises(QueryError, match="begin must be before end"):
        correlate_store(corr_store, begin="2024-05-02T00:00:00Z", end="2024-05-01T00:00:00Z")
    with pytest.raises(QueryError, match="holds no exposure for day_obs 20240601"):
        correlate_store(corr_store, parse_config(CONFIG), day_obs=20240601)
    with pytest.raises(TimeValueError):
        correlate_store(corr_store, begin="soon", end="later")


# --- the command ---------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command("correlate")(correlate_command)
    app.command("noop")(lambda: None)  # a second command keeps the sub-command name
    return app


def test_cli_prints_the_ranked_table_and_writes_files(corr_store: Store, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        _app(),
        ["correlate", "--store", str(corr_store.path), "--day-obs", str(DAY), "--config",
         str(config), "--top", "5", "--include-same-field", "--out-dir", str(out)],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    ranked = pd.read_csv(out / "correlations.csv")
    assert "strongest correlations (pearson)" in result.output
    assert f"{len(ranked):,} pairs ranked" in result.output
    first = ranked.iloc[0]
    assert f"{first['x']}" in result.output and f"{first['r']:+.4f}" in result.output
    assert ranked["same_field"].any()
    assert "no values: t102_start8" in result.output
    assert (out / "correlations.png").read_bytes().startswith(b"\x89PNG")
    dropped = pd.read_csv(out / "correlations_dropped.csv")
    assert list(dropped.columns) == ["column", "reason"] and len(dropped) >= 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --day-obs, or both --begin and --end"),
        (["--day-obs", "20240601"], "holds no exposure"),
        (["--day-obs", "20240501", "--config", "/nonexistent.yaml"], "cannot read summaries"),
        (["--day-obs", "20240501", "--begin", "2024-05-01T00:00:00"], "not both"),
    ],
)
def test_cli_errors_are_one_clear_line(
    corr_store: Store, tmp_path: Path, args: list[str], message: str
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    with_config = [] if "--config" in args else ["--config", str(config)]
    result = CliRunner().invoke(
        _app(),
        ["correlate", "--store", str(corr_store.path), *with_config, *args],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
