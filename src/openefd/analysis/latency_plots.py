"""The latency report's plots, as PNG bytes (matplotlib, Agg, no global pyplot state).

Each function draws one figure from a :class:`~openefd.analysis.latency.LatencyReport`
with few artists (histograms as one stairs line, 205,000 images as a
decimated CDF), so a night of 1,000 exposures × 205 detectors plots in
well under a second. Durations are on log axes; values above the cap are
drawn at the cap with an upward marker and counted in the legend. Times of
day are UTC. An empty input gives a figure that says so.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator

from openefd.analysis.distributions import ecdf, log_histogram
from openefd.analysis.latency import LatencyReport

__all__ = [
    "PLOTS",
    "cadence_png",
    "cumulative_png",
    "detectors_png",
    "exposure_extremes_png",
    "histogram_png",
    "render_plots",
]

DPI = 96
SIZE = (9.0, 4.6)
TRANSFER_COLOR = "tab:blue"
INGEST_COLOR = "tab:orange"
TARGET_COLOR = "tab:green"
CADENCE_COLOR = "tab:red"
CAP_COLOR = "0.4"


def _figure() -> tuple[Figure, Axes]:
    # A fixed layout: constrained layout would measure every tick label twice.
    with mpl.rc_context({"font.size": 9}):
        fig = Figure(figsize=SIZE, dpi=DPI)
        FigureCanvasAgg(fig)
        fig.subplots_adjust(left=0.08, right=0.98, top=0.93, bottom=0.11)
        ax = fig.add_subplot()
    ax.grid(True, which="major", alpha=0.3)
    return fig, ax


def _plain(value: float, _: object = None) -> str:
    return f"{value:g}"


def _log(ax: Axes, which: str) -> None:
    """A log axis ticked at 1, 2, 5 × 10ⁿ with plain labels (no mathtext: faster, readable)."""
    axis: Axis
    if which == "x":
        ax.set_xscale("log")
        axis = ax.xaxis
    else:
        ax.set_yscale("log")
        axis = ax.yaxis
    axis.set_major_locator(LogLocator(base=10.0))
    axis.set_minor_locator(LogLocator(base=10.0, subs=(2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(_plain))
    axis.set_minor_formatter(FuncFormatter(_plain))


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _no_data(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what}", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _targets(ax: Axes, report: LatencyReport, axis: str = "x") -> None:
    opts = report.options
    line = ax.axvline if axis == "x" else ax.axhline
    line(
        opts.transfer_target_s,
        color=TARGET_COLOR,
        ls="--",
        lw=1,
        label=f"transfer target {opts.transfer_target_s:g} s",
    )
    line(
        opts.cadence_target_s,
        color=CADENCE_COLOR,
        ls="--",
        lw=1,
        label=f"cadence target {opts.cadence_target_s:g} s",
    )


def _title(report: LatencyReport, what: str) -> str:
    subset = []
    if report.options.science_only:
        subset.append("science only")
    if report.options.exposure_ids is not None:
        subset.append(f"{len(report.options.exposure_ids)} listed exposures")
    if report.options.detectors is not None:
        subset.append("detectors " + ", ".join(str(d) for d in report.options.detectors))
    tail = f" ({'; '.join(subset)})" if subset else ""
    return f"{what} — {report.instrument or ''} day_obs {report.day_obs}{tail}"


def histogram_png(report: LatencyReport) -> bytes:
    """Per-image latencies in log-spaced bins (log-log), capped."""
    fig, ax = _figure()
    cap = report.options.cap_s
    images = report.per_image
    drawn = False
    for metric, label, color in (
        ("transfer_s", "shutter close → S3", TRANSFER_COLOR),
        ("ingest_s", "shutter close → ingest", INGEST_COLOR),
    ):
        values = images[metric].to_numpy(dtype=np.float64)
        hist = log_histogram(values, cap)
        if hist.total == 0:
            continue
        over = f", {hist.over_cap:,} above {cap:g} s in the last bin" if hist.over_cap else ""
        ax.stairs(
            hist.counts,
            hist.edges,
            color=color,
            lw=1.5,
            label=f"{label} ({hist.total:,} images{over})",
        )
        drawn = True
    ax.set_title(_title(report, "Latency per image"))
    if not drawn:
        _no_data(ax, "measured latency")
        return _png(fig)
    _log(ax, "x")
    _log(ax, "y")
    ax.set_ylim(bottom=0.7)
    _targets(ax, report)
    ax.axvline(cap, color=CAP_COLOR, ls=":", lw=1, label=f"cap {cap:g} s")
    ax.set_xlabel("seconds after shutter close (log)")
    ax.set_ylabel("images per bin (log)")
    ax.legend(loc="upper right")
    return _png(fig)


def cumulative_png(report: LatencyReport) -> bytes:
    """Cumulative distributions: per image, and per exposure's slowest image."""
    fig, ax = _figure()
    curves = (
        (report.per_image["transfer_s"], "image → S3", TRANSFER_COLOR, "-"),
        (report.per_image["ingest_s"], "image → ingest", INGEST_COLOR, "-"),
        (report.per_exposure["transfer_max_s"], "whole exposure → S3", TRANSFER_COLOR, ":"),
        (report.per_exposure["ingest_max_s"], "whole exposure → ingest", INGEST_COLOR, ":"),
    )
    drawn = False
    for values, label, color, style in curves:
        curve = ecdf(values.to_numpy(dtype=np.float64), max_points=2000)
        curve = curve[curve["seconds"] > 0]
        if curve.empty:
            continue
        ax.step(
            curve["seconds"],
            curve["fraction"],
            where="post",
            color=color,
            ls=style,
            label=f"{label} ({len(values.dropna()):,})",
        )
        drawn = True
    ax.set_title(_title(report, "Cumulative latency"))
    if not drawn:
        _no_data(ax, "measured latency")
        return _png(fig)
    _log(ax, "x")
    ax.set_ylim(0, 1.02)
    _targets(ax, report)
    ax.set_xlabel("seconds after shutter close (log)")
    ax.set_ylabel("fraction arrived")
    ax.legend(loc="lower right")
    return _png(fig)


