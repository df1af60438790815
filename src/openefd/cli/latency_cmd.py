"""``openefd latency``, ``exposures``, ``arrivals`` and ``load-exposures``: the exposure registry.

``latency DAY_OBS`` prints the night's summary table and counts, and writes
the HTML report, JSON and CSV files (:mod:`openefd.analysis.latency_report`);
``exposures`` lists nights or one night's exposures; ``arrivals`` lists
image deliveries; ``load-exposures`` loads Parquet files of exposures and
arrivals (``openefd simulate --out`` writes them) into the registry.
"""

from __future__ import annotations

import math
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich import box
from rich.table import Table

from openefd.analysis.latency import (
    LatencyReport,
    night_latency,
)
from openefd.cli.common import StoreOption, console, guarded, open_for_writing, settings_for
from openefd.errors import ConfigurationError
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures as stored_exposures
from openefd.store.exposures import image_arrivals, observing_days, parse_day_obs
from openefd.timescales import tai_to_utc_ns

__all__ = ["arrivals", "exposures", "latency", "load_exposures"]


class ListFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    PARQUET = "parquet"
    JSON = "json"


DayObsArgument = Annotated[str, typer.Argument(help="Observing day, YYYYMMDD or YYYY-MM-DD.")]
InstrumentOption = Annotated[
    str | None,
    typer.Option(help="Instrument (e.g. LSSTCam); needed only when the night holds several."),
]
FormatOption = Annotated[
    ListFormat,
    typer.Option("--format", help="table (terminal), csv, json (stdout or --output), parquet."),
]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")]


def _open(store: Path | None) -> Store:
    settings = settings_for(store)
    return Store(settings.store, settings=settings, read_only=True)


@guarded
def latency(
    day_obs: DayObsArgument,
    store: StoreOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for the HTML report, JSON and CSV (default: ./latency-DAY_OBS).",
            show_default=False,
        ),
    ] = None,
    no_files: Annotated[
        bool, typer.Option("--no-files", help="Print the summary only; write no files.")
    ] = False,
    instrument: InstrumentOption = None,
    transfer_target: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="Transfer target, seconds after shutter close (default: setting "
            "latency_transfer_target_s, 7).",
            show_default=False,
        ),
    ] = None,
    cadence_target: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="Nominal time between exposures, seconds (default: setting "
            "latency_cadence_target_s, 34).",
            show_default=False,
        ),
    ] = None,
    cap: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="Plots draw longer latencies at this cap, seconds (default: setting "
            "latency_cap_s, 300).",
            show_default=False,
        ),
    ] = None,
    slow_margin: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="A detector is slow when its median lateness exceeds this, seconds "
            "(default: setting latency_slow_detector_margin_s, 5).",
            show_default=False,
        ),
    ] = None,
    science_only: Annotated[
        bool, typer.Option("--science-only", help="Only exposures of type science.")
    ] = False,
    exposure: Annotated[
        list[int] | None,
        typer.Option("--exposure", "-e", help="Only this exposure id; repeat for several."),
    ] = None,
    detector: Annotated[
        list[str] | None,
        typer.Option(
            "--detector", "-d", help="Only this detector (R22_S11 or an id); repeat for several."
        ),
    ] = None,
) -> None:
    """Image latency of one night: shutter close → S3 → butler ingest, with a report."""
    day = parse_day_obs(day_obs)
    t0 = time.perf_counter()
    with _open(store) as st:
        conf = st.settings
        report = night_latency(
            st,
            day,
            instrument=instrument,
            transfer_target_s=conf.latency_transfer_target_s
            if transfer_target is None
            else transfer_target,
            cadence_target_s=conf.latency_cadence_target_s
            if cadence_target is None
            else cadence_target,
            cap_s=conf.latency_cap_s if cap is None else cap,
            science_only=science_only,
            exposure_ids=exposure,
            detectors=detector,
            slow_detector_margin_s=conf.latency_slow_detector_margin_s
            if slow_margin is None
            else slow_margin,
        )
    _print_summary(report)
    if not no_files:
        from openefd.analysis.latency_report import write_report

        files = write_report(report, out if out is not None else Path(f"latency-{day}"))
        console.print(f"report: {files.html}", highlight=False)
        console.print(
            f"data:   {files.json}, {files.images_csv.name}, {files.exposures_csv.name}, "
            f"{files.summary_csv.name}",
            highlight=False,
        )
    console.print(f"({time.perf_counter() - t0:.1f} s)", style="dim")


