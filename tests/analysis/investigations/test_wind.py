"""Wind in a window: a planted gust and directions straddling north, and the simulated hour."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import typer
from astropy.time import Time
from numpy.typing import ArrayLike
from rich.console import Console
from typer.testing import CliRunner

from openefd.analysis.investigations.plots_env import rose_counts
from openefd.analysis.investigations.wind import (
    WindReport,
    compass_point,
    wind_in_window,
)
from openefd.cli import investigate_env_cmds
from openefd.errors import QueryError, TimeValueError, UnknownFieldError, UnknownTopicError
from openefd.ingest.exposure_loader import load_exposures
from openefd.ingest.writer import TopicBatch, Writer
from openefd.query.select import RowSelect, run_select
from openefd.schema.sal_xml import load_sal_xml
from openefd.settings import SchemaMode
from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.store.duckdb_store import Store
from openefd.timeinput import to_tai_ns

NS = 1_000_000_000
WIND = "lsst.sal.ESS.airFlow"
BEGIN = "2024-05-01T23:30:00Z"
END = "2024-05-01T23:40:00Z"
T0 = to_tai_ns(BEGIN)
PNG = b"\x89PNG\r\n\x1a\n"

# The planted ten minutes (ESS:301, 1 Hz, each sample 0.25 s after the second):
# speed 4 m/s, gusting to 12 m/s for the 10 s from 23:35:00 (maxSpeed 15.5 at 23:35:05);
# directions alternating 350°/10° for five minutes, then 80°/100°; no data in minute 7.
SECONDS = np.array([k for k in range(600) if not 420 <= k < 480])
GUST = (SECONDS >= 300) & (SECONDS < 310)
SPEED = np.where(GUST, 12.0, 4.0)
MAX_SPEED = np.where(SECONDS == 305, 15.5, SPEED + 1.0)
DIRECTION = np.where(
    SECONDS < 300, np.where(SECONDS % 2 == 0, 350.0, 10.0), np.where(SECONDS % 2 == 0, 80.0, 100.0)
)


def _airflow(
    times: np.ndarray, sal_index: int, speed: ArrayLike, direction: ArrayLike, max_speed: ArrayLike
) -> pa.Table:
    n = len(times)
    return pa.table(
        {
            "time_tai_ns": pa.array(times, pa.int64()),
            "salIndex": np.full(n, sal_index),
            "speed": np.broadcast_to(np.asarray(speed, dtype=np.float64), (n,)),
            "direction": np.broadcast_to(np.asarray(direction, dtype=np.float64), (n,)),
            "maxSpeed": np.broadcast_to(np.asarray(max_speed, dtype=np.float64), (n,)),
        }
    )


@pytest.fixture(scope="module")
def planted(sal_xml_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("wind_planted") / "store"
    times = T0 + SECONDS * NS + NS // 4
    with Store(path) as st:
        st.register_topics([t for c in ("ESS", "DIMM") for t in load_sal_xml(sal_xml_dir / c)])
        writer = Writer(st, SchemaMode.STRICT)
        writer.write_batches(
            [
                TopicBatch(WIND, _airflow(times, 301, SPEED, DIRECTION, MAX_SPEED)),
                # another sensor, and rows just outside [begin, end): never in the answer
                TopicBatch(WIND, _airflow(times, 302, 30.0, 180.0, 40.0)),
                TopicBatch(
                    WIND, _airflow(np.array([T0 - NS // 4, T0 + 600 * NS]), 301, 50, 180, 60)
                ),
            ]
        )
    with Store(path, read_only=True) as st:
        yield st


@pytest.fixture(scope="module")
def report(planted: Store) -> WindReport:
    return wind_in_window(planted, BEGIN, END)


def _circular_distance(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def _numpy_circular(angles: np.ndarray) -> tuple[float, float]:
    """Reference: the mean of unit vectors as complex numbers (direction °, resultant R)."""
    ok = angles[~np.isnan(angles)]
    if len(ok) == 0:
        return math.nan, math.nan
    z = np.mean(np.exp(1j * np.radians(ok)))
    return float(np.angle(z, deg=True) % 360.0), float(abs(z))


def test_planted_samples_are_the_sensors_rows_in_the_half_open_window(report: WindReport) -> None:
    s = report.samples
    assert len(s) == 540 and not report.empty
    np.testing.assert_array_equal(s["time_tai_ns"], T0 + SECONDS * NS + NS // 4)
    np.testing.assert_array_equal(s["speed_m_s"], SPEED)
    np.testing.assert_array_equal(s["direction_deg"], DIRECTION)
    np.testing.assert_array_equal(s["gust_m_s"], MAX_SPEED)
    # UTC is TAI − 37 s in 2024; the first sample is 0.25 s after the window's start
    utc_ns = s["time_utc"].astype("int64").to_numpy()
    assert set(s["time_tai_ns"].to_numpy() - utc_ns) == {37 * NS}
    assert str(s["time_utc"].iloc[0]) == "2024-05-01 23:30:00.250000+00:00"
    assert report.begin_utc.isoformat() == "2024-05-01T23:30:00+00:00"
    assert report.end_tai_ns - report.begin_tai_ns == 600 * NS


def test_planted_bins(report: WindReport) -> None:
    bins = report.bins
    assert len(bins) == 10
    assert bins["samples"].tolist() == [60] * 7 + [0] + [60] * 2
    assert str(bins["bin_start_utc"].iloc[5]) == "2024-05-01 23:35:00+00:00"
    np.testing.assert_array_equal(np.diff(bins["bin_start_tai_ns"]), 60 * NS)
    gust_bin = bins.iloc[5]
    gust_speeds = np.array([12.0] * 10 + [4.0] * 50)
    assert gust_bin["speed_mean_m_s"] == pytest.approx(320 / 60)
    assert gust_bin["speed_std_m_s"] == pytest.approx(np.std(gust_speeds))
    assert gust_bin["speed_max_m_s"] == 12.0 and gust_bin["gust_max_m_s"] == 15.5
    assert bins["speed_max_m_s"].drop(index=[5, 7]).eq(4.0).all()
    # the empty minute: listed, no sample, NaN
    assert bins.iloc[7][["speed_mean_m_s", "direction_mean_deg", "gust_max_m_s"]].isna().all()
    # 350° and 10° average to north, not to 180° (what a plain mean gives)
    for i in range(5):
        assert _circular_distance(bins["direction_mean_deg"].iloc[i], 0.0) < 1e-9
        assert 0.0 <= bins["direction_mean_deg"].iloc[i] < 360.0
    assert np.mean([350.0, 10.0]) == 180.0
    for i in (5, 6, 8, 9):
        assert bins["direction_mean_deg"].iloc[i] == pytest.approx(90.0)
    # every planted bin is ±10° about its mean: R = cos 10°, spread sqrt(−2 ln R)
    r = math.cos(math.radians(10.0))
    assert bins["direction_resultant"].drop(index=7).to_numpy() == pytest.approx(r)
    spread = math.degrees(math.sqrt(-2 * math.log(r)))
    assert bins["direction_spread_deg"].drop(index=7).to_numpy() == pytest.approx(spread)


def test_planted_stats(report: WindReport) -> None:
    s = report.stats
    assert s.samples == 540
    assert s.speed_max_m_s == 12.0 and s.gust_max_m_s == 15.5
    assert s.gust_time_utc is not None
    assert s.gust_time_utc.isoformat() == "2024-05-01T23:35:05.250000+00:00"
    assert s.speed_mean_m_s == pytest.approx(np.mean(SPEED))
    assert s.speed_std_m_s == pytest.approx(np.std(SPEED))
    assert s.fraction_above_limit == pytest.approx(10 / 540)
    # 300 samples about north and 240 about east, each R = cos 10°: atan2(240, 300)
    assert s.direction_mean_deg == pytest.approx(math.degrees(math.atan2(240, 300)))
    assert s.direction_resultant == pytest.approx(
        math.cos(math.radians(10)) * math.hypot(300, 240) / 540
    )
    assert s.prevailing == "NE" and s.as_dict()["prevailing"] == "NE"
    assert "540 samples of ESS.airFlow salIndex 301" in report.message


def test_speed_limit_and_bin_width(planted: Store) -> None:
    low = wind_in_window(planted, BEGIN, END, speed_limit_m_s=3.0, bin_s=600)
    assert low.stats.fraction_above_limit == 1.0
    assert len(low.bins) == 1 and low.bins["samples"].iloc[0] == 540
    # a bin width that does not divide the window: the last bin is cut at the end
    odd = wind_in_window(planted, BEGIN, END, bin_s=70)
    assert len(odd.bins) == 9
    assert odd.bins["bin_end_tai_ns"].iloc[-1] == T0 + 600 * NS
    assert odd.bins["samples"].sum() == 540


def test_time_inputs_give_the_same_window(planted: Store, report: WindReport) -> None:
    tai = Time(T0 / NS, format="unix_tai", scale="tai")  # the same instant, said in TAI
    end = dt.datetime(2024, 5, 2, 1, 40, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    other = wind_in_window(planted, tai, end)
    assert other.begin_tai_ns == report.begin_tai_ns and other.end_tai_ns == report.end_tai_ns
    assert other.samples.equals(report.samples)
    offset = wind_in_window(planted, "2024-05-02T01:30:00+02:00", END)
    assert len(offset.samples) == 540


def test_every_sensor_or_none(planted: Store) -> None:
    both = wind_in_window(planted, BEGIN, END, sal_index=None)
    assert len(both.samples) == 1080 and both.stats.speed_max_m_s == 30.0
    assert both.source == "ESS.airFlow"
    no_gust_field = wind_in_window(planted, BEGIN, END, gust_field=None)
    assert "gust_m_s" not in no_gust_field.samples.columns
    assert no_gust_field.stats.gust_max_m_s == 12.0  # from the speed


def test_empty_window_is_an_explicit_empty_report(planted: Store, tmp_path: Path) -> None:
    empty = wind_in_window(planted, "2024-05-01T20:00:00Z", "2024-05-01T21:00:00Z")
    assert empty.empty and len(empty.samples) == 0
    assert "no wind data in this window" in empty.message
    assert len(empty.bins) == 60 and empty.bins["samples"].eq(0).all()
    assert math.isnan(empty.stats.speed_mean_m_s) and empty.stats.gust_time_utc is None
    assert math.isnan(empty.stats.fraction_above_limit)
    files = {p.name: p for p in empty.write(tmp_path)}
    assert files["wind_rose.png"].read_bytes().startswith(PNG)
    assert files["wind_samples.csv"].read_text().splitlines() == [
        "time_utc,time_tai_ns,speed_m_s,direction_deg,gust_m_s"
    ]
    other = wind_in_window(planted, BEGIN, END, sal_index=999)
    assert other.empty and "salIndex 999" in other.message


def test_bad_input_is_named(planted: Store) -> None:
    with pytest.raises(UnknownTopicError, match="airFlowX"):
        wind_in_window(planted, BEGIN, END, topic="lsst.sal.ESS.airFlowX")
    with pytest.raises(UnknownFieldError, match="speeed.*did you mean.*speed"):
        wind_in_window(planted, BEGIN, END, speed_field="speeed")
    with pytest.raises(UnknownFieldError, match="maxSpeeed"):
        wind_in_window(planted, BEGIN, END, gust_field="maxSpeeed")
    with pytest.raises(QueryError, match="begin .* must be before end"):
        wind_in_window(planted, END, BEGIN)
    with pytest.raises(QueryError, match="must be before end"):
        wind_in_window(planted, BEGIN, BEGIN)
    for bad_bin in (0, -60, math.nan, math.inf):
        with pytest.raises(QueryError, match="bin_s must be a positive"):
            wind_in_window(planted, BEGIN, END, bin_s=bad_bin)
    with pytest.raises(QueryError, match="bins of .* give a larger bin_s"):
        wind_in_window(planted, BEGIN, END, bin_s=1e-6)
    with pytest.raises(QueryError, match="speed_limit_m_s"):
        wind_in_window(planted, BEGIN, END, speed_limit_m_s=-1)
    with pytest.raises(TimeValueError, match="naive"):
        wind_in_window(planted, dt.datetime(2024, 5, 1, 23, 30), END)
    with pytest.raises(TimeValueError, match="begin: cannot read 'yesterday'"):
        wind_in_window(planted, "yesterday", END)
    with pytest.raises(QueryError, match="'fwhm' .* 'arcsec'.* speed in m/s"):
        wind_in_window(
            planted, BEGIN, END, topic="lsst.sal.DIMM.logevent_dimmMeasurement",
            speed_field="fwhm", direction_field="secz", gust_field=None, sal_index=None,
        )  # fmt: skip


def test_plots_and_files(report: WindReport, tmp_path: Path) -> None:
    files = report.write(tmp_path / "out")
    assert sorted(p.name for p in files) == sorted(
        ["wind_speed.png", "wind_direction.png", "wind_rose.png", "wind_samples.csv",
         "wind_bins.csv", "wind_stats.csv"]
    )  # fmt: skip
    for path in files[:3]:
        png = path.read_bytes()
        assert png.startswith(PNG), path
        image = mpimg.imread(io.BytesIO(png), format="png")
        assert image.shape[0] > 400 and image.shape[1] > 500
        assert image[..., :3].std() > 0.05  # something is drawn
    assert len((tmp_path / "out" / "wind_samples.csv").read_text().splitlines()) == 541
    bins = pd.read_csv(tmp_path / "out" / "wind_bins.csv")
    assert bins["gust_max_m_s"].iloc[5] == 15.5 and len(bins) == 10


def test_rose_counts_the_planted_sectors(report: WindReport) -> None:
    counts = rose_counts(
        report.samples["direction_deg"].to_numpy(), report.samples["speed_m_s"].to_numpy()
    )
    assert counts.sum() == 540
    assert counts[1, 0] == 300  # 350° and 10°, 4 m/s: north, 3–6 m/s
    assert counts[4, 4] == 10  # the gust, 12 m/s, about east
    assert counts[1, 4] == 230
    assert [compass_point(d) for d in (0, 11.24, 11.26, 350, 90, 200, math.nan)] == [
        "N", "N", "NNE", "N", "E", "SSW", "—",
    ]  # fmt: skip


# -- the simulated hour (profile DEMO, as `openefd demo` makes it) -------------------------

DEMO_TOPICS = (WIND, "lsst.sal.ESS.temperature", "lsst.sal.DIMM.logevent_dimmMeasurement")


@pytest.fixture(scope="module")
def wind_demo_store(sal_xml_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo hour's wind, temperatures, seeing and exposures: the rows `openefd demo` loads."""
    sim = NightSimulator(SimConfig(sal_xml_dir, BEGIN, hours=1.0, seed=1, profile=Profile.DEMO))
    path = tmp_path_factory.mktemp("wind_demo") / "openefd-store"
    with Store(path) as st:
        st.register_topics([t for t in sim.topics() if t.name in DEMO_TOPICS])
        batches = [TopicBatch(n, t) for n in DEMO_TOPICS if (t := sim.topic_table(n)) is not None]
        Writer(st, SchemaMode.STRICT).write_batches(batches)
        load_exposures(st, sim.exposures(), sim.arrivals())
    return path


