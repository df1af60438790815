"""``openefd simulate`` writes files that ``openefd load`` takes as they are."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from typer.testing import CliRunner

from openefd.cli.main import app
from openefd.client import EfdClientSync
from openefd.sim import NightSimulator, SimConfig

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_simulate_then_load_parquet(sal_xml_dir: Path, tmp_path: Path) -> None:
    out, store = tmp_path / "night", tmp_path / "store"
    invoke(
        "simulate",
        "--schemas",
        str(sal_xml_dir),
        "--hours",
        "0.015",
        "--seed",
        "2",
        "--out",
        str(out),
    )
    files = sorted(out.glob("*.parquet"))
    rows = {f.name.removesuffix(".parquet"): pq.read_metadata(f).num_rows for f in files}
    assert "lsst.sal.MTM1M3.forceActuatorData" in rows
    assert rows["lsst.sal.MTM1M3.forceActuatorData"] == 2700  # 54 s at 50 Hz
    exposures = pd.read_parquet(out / "images" / "exposures.parquet")
    arrivals = pd.read_parquet(out / "images" / "arrivals.parquet")
    assert len(arrivals[~arrivals["resend"]]) == 205 * len(exposures) > 0
    anomalies = json.loads((out / "anomalies.json").read_text())
    assert [a["name"] for a in anomalies] == ["stuck_detector"]
    assert set(exposures["observation_type"]) == {"bias"}

    output = invoke("load", "--store", str(store), *map(str, files))
    assert f"{sum(rows.values()):,} rows stored" in output
    with EfdClientSync(store, read_only=True) as efd:
        assert efd.get_topics() == sorted(rows)


def test_simulate_line_protocol_loads_the_same_values(sal_xml_dir: Path, tmp_path: Path) -> None:
    out, store = tmp_path / "lp", tmp_path / "store"
    invoke(
        "simulate",
        "--schemas",
        str(sal_xml_dir),
        "--hours",
        "0.002",
        "--seed",
        "4",
        "--out",
        str(out),
        "--format",
        "lp",
    )
    topics = ["lsst.sal.ESS.temperature", "lsst.sal.MTM1M3.forceActuatorData"]
    invoke("load", "--store", str(store), *(str(out / f"{t}.lp") for t in topics))
    sim = NightSimulator(SimConfig(sal_xml_dir, hours=0.002, seed=4))
    with EfdClientSync(store, read_only=True) as efd:
        assert efd.get_topics() == topics
        for topic, array in zip(topics, ["temperatureItem", "zForce"], strict=True):
            sent = sim.topic_table(topic)
            assert sent is not None
            values = np.stack(sent[array].to_numpy(zero_copy_only=False))
            names = [f"{array}{i}" for i in range(values.shape[1])]  # flattened in LP
            got = efd.select_top_n(topic, [*names, "private_seqNum"], sent.num_rows)[::-1]
            assert got["private_seqNum"].tolist() == sent["private_seqNum"].to_pylist()
            loaded = got[names].to_numpy()
            assert np.array_equal(loaded, values, equal_nan=True)