def _times(utc: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(utc).tz_convert("UTC").tz_localize(None).to_numpy()


def _time_axis(ax: Axes) -> None:
    # matplotlib.dates ships without annotations for these two constructors.
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_xlabel("shutter close (UTC)")


def exposure_extremes_png(report: LatencyReport, metric: str = "transfer") -> bytes:
    """Fastest and slowest image of each exposure against time of day (log y, capped)."""
    fig, ax = _figure()
    what = "S3 arrival" if metric == "transfer" else "butler ingest"
    ax.set_title(_title(report, f"Fastest and slowest image per exposure: shutter close → {what}"))
    per = report.per_exposure
    cap = report.options.cap_s
    timed = per[per["shutter_close_utc"].notna()]
    lo = timed[f"{metric}_min_s"].to_numpy(dtype=np.float64)
    hi = timed[f"{metric}_max_s"].to_numpy(dtype=np.float64)
    shown = np.isfinite(lo) & (lo > 0) | np.isfinite(hi) & (hi > 0)
    if not shown.any():
        _no_data(ax, "measured latency")
        return _png(fig)
    x = _times(timed["shutter_close_utc"])
    for values, label, color in ((lo, "fastest", TRANSFER_COLOR), (hi, "slowest", INGEST_COLOR)):
        ok = np.isfinite(values) & (values > 0)
        over = ok & (values > cap)
        ax.plot(x[ok & ~over], values[ok & ~over], ".", ms=3, color=color, label=f"{label} image")
        if over.any():
            ax.plot(
                x[over],
                np.full(int(over.sum()), cap),
                "^",
                ms=4,
                color=color,
                label=f"{label}: {int(over.sum())} above {cap:g} s, drawn at it",
            )
    _log(ax, "y")
    ax.set_ylim(top=cap * 1.5)
    _targets(ax, report, axis="y")
    ax.axhline(cap, color=CAP_COLOR, ls=":", lw=1)
    _time_axis(ax)
    ax.set_ylabel("seconds after shutter close (log)")
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig)


