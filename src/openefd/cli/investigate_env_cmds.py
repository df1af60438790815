"""``openefd wind`` and ``openefd seeing``: two of DMTN-082's investigations from the shell.

``wind --begin --end`` prints the wind statistics of a UTC window (and the
bins when there are few) and writes the plots (PNG) and tables (CSV)
(:mod:`openefd.analysis.investigations.wind`); ``seeing`` lists the
exposures of a night or time range with seeing above a threshold, with the
dome temperature at their start and end, and writes the ΔT-vs-seeing plot
and the table of every exposure
(:mod:`openefd.analysis.investigations.seeing`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich import box
from rich.table import Table

from openefd.analysis.investigations.seeing import (
    DEFAULT_SEEING_LOOKBACK_S,
    DEFAULT_THRESHOLD_ARCSEC,
    SeeingReport,
    bad_seeing_exposures,
)
from openefd.analysis.investigations.wind import (
    DEFAULT_SPEED_LIMIT_M_S,
    WEATHER_TOWER,
    WIND_TOPIC,
    WindReport,
    compass_point,
    wind_in_window,
)
from openefd.cli.common import StoreOption, console, guarded, settings_for
from openefd.store.duckdb_store import Store

__all__ = ["seeing", "wind"]

MAX_BINS_SHOWN = 30
MAX_EXPOSURES_SHOWN = 40

OutDirOption = Annotated[
    Path | None,
    typer.Option(
        "--out-dir",
        help="Folder for the PNG plots and CSV tables (default: a folder named after the "
        "command and the time range, in the working directory).",
        show_default=False,
    ),
]
NoFilesOption = Annotated[
    bool, typer.Option("--no-files", help="Print the summary only; write no files.")
]


def _open(store: Path | None) -> Store:
    settings = settings_for(store)
    return Store(settings.store, settings=settings, read_only=True)


def _num(value: float, fmt: str = ".2f") -> str:
    return "—" if not math.isfinite(value) else format(value, fmt)


def _files(paths: list[Path]) -> None:
    folder = paths[0].parent
    console.print(f"files in {folder}: " + ", ".join(p.name for p in paths), highlight=False)


@guarded
def wind(
    begin: Annotated[
        str, typer.Option(help="Start of the window: ISO 8601, UTC unless it has an offset.")
    ],
    end: Annotated[str, typer.Option(help="End of the window (excluded), ISO 8601 UTC.")],
    store: StoreOption = None,
    sal_index: Annotated[
        int, typer.Option("--sal-index", help="ESS sensor (salIndex); 301 is the weather tower.")
    ] = WEATHER_TOWER,
    bin_s: Annotated[
        float, typer.Option("--bin", min=0.001, help="Width of the statistics bins, seconds.")
    ] = 60.0,
    topic: Annotated[str, typer.Option(help="Topic with speed, direction, maxSpeed.")] = (
        WIND_TOPIC
    ),
    speed_limit: Annotated[
        float, typer.Option("--speed-limit", min=0.0, help="Report the time above this, m/s.")
    ] = DEFAULT_SPEED_LIMIT_M_S,
    out_dir: OutDirOption = None,
    no_files: NoFilesOption = False,
) -> None:
    """Wind speed and direction in a UTC window: statistics, bins, plots (DMTN-082)."""
    with _open(store) as st:
        report = wind_in_window(
            st, begin, end, sal_index=sal_index, topic=topic, bin_s=bin_s,
            speed_limit_m_s=speed_limit,
        )  # fmt: skip
    if report.empty:
        console.print(report.message, highlight=False)
        return
    _print_wind(report)
    if not no_files:
        folder = out_dir or Path(f"wind-{report.begin_utc:%Y%m%dT%H%M%S}")
        _files(report.write(folder))


def _print_wind(report: WindReport) -> None:
    s = report.stats
    console.print(report.message, highlight=False)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("statistic")
    table.add_column("value", justify="right", no_wrap=True)
    gust_at = f" at {s.gust_time_utc:%H:%M:%S} UTC" if s.gust_time_utc is not None else ""
    rows = [
        ("mean speed", f"{_num(s.speed_mean_m_s)} m/s"),
        ("speed standard deviation", f"{_num(s.speed_std_m_s)} m/s"),
        ("max speed", f"{_num(s.speed_max_m_s)} m/s"),
        (f"max gust ({report.gust_field or 'speed'})", f"{_num(s.gust_max_m_s)} m/s{gust_at}"),
        ("mean direction (circular)", f"{_num(s.direction_mean_deg, '.1f')}° ({s.prevailing})"),
        ("direction spread (circular std)", f"{_num(s.direction_spread_deg, '.1f')}°"),
        (
            f"time above {s.speed_limit_m_s:g} m/s",
            f"{_num(100 * s.fraction_above_limit, '.1f')} %",
        ),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    bins = report.bins
    if len(bins) > MAX_BINS_SHOWN:
        console.print(f"{len(bins):,} bins of {report.bin_s:g} s (wind_bins.csv)", highlight=False)
        return
    per_bin = Table(
        title=f"per {report.bin_s:g} s", box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left"
    )
    for col in ("start (UTC)", "n", "mean m/s", "std", "max", "gust", "dir °", "", "spread °"):
        per_bin.add_column(col, justify="left" if col in ("start (UTC)", "") else "right")
    for row in bins.to_dict("records"):
        per_bin.add_row(
            f"{row['bin_start_utc']:%H:%M:%S}",
            f"{row['samples']:,}",
            _num(row["speed_mean_m_s"]),
            _num(row["speed_std_m_s"]),
            _num(row["speed_max_m_s"]),
            _num(row["gust_max_m_s"]),
            _num(row["direction_mean_deg"], ".0f"),
            compass_point(row["direction_mean_deg"]),
            _num(row["direction_spread_deg"], ".1f"),
        )
    console.print(per_bin)


@guarded
def seeing(
    store: StoreOption = None,
    day_obs: Annotated[
        str | None, typer.Option("--day-obs", help="Observing day, YYYYMMDD or YYYY-MM-DD.")
    ] = None,
    begin: Annotated[
        str | None, typer.Option(help="Exposures overlapping [begin, end): ISO 8601 UTC.")
    ] = None,
    end: Annotated[str | None, typer.Option(help="End of the range (ISO 8601 UTC).")] = None,
    threshold: Annotated[
        float, typer.Option(min=0.001, help="Seeing threshold, arcsec (DIMM FWHM).")
    ] = DEFAULT_THRESHOLD_ARCSEC,
    instrument: Annotated[str | None, typer.Option(help="Only this instrument.")] = None,
    observation_type: Annotated[
        list[str] | None,
        typer.Option("--type", help="Only this observation type (science…); repeatable."),
    ] = None,
    channel: Annotated[
        list[int] | None,
        typer.Option(
            "--channel",
            help="Dome temperature channel (temperatureItem index); repeatable. "
            "Default: the mean of every channel with data.",
        ),
    ] = None,
    seeing_lookback: Annotated[
        float,
        typer.Option(min=0.001, help="Use DIMM measurements up to this old, seconds."),
    ] = DEFAULT_SEEING_LOOKBACK_S,
    out_dir: OutDirOption = None,
    no_files: NoFilesOption = False,
) -> None:
    """Exposures with seeing above a threshold: dome temperature at start and end, ΔT plot."""
    with _open(store) as st:
        report = bad_seeing_exposures(
            st, day_obs=day_obs, begin=begin, end=end, instrument=instrument,
            observation_types=observation_type, threshold_arcsec=threshold,
            dome_channels=channel, seeing_lookback_s=seeing_lookback,
        )  # fmt: skip
    if report.empty:
        console.print(report.message, highlight=False)
        return
    _print_seeing(report)
    if not no_files:
        folder = out_dir or Path("seeing-" + _slug(report, day_obs, begin))
        paths = report.write(folder)
        console.print(f"ΔT-vs-seeing plot: {paths[0]}", highlight=False)
        console.print(f"every exposure:    {paths[1]}", highlight=False)


def _slug(report: SeeingReport, day_obs: str | None, begin: str | None) -> str:
    if day_obs is not None:
        return str(report.exposures["day_obs"].iloc[0])
    first = report.exposures["timespan_begin_utc"].dropna()
    return f"{first.iloc[0]:%Y%m%dT%H%M%S}" if len(first) else str(begin)


def _print_seeing(report: SeeingReport) -> None:
    selected = report.selected
    table = Table(
        title=f"exposures with seeing > {report.threshold_arcsec:g} arcsec; dome temperature "
        f"(°C, {report.channels_label})",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title_justify="left",
    )
    # A terminal under 110 columns gets no obs_id and type, and times of day only.
    wide = console.width >= 110
    names = ["exposure_id", "obs_id", "type"] if wide else ["exposure_id"]
    names += ["begin (UTC)", "end", "seeing ″", "T start", "T end", "ΔT"]
    for col in names:
        numeric = col.startswith(("seeing", "T ", "ΔT"))
        table.add_column(col, justify="right" if numeric else "left", no_wrap=True)
    for row in selected.head(MAX_EXPOSURES_SHOWN).to_dict("records"):
        cells = [str(row["exposure_id"])]
        if wide:
            cells += [str(row.get("obs_id", "")), str(row.get("observation_type", ""))]
        cells += [
            _time(row["timespan_begin_utc"], "%Y-%m-%dT%H:%M:%S" if wide else "%H:%M:%S"),
            _time(row["timespan_end_utc"], "%H:%M:%S"),
            _num(row["seeing_arcsec"], ".3f"),
            _num(row["dome_temperature_start_degC"], ".3f"),
            _num(row["dome_temperature_end_degC"], ".3f"),
            _num(row["delta_t_degC"], "+.3f"),
        ]
        table.add_row(*cells)
    if len(selected):
        console.print(table)
    if len(selected) > MAX_EXPOSURES_SHOWN:
        console.print(
            f"… the first {MAX_EXPOSURES_SHOWN} shown; all {len(selected):,} in "
            "seeing_exposures.csv (above_threshold)",
            highlight=False,
        )
    console.print(report.message, highlight=False)


def _time(value: pd.Timestamp, fmt: str) -> str:
    return "—" if pd.isna(value) else format(value, fmt)
