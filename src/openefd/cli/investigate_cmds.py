"""``openefd correlate`` and ``excursions``: two of the DMTN-082 investigations.

``correlate`` summarises the exposures of a night or a time range
(:mod:`openefd.analysis.summaries`) and ranks every pair of summary columns
by the strength of their correlation
(:mod:`openefd.analysis.investigations.correlations`); ``excursions TOPIC
CONDITION`` lists the intervals where a condition on one field holds and the
exposures overlapping them (:mod:`openefd.analysis.investigations.excursions`).
Both print tables; with ``--out-dir`` they also write CSV files and a PNG plot.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich import box
from rich.table import Table

from openefd.analysis.investigations.correlations import (
    DEFAULT_MIN_PAIRS,
    CorrelationReport,
    correlate_store,
)
from openefd.analysis.investigations.excursions import ExcursionReport, excursions_where
from openefd.analysis.summaries_config import load_config
from openefd.cli.common import StoreOption, console, guarded, settings_for
from openefd.errors import ConfigurationError
from openefd.store.duckdb_store import Store

__all__ = ["correlate", "excursions"]


class CorrelationMethod(StrEnum):
    PEARSON = "pearson"
    SPEARMAN = "spearman"


class Resolution(StrEnum):
    RAW = "raw"
    SECOND = "1s"


DayObsOption = Annotated[
    str | None, typer.Option("--day-obs", help="Observing day, YYYYMMDD or YYYY-MM-DD.")
]
BeginOption = Annotated[str | None, typer.Option(help="Start of the range (ISO 8601 UTC).")]
EndOption = Annotated[str | None, typer.Option(help="End of the range, excluded (ISO 8601 UTC).")]
InstrumentOption = Annotated[str | None, typer.Option(help="Only this instrument's exposures.")]
OutDirOption = Annotated[
    Path | None,
    typer.Option("--out-dir", help="Also write CSV files and a PNG plot into this folder."),
]


def _open(store: Path | None) -> Store:
    settings = settings_for(store)
    return Store(settings.store, settings=settings, read_only=True)


def _range_given(day_obs: str | None, begin: str | None, end: str | None) -> None:
    if day_obs is None and (begin is None or end is None):
        raise ConfigurationError("give --day-obs, or both --begin and --end")
    if day_obs is not None and (begin is not None or end is not None):
        raise ConfigurationError("give --day-obs or --begin/--end, not both")


def _number(value: float, digits: int = 7) -> str:
    return "—" if not math.isfinite(value) else f"{value:.{digits}g}"


@guarded
def correlate(
    store: StoreOption = None,
    day_obs: DayObsOption = None,
    begin: BeginOption = None,
    end: EndOption = None,
    config: Annotated[
        Path | None, typer.Option(help="Summaries configuration (default: the shipped one).")
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="Show the strongest N pairs.")] = 20,
    method: Annotated[
        CorrelationMethod, typer.Option(help="pearson (linear) or spearman (ranks).")
    ] = CorrelationMethod.PEARSON,
    min_pairs: Annotated[
        int,
        typer.Option(min=3, help="Rank only pairs with at least this many exposures in common."),
    ] = DEFAULT_MIN_PAIRS,
    include_same_field: Annotated[
        bool,
        typer.Option(
            "--include-same-field",
            help="Also rank pairs of two summaries of one field (start vs end of the same angle).",
        ),
    ] = False,
    plot_top: Annotated[
        int, typer.Option(min=1, max=36, help="Scatter plots of the strongest N pairs (PNG).")
    ] = 9,
    instrument: InstrumentOption = None,
    out_dir: OutDirOption = None,
) -> None:
    """Rank every per-exposure summary column against every other by correlation."""
    _range_given(day_obs, begin, end)
    cfg = load_config(config)
    with _open(store) as st:
        report = correlate_store(
            st,
            cfg,
            day_obs=day_obs,
            begin=begin,
            end=end,
            instrument=instrument,
            method=method.value,
            min_pairs=min_pairs,
            exclude_same_field=not include_same_field,
        )
    _print_pairs(report, top)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        report.pairs.to_csv(out_dir / "correlations.csv", index=False)
        report.dropped.to_csv(out_dir / "correlations_dropped.csv", index=False)
        (out_dir / "correlations.png").write_bytes(report.png(plot_top))
        console.print(
            f"wrote {out_dir / 'correlations.csv'}, correlations_dropped.csv, correlations.png",
            highlight=False,
        )


def _print_pairs(report: CorrelationReport, top: int) -> None:
    values = report.values
    table = Table(
        title=f"strongest correlations ({report.method}) of {values.shape[1]} columns over "
        f"{len(values)} exposures",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for col, justify in (("#", "right"), ("x", "left"), ("y", "left"), ("r", "right")):
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    table.add_column("n", justify="right", no_wrap=True)
    table.add_column("p", justify="right", no_wrap=True)
    for row in report.pairs.head(top).itertuples(index=False):
        table.add_row(
            str(row.rank),
            str(row.x),
            str(row.y),
            f"{row.r:+.4f}",
            str(row.n),
            f"{row.p_value:.1e}",
        )
    console.print(table)
    if report.pairs.empty:
        console.print(
            f"no pair of columns has {report.min_pairs} exposures with values in common",
            highlight=False,
        )
    console.print(
        f"{len(report.pairs):,} pairs ranked (at least {report.min_pairs} exposures each)",
        highlight=False,
    )
    if len(report.dropped):
        reasons = report.dropped.groupby("reason", sort=True)["column"].apply(list)
        parts = []
        for reason, cols in reasons.items():
            shown = ", ".join(cols[:6]) + (f", … ({len(cols)})" if len(cols) > 6 else "")
            parts.append(f"{reason}: {shown}")
        console.print("left out — " + "; ".join(parts), highlight=False)


def _utc_text(stamps: pd.Series) -> list[str]:
    """UTC times to the second, as the tables show them."""
    return [str(t) for t in pd.DatetimeIndex(stamps).strftime("%Y-%m-%d %H:%M:%S")]


_BEGIN_NOTES = {
    "first_sample": "begins at the first sample read (it may have begun earlier)",
    "after_gap": "begins after a gap in the data",
}
_END_NOTES = {
    "last_sample": "ends at the last sample read (it may hold on after it)",
    "gap": "ends at the last sample before a gap in the data",
}


def _notes(intervals: pd.DataFrame) -> list[str]:
    """Why intervals begin or end other than by the condition changing."""
    notes = []
    for number, b, e in zip(
        intervals["interval"], intervals["begin_reason"], intervals["end_reason"], strict=True
    ):
        said = [n for n in (_BEGIN_NOTES.get(b), _END_NOTES.get(e)) if n]
        if said:
            notes.append(f"interval {number} " + " and ".join(said))
    return notes


@guarded
def excursions(
    topic: Annotated[str, typer.Argument(help="Topic, e.g. lsst.sal.ESS.temperature")],
    condition: Annotated[
        str,
        typer.Argument(
            help="FIELD OP LIMIT or FIELD within CENTER±HALF, e.g. 'temperatureItem[3] > 12', "
            "'positionActual within 90±45', 'positionActual within 350..10' (degrees)."
        ),
    ],
    store: StoreOption = None,
    day_obs: DayObsOption = None,
    begin: BeginOption = None,
    end: EndOption = None,
    sal_index: Annotated[
        int | None, typer.Option("--sal-index", help="Only rows with this salIndex.")
    ] = None,
    min_duration: Annotated[
        float, typer.Option(min=0.0, help="Leave out intervals shorter than this (seconds).")
    ] = 0.0,
    max_gap: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Samples further apart than this (seconds) break an interval "
            "(default: 10 × the median sample spacing, at least 1 s).",
            show_default=False,
        ),
    ] = None,
    resolution: Annotated[
        Resolution, typer.Option(help="raw samples, or 1s means (faster; not for angles).")
    ] = Resolution.RAW,
    instrument: InstrumentOption = None,
    out_dir: OutDirOption = None,
) -> None:
    """Intervals where a condition on a field holds, and the exposures overlapping them."""
    _range_given(day_obs, begin, end)
    with _open(store) as st:
        report = excursions_where(
            st,
            topic,
            condition,
            begin,
            end,
            day_obs=day_obs,
            sal_index=sal_index,
            min_duration_s=min_duration,
            max_gap_s=max_gap,
            resolution=resolution.value,
            instrument=instrument,
        )
    _print_excursions(report)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        report.intervals.to_csv(out_dir / "intervals.csv", index=False)
        report.exposures.to_csv(out_dir / "exposures.csv", index=False)
        (out_dir / "excursions.png").write_bytes(report.png())
        console.print(
            f"wrote {out_dir / 'intervals.csv'}, exposures.csv, excursions.png", highlight=False
        )


def _print_excursions(report: ExcursionReport) -> None:
    iv = report.intervals
    table = Table(title=f"where {report.description}", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("#", "begin (UTC)", "end (UTC)", "seconds", "min", "max"):
        left = col in ("begin (UTC)", "end (UTC)")
        table.add_column(col, justify="left" if left else "right", no_wrap=True)
    begin, end = _utc_text(iv["begin_utc"]), _utc_text(iv["end_utc"])
    for k in range(len(iv)):
        table.add_row(
            str(iv["interval"].iloc[k]),
            begin[k],
            end[k],
            f"{float(iv['duration_s'].iloc[k]):,.1f}",
            _number(float(iv["value_min"].iloc[k])),
            _number(float(iv["value_max"].iloc[k])),
        )
    console.print(table)
    gap = "none" if report.max_gap_s is None else f"{report.max_gap_s:.3g} s"
    console.print(
        f"{len(iv):,} interval(s), {report.total_s:,.1f} s in all, from "
        f"{len(report.samples):,} samples ({report.resolution}; a gap over {gap} "
        "breaks an interval)",
        highlight=False,
    )
    for note in _notes(iv):
        console.print(note, highlight=False)
    ex = report.exposures
    if ex.empty:
        console.print("no exposure overlaps them", highlight=False)
        return
    table = Table(title="exposures overlapping them", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("#", "exposure_id", "type", "begin (UTC)", "overlap s", "of exposure"):
        right = col in ("#", "overlap s", "of exposure")
        table.add_column(col, justify="right" if right else "left", no_wrap=True)
    start = _utc_text(ex["timespan_begin_utc"])
    for k in range(len(ex)):
        table.add_row(
            str(ex["interval"].iloc[k]),
            str(ex["exposure_id"].iloc[k]),
            str(ex["observation_type"].iloc[k]),
            start[k],
            f"{float(ex['overlap_s'].iloc[k]):,.2f}",
            f"{100 * float(ex['overlap_fraction'].iloc[k]):.0f} %",
        )
    console.print(table)
    ids = np.unique(ex["exposure_id"].to_numpy(dtype=np.int64))
    console.print(f"{len(ids):,} exposure(s) overlap the intervals", highlight=False)
