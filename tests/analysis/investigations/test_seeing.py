"""Bad-seeing exposures and their dome ΔT: planted seeing and temperatures; the simulated hour."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from openefd.analysis.investigations.seeing import (
    DEFAULT_SEEING_LOOKBACK_S,
    DIMM_TOPIC,
    DOME_TOPIC,
    SeeingReport,
    bad_seeing_exposures,
    seeing_summary_config,
)
from openefd.analysis.summaries_config import MostRecent, load_config
from openefd.cli import investigate_env_cmds
from openefd.errors import QueryError, TimeValueError, UnknownFieldError, UnknownTopicError
from openefd.ingest.exposure_loader import load_exposures
from openefd.ingest.writer import TopicBatch, Writer
from openefd.query.asof import run_asof
from openefd.schema.sal_xml import load_sal_xml
from openefd.settings import SchemaMode
from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures as registry_exposures
from openefd.timeinput import to_tai_ns

NS = 1_000_000_000
START = "2024-05-01T23:30:00Z"
T0 = to_tai_ns(START)
DAY = 20240501
PNG = b"\x89PNG\r\n\x1a\n"

# The planted night: six 30 s exposures starting 100.5 s + 120 s·i after T0, and one with
# an unknown timespan. DIMM seeing (time after T0 in s → FWHM ″), each exposure taking
# the newest at or before its start: 0.75, 1.25, 1.5, 1.0, 2.0 (at the very start), 0.5
# (the 0.5 at 581 s comes during exposure 4: not its seeing).
DIMM_EVENTS = {90.0: 0.75, 200.0: 1.25, 340.0: 1.5, 400.0: 1.0, 580.5: 2.0, 581.0: 0.5}
SEEING = [0.75, 1.25, 1.5, 1.0, 2.0, 0.5]
BEGIN_S = [100.5 + 120 * i for i in range(6)]
IDS = [2024050100001 + i for i in range(7)]
# Dome air (ESS:102, 8 of 16 channels), one row a second: channel c at second k is
# 8 + k/64 + c/2 °C, plus 2 °C from second 350 (inside exposure 2); channel 7 has no value
# at second 490 (the end of exposure 3). Exact in float32.
SECONDS = np.arange(0, 901)


def _dome_rows() -> pa.Table:
    values = 8.0 + SECONDS[:, None] / 64 + np.arange(16)[None, :] / 2
    values = values + np.where(SECONDS >= 350, 2.0, 0.0)[:, None]
    values[:, 8:] = np.nan
    values[SECONDS == 490, 7] = np.nan
    items = [[None if np.isnan(v) else float(v) for v in row] for row in values]
    return pa.table(
        {
            "time_tai_ns": pa.array(T0 + SECONDS * NS, pa.int64()),
            "salIndex": np.full(len(SECONDS), 102),
            "temperatureItem": items,
        }
    )


def _exposures() -> pd.DataFrame:
    begin = [T0 + round(b * NS) for b in BEGIN_S] + [None]
    end = [T0 + round((b + 30) * NS) for b in BEGIN_S] + [None]
    return pd.DataFrame(
        {
            "instrument": "LSSTCam",
            "exposure_id": IDS,
            "obs_id": [f"MC_O_20240501_{i:06d}" for i in range(1, 8)],
            "day_obs": DAY,
            "seq_num": range(1, 8),
            "observation_type": ["science"] * 5 + ["flat", "science"],
            "timespan_begin_tai_ns": pd.array(begin, dtype="Int64"),
            "timespan_end_tai_ns": pd.array(end, dtype="Int64"),
        }
    )


@pytest.fixture(scope="module")
def planted(sal_xml_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("seeing_planted") / "store"
    dimm_t = np.array([T0 + round(s * NS) for s in DIMM_EVENTS])
    other = _dome_rows()
    other = other.set_column(1, "salIndex", pa.array(np.full(other.num_rows, 101)))
    other = other.set_column(2, "temperatureItem", pa.array([[50.0] * 16] * other.num_rows))
    with Store(path) as st:
        st.register_topics([t for c in ("ESS", "DIMM") for t in load_sal_xml(sal_xml_dir / c)])
        Writer(st, SchemaMode.STRICT).write_batches(
            [
                TopicBatch(
                    DIMM_TOPIC,
                    pa.table(
                        {
                            "time_tai_ns": pa.array(dimm_t, pa.int64()),
                            "fwhm": list(DIMM_EVENTS.values()),
                        }
                    ),
                ),
                TopicBatch(DOME_TOPIC, _dome_rows()),
                TopicBatch(DOME_TOPIC, other),  # another sensor (salIndex 101): never used
            ]
        )
        load_exposures(st, _exposures())
    with Store(path, read_only=True) as st:
        yield st


@pytest.fixture(scope="module")
def report(planted: Store) -> SeeingReport:
    return bad_seeing_exposures(planted, day_obs=DAY)


def _dome_expected(i: int, channels: list[int]) -> tuple[float, float]:
    k_start, k_end = 100 + 120 * i, 130 + 120 * i
    if i == 3:  # channel 7 has no value at the end: left out at both ends
        channels = [c for c in channels if c != 7]
    offset = float(np.mean(np.asarray(channels) / 2))
    t_start = 8 + k_start / 64 + offset + (2.0 if k_start >= 350 else 0.0)
    t_end = 8 + k_end / 64 + offset + (2.0 if k_end >= 350 else 0.0)
    return t_start, t_end


def test_planted_answer(report: SeeingReport) -> None:
    frame = report.exposures
    assert frame["exposure_id"].tolist() == IDS
    np.testing.assert_array_equal(frame["seeing_arcsec"].iloc[:6], SEEING)
    assert math.isnan(frame["seeing_arcsec"].iloc[6])
    assert frame["above_threshold"].tolist() == [False, True, True, False, True, False, False]
    selected = report.selected
    assert selected["exposure_id"].tolist() == [IDS[1], IDS[2], IDS[4]]
    assert selected["obs_id"].tolist() == [
        "MC_O_20240501_000002", "MC_O_20240501_000003", "MC_O_20240501_000005",
    ]  # fmt: skip
    for i in range(6):
        t_start, t_end = _dome_expected(i, list(range(8)))
        row = frame.iloc[i]
        assert row["dome_temperature_start_degC"] == pytest.approx(t_start, abs=1e-12)
        assert row["dome_temperature_end_degC"] == pytest.approx(t_end, abs=1e-12)
        assert row["delta_t_degC"] == pytest.approx(t_end - t_start, abs=1e-12)
        assert row["dome_channels_used"] == (7 if i == 3 else 8)
    # the planted step: exposure 2 (seeing 1.5″) warms by 2 °C more than the others
    assert selected["delta_t_degC"].to_numpy() == pytest.approx([30 / 64, 30 / 64 + 2, 30 / 64])
    assert frame.iloc[6][["dome_temperature_start_degC", "delta_t_degC"]].isna().all()
    assert frame["dome_channels_used"].iloc[6] == 0
    assert "3 of 7 exposures of day_obs 20240501 with seeing > 1.2 arcsec" in report.message
    assert "1 without a DIMM measurement" in report.message


def test_times_say_their_scale(report: SeeingReport) -> None:
    frame = report.exposures
    assert frame["timespan_begin_tai_ns"].iloc[0] == T0 + 100_500_000_000
    # UTC = TAI − 37 s: 23:30:00 UTC + 100.5 s
    assert frame["timespan_begin_utc"].iloc[0].isoformat() == "2024-05-01T23:31:40.500000+00:00"
    assert frame["timespan_end_utc"].iloc[1].isoformat() == "2024-05-01T23:34:10.500000+00:00"
    assert pd.isna(frame["timespan_begin_utc"].iloc[6])
    assert pd.isna(frame["timespan_begin_tai_ns"].iloc[6])
    assert str(frame["timespan_begin_utc"].dtype) == "datetime64[ns, UTC]"


def test_threshold_channels_lookback_and_filters(planted: Store) -> None:
    strict = bad_seeing_exposures(planted, day_obs=DAY, threshold_arcsec=1.25)
    assert strict.selected["exposure_id"].tolist() == [IDS[2], IDS[4]]  # 1.25 is not above
    one = bad_seeing_exposures(planted, day_obs=DAY, dome_channels=[0])
    t_start, t_end = _dome_expected(0, [0])
    assert one.exposures["dome_temperature_start_degC"].iloc[0] == pytest.approx(t_start)
    assert one.exposures["dome_temperature_end_degC"].iloc[0] == pytest.approx(t_end)
    assert one.exposures["dome_channels_used"].tolist()[:6] == [1] * 6
    assert one.channels_label == "mean of channels 0"
    two = bad_seeing_exposures(planted, day_obs=DAY, dome_channels=[6, 7])
    assert two.exposures["dome_channels_used"].tolist()[:6] == [2, 2, 2, 1, 2, 2]
    t_start, _ = _dome_expected(3, [6, 7])
    assert two.exposures["dome_temperature_start_degC"].iloc[3] == pytest.approx(t_start)
    # a 60 s look-back: exposure 3's DIMM value (60.5 s old) and exposure 5's are too old
    short = bad_seeing_exposures(planted, day_obs=DAY, seeing_lookback_s=60)
    assert np.isnan(short.exposures["seeing_arcsec"].to_numpy()[[3, 5, 6]]).all()
    assert short.exposures["seeing_arcsec"].iloc[4] == 2.0
    science = bad_seeing_exposures(planted, day_obs=DAY, observation_types=["science"])
    assert IDS[5] not in science.exposures["exposure_id"].tolist()
    ranged = bad_seeing_exposures(
        planted, begin="2024-05-01T23:33:00Z", end="2024-05-01T23:36:00Z"
    )
    assert ranged.exposures["exposure_id"].tolist() == [IDS[1], IDS[2]]
    assert ranged.scope == "[2024-05-01T23:33:00, 2024-05-01T23:36:00) UTC"
    # the dome sensor's temperature of another salIndex is a different answer
    hot = bad_seeing_exposures(planted, day_obs=DAY, dome_sal_index=101)
    assert hot.exposures["dome_temperature_start_degC"].iloc[:6].eq(50.0).all()


def test_empty_range_says_so(planted: Store, tmp_path: Path) -> None:
    empty = bad_seeing_exposures(planted, day_obs="2024-05-02")
    assert empty.empty and len(empty.selected) == 0
    assert empty.message == "the exposure registry holds no exposure for day_obs 20240502"
    assert "delta_t_degC" in empty.exposures.columns
    png, csv = empty.write(tmp_path)
    assert png.read_bytes().startswith(PNG)
    assert csv.read_text().startswith("exposure_id,obs_id,day_obs,observation_type,")


def test_bad_input_is_named(planted: Store) -> None:
    with pytest.raises(QueryError, match="give day_obs, or both begin and end"):
        bad_seeing_exposures(planted)
    with pytest.raises(QueryError, match="give day_obs, or both begin and end"):
        bad_seeing_exposures(planted, begin=START)
    with pytest.raises(QueryError, match="must be before end"):
        bad_seeing_exposures(planted, begin="2024-05-02T00:00:00", end=START)
    with pytest.raises(QueryError, match="not a valid date"):
        bad_seeing_exposures(planted, day_obs="2024-13-01")
    with pytest.raises(TimeValueError, match="end: cannot read"):
        bad_seeing_exposures(planted, begin=START, end="tomorrow")
    for bad in (0.0, -1.2, math.nan):
        with pytest.raises(QueryError, match="threshold_arcsec must be a positive"):
            bad_seeing_exposures(planted, day_obs=DAY, threshold_arcsec=bad)
    with pytest.raises(UnknownFieldError, match="fwhmm"):
        bad_seeing_exposures(planted, day_obs=DAY, seeing_field="fwhmm")
    with pytest.raises(UnknownTopicError, match="DIMM.logevent_dimm"):
        bad_seeing_exposures(planted, day_obs=DAY, seeing_topic="lsst.sal.DIMM.logevent_dimm")
    with pytest.raises(QueryError, match=r"dome_channels \[16\] out of range.*16 channel"):
        bad_seeing_exposures(planted, day_obs=DAY, dome_channels=[0, 16])
    with pytest.raises(QueryError, match="dome_channels is empty"):
        bad_seeing_exposures(planted, day_obs=DAY, dome_channels=[])
    with pytest.raises(QueryError, match="seeing_lookback_s must be a positive"):
        bad_seeing_exposures(planted, day_obs=DAY, seeing_lookback_s=0)


def _red_pixels(png: bytes) -> int:
    assert png.startswith(PNG)
    image = mpimg.imread(io.BytesIO(png), format="png")
    assert image.shape[:2] == (441, 864)
    rgb = image[..., :3]
    return int(((rgb[..., 0] > 0.7) & (rgb[..., 1] < 0.5) & (rgb[..., 2] < 0.5)).sum())


def test_scatter_plot_highlights_the_exposures_above(planted: Store, report: SeeingReport) -> None:
    none_above = bad_seeing_exposures(planted, day_obs=DAY, threshold_arcsec=5.0)
    assert _red_pixels(none_above.scatter_png()) == 0
    assert _red_pixels(report.scatter_png()) > 100  # three red points and their legend entry


def test_default_lookback_is_the_shipped_summaries() -> None:
    config = load_config()
    dimm = next(c for t, c in config.all_columns() if c.name == "dimm_fwhm")
    assert isinstance(dimm.function, MostRecent)
    assert dimm.function.lookback_s == DEFAULT_SEEING_LOOKBACK_S
    small = seeing_summary_config()
    assert [t.topic for t in small.topics] == [DIMM_TOPIC, DOME_TOPIC]
    assert small.topics[1].sal_indices == [102]


# -- the simulated hour, against as-of lookups over the raw rows ------------------------------

DEMO_TOPICS = ("lsst.sal.ESS.airFlow", DOME_TOPIC, DIMM_TOPIC)


@pytest.fixture(scope="module")
def seeing_demo_store(sal_xml_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo hour's temperatures, seeing and exposures: the rows `openefd demo` loads."""
    sim = NightSimulator(SimConfig(sal_xml_dir, START, hours=1.0, seed=1, profile=Profile.DEMO))
    path = tmp_path_factory.mktemp("seeing_demo") / "openefd-store"
    with Store(path) as st:
        st.register_topics([t for t in sim.topics() if t.name in DEMO_TOPICS])
        batches = [TopicBatch(n, t) for n in DEMO_TOPICS if (t := sim.topic_table(n)) is not None]
        Writer(st, SchemaMode.STRICT).write_batches(batches)
        load_exposures(st, sim.exposures(), sim.arrivals())
    return path


