"""The report files: a self-contained HTML page with its plots, JSON without NaN, CSV tables."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from openefd.analysis.latency import LatencyReport, night_latency
from openefd.analysis.latency_plots import PLOTS, render_plots
from openefd.analysis.latency_report import COUNT_DESCRIPTIONS, report_json, write_report
from openefd.store.duckdb_store import Store

DAY = 20240501
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def reports(night_store: Path) -> dict[str, LatencyReport]:
    with Store(night_store, read_only=True) as st:
        return {
            "night": night_latency(st, DAY),
            "empty": night_latency(st, 20240601),
            "centre": night_latency(st, DAY, detectors=["R22_S11"], science_only=True),
        }


def _strict_json(text: str) -> dict[str, object]:
    def no_constants(name: str) -> None:
        raise AssertionError(f"JSON holds {name}")

    loaded: dict[str, object] = json.loads(text, parse_constant=no_constants)
    return loaded


@pytest.mark.parametrize("which", ["night", "empty", "centre"])
def test_files_are_written_and_self_contained(
    reports: dict[str, LatencyReport], which: str, tmp_path: Path
) -> None:
    report = reports[which]
    files = write_report(report, tmp_path / "out")
    page = files.html.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    links = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert links and all(link.startswith("data:image/png;base64,") for link in links)
    assert len(links) == len(PLOTS)
    for link in links:
        assert base64.b64decode(link.split(",", 1)[1]).startswith(PNG)
    for key in report.counts:
        assert f"<code>{key}</code>" in page and key in COUNT_DESCRIPTIONS
    data = _strict_json(files.json.read_text())
    assert data["counts"] == report.counts
    assert data["day_obs"] == report.day_obs
    images = pd.read_csv(files.images_csv)
    assert len(images) == len(report.per_image)
    assert len(pd.read_csv(files.exposures_csv)) == len(report.per_exposure)
    summary = pd.read_csv(files.summary_csv)
    assert summary["metric"].tolist() == report.summary.index.tolist()


def test_night_content(reports: dict[str, LatencyReport], tmp_path: Path) -> None:
    report = reports["night"]
    files = write_report(report, tmp_path)
    page = files.html.read_text()
    assert "R03_S12" in page and "LSSTCam day_obs 20240501" in page
    data = _strict_json(files.json.read_text())
    summary = data["summary"]
    assert isinstance(summary, dict)
    assert summary["transfer_s"]["median"] == report.summary.loc["transfer_s", "median"]
    assert summary["cadence_interval_s"]["within_transfer_target"] is None
    assert data["slow_detectors"] == ["R03_S12"]
    per = data["per_exposure"]
    assert isinstance(per, list) and len(per) == 87
    assert per[0]["shutter_close_utc"].startswith("2024-05-01T23:30:45")
    assert per[0]["shutter_close_tai_ns"] == int(report.per_exposure["shutter_close_tai_ns"][0])
    assert len(data["late_resends"]) == 62  # type: ignore[arg-type]
    curve = data["cumulative"]["transfer_s"]  # type: ignore[index]
    assert curve["fraction"][-1] == 1.0 and len(curve["seconds"]) <= 1000
    hist = data["histogram"]["transfer_s"]  # type: ignore[index]
    assert sum(hist["counts"]) == report.counts["transfer_measured"]
    images = pd.read_csv(files.images_csv)
    assert np.allclose(images["transfer_s"], report.per_image["transfer_s"], rtol=0, atol=1e-9)
    assert (
        images["shutter_close_tai_ns"].tolist()
        == report.per_image["shutter_close_tai_ns"].tolist()
    )


def test_empty_night_json_has_nulls_not_nan(reports: dict[str, LatencyReport]) -> None:
    data = report_json(reports["empty"])
    assert data["summary"]["transfer_s"]["median"] is None
    assert data["summary"]["transfer_s"]["count"] == 0
    assert data["per_exposure"] == [] and data["slow_detectors"] == []


def test_every_plot_is_a_png(reports: dict[str, LatencyReport]) -> None:
    for report in reports.values():
        plots = render_plots(report)
        assert list(plots) == list(PLOTS)
        for caption, png in plots.values():
            assert caption and png.startswith(PNG) and len(png) > 5000
