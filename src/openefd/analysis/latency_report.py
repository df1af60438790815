"""The latency report as files: one self-contained HTML page, JSON, and CSV tables.

:func:`write_report` writes, into a folder, for ``day_obs`` D:

- ``latency-D.html``: counts, the summary table, the plots (PNG, inlined as
  base64 data URIs: the file needs nothing else to be read, offline or
  attached to a ticket), systematically slow detectors, re-sends, missing
  images, images without an exposure record, and every exposure;
- ``latency-D.json``: options, counts, summary, per-exposure rows, cadence,
  detectors, re-sends, missing images, images without exposure, decimated
  cumulative distributions and the histograms' bins (NaN written as null,
  times as TAI ns integers and ISO 8601 UTC strings);
- ``latency-D-images.csv`` (one row per image), ``latency-D-exposures.csv``,
  ``latency-D-summary.csv``.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from openefd.analysis.distributions import ecdf, log_histogram
from openefd.analysis.latency import LatencyReport
from openefd.analysis.latency_plots import render_plots

__all__ = ["COUNT_DESCRIPTIONS", "ReportFiles", "render_html", "report_json", "write_report"]

COUNT_DESCRIPTIONS = {
    "exposures": "exposures selected",
    "exposures_with_images": "… with at least one image",
    "exposures_without_images": "… with no image at all",
    "exposures_without_shutter_close": "… with no timespan end (no latency possible)",
    "expected_detectors": "detectors expected per exposure",
    "images_expected": "images expected (exposures with images × expected detectors)",
    "images": "images found (first deliveries)",
    "missing_images": "expected images not found",
    "deliveries": "deliveries (first deliveries and re-sends)",
    "resends": "re-sends (not counted as latencies)",
    "transfer_measured": "images with a measured transfer latency",
    "ingest_measured": "images with a measured ingest latency",
    "images_without_shutter_close": "images whose exposure has no shutter close",
    "images_without_s3_arrival": "images with no S3 arrival time",
    "images_without_ingest": "images with no butler ingest time",
    "s3_arrival_before_shutter_close": "S3 arrival before shutter close (clock error; left out)",
    "s3_arrival_after_ingest": "S3 time after the ingest (a later overwrite; left out)",
    "ingest_before_shutter_close": "ingest before shutter close (clock error; left out)",
    "transfer_over_cap": "transfer latencies above the cap (kept, drawn at the cap)",
    "ingest_over_cap": "ingest latencies above the cap (kept, drawn at the cap)",
    "images_without_exposure": "images whose exposure has no record (no latency possible)",
    "exposure_ids_without_record": "exposure ids of those images",
    "requested_exposures_not_found": "listed exposure ids not found in the night",
    "requested_detectors_not_found": "listed detectors not found in the night",
}
TABLE_ROWS = 200
CDF_POINTS = 1000


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """The files :func:`write_report` wrote."""

    html: Path
    json: Path
    images_csv: Path
    exposures_csv: Path
    summary_csv: Path


def _default(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA or value is pd.NaT:
        return None
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    plain = frame.copy()
    for col in plain.columns:
        if isinstance(plain[col].dtype, pd.CategoricalDtype):
            plain[col] = plain[col].astype(object)
    out = plain.astype(object).where(plain.notna(), None)
    return [{str(k): v for k, v in row.items()} for row in out.to_dict("records")]


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def report_json(report: LatencyReport) -> dict[str, Any]:
    """Everything of the report but the per-image rows, as JSON-ready values."""
    cap = report.options.cap_s
    curves: dict[str, Any] = {}
    bins: dict[str, Any] = {}
    for metric in ("transfer_s", "ingest_s"):
        values = report.per_image[metric].to_numpy(dtype=np.float64)
        curve = ecdf(values, max_points=CDF_POINTS)
        curves[metric] = {
            "seconds": curve["seconds"].tolist(),
            "fraction": curve["fraction"].tolist(),
        }
        hist = log_histogram(values, cap)
        bins[metric] = {
            "edges_s": hist.edges.tolist(),
            "counts": hist.counts.tolist(),
            "over_cap": hist.over_cap,
        }
    summary = report.summary.drop(columns=["description"])
    return {
        "day_obs": report.day_obs,
        "instrument": report.instrument,
        "generated_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "options": report.options.to_json(),
        "counts": report.counts,
        "summary": {
            metric: {k: _finite(v) for k, v in row.items()}
            for metric, row in summary.to_dict("index").items()
        },
        "slow_detectors": report.slow_detectors,
        "per_exposure": _records(report.per_exposure),
        "cadence": _records(report.cadence),
        "detectors": _records(report.detectors),
        "late_resends": _records(report.late_resends),
        "missing_images": _records(report.missing_images),
        "images_without_exposure": _records(report.images_without_exposure),
        "cumulative": curves,
        "histogram": bins,
    }


# -- HTML --------------------------------------------------------------------
_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: right; }
th { background: #f4f4f4; } td.l, th.l { text-align: left; }
.note { color: #555; font-size: 0.9em; } .bad { color: #b00; font-weight: bold; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.4em 0; }
"""


