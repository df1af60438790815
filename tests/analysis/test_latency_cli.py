"""``openefd latency``, ``exposures``, ``arrivals`` and ``load-exposures``, run in-process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from openefd.cli import latency_cmd
from openefd.sim import NightSimulator

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """A console as wide as the tables (the shared one may be fixed at 80 columns)."""
    monkeypatch.setattr(latency_cmd, "console", Console(width=200))


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """The commands as cli/main.py registers them."""
    cli = typer.Typer()
    cli.command()(latency_cmd.latency)
    cli.command()(latency_cmd.exposures)
    cli.command()(latency_cmd.arrivals)
    cli.command("load-exposures")(latency_cmd.load_exposures)
    return cli


def invoke(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_latency_prints_the_summary_and_writes_the_report(
    app: typer.Typer, night_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = invoke(app, "latency", "20240501", "--store", str(night_store))
    assert code == 0, out
    assert "transfer_s" in out and "17,835" in out and "73.4 %" in out
    assert "87 exposures (0 without images)" in out and "62 re-sends" in out
    assert "systematically slow detectors: R03_S12" in out
    folder = tmp_path / "latency-20240501"
    assert (folder / "latency-20240501.html").is_file()
    assert json.loads((folder / "latency-20240501.json").read_text())["counts"]["resends"] == 62
    code, out = invoke(
        app, "latency", "2024-05-01", "--store", str(night_store), "--no-files",
        "--science-only", "-d", "R22_S11", "--transfer-target", "3",
    )  # fmt: skip
    assert code == 0, out
    assert "77 exposures" in out and "≤ 3 s" in out and "report:" not in out


def test_latency_of_an_empty_night_and_bad_input(app: typer.Typer, night_store: Path) -> None:
    code, out = invoke(app, "latency", "20240601", "--store", str(night_store), "--no-files")
    assert code == 0, out
    assert "0 exposures" in out and "holds nothing for day_obs 20240601" in out
    code, out = invoke(app, "latency", "yesterday", "--store", str(night_store))
    assert code == 1 and "day_obs 'yesterday' is not a date" in out
    code, out = invoke(app, "latency", "20240501", "--store", "/nonexistent/store")
    assert code == 1 and "no openefd store" in out


def test_exposures_and_arrivals(app: typer.Typer, night_store: Path, tmp_path: Path) -> None:
    code, out = invoke(app, "exposures", "--store", str(night_store))
    assert code == 0 and "LSSTCam" in out and "20240501" in out and "17897" in out
    code, out = invoke(
        app, "exposures", "--store", str(night_store), "--day-obs", "20240501",
        "--type", "bias", "--format", "csv",
    )  # fmt: skip
    assert code == 0, out
    lines = out.strip().splitlines()
    assert len(lines) == 6 and lines[0].startswith("instrument,exposure_id")
    code, out = invoke(
        app, "arrivals", "20240501", "--store", str(night_store), "-d", "R22_S11",
        "-e", "2024050100010", "--format", "json",
    )  # fmt: skip
    assert code == 0, out
    (row,) = json.loads(out)
    assert row["detector_name"] == "R22_S11" and row["resend"] is False
    target = tmp_path / "first.parquet"
    code, out = invoke(
        app, "arrivals", "20240501", "--store", str(night_store), "--first-only",
        "--format", "parquet", "--output", str(target),
    )  # fmt: skip
    assert code == 0, out
    assert len(pd.read_parquet(target)) == 87 * 205


def test_load_exposures_from_simulated_files(
    app: typer.Typer, sim: NightSimulator, tmp_path: Path
) -> None:
    images = tmp_path / "night" / "images"
    images.mkdir(parents=True)
    sim.exposures().to_parquet(images / "exposures.parquet")
    sim.arrivals().to_parquet(images / "arrivals.parquet")
    store = tmp_path / "store"
    code, out = invoke(app, "load-exposures", str(tmp_path / "night"), "--store", str(store))
    assert code == 0, out
    assert "exposures: 87 new, 0 changed, 0 unchanged" in out
    assert "image arrivals: 17,897 new" in out
    code, out = invoke(app, "load-exposures", str(images), "--store", str(store))
    assert "exposures: 0 new, 0 changed, 87 unchanged" in out
    shutil.rmtree(images)
    code, out = invoke(app, "load-exposures", str(tmp_path / "night"), "--store", str(store))
    assert code == 1 and "holds no exposures.parquet" in out


def test_a_narrow_terminal_gets_the_short_table(
    app: typer.Typer, night_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(latency_cmd, "console", Console(width=80))
    code, out = invoke(app, "latency", "20240501", "--store", str(night_store), "--no-files")
    assert code == 0, out
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "exposure_transfer_max_s" in out and "median" in out and " std " not in out