def test_simulated_hour_matches_asof_lookups(seeing_demo_store: Path) -> None:
    with Store(seeing_demo_store, read_only=True) as st:
        frame = registry_exposures(st, day_obs=DAY)
        begin = frame["timespan_begin_tai_ns"].to_numpy(dtype=np.int64)
        end = frame["timespan_end_tai_ns"].to_numpy(dtype=np.int64)
        fwhm = run_asof(st, DIMM_TOPIC, ["fwhm"], begin, max_age_ns=600 * NS)["fwhm"]
        threshold = float(np.median(fwhm))  # the demo hour's seeing stays below 1.2″
        got = bad_seeing_exposures(st, day_obs=DAY, threshold_arcsec=threshold)
        at_start = run_asof(st, DOME_TOPIC, ["temperatureItem"], begin, max_age_ns=60 * NS,
                            index=102).filter(like="temperatureItem").to_numpy(float)  # fmt: skip
        at_end = run_asof(st, DOME_TOPIC, ["temperatureItem"], end, max_age_ns=60 * NS,
                          index=102).filter(like="temperatureItem").to_numpy(float)  # fmt: skip
    assert len(got.exposures) == len(frame) == 87
    np.testing.assert_allclose(got.exposures["seeing_arcsec"], fwhm.to_numpy(float))
    above = fwhm.to_numpy(float) > threshold
    assert 10 < above.sum() < 77
    assert got.selected["exposure_id"].tolist() == frame["exposure_id"][above].tolist()
    both = ~np.isnan(at_start) & ~np.isnan(at_end)
    assert (both.sum(axis=1) == 8).all()  # the dome sensor has 8 channels
    t_start = np.nanmean(np.where(both, at_start, np.nan), axis=1)
    t_end = np.nanmean(np.where(both, at_end, np.nan), axis=1)
    np.testing.assert_allclose(got.exposures["dome_temperature_start_degC"], t_start, rtol=1e-12)
    np.testing.assert_allclose(got.exposures["delta_t_degC"], t_end - t_start, atol=1e-9)
    biases = frame["observation_type"].eq("bias").to_numpy()
    assert (got.exposures["delta_t_degC"].to_numpy()[biases] == 0).all()  # begin = end


