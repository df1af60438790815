"""``openefd export`` and ``openefd retention`` on a real store, and their errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from openefd.cli.main import app
from openefd.client import EfdClientSync
from openefd.ingest.writer import Writer
from openefd.schema.model import TopicSchema
from openefd.settings import Settings
from openefd.store.columns import TIME_COLUMN
from openefd.store.duckdb_store import Store
from openefd.timescales import utc_to_tai_ns

AZ = "lsst.sal.MTMount.azimuth"
EL = "lsst.sal.MTMount.elevation"
runner = CliRunner()


def invoke(*args: str, **env: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", **env})
    return result.exit_code, result.output


def frame(first: str, n: int, field: str) -> pd.DataFrame:
    start = int(utc_to_tai_ns(np.int64(pd.Timestamp(first).value)))
    times = start + np.arange(n, dtype=np.int64) * 600 * 10**9  # every 10 minutes
    return pd.DataFrame({TIME_COLUMN: times, field: np.arange(n) / 8})


@pytest.fixture(scope="module")
def mount(tmp_path_factory: pytest.TempPathFactory, demo_topics: list[TopicSchema]) -> Path:
    """A closed store with the MTMount azimuth and elevation topics (quick to open)."""
    path = tmp_path_factory.mktemp("mount") / "store"
    with Store(path) as st:
        st.register_topics(t for t in demo_topics if t.name in (AZ, EL))
        Writer(st).write(AZ, frame("2024-05-01T00:00:00Z", 432, "actualPosition"))
        Writer(st).write(EL, frame("2024-05-02T00:00:00Z", 144, "actualPosition"))
    return path


@pytest.fixture
def filled(mount: Path, strict_settings: Settings) -> Path:
    """Azimuth over three UTC days (2024-05-01 … 05-03), elevation over one (05-02)."""
    shutil.copytree(mount, strict_settings.store)
    return strict_settings.store


def test_export_then_retention(filled: Path, strict_settings: Settings) -> None:
    store = str(filled)
    code, out = invoke("export", "--store", store, "--dry-run")
    assert code == 0, out
    assert "would write 4 partitions (576 rows)" in out and "2024-05-03" in out
    assert not (filled / "cold").exists()

    code, out = invoke("export", "--store", store, "--topic", AZ, "--until", "2024-05-03")
    assert code == 0, out
    assert "exported 2 partitions of 1 topic: 288 rows" in out and "kB of Parquet" in out
    code, out = invoke("export", "--store", store)
    assert code == 0, out
    assert "exported 2 partitions of 2 topics: 288 rows" in out
    code, out = invoke("export", "--store", store)
    assert code == 0 and "nothing to export" in out
    assert len(list((filled / "cold").rglob("*.parquet"))) == 4

    with EfdClientSync(filled, settings=strict_settings) as efd:
        want = efd.select_time_series(AZ, ["actualPosition"], "2024-05-01", "2024-05-04")
    code, out = invoke("retention", "--store", store, "--dry-run")
    assert code == 0, out
    assert "would evict 4 partitions (576 rows)" in out
    code, out = invoke("retention", "--store", store, "--days", "0")
    assert code == 0, out
    assert "evicted 4 partitions" in out and "576 rows" in out and "of Parquet" in out
    with EfdClientSync(filled, settings=strict_settings) as efd:
        got = efd.select_time_series(AZ, ["actualPosition"], "2024-05-01", "2024-05-04")
        assert efd.store.topic_stats([AZ])[0].rows == 0  # every row now in Parquet
    pd.testing.assert_frame_equal(got, want)
    code, out = invoke("get", "--store", store, AZ, "actualPosition", "--start",
                       "2024-05-01T00:00:00", "--end", "2024-05-01T00:30:00")  # fmt: skip
    assert code == 0 and "0.375" in out


def test_retention_keeps_what_is_not_exported(filled: Path) -> None:
    code, out = invoke("retention", "--store", str(filled))
    assert code == 0, out
    assert "evicted 0 partitions" in out
    assert "kept 4 days of days before" in out and "(576 rows) not exported" in out
    assert "run 'openefd export' first" in out


def test_cold_location_setting(filled: Path, tmp_path: Path) -> None:
    cold = tmp_path / "elsewhere"
    code, out = invoke("export", "--store", str(filled), OPENEFD_COLD_LOCATION=f"file://{cold}")
    assert code == 0, out
    assert f"in file://{cold}" in out
    assert len(list(cold.rglob("topic=*/day=*/part-*.parquet"))) == 4
    assert not (filled / "cold").exists()


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (
            ["export", "--topic", "lsst.sal.Nope.x"],
            {},
            1,
            "error: Topic lsst.sal.Nope.x not in EFD schema",
        ),
        (
            ["export", "--until", "yesterday"],
            {},
            1,
            "error: --until: 'yesterday' is not a UTC day; write it as YYYY-MM-DD",
        ),
        (["retention", "--days", "-1"], {}, 2, "Invalid value for '--days'"),
        (
            ["export"],
            {"OPENEFD_COLD_LOCATION": "FILE/cold"},
            1,
            "error: cannot write to cold location",
        ),
        (
            ["retention"],
            {"OPENEFD_RAW_RETENTION_DAYS": "-3"},
            2,
            "error: invalid OPENEFD_ setting",
        ),
    ],
)
def test_clear_errors(
    filled: Path, tmp_path: Path, args: list[str], env: dict[str, str], code: int, message: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = {k: v.replace("FILE", str(blocker)) for k, v in env.items()}
    got, out = invoke(*args, "--store", str(filled), **env)
    assert got == code, out
    assert message in " ".join(out.split())
    assert "Traceback" not in out
    assert not list(tmp_path.rglob("*.parquet"))


def test_missing_store(tmp_path: Path) -> None:
    for command in ("export", "retention"):
        code, out = invoke(command, "--store", str(tmp_path / "none"))
        assert code == 1
        assert "no openefd store at" in out
