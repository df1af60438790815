"""The wind and seeing investigations' plots, as PNG bytes (matplotlib, Agg, no pyplot).

- :func:`wind_speed_png`: speed against time (UTC), each bin's mean and
  maximum, the gusts, and the speed limit;
- :func:`wind_direction_png`: direction against time, samples and each bin's
  circular mean (the axis runs 0–360°, north at both ends);
- :func:`wind_rose_png`: where the wind came from, share of samples per
  16-point sector, stacked by speed class (north up, clockwise);
- :func:`seeing_scatter_png`: dome ΔT against seeing for every exposure,
  those above the threshold highlighted.

An empty input gives a figure that says so.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, cast

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.projections.polar import PolarAxes

from openefd.timeinput import tai_ns_to_index

if TYPE_CHECKING:
    from openefd.analysis.investigations.seeing import SeeingReport
    from openefd.analysis.investigations.wind import WindReport

__all__ = ["seeing_scatter_png", "wind_direction_png", "wind_rose_png", "wind_speed_png"]

DPI = 96
SIZE = (9.0, 4.6)
ROSE_SIZE = (6.4, 6.0)
SPEED_COLOR = "tab:blue"
GUST_COLOR = "tab:red"
LIMIT_COLOR = "0.3"
SELECTED_COLOR = "tab:red"
OTHER_COLOR = "tab:blue"
MAX_LINE_POINTS = 50_000  # more samples than this: draw the bins only
ROSE_SPEEDS_M_S = (0.0, 3.0, 6.0, 9.0, 12.0, 15.0)
_SECTORS = 16


def _figure(size: tuple[float, float] = SIZE, polar: bool = False) -> tuple[Figure, Axes]:
    with mpl.rc_context({"font.size": 9}):
        fig = Figure(figsize=size, dpi=DPI)
        FigureCanvasAgg(fig)
        if polar:
            fig.subplots_adjust(left=0.08, right=0.78, top=0.88, bottom=0.07)
            ax = fig.add_subplot(projection="polar")
        else:
            fig.subplots_adjust(left=0.08, right=0.98, top=0.93, bottom=0.11)
            ax = fig.add_subplot()
            ax.grid(True, alpha=0.3)
    return fig, ax


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _no_data(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what}", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _times(utc: pd.Series | pd.DatetimeIndex) -> npt.NDArray[np.datetime64]:
    return np.asarray(pd.DatetimeIndex(utc).tz_convert("UTC").tz_localize(None).to_numpy())


def _time_axis(ax: Axes) -> None:
    # matplotlib.dates ships without annotations for these two constructors.
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_xlabel("time (UTC)")


def _wind_title(report: WindReport, what: str) -> str:
    return (
        f"{what} — {report.source}, {report.begin_utc:%Y-%m-%d %H:%M:%S} – "
        f"{report.end_utc:%Y-%m-%d %H:%M:%S} UTC"
    )


def _bin_centres(report: WindReport) -> npt.NDArray[np.datetime64]:
    bins = report.bins
    start = bins["bin_start_tai_ns"].to_numpy(dtype=np.int64)
    mid = start + (bins["bin_end_tai_ns"].to_numpy(dtype=np.int64) - start) // 2
    return _times(tai_ns_to_index(mid))


def wind_speed_png(report: WindReport) -> bytes:
    """Speed against time: samples, bin mean and maximum, gusts, the limit."""
    fig, ax = _figure()
    ax.set_title(_wind_title(report, "Wind speed"))
    if report.empty:
        _no_data(ax, "wind samples in this window")
        return _png(fig)
    samples, bins = report.samples, report.bins
    if len(samples) <= MAX_LINE_POINTS:
        ax.plot(
            _times(samples["time_utc"]),
            samples["speed_m_s"].to_numpy(),
            color=SPEED_COLOR,
            lw=0.6,
            alpha=0.45,
            label=f"speed ({len(samples):,} samples)",
        )
    centres = _bin_centres(report)
    ax.plot(
        centres,
        bins["speed_mean_m_s"],
        color=SPEED_COLOR,
        lw=1.6,
        label=f"mean per {report.bin_s:g} s",
    )
    ax.plot(
        centres,
        bins["speed_max_m_s"],
        "_",
        color=SPEED_COLOR,
        ms=7,
        label=f"max speed per {report.bin_s:g} s",
    )
    if report.gust_field:
        ax.plot(
            centres,
            bins["gust_max_m_s"],
            "^",
            color=GUST_COLOR,
            ms=3.5,
            label=f"max gust ({report.gust_field}) per {report.bin_s:g} s",
        )
    stats = report.stats
    limit = stats.speed_limit_m_s
    ax.axhline(
        limit,
        color=LIMIT_COLOR,
        ls="--",
        lw=1,
        label=f"limit {limit:g} m/s ({100 * stats.fraction_above_limit:.1f} % above)",
    )
    if stats.gust_time_utc is not None:
        at = (_times(pd.DatetimeIndex([stats.gust_time_utc]))[0], stats.gust_max_m_s)
        ax.plot(*at, "*", color=GUST_COLOR, ms=9)
        ax.annotate(
            f"max gust {stats.gust_max_m_s:.1f} m/s, {stats.gust_time_utc:%H:%M:%S}",
            at,
            textcoords="offset points",
            xytext=(7, -3),
            fontsize=8,
            color=GUST_COLOR,
        )
    top = np.nanmax(bins[["speed_max_m_s", "gust_max_m_s"]].to_numpy(dtype=np.float64))
    ax.set_ylim(0, max(float(top), limit) * 1.35)  # headroom for the legend
    _time_axis(ax)
    ax.set_ylabel("m/s")
    ax.legend(loc="upper left", fontsize=8, ncol=3)
    return _png(fig)


def wind_direction_png(report: WindReport) -> bytes:
    """Direction against time: samples and each bin's circular mean."""
    fig, ax = _figure()
    ax.set_title(_wind_title(report, "Wind direction (from)"))
    if report.empty:
        _no_data(ax, "wind samples in this window")
        return _png(fig)
    samples = report.samples
    if len(samples) <= MAX_LINE_POINTS:
        ax.plot(
            _times(samples["time_utc"]),
            samples["direction_deg"].to_numpy(),
            ".",
            color=SPEED_COLOR,
            ms=1.5,
            alpha=0.4,
            label="samples",
        )
    ax.plot(
        _bin_centres(report),
        report.bins["direction_mean_deg"],
        "o",
        color=GUST_COLOR,
        ms=3,
        label=f"circular mean per {report.bin_s:g} s",
    )
    stats = report.stats
    ax.axhline(
        stats.direction_mean_deg,
        color=LIMIT_COLOR,
        ls="--",
        lw=1,
        label=f"window mean {stats.direction_mean_deg:.0f}° ({stats.prevailing}), "
        f"spread {stats.direction_spread_deg:.0f}°",
    )
    ax.set_ylim(0, 360)
    ax.set_yticks(
        [0, 45, 90, 135, 180, 225, 270, 315, 360],
        ["N", "NE", "E", "SE", "S", "SW", "W", "NW", "N"],
    )
    _time_axis(ax)
    ax.set_ylabel("direction the wind comes from")
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig)