def test_simulated_hour_matches_numpy_over_the_raw_rows(wind_demo_store: Path) -> None:
    with Store(wind_demo_store, read_only=True) as st:
        got = wind_in_window(st, BEGIN, "2024-05-02T00:30:00Z", bin_s=300)
        req = RowSelect(WIND, ["speed", "direction", "maxSpeed"], T0, T0 + 3600 * NS,
                        end_inclusive=False, index=301, time_scale="tai")  # fmt: skip
        raw = run_select(st, req)
    times = raw.index.asi8
    assert len(got.samples) == len(raw) == 3600
    assert len(got.bins) == 12
    for b in got.bins.itertuples():
        inside = (times >= b.bin_start_tai_ns) & (times < b.bin_end_tai_ns)
        speed = raw["speed"].to_numpy()[inside]
        assert b.samples == inside.sum() == 300
        assert b.speed_mean_m_s == pytest.approx(np.mean(speed), rel=1e-12)
        assert b.speed_std_m_s == pytest.approx(np.std(speed), rel=1e-9)
        assert b.speed_max_m_s == np.max(speed)
        assert b.gust_max_m_s == np.max(raw["maxSpeed"].to_numpy()[inside])
        mean, r = _numpy_circular(raw["direction"].to_numpy()[inside])
        assert _circular_distance(b.direction_mean_deg, mean) < 1e-9
        assert b.direction_resultant == pytest.approx(r, rel=1e-12)
    s = got.stats
    mean, r = _numpy_circular(raw["direction"].to_numpy())
    assert _circular_distance(s.direction_mean_deg, mean) < 1e-9
    assert s.speed_mean_m_s == pytest.approx(raw["speed"].mean(), rel=1e-12)
    assert s.gust_max_m_s == raw["maxSpeed"].max()
    assert s.gust_time_utc is not None
    assert s.gust_time_utc.tz_convert(None) == raw["maxSpeed"].idxmax() - np.timedelta64(37, "s")
    assert s.fraction_above_limit == pytest.approx(np.mean(raw["speed"] > 10.0))


