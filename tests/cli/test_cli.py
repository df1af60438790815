"""The openefd command line, run in-process and (once) as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from astropy.time import Time
from typer.testing import CliRunner

from openefd.analysis.summaries_stored import SUMMARISED_COLUMN, stored_summaries
from openefd.cli.main import app
from openefd.client import EfdClientSync
from openefd.errors import ConfigurationError
from openefd.ingest.line_protocol import format_line
from openefd.store.duckdb_store import Store

AZ = "lsst.sal.MTMount.azimuth"
T0_NS = 1714532400_000_000_000
runner = CliRunner()


def write_lp(path: Path, n: int = 20) -> list[float]:
    values = [round(0.25 * i - 2, 3) for i in range(n)]
    path.write_text(
        "".join(
            format_line(
                AZ, {"actualPosition": v, "private_seqNum": i}, timestamp=T0_NS + i * 10**8
            )
            + "\n"
            for i, v in enumerate(values)
        )
    )
    return values


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_every_command_has_help() -> None:
    every = ("init", "load", "info", "topics", "fields", "schema", "get", "asof", "demo")
    every += ("aggregate", "export", "retention", "serve", "latency", "exposures", "arrivals")
    every += ("load-exposures", "import-butler", "import-s3", "import-events", "summarize")
    for command in every:
        code, out = invoke(command, "--help")
        assert code == 0, command
        assert "Usage" in out, command
        assert "--store" in out, command
    code, out = invoke("settings", "--help")
    assert code == 0
    assert "--markdown" in out


def test_init_load_query_and_info(tmp_path: Path, sal_xml_dir: Path) -> None:
    store = tmp_path / "store"
    code, out = invoke("init", "--store", str(store), "--schemas", str(sal_xml_dir / "MTMount"))
    assert code == 0 and "110 created" in out
    lp = tmp_path / "az.lp"
    values = write_lp(lp)
    code, out = invoke("load", "--store", str(store), str(lp))
    assert code == 0 and "20 rows stored (0 already present)" in out
    code, out = invoke("load", "--store", str(store), str(lp))
    assert "0 rows stored (20 already present)" in out
    code, out = invoke("topics", "--store", str(store))
    assert out.split() == [AZ]
    code, out = invoke("fields", "--store", str(store), AZ)
    assert "actualPosition" in out.split()
    code, out = invoke("schema", "--store", str(store), AZ)
    assert "deg/s^2" in out
    csv = tmp_path / "out.csv"
    code, out = invoke(
        "get",
        "--store",
        str(store),
        AZ,
        "actualPosition,private_seqNum",
        "--start",
        "2024-05-01T03:00:00",
        "--end",
        "2024-05-01T03:00:01",
        "--format",
        "csv",
        "--output",
        str(csv),
    )
    assert code == 0
    got = pd.read_csv(csv)
    assert list(got.columns) == ["time", "actualPosition", "private_seqNum"]
    assert got["actualPosition"].tolist() == values[:11]
    pq = tmp_path / "out.parquet"
    invoke(
        "get",
        "--store",
        str(store),
        AZ,
        "actualPosition",
        "--start",
        "2024-05-01T03:00:00",
        "--end",
        "2024-05-01T03:00:01",
        "--format",
        "parquet",
        "-o",
        str(pq),
        "--tai",
    )
    assert pd.read_parquet(pq).index[0] == pd.Timestamp("2024-05-01T03:00:37")
    code, out = invoke("info", "--store", str(store))
    assert code == 0 and "1 with data" in out and "20" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("get", AZ, "actualPosition", "--start", "soon", "--end", "later"), "ISO 8601"),
        (("get", AZ, "nope", "--start", "2024-05-01", "--end", "2024-05-02"), "no field"),
        (
            ("get", "lsst.sal.X.y", "a", "--start", "2024-05-01", "--end", "2024-05-02"),
            "not in EFD schema",
        ),
        (("load", "missing.lp"), "no such file"),
        (
            (
                "get",
                AZ,
                "actualPosition",
                "--start",
                "2024-05-01",
                "--end",
                "2024-05-02",
                "--format",
                "parquet",
            ),
            "needs --output",
        ),
    ],
)
def test_errors_are_one_clear_line(
    tmp_path: Path, args: tuple[str, ...], message: str, sal_xml_dir: Path
) -> None:
    store = tmp_path / "store"
    invoke("init", "--store", str(store), "--schemas", str(sal_xml_dir / "MTMount"))
    code, out = invoke(*args[:1], "--store", str(store), *args[1:])
    assert code == 1
    assert "error:" in out and message in out and "Traceback" not in out


def test_malformed_file_via_cli_writes_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    lp = tmp_path / "bad.lp"
    write_lp(lp)
    lines = lp.read_text().splitlines()
    lines[12] = lines[12] + " trailing-garbage"
    lp.write_text("\n".join(lines) + "\n")
    code, out = invoke("load", "--store", str(store), str(lp))
    assert code == 1 and "bad.lp:13" in out
    code, out = invoke("info", "--store", str(store))
    assert "0 with data" in out


def test_settings_reference_is_current() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "reference" / "settings.md"
    code, out = invoke("settings", "--markdown")
    assert code == 0
    assert doc.read_text() == out, "regenerate: openefd settings --markdown > " + str(doc)


def test_real_subprocess_load_then_read_with_client(tmp_path: Path) -> None:
    """The issue's check: load a line-protocol file with the installed command, read it back."""
    store = tmp_path / "store"
    lp = tmp_path / "az.lp"
    values = write_lp(lp, 50)
    exe = Path(sys.executable).parent / "openefd"
    env = {**os.environ, "OPENEFD_STORE": str(store)}
    done = subprocess.run(
        [str(exe), "load", str(lp)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with EfdClientSync(store) as efd:
        got = efd.select_time_series(
            AZ,
            ["actualPosition"],
            Time(T0_NS / 1e9, format="unix"),
            Time((T0_NS + 49 * 10**8) / 1e9, format="unix"),
        )
    assert got["actualPosition"].tolist() == values


def test_cli_reference_is_current(tmp_path: Path) -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "reference" / "cli.md"
    typer_exe = Path(sys.executable).parent / "typer"
    out = tmp_path / "cli.md"
    subprocess.run(
        [
            str(typer_exe),
            "openefd.cli.main",
            "utils",
            "docs",
            "--name",
            "openefd",
            "--output",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert doc.read_text() == out.read_text(), (
        "regenerate: typer openefd.cli.main utils docs --name openefd --output " + str(doc)
    )


def test_bad_precision_and_bad_settings_are_clear(tmp_path: Path) -> None:
    lp = tmp_path / "a.lp"
    write_lp(lp, 2)
    code, out = invoke("load", "--store", str(tmp_path / "s"), "--precision", "sec", str(lp))
    assert code == 2
    assert "'sec' is not one of" in out
    result = runner.invoke(app, ["info"], env={"OPENEFD_SITES": "summit=/x"})
    assert result.exit_code == 2
    assert "invalid OPENEFD_ setting" in result.output


def test_schema_shows_blank_not_nan_for_missing_units(tmp_path: Path, sal_xml_dir: Path) -> None:
    store = tmp_path / "store"
    invoke("init", "--store", str(store), "--schemas", str(sal_xml_dir / "MTMount"))
    with EfdClientSync(store, read_only=True) as efd:
        schema = efd.get_schema(AZ).set_index("name")
        assert schema.loc["private_identity", "units"] is None
        with pytest.raises(ConfigurationError, match="read-only"):
            efd.write(AZ, [{"actualPosition": 1.0, "private_sndStamp": 1.7e9}])
    code, out = invoke("schema", "--store", str(store), AZ)
    assert code == 0
    assert "nan" not in out


def test_demo_simulates_loads_and_finds_the_planted_excursion(
    tmp_path: Path, sal_xml_dir: Path
) -> None:
    from openefd.cli.demo_queries import find_excursion

    store = tmp_path / "store"
    result = runner.invoke(
        app,
        ["demo", "--store", str(store), "--schemas", str(sal_xml_dir), "--hours", "0.45"],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    assert "simulated and loaded" in result.output
    assert "example queries" in result.output
    assert (store / "sim" / "exposures.parquet").is_file()
    assert "per-exposure summaries kept in the store" in result.output
    with Store(store, read_only=True) as st:
        kept = stored_summaries(st, day_obs=20240501)
    assert len(kept.wide) >= 5 and kept.wide[SUMMARISED_COLUMN].notna().all()
    assert kept.wide["wind_speed_mean"].notna().all()
    with EfdClientSync(store, read_only=True) as efd:
        topics = efd.get_topics()
        assert "lsst.sal.MTM1M3.forceActuatorData" in topics
        latest = efd.select_top_n("lsst.sal.MTM1M3.forceActuatorData", "zForce0", 1)
        temps = efd.select_time_series(
            "lsst.sal.ESS.temperature",
            ["salIndex", "temperatureItem"],
            "2024-05-01T23:30:00",
            "2024-05-02T00:00:00",
        )
    assert latest.index[0] > pd.Timestamp("2024-05-01T23:56:00Z")
    assert "salIndex 101 temperatureItem3 at 23:5" in find_excursion(temps)  # planted at 20–30 min
