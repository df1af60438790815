"""``openefd topics``, ``fields``, ``schema`` and ``get``: reading a store."""

from __future__ import annotations

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

__all__ = ["fields", "get", "schema", "topics"]


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    PARQUET = "parquet"


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
    topic: Annotated[str, typer.Argument(help="Topic, e.g. lsst.sal.MTMount.azimuth")],
    store: StoreOption = None,
) -> None:
    """List a topic's fields as the EFD names them (arrays flattened)."""
    with _client(store) as client:
        for name in client.get_fields(topic):
            print(name)


@guarded
def schema(
    topic: Annotated[str, typer.Argument(help="Topic, e.g. lsst.sal.MTMount.azimuth")],
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
    topic: Annotated[str, typer.Argument(help="Topic, e.g. lsst.sal.MTMount.azimuth")],
    field_names: Annotated[
        list[str],
        typer.Argument(metavar="FIELDS", help="Fields (comma- or space-separated, '*' for all)."),
    ],
    start: Annotated[str, typer.Option(help="Start, ISO 8601 UTC (e.g. 2024-05-01T03:00:00).")],
    end: Annotated[str, typer.Option(help="End, ISO 8601 UTC; included, as the EFD client does.")],
    store: StoreOption = None,
    index: Annotated[int | None, typer.Option(help="Only rows with this salIndex.")] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format", help="table (terminal), csv (stdout or --output) or parquet (--output)."
        ),
    ] = OutputFormat.TABLE,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file.")
    ] = None,
    tai: Annotated[bool, typer.Option("--tai", help="Index in TAI instead of UTC.")] = False,
) -> None:
    """Rows of a topic in a time range (both ends included)."""
    names = [n for part in field_names for n in part.split(",") if n]
    with _client(store) as client:
        frame = client.select_time_series(
            topic, names, start, end, index=index, time_scale="tai" if tai else "utc"
        )
    frame.index.name = "time_tai" if tai else "time"
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
