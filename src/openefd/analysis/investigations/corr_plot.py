"""The correlation plot, as PNG bytes (matplotlib, Agg, no global pyplot state).

A grid of scatter plots, three to a row, of the strongest pairs of a
:class:`~openefd.analysis.investigations.correlations.CorrelationReport`, in
rank order: each draws the exposures where both columns have a value, titled
with the rank, ``r`` and ``n``. No ranked pair gives a figure that says so.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from openefd.errors import QueryError

if TYPE_CHECKING:
    from openefd.analysis.investigations.correlations import CorrelationReport

__all__ = ["pairs_png"]

DPI = 96
PANEL = (3.3, 2.9)
PER_ROW = 3
MAX_PANELS = 36
POINT_COLOR = "tab:blue"


def _label(name: str, units: str | None = None) -> str:
    text = name if len(name) <= 38 else name[:36] + "…"
    return f"{text} ({units})" if units else text


def pairs_png(report: CorrelationReport, top: int = 9) -> bytes:
    """Scatter plots of the ``top`` strongest pairs (at most :data:`MAX_PANELS`)."""
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_PANELS:
        raise QueryError(f"top must be an integer from 1 to {MAX_PANELS}, got {top!r}")
    pairs = report.pairs.head(top)
    panels = max(len(pairs), 1)
    cols = min(PER_ROW, panels)
    rows = math.ceil(panels / cols)
    with mpl.rc_context({"font.size": 8}):
        fig = Figure(figsize=(PANEL[0] * cols, PANEL[1] * rows), dpi=DPI)
        FigureCanvasAgg(fig)
        height = PANEL[1] * rows  # margins in inches: room for the title and the x labels
        fig.subplots_adjust(
            left=0.1 if cols > 1 else 0.2, right=0.97, top=1 - 0.55 / height,
            bottom=0.5 / height, wspace=0.38, hspace=0.55,
        )  # fmt: skip
        fig.suptitle(
            f"Strongest correlations ({report.method}, ≥ {report.min_pairs} exposures per pair)",
            fontsize=10,
        )
        if pairs.empty:
            ax = fig.add_subplot()
            ax.text(0.5, 0.5, "no pair to rank", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
        for k, row in enumerate(pairs.itertuples(index=False)):
            ax = fig.add_subplot(rows, cols, k + 1)
            x = report.values[row.x].to_numpy(dtype=np.float64)
            y = report.values[row.y].to_numpy(dtype=np.float64)
            both = np.isfinite(x) & np.isfinite(y)
            ax.plot(x[both], y[both], ".", ms=3, color=POINT_COLOR)
            ax.set_title(f"#{row.rank}  r = {row.r:+.3f}  n = {row.n}", fontsize=8)
            ax.set_xlabel(_label(str(row.x)))
            ax.set_ylabel(_label(str(row.y)))
            ax.grid(True, alpha=0.3)
            ax.ticklabel_format(useOffset=False, axis="both")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()