def _cell(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return "—"
    if isinstance(value, float | np.floating):
        return "—" if math.isnan(value) else f"{value:,.3f}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if isinstance(value, bool | np.bool_):
        return "yes" if value else ""
    if isinstance(value, int | np.integer):
        return str(value)
    return html.escape(str(value))


def _percent(value: float) -> str:
    return "—" if math.isnan(value) else f"{100 * value:.1f} %"


def _table(frame: pd.DataFrame, limit: int | None = TABLE_ROWS, index: bool = False) -> str:
    """An HTML table (text columns left-aligned), the first ``limit`` rows, saying so."""
    if index:
        frame = frame.reset_index()
    shown = frame if limit is None else frame.head(limit)
    text_cols = {c for c in frame.columns if frame[c].dtype == object or frame[c].dtype == "str"}
    head = "".join(
        f'<th class="{"l" if c in text_cols else ""}">{html.escape(str(c))}</th>'
        for c in frame.columns
    )
    body = []
    for row in shown.itertuples(index=False):
        cells = "".join(
            f'<td class="{"l" if c in text_cols else ""}">{_cell(v)}</td>'
            for c, v in zip(frame.columns, row, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    more = (
        f'<p class="note">first {limit} of {len(frame):,} rows; all are in the JSON and CSV.</p>'
        if limit is not None and len(frame) > limit
        else ""
    )
    if frame.empty:
        return '<p class="note">none</p>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def _counts_table(counts: dict[str, int]) -> str:
    rows = []
    for key, value in counts.items():
        flagged = value and key not in _NEUTRAL_COUNTS
        cls = ' class="bad"' if flagged else ""
        rows.append(
            f'<tr><td class="l">{html.escape(COUNT_DESCRIPTIONS.get(key, key))}</td>'
            f'<td class="l"><code>{key}</code></td><td{cls}>{value:,}</td></tr>'
        )
    return "<table><tbody>" + "".join(rows) + "</tbody></table>"


_NEUTRAL_COUNTS = {
    "exposures",
    "exposures_with_images",
    "expected_detectors",
    "images_expected",
    "images",
    "deliveries",
    "transfer_measured",
    "ingest_measured",
}
_NS_COLUMNS = ("_tai_ns",)


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Without TAI ns columns (the UTC ones and the files hold the times)."""
    return frame[[c for c in frame.columns if not c.endswith(_NS_COLUMNS)]]


def render_html(report: LatencyReport, plots: dict[str, tuple[str, bytes]] | None = None) -> str:
    """The report as one HTML page; ``plots`` as :func:`render_plots` makes them."""
    plots = render_plots(report) if plots is None else plots
    opts = report.options
    title = f"Image latency — {report.instrument or 'no instrument'} day_obs {report.day_obs}"
    subset = [
        "science exposures only" if opts.science_only else "all exposure types",
        "all exposures" if opts.exposure_ids is None else f"exposures {list(opts.exposure_ids)}",
        "all detectors" if opts.detectors is None else f"detectors {list(opts.detectors)}",
    ]
    slow = report.detectors[report.detectors["slow"]]
    images = "".join(
        f"<h3>{html.escape(caption)}</h3>"
        f'<img alt="{html.escape(caption)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode("ascii")}">'
        for caption, png in plots.values()
    )
    summary = report.summary.copy()
    for col, target in (
        ("within_transfer_target", opts.transfer_target_s),
        ("within_cadence_target", opts.cadence_target_s),
    ):
        summary[col] = [_percent(v) for v in summary[col]]
        summary = summary.rename(columns={col: f"≤ {target:g} s"})
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">Generated {generated} by openefd. Selection: '
        f"{html.escape('; '.join(subset))}. Targets: transfer {opts.transfer_target_s:g} s, "
        f"cadence {opts.cadence_target_s:g} s; plots capped at {opts.cap_s:g} s. "
        "Latencies are counted from shutter close (the end of the exposure's TAI timespan) "
        "to each image's first delivery; re-sends are listed apart. Standard deviations "
        "are population ones; percentiles interpolate linearly; “within” means ≤ target.</p>",
        "<h2>Counts</h2>",
        _counts_table(report.counts),
        "<h2>Summary (seconds)</h2>",
        _table(summary, None, index=True),
        "<h2>Plots</h2>",
        images,
        "<h2>Systematically slow detectors</h2>",
        f'<p class="note">Median lateness against the median image of each exposure above '
        f"{opts.slow_detector_margin_s:g} s.</p>",
        _table(slow),
        "<h2>Re-sends</h2>",
        _table(_readable(report.late_resends)),
        "<h2>Missing images</h2>",
        _table(report.missing_images),
        "<h2>Images without an exposure record</h2>",
        _table(_readable(report.images_without_exposure)),
        "<h2>Exposures</h2>",
        _table(_readable(report.per_exposure), None),
        "</body></html>",
    ]
    return "\n".join(parts)


# -- files -------------------------------------------------------------------
def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    plain = frame.copy()
    for col in plain.columns:
        if isinstance(plain[col].dtype, pd.CategoricalDtype):
            plain[col] = plain[col].astype(str)
    table = pa.Table.from_pandas(plain, preserve_index=False)
    pacsv.write_csv(table, path)


def write_report(
    report: LatencyReport,
    out_dir: Path | str,
    *,
    plots: dict[str, tuple[str, bytes]] | None = None,
) -> ReportFiles:
    """Write the HTML, JSON and CSV files of ``report`` into ``out_dir`` (created).

    ``plots``: as :func:`~openefd.analysis.latency_plots.render_plots` made them
    (drawn here when not given).
    """
    folder = Path(out_dir).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"latency-{report.day_obs}"
    files = ReportFiles(
        html=folder / f"{stem}.html",
        json=folder / f"{stem}.json",
        images_csv=folder / f"{stem}-images.csv",
        exposures_csv=folder / f"{stem}-exposures.csv",
        summary_csv=folder / f"{stem}-summary.csv",
    )
    files.html.write_text(render_html(report, plots), encoding="utf-8")
    files.json.write_bytes(
        orjson.dumps(report_json(report), default=_default, option=orjson.OPT_INDENT_2)
    )
    _write_csv(report.per_image, files.images_csv)
    _write_csv(report.per_exposure, files.exposures_csv)
    _write_csv(report.summary.reset_index(), files.summary_csv)
    return files
