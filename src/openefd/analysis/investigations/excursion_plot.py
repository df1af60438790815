"""The excursion plot, as PNG bytes (matplotlib, Agg, no global pyplot state).

The field against time (UTC), the intervals where the condition holds shaded,
the condition drawn (the limit as a line, an angular range as a band, wrapping
at 360), and the exposures of the range as spans along the bottom: those that
overlap an interval in red, the others in grey. Long series are drawn from
the minimum and maximum of each of a few thousand bins, so a night of 20 Hz
samples plots in well under a second; lines break at data gaps and, for
angles, where the value wraps round north.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from openefd.analysis.investigations.excursion_condition import AngularRange, Threshold
from openefd.timescales import NS_PER_S, tai_to_utc_ns

if TYPE_CHECKING:
    from openefd.analysis.investigations.excursions import ExcursionReport

__all__ = ["MAX_POINTS", "decimate", "excursion_png"]

DPI = 96
SIZE = (10.0, 4.8)
MAX_POINTS = 4000
VALUE_COLOR = "tab:blue"
HOLDS_COLOR = "tab:orange"
HIT_COLOR = "tab:red"
OTHER_COLOR = "0.6"
STRIP = (0.0, 0.05)  # axes fraction of the exposure strip

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def decimate(times: IntArray, values: FloatArray, max_points: int) -> tuple[IntArray, FloatArray]:
    """At most about ``max_points`` samples keeping each bin's minimum and maximum, in order."""
    n = len(times)
    if n <= max_points:
        return times, values
    bins = max(1, max_points // 2)
    size = -(-n // bins)
    pad = bins * size - n
    v = np.append(values, np.full(pad, np.nan)).reshape(bins, size)
    lo = np.argmin(np.where(np.isnan(v), np.inf, v), axis=1)
    hi = np.argmax(np.where(np.isnan(v), -np.inf, v), axis=1)
    base = np.arange(bins) * size
    picks = np.sort(np.unique(np.concatenate([base + lo, base + hi])))
    picks = picks[picks < n]
    return times[picks], values[picks]


def _dates(tai_ns: IntArray) -> FloatArray:
    utc = tai_to_utc_ns(np.asarray(tai_ns, dtype=np.int64))
    days = mdates.date2num(utc.astype("datetime64[ns]"))  # type: ignore[no-untyped-call]
    return np.asarray(days, dtype=np.float64)


def _broken(x: FloatArray, y: FloatArray, breaks: npt.NDArray[np.bool_]) -> tuple[Any, Any]:
    """``x``, ``y`` with a NaN inserted after every position where ``breaks`` is true."""
    where = np.flatnonzero(breaks) + 1
    return np.insert(x, where, np.nan), np.insert(y, where, np.nan)


def _spans(
    ax: Axes, begin: FloatArray, end: FloatArray, y: tuple[float, float], **kw: Any
) -> None:
    if not len(begin):
        return
    y0, y1 = y
    verts = [[(b, y0), (b, y1), (e, y1), (e, y0)] for b, e in zip(begin, end, strict=True)]
    ax.add_collection(PolyCollection(verts, transform=ax.get_xaxis_transform(), **kw))


def _condition(ax: Axes, report: ExcursionReport) -> str:
    cond = report.condition
    if isinstance(cond, Threshold):
        ax.axhline(cond.limit, color=HOLDS_COLOR, ls="--", lw=1)
        return f"limit {cond}"
    assert isinstance(cond, AngularRange)
    lo, hi = cond.center_deg - cond.half_width_deg, cond.center_deg + cond.half_width_deg
    bands = [(lo, hi)]
    if lo < 0:
        bands = [(0.0, hi), (lo + 360.0, 360.0)]
    elif hi > 360:
        bands = [(lo, 360.0), (0.0, hi - 360.0)]
    for a, b in bands:
        ax.axhspan(a, b, color=HOLDS_COLOR, alpha=0.12, lw=0)
    ax.set_ylim(0, 360)
    ax.set_yticks(np.arange(0, 361, 45))
    return f"range {cond}"


def _shown_span(report: ExcursionReport) -> IntArray:
    """The time axis: the samples and exposures read (a little wider), else the range."""
    ends = [report.samples["time_tai_ns"].to_numpy(dtype=np.int64)]
    reg = report.range_exposures
    for col in ("timespan_begin_tai_ns", "timespan_end_tai_ns"):
        ends.append(reg[col].dropna().to_numpy(dtype=np.int64))
    seen = np.concatenate(ends)
    if not len(seen):
        return np.array([report.begin_tai_ns, report.end_tai_ns], dtype=np.int64)
    lo, hi = int(seen.min()), int(seen.max())
    pad = max((hi - lo) // 50, NS_PER_S)
    lo, hi = max(lo - pad, report.begin_tai_ns), min(hi + pad, report.end_tai_ns)
    return np.array([lo, max(hi, lo + NS_PER_S)], dtype=np.int64)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def excursion_png(report: ExcursionReport) -> bytes:
    """The plot of :class:`~openefd.analysis.investigations.excursions.ExcursionReport`."""
    with mpl.rc_context({"font.size": 9}):
        fig = Figure(figsize=SIZE, dpi=DPI)
        FigureCanvasAgg(fig)
        fig.subplots_adjust(left=0.08, right=0.98, top=0.92, bottom=0.12)
        ax = fig.add_subplot()
    ax.grid(True, alpha=0.3)
    hits = report.exposures["exposure_id"].nunique() if len(report.exposures) else 0
    ax.set_title(
        f"{report.description}: {len(report.intervals)} interval(s), {report.total_s:,.1f} s, "
        f"{hits} exposure(s)",
        fontsize=9,
    )
    samples = report.samples
    if samples.empty:
        ax.text(
            0.5, 0.5, "no samples in the range", ha="center", va="center", transform=ax.transAxes
        )
    times = samples["time_tai_ns"].to_numpy(dtype=np.int64)
    values = samples["value"].to_numpy(dtype=np.float64)
    angular = isinstance(report.condition, AngularRange)
    if angular:
        values = np.mod(values, 360.0)
    times, values = decimate(times, values, MAX_POINTS)
    x = _dates(times)
    breaks = np.zeros(max(len(x) - 1, 0), dtype=np.bool_)
    if report.max_gap_s is not None and len(times) > 1:
        breaks |= np.diff(times) > report.max_gap_s * NS_PER_S
    if angular and len(values) > 1:
        breaks |= np.abs(np.diff(values)) > 180.0
    bx, by = _broken(x, values, breaks)
    ax.plot(bx, by, color=VALUE_COLOR, lw=0.9)
    label = _condition(ax, report)
    iv = report.intervals
    begin = _dates(iv["begin_tai_ns"].to_numpy(dtype=np.int64))
    end = _dates(iv["end_tai_ns"].to_numpy(dtype=np.int64))
    _spans(ax, begin, end, (0.0, 1.0), facecolor=HOLDS_COLOR, alpha=0.3, lw=0)
    instants = begin[end == begin]
    if len(instants):
        ax.vlines(instants, 0, 1, transform=ax.get_xaxis_transform(), color=HOLDS_COLOR, lw=0.8)
    reg = report.range_exposures
    known = reg["timespan_begin_tai_ns"].notna() & reg["timespan_end_tai_ns"].notna()
    reg = reg[known.to_numpy(dtype=bool)]
    hit = reg["exposure_id"].isin(report.exposures["exposure_id"]).to_numpy(dtype=bool)
    eb = _dates(reg["timespan_begin_tai_ns"].to_numpy(dtype=np.int64))
    ee = _dates(reg["timespan_end_tai_ns"].to_numpy(dtype=np.int64))
    for mask, color in ((~hit, OTHER_COLOR), (hit, HIT_COLOR)):
        _spans(ax, eb[mask], ee[mask], STRIP, facecolor=color, edgecolor=color, lw=0.6)
    ax.set_xlim(*_dates(_shown_span(report)))
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_xlabel("UTC")
    units = f" ({report.units})" if report.units else ""
    ax.set_ylabel(f"{report.field}{units}")
    ax.legend(
        handles=[
            Patch(color=HOLDS_COLOR, alpha=0.3, label=f"condition holds ({label})"),
            Patch(color=HIT_COLOR, label="exposures overlapping"),
            Patch(color=OTHER_COLOR, label="other exposures"),
        ],
        loc="upper right",
        fontsize=8,
    )
    return _png(fig)