def rose_counts(
    direction_deg: npt.NDArray[np.float64], speed_m_s: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """Samples per (speed class, 16-point sector centred on N, NNE, …); NaN rows left out."""
    ok = ~np.isnan(direction_deg) & ~np.isnan(speed_m_s)
    sector = np.floor(np.mod(direction_deg[ok] + 360.0 / _SECTORS / 2, 360.0) / 22.5)
    sector = np.minimum(sector.astype(np.int64), _SECTORS - 1)
    speed_class = np.searchsorted(np.asarray(ROSE_SPEEDS_M_S), speed_m_s[ok], side="right") - 1
    speed_class = np.clip(speed_class, 0, len(ROSE_SPEEDS_M_S) - 1)
    counts = np.zeros((len(ROSE_SPEEDS_M_S), _SECTORS), dtype=np.int64)
    np.add.at(counts, (speed_class, sector), 1)
    return counts


def wind_rose_png(report: WindReport) -> bytes:
    """Share of samples per direction sector, stacked by speed class; north up, clockwise."""
    fig, axes = _figure(ROSE_SIZE, polar=True)
    ax = cast(PolarAxes, axes)
    ax.set_title(_wind_title(report, "Wind rose").replace(" — ", "\n"), fontsize=9)
    samples = report.samples
    counts = rose_counts(
        samples["direction_deg"].to_numpy(dtype=np.float64),
        samples["speed_m_s"].to_numpy(dtype=np.float64),
    )
    total = int(counts.sum())
    if total == 0:
        _no_data(ax, "wind samples in this window")
        return _png(fig)
    ax.set_theta_zero_location("N")
    ax.set_theta_direction(-1)
    theta = np.radians(np.arange(_SECTORS) * 22.5)
    width = np.radians(22.5) * 0.92
    bottom = np.zeros(_SECTORS)
    colors = mpl.colormaps["viridis"](np.linspace(0.1, 0.95, len(ROSE_SPEEDS_M_S)))
    edges = [*ROSE_SPEEDS_M_S[1:], None]
    for i, lo in enumerate(ROSE_SPEEDS_M_S):
        share = 100.0 * counts[i] / total
        if not share.any():
            continue
        hi = edges[i]
        label = f"{lo:g}–{hi:g} m/s" if hi is not None else f"≥ {lo:g} m/s"
        ax.bar(theta, share, width=width, bottom=bottom, color=colors[i], label=label)
        bottom = bottom + share
    ax.set_xticks(theta[::2], ["N", "NE", "E", "SE", "S", "SW", "W", "NW"])
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:g} %")
    ax.legend(loc="upper left", bbox_to_anchor=(1.05, 1.0), fontsize=8, title=f"{total:,} samples")
    return _png(fig)