def cadence_png(report: LatencyReport) -> bytes:
    """Time between consecutive exposures (shutter open to shutter open) against time of day."""
    fig, ax = _figure()
    ax.set_title(_title(report, "Time between exposures"))
    cad = report.cadence
    values = cad["interval_s"].to_numpy(dtype=np.float64)
    ok = np.isfinite(values) & (values > 0)
    if not ok.any():
        _no_data(ax, "pairs of exposures")
        return _png(fig)
    x = _times(cad["shutter_open_utc"])
    within = cad["within_target"].to_numpy(dtype=bool)
    target = report.options.cadence_target_s
    ax.plot(
        x[ok & within],
        values[ok & within],
        ".",
        ms=3,
        color=TRANSFER_COLOR,
        label=f"≤ {target:g} s ({int((ok & within).sum())})",
    )
    ax.plot(
        x[ok & ~within],
        values[ok & ~within],
        ".",
        ms=3,
        color=CADENCE_COLOR,
        label=f"> {target:g} s ({int((ok & ~within).sum())})",
    )
    ax.axhline(target, color=CADENCE_COLOR, ls="--", lw=1, label=f"nominal cadence {target:g} s")
    _log(ax, "y")
    _time_axis(ax)
    ax.set_xlabel("shutter open (UTC)")
    ax.set_ylabel("seconds since previous shutter open (log)")
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig)


def detectors_png(report: LatencyReport) -> bytes:
    """Per detector: median lateness relative to its exposures' median image."""
    fig, ax = _figure()
    ax.set_title(_title(report, "How much later than its exposure's median image, per detector"))
    det = report.detectors
    excess = det["median_transfer_excess_s"].to_numpy(dtype=np.float64)
    if det.empty or not np.isfinite(excess).any():
        _no_data(ax, "measured latency")
        return _png(fig)
    pos = np.arange(len(det))
    ax.stairs(
        np.nan_to_num(excess),
        np.arange(len(det) + 1) - 0.5,
        color=TRANSFER_COLOR,
        lw=1.2,
        label="median excess, S3 arrival",
    )
    margin = report.options.slow_detector_margin_s
    ax.axhline(margin, color=CADENCE_COLOR, ls="--", lw=1, label=f"slow above {margin:g} s")
    for i in pos[det["slow"].to_numpy(dtype=bool)]:
        ax.annotate(
            str(det["label"].iloc[i]),
            (i, excess[i]),
            textcoords="offset points",
            xytext=(4, 2),
            fontsize=8,
            color=CADENCE_COLOR,
        )
    ax.set_xlim(-1, len(det))
    ax.set_xlabel("detector (in id order)")
    ax.set_ylabel("seconds")
    ax.legend(loc="upper right", fontsize=8)
    return _png(fig)


PLOTS: dict[str, tuple[str, Callable[[LatencyReport], bytes]]] = {
    "histogram": ("Latency per image (histogram)", histogram_png),
    "cumulative": ("Cumulative latency", cumulative_png),
    "transfer_per_exposure": (
        "Fastest and slowest transfer per exposure",
        lambda r: exposure_extremes_png(r, "transfer"),
    ),
    "ingest_per_exposure": (
        "Fastest and slowest ingest per exposure",
        lambda r: exposure_extremes_png(r, "ingest"),
    ),
    "cadence": ("Time between exposures", cadence_png),
    "detectors": ("Lateness per detector", detectors_png),
}


def render_plots(report: LatencyReport) -> dict[str, tuple[str, bytes]]:
    """Every plot: name → (caption, PNG bytes)."""
    return {name: (caption, draw(report)) for name, (caption, draw) in PLOTS.items()}
