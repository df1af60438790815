"""``openefd topics``, ``fields``, ``schema``, ``get`` and ``asof``: reading a store."""

from __future__ import annotations

import contextlib
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from openefd.cli.common import StoreOption, console, guarded, settings_for
from openefd.client import EfdClientSync
from openefd.errors import ConfigurationError

__all__ = ["asof", "fields", "get", "schema", "topics"]


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    PARQUET = "parquet"


TopicArgument = Annotated[str, typer.Argument(help="Topic, e.g. lsst.sal.MTMount.azimuth")]
FieldsArgument = Annotated[
    list[str],
    typer.Argument(metavar="FIELDS", help="Fields (comma- or space-separated, '*' for all)."),
]
IndexOption = Annotated[int | None, typer.Option(help="Only rows with this salIndex.")]
FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format", help="table (terminal), csv (stdout or --output) or parquet (--output)."
    ),
]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")]


def _client(store: Path | None) -> EfdClientSync:
    settings = settings_for(store)
    return EfdClientSync(settings.store, settings=settings, read_only=True)


@guarded
def topics(
    store: StoreOption = None,
    match: Annotated[str | None, typer.Option(help="Only topics containing this text.")] = None,
) -> None:
    """List the store's topics, one per line."""
    with _client(store) as client:
        for name in client.get_topics():
            if match is None or match in name:
                print(name)


@guarded
def fields(
    topic: TopicArgument,
    store: StoreOption = None,
) -> None:
    """List a topic's fields as the EFD names them (arrays flattened)."""
    with _client(store) as client:
        for name in client.get_fields(topic):
            print(name)


@guarded
def schema(
    topic: TopicArgument,
    store: StoreOption = None,
) -> None:
    """Show a topic's fields with units, array flag and description."""
    with _client(store) as client:
        frame = client.get_schema(topic)
    table = Table(title=topic)
    for col in ("name", "units", "is_array", "description"):
        table.add_column(col)
    for row in frame.itertuples():
        table.add_row(
            str(row.name),
            str(row.units or ""),
            "yes" if row.is_array else "",
            str(row.description or ""),
        )
    console.print(table)


@guarded
def get(
    topic: TopicArgument,
    field_names: FieldsArgument,
    start: Annotated[str, typer.Option(help="Start, ISO 8601 UTC (e.g. 2024-05-01T03:00:00).")],
    end: Annotated[str, typer.Option(help="End, ISO 8601 UTC; included, as the EFD client does.")],
    store: StoreOption = None,
    index: IndexOption = None,
    output_format: FormatOption = OutputFormat.TABLE,
    output: OutputOption = None,
    tai: Annotated[bool, typer.Option("--tai", help="Index in TAI instead of UTC.")] = False,
    resolution: Annotated[
        str | None,
        typer.Option(
            help="'1s': read the 1-second aggregates (telemetry statistics, events with "
            "repeats) instead of raw rows."
        ),
    ] = None,
    stat: Annotated[
        list[str] | None,
        typer.Option(
            help="With --resolution: statistic(s) to show: mean (default), min, max, median, "
            "std, count; repeat the option for several."
        ),
    ] = None,
    downsample: Annotated[
        str | None,
        typer.Option(
            help="Downsampling operator such as mean_10, lastFill_60, nth_5 "
            "(docs/reference/operators.md)."
        ),
    ] = None,
    fill: Annotated[
        str,
        typer.Option(
            help="With --downsample: empty bins: none, null, previous, linear, or a number."
        ),
    ] = "none",
) -> None:
    """Rows of a topic in a time range (both ends included), raw, aggregated or downsampled."""
    names = [n for part in field_names for n in part.split(",") if n]
    stats: str | list[str] = "mean" if not stat else (stat[0] if len(stat) == 1 else stat)
    fill_value: str | float = fill
    with contextlib.suppress(ValueError):  # fill(<number>) as InfluxQL has it
        fill_value = float(fill)
    with _client(store) as client:
        frame = client.select_time_series(
            topic,
            names,
            start,
            end,
            index=index,
            time_scale="tai" if tai else "utc",
            resolution=resolution,
            stats=stats,
            downsample=downsample,
            fill=fill_value,
        )
    _emit(frame, "time_tai" if tai else "time", output_format, output)


@guarded
def asof(
    topic: TopicArgument,
    field_names: FieldsArgument,
    at: Annotated[
        list[str],
        typer.Option("--at", help="Time (ISO 8601 UTC); repeat for several, one query for all."),
    ],
    max_age: Annotated[
        float | None,
        typer.Option(help="Ignore values older than this many seconds before each time."),
    ] = None,
    store: StoreOption = None,
    index: IndexOption = None,
    output_format: FormatOption = OutputFormat.TABLE,
    output: OutputOption = None,
) -> None:
    """Values of fields as of given times: the newest row at or before each."""
    import datetime as dt

    names = [n for part in field_names for n in part.split(",") if n]
    age = dt.timedelta(seconds=max_age) if max_age is not None else None
    with _client(store) as client:
        times: str | list[str] = at[0] if len(at) == 1 else at
        frame = client.select_asof(topic, names, times, max_age=age, index=index)
    _emit(frame, "time", output_format, output)


def _emit(
    frame: pd.DataFrame, index_name: str, output_format: OutputFormat, output: Path | None
) -> None:
    frame.index.name = index_name
    if output_format is OutputFormat.PARQUET:
        if output is None:
            raise ConfigurationError("--format parquet needs --output FILE")
        frame.to_parquet(output)
    elif output_format is OutputFormat.CSV:
        frame.to_csv(output if output is not None else sys.stdout)
    else:
        _print_table(frame, output)


def _print_table(frame: pd.DataFrame, output: Path | None) -> None:
    if output is not None:
        output.write_text(frame.to_string())
        return
    with pd.option_context("display.max_rows", 40, "display.width", console.width):
        console.print(frame.to_string(max_rows=40), highlight=False, markup=False)
    console.print(f"{len(frame)} rows", style="dim")