# -- the commands ----------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setattr(investigate_env_cmds, "console", Console(width=200))
    app = typer.Typer()
    app.command()(investigate_env_cmds.wind)
    app.command()(investigate_env_cmds.seeing)
    return app


def test_wind_command(cli: typer.Typer, planted: Store, tmp_path: Path) -> None:
    store = str(planted.path)
    out = tmp_path / "w"
    result = runner.invoke(
        cli, ["wind", "--store", store, "--begin", BEGIN, "--end", END, "--out-dir", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = result.output
    assert "540 samples of ESS.airFlow salIndex 301" in text
    assert "15.50 m/s at 23:35:05 UTC" in text and "38.7° (NE)" in text
    assert "1.9 %" in text  # 10 of 540 samples above 10 m/s
    # the per-minute table: the gust minute, and the minute without data
    assert re.search(r"23:35:00\s+60\s+5\.33\s+2\.98\s+12\.00\s+15\.50\s+90\s+E\s", text)
    assert re.search(r"23:37:00\s+0\s+—\s+—", text)
    assert (out / "wind_rose.png").read_bytes().startswith(PNG)
    assert f"files in {out}" in text
    result = runner.invoke(
        cli, ["wind", "--store", store, "--begin", BEGIN, "--end", END, "--sal-index", "302",
              "--bin", "600", "--no-files", "--speed-limit", "25"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "30.00 m/s" in result.output and "100.0 %" in result.output
    assert "files in" not in result.output


def test_wind_command_errors(cli: typer.Typer, planted: Store) -> None:
    store = str(planted.path)
    result = runner.invoke(cli, ["wind", "--store", store, "--begin", END, "--end", BEGIN])
    assert result.exit_code == 1 and "must be before end" in result.output
    result = runner.invoke(
        cli, ["wind", "--store", store, "--begin", "2024-05-01T10:00:00", "--end",
              "2024-05-01T11:00:00"],
    )  # fmt: skip
    assert result.exit_code == 0 and "no wind data in this window" in result.output
    result = runner.invoke(cli, ["wind", "--store", store, "--begin", BEGIN, "--end", END,
                                 "--bin", "0"])  # fmt: skip
    assert result.exit_code == 2  # typer rejects it before the command runs
    result = runner.invoke(cli, ["wind", "--store", store, "--begin", BEGIN])
    assert result.exit_code == 2 and "--end" in result.output
    result = runner.invoke(cli, ["wind", "--store", store, "--begin", "soon", "--end", END])
    assert result.exit_code == 1 and "cannot read 'soon'" in result.output


# -- the worked examples of the docs ----------------------------------------------------------

DOC = Path(__file__).resolve().parents[3] / "docs" / "investigations-wind-seeing.md"


def test_doc_examples_run(
    wind_demo_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ``>>>`` example of the docs page gives the output shown (the demo hour)."""
    import doctest

    shutil.copytree(wind_demo_store, tmp_path / "openefd-store")
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    examples = "\n".join(b for b in blocks if ">>>" in b)
    assert examples.count(">>>") >= 10
    parser = doctest.DocTestParser()
    test = parser.get_doctest(examples, {}, DOC.name, str(DOC), 0)
    failures: list[str] = []
    doc_runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    doc_runner.report_failure = lambda out, t, ex, got: failures.append(  # type: ignore[method-assign]
        f"{ex.source.strip()}\nwant: {ex.want.strip()}\ngot:  {got.strip()}"
    )
    doc_runner.report_unexpected_exception = (  # type: ignore[method-assign]
        lambda out, t, ex, info: failures.append(f"{ex.source.strip()}\nraised {info[1]!r}")
    )
    doc_runner.run(test)
    assert not failures, "\n\n".join(failures)


def test_doc_commands_print_what_the_doc_shows(
    wind_demo_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: typer.Typer
) -> None:
    """The ``$ openefd wind|seeing`` examples of the docs page, run on the demo hour."""
    shutil.copytree(wind_demo_store, tmp_path / "openefd-store")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(investigate_env_cmds, "console", Console(width=90))
    blocks = re.findall(
        r"(<!-- whole night.*?\n)?```console\n(.*?)```", DOC.read_text(), re.DOTALL
    )
    ran = 0
    for skip, block in blocks:
        command, _, shown = block.partition("\n")
        if skip or not command.startswith(("$ openefd wind", "$ openefd seeing")):
            continue
        args = command.removeprefix("$ openefd ").split()
        result = runner.invoke(cli, [*args, "--store", "openefd-store"])
        assert result.exit_code == 0, result.output
        assert result.output.split() == shown.split(), command
        ran += 1
    assert ran == 3
