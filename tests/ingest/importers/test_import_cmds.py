"""``openefd import-butler`` / ``import-s3`` through typer, on the commands themselves."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from openefd.cli import import_cmds
from openefd.store.duckdb_store import Store
from openefd.store.exposures import image_arrivals

from .conftest import DAY_OBS, Night

app = typer.Typer()
app.command("import-butler")(import_cmds.import_butler)
app.command("import-s3")(import_cmds.import_s3)


def test_import_commands(
    tmp_path: Path, night: Night, butler_repo: str, raw_bucket: str, s3_endpoint: str
) -> None:
    store = tmp_path / "cli-store"
    runner = CliRunner()
    out = runner.invoke(
        app, ["import-butler", butler_repo, "--day-obs", str(DAY_OBS), "--store", str(store)]
    )
    assert out.exit_code == 0, out.output
    assert f"images: {night.images:,} new" in out.output
    out = runner.invoke(
        app,
        [
            "import-s3",
            raw_bucket,
            "--day-obs",
            "2024-05-01",
            "--endpoint-url",
            s3_endpoint,
            "--store",
            str(store),
        ],
    )
    assert out.exit_code == 0, out.output
    assert f"images: 0 new, {night.images:,} changed" in out.output
    with Store(store, read_only=True) as st:
        got = image_arrivals(st, day_obs=DAY_OBS)
    assert got["s3_arrival_tai_ns"].notna().all() and got["ingest_tai_ns"].notna().all()


def test_errors_are_one_line(tmp_path: Path, s3_endpoint: str) -> None:
    runner = CliRunner()
    store = ["--store", str(tmp_path / "s")]
    out = runner.invoke(app, ["import-butler", str(tmp_path / "nowhere"), *store])
    assert out.exit_code == 1 and "no butler repository at" in out.output
    out = runner.invoke(
        app,
        [
            "import-s3",
            "no-such-bucket",
            "--day-obs",
            "20240501",
            "--endpoint-url",
            s3_endpoint,
            *store,
        ],
    )
    assert out.exit_code == 1 and "bucket 'no-such-bucket' not found" in out.output