def _seconds(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:,.2f}"


def _fraction(value: float) -> str:
    return "—" if math.isnan(value) else f"{100 * value:.1f} %"


_NARROW_STATS = ["median", "p90", "max"]


def _print_summary(report: LatencyReport) -> None:
    opts = report.options
    table = Table(
        title=f"image latency, {report.instrument or 'no instrument'} day_obs {report.day_obs} "
        "(seconds)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    # A terminal under 104 columns gets the table without mean, std and p99 (in the report).
    wide = console.width >= 104
    stat_names = ["median", "mean", "std", "p90", "p99", "max"] if wide else _NARROW_STATS
    columns = ["metric", "n", *stat_names]
    columns += [f"≤ {opts.transfer_target_s:g} s", f"≤ {opts.cadence_target_s:g} s"]
    for col in columns:  # numbers never wrap
        if col == "metric":
            table.add_column(col, min_width=10, overflow="fold")
        else:
            table.add_column(col, justify="right", no_wrap=True)
    for metric, row in report.summary.iterrows():
        stats = [row.get(k, math.nan) for k in stat_names]
        table.add_row(
            str(metric),
            f"{int(row['count']):,}",
            *(_seconds(float(v)) for v in stats),
            _fraction(float(row["within_transfer_target"])),
            _fraction(float(row["within_cadence_target"])),
        )
    console.print(table)
    counts = report.counts
    if not counts["exposures"] and not counts["images_without_exposure"]:
        console.print(
            f"the exposure registry holds nothing for day_obs {report.day_obs} "
            "('openefd exposures' lists the nights it holds)",
            highlight=False,
        )
    console.print(
        f"{counts['exposures']:,} exposures ({counts['exposures_without_images']:,} without "
        f"images), {counts['images']:,} images of {counts['images_expected']:,} expected "
        f"({counts['missing_images']:,} missing), {counts['resends']:,} re-sends, "
        f"{counts['images_without_exposure']:,} images without an exposure record",
        highlight=False,
    )
    left_out = {
        k: v
        for k, v in counts.items()
        if v
        and k
        in (
            "exposures_without_shutter_close",
            "images_without_s3_arrival",
            "images_without_ingest",
            "s3_arrival_before_shutter_close",
            "s3_arrival_after_ingest",
            "ingest_before_shutter_close",
            "requested_exposures_not_found",
            "requested_detectors_not_found",
        )
    }
    if left_out:
        console.print(
            "left out of the statistics: " + ", ".join(f"{k} {v:,}" for k, v in left_out.items()),
            highlight=False,
        )
    slow = report.slow_detectors
    console.print(
        "systematically slow detectors: " + (", ".join(slow) if slow else "none"),
        highlight=False,
    )


def _emit(frame: pd.DataFrame, output_format: ListFormat, output: Path | None) -> None:
    if output_format is ListFormat.PARQUET:
        if output is None:
            raise ConfigurationError("--format parquet needs --output FILE")
        frame.to_parquet(output, index=False)
    elif output_format is ListFormat.CSV:
        frame.to_csv(output if output is not None else sys.stdout, index=False)
    elif output_format is ListFormat.JSON:
        text = frame.to_json(orient="records", indent=1)
        if output is not None:
            output.write_text(text or "")
        else:
            print(text)
    elif output is not None:
        output.write_text(frame.to_string(index=False))
    else:
        with pd.option_context("display.max_rows", 60, "display.width", console.width):
            console.print(frame.to_string(index=False, max_rows=60), highlight=False, markup=False)
        console.print(f"{len(frame):,} rows", style="dim")


_EXPOSURE_BRIEF = [
    "exposure_id",
    "obs_id",
    "observation_type",
    "physical_filter",
    "exposure_time_s",
    "timespan_begin_tai_ns",
    "timespan_end_tai_ns",
]
_ARRIVAL_BRIEF = [
    "exposure_id",
    "detector",
    "detector_name",
    "delivery",
    "size_bytes",
    "s3_arrival_tai_ns",
    "notification_tai_ns",
    "ingest_tai_ns",
]


def _brief(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The terminal view: the main columns, TAI ns times shown as UTC (to the millisecond)."""
    view = frame[columns].copy()
    for col in columns:
        if col.endswith("_tai_ns"):
            ns, known = view[col].to_numpy(dtype="int64", na_value=0), view[col].notna()
            utc = pd.Series(tai_to_utc_ns(ns), index=view.index).astype("datetime64[ns]")
            text = utc.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3]
            view[col] = text.where(known.to_numpy(), "")
            view = view.rename(columns={col: col.removesuffix("_tai_ns") + "_utc"})
    return view


@guarded
def exposures(
    store: StoreOption = None,
    day_obs: Annotated[
        str | None,
        typer.Option(help="Observing day (YYYYMMDD); without it and --begin/--end: the nights."),
    ] = None,
    begin: Annotated[
        str | None, typer.Option(help="Exposures open after this time (ISO 8601 UTC).")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Exposures opened before this time (ISO 8601 UTC).")
    ] = None,
    instrument: InstrumentOption = None,
    observation_type: Annotated[
        list[str] | None,
        typer.Option("--type", help="Only this observation type (science, bias…); repeatable."),
    ] = None,
    all_columns: Annotated[
        bool, typer.Option("--all-columns", help="Every registry column, not a brief view.")
    ] = False,
    output_format: FormatOption = ListFormat.TABLE,
    output: OutputOption = None,
) -> None:
    """List the nights in the exposure registry, or the exposures of a night or time range.

    The table view shows times in UTC; csv, json and parquet give every column, TAI ns.
    """
    with _open(store) as st:
        if day_obs is None and begin is None and end is None:
            frame = observing_days(st)
            if instrument is not None:
                frame = frame[frame["instrument"] == instrument]
        else:
            frame = stored_exposures(
                st,
                instrument=instrument,
                day_obs=day_obs,
                begin=begin,
                end=end,
                observation_types=observation_type,
            )
            if not all_columns and output_format is ListFormat.TABLE:
                frame = _brief(frame, _EXPOSURE_BRIEF)
    _emit(frame, output_format, output)


@guarded
def arrivals(
    day_obs: DayObsArgument,
    store: StoreOption = None,
    instrument: InstrumentOption = None,
    exposure: Annotated[
        list[int] | None,
        typer.Option("--exposure", "-e", help="Only this exposure id; repeat for several."),
    ] = None,
    detector: Annotated[
        list[str] | None,
        typer.Option("--detector", "-d", help="Only this detector (R22_S11 or an id)."),
    ] = None,
    first_only: Annotated[bool, typer.Option("--first-only", help="Leave re-sends out.")] = False,
    all_columns: Annotated[
        bool, typer.Option("--all-columns", help="Every registry column, not a brief view.")
    ] = False,
    output_format: FormatOption = ListFormat.TABLE,
    output: OutputOption = None,
) -> None:
    """List a night's image deliveries: S3 arrival, notification and ingest times.

    The table view shows times in UTC; csv, json and parquet give TAI ns.
    """
    detectors = None
    if detector is not None:
        detectors = [int(d) if d.isdigit() else d for d in detector]
    with _open(store) as st:
        frame = image_arrivals(
            st,
            instrument=instrument,
            day_obs=day_obs,
            exposure_ids=exposure,
            detectors=detectors,
            first_delivery_only=first_only,
        )
    if not all_columns and output_format is ListFormat.TABLE:
        frame = _brief(frame, _ARRIVAL_BRIEF)
    _emit(frame, output_format, output)


@guarded
def load_exposures(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="exposures.parquet / arrivals.parquet files, or folders holding them "
            "(or an images/ sub-folder with them)."
        ),
    ],
    store: StoreOption = None,
    instrument: Annotated[
        str | None, typer.Option(help="Instrument of rows that have no instrument column.")
    ] = None,
) -> None:
    """Load exposures and image arrivals into the exposure registry (idempotent)."""
    from openefd.ingest.exposure_loader import load_exposure_files

    settings = settings_for(store)
    with open_for_writing(settings) as st:
        result = load_exposure_files(st, paths, instrument=instrument)
    for name, counts in (("exposures", result.exposures), ("image arrivals", result.arrivals)):
        console.print(
            f"{name}: {counts.new:,} new, {counts.changed:,} changed, "
            f"{counts.unchanged:,} unchanged",
            highlight=False,
        )