def seeing_scatter_png(report: SeeingReport) -> bytes:
    """Dome ΔT (end − start) against seeing, exposures above the threshold highlighted."""
    fig, ax = _figure()
    ax.set_title(f"Dome temperature change against seeing — {report.scope}")
    frame = report.exposures
    seeing = frame["seeing_arcsec"].to_numpy(dtype=np.float64, na_value=np.nan)
    delta = frame["delta_t_degC"].to_numpy(dtype=np.float64, na_value=np.nan)
    drawn = np.isfinite(seeing) & np.isfinite(delta)
    if not drawn.any():
        _no_data(ax, "exposure with both a seeing and a dome temperature")
        return _png(fig)
    above = frame["above_threshold"].to_numpy(dtype=bool)
    threshold = report.threshold_arcsec
    for mask, color, label in (
        (drawn & ~above, OTHER_COLOR, f"seeing ≤ {threshold:g}″"),
        (drawn & above, SELECTED_COLOR, f"seeing > {threshold:g}″"),
    ):
        if mask.any():
            ax.plot(
                seeing[mask],
                delta[mask],
                "o",
                ms=4,
                color=color,
                alpha=0.8,
                label=f"{label} ({int(mask.sum())} exposures)",
            )
    ax.axvline(threshold, color=LIMIT_COLOR, ls="--", lw=1, label=f"threshold {threshold:g}″")
    ax.axhline(0.0, color=LIMIT_COLOR, lw=0.6)
    left_out = int((~drawn).sum())
    if left_out:
        ax.plot([], [], " ", label=f"{left_out} without seeing or dome temperature (not drawn)")
    ax.set_xlabel("seeing: DIMM FWHM before exposure start (arcsec)")
    ax.set_ylabel(f"dome ΔT, end − start (°C, {report.channels_label})")
    ax.legend(loc="best", fontsize=8)
    return _png(fig)