# -- the command ----------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setattr(investigate_env_cmds, "console", Console(width=200))
    app = typer.Typer()
    app.command()(investigate_env_cmds.wind)
    app.command()(investigate_env_cmds.seeing)
    return app


def test_seeing_command(
    cli: typer.Typer, planted: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = str(planted.path)
    result = runner.invoke(cli, ["seeing", "--store", store, "--day-obs", str(DAY)])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "3 of 7 exposures of day_obs 20240501 with seeing > 1.2 arcsec" in text
    for exposure_id in (IDS[1], IDS[2], IDS[4]):
        assert str(exposure_id) in text
    assert str(IDS[0]) not in text and "MC_O_20240501_000003" in text
    assert "1.500" in text and "+2.469" in text  # exposure 3: 30/64 + 2 °C
    assert (tmp_path / "seeing-20240501" / "seeing_delta_t.png").read_bytes().startswith(PNG)
    assert "ΔT-vs-seeing plot: seeing-20240501/seeing_delta_t.png" in text
    saved = pd.read_csv(tmp_path / "seeing-20240501" / "seeing_exposures.csv")
    assert saved["above_threshold"].sum() == 3 and len(saved) == 7
    out = tmp_path / "elsewhere"
    result = runner.invoke(
        cli, ["seeing", "--store", store, "--begin", "2024-05-01T23:30:00", "--end",
              "2024-05-01T23:45:00", "--threshold", "1.6", "--channel", "0", "--type", "science",
              "--out-dir", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 of 5 exposures" in result.output and "mean of channels 0" in result.output
    assert (out / "seeing_exposures.csv").is_file()


def test_seeing_command_errors(cli: typer.Typer, planted: Store) -> None:
    store = str(planted.path)
    result = runner.invoke(cli, ["seeing", "--store", store])
    assert result.exit_code == 1 and "give day_obs, or both begin and end" in result.output
    result = runner.invoke(cli, ["seeing", "--store", store, "--day-obs", "20240502"])
    assert result.exit_code == 0 and "holds no exposure for day_obs 20240502" in result.output
    result = runner.invoke(cli, ["seeing", "--store", store, "--day-obs", "x"])
    assert result.exit_code == 1 and "is not a date" in result.output
    result = runner.invoke(
        cli, ["seeing", "--store", store, "--day-obs", str(DAY), "--threshold", "0"]
    )
    assert result.exit_code == 2
    result = runner.invoke(
        cli, ["seeing", "--store", store, "--day-obs", str(DAY), "--channel", "20", "--no-files"]
    )
    assert result.exit_code == 1 and "dome_channels [20] out of range" in result.output
