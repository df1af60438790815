"""``openefd summarize``: per-exposure summaries of telemetry into a Parquet or CSV file.

Exposures come from the store's exposure registry: one observing day
(``--day-obs``) or those overlapping ``--begin``/``--end``; a range is done
day by day with a progress bar (backfill). The configuration is YAML
(:mod:`openefd.analysis.summaries_config`; the shipped default without
``--config``). Parquet columns carry ``units``, ``description`` and ``ucd``
as field metadata; a CSV gets a ``<name>.columns.csv`` beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import pyarrow.parquet as pq
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from openefd.analysis.summaries import ExposureSummaries, summarize_exposures, to_arrow
from openefd.analysis.summaries_config import load_config
from openefd.cli.common import StoreOption, console, guarded, settings_for
from openefd.errors import ConfigurationError
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures as registry_exposures

__all__ = ["app", "summarize"]


@guarded
def summarize(
    store: StoreOption = None,
    day_obs: Annotated[
        str | None, typer.Option("--day-obs", help="Observing day, YYYYMMDD or YYYY-MM-DD.")
    ] = None,
    begin: Annotated[
        str | None, typer.Option(help="Exposures overlapping [begin, end): ISO 8601 UTC.")
    ] = None,
    end: Annotated[str | None, typer.Option(help="End of the range (ISO 8601 UTC).")] = None,
    config: Annotated[
        Path | None, typer.Option(help="YAML configuration (default: the shipped one).")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output file: .parquet or .csv.")
    ] = Path("summaries.parquet"),
    long: Annotated[
        bool, typer.Option("--long", help="Key/value rows (exposure, column, element, value).")
    ] = False,
    instrument: Annotated[str | None, typer.Option(help="Only this instrument.")] = None,
) -> None:
    """Summarise telemetry per exposure (mean, stddev, as-of values, …) into a file."""
    if day_obs is None and (begin is None or end is None):
        raise ConfigurationError("give --day-obs, or both --begin and --end")
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise ConfigurationError(f"--out {out}: give a .parquet or .csv file name")
    cfg = load_config(config)
    settings = settings_for(store)
    with Store(settings.store, settings=settings, read_only=True) as st:
        frame = registry_exposures(
            st, instrument=instrument, day_obs=day_obs, begin=begin, end=end
        )
        days = sorted(int(d) for d in frame["day_obs"].dropna().unique())
        parts: list[ExposureSummaries] = []
        columns = (
            TextColumn("summarising {task.description}"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} exposures"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(f"{len(days)} day(s)", total=len(frame))
            done = 0
            for day in days:
                night = frame[frame["day_obs"] == day].reset_index(drop=True)

                def advance(n: int, base: int = done) -> None:
                    progress.update(task, completed=base + n)

                parts.append(summarize_exposures(st, night, cfg, progress=advance))
                done += len(night)
                progress.update(task, completed=done)
        if not parts:
            parts.append(summarize_exposures(st, frame, cfg))
    result = ExposureSummaries(
        pd.concat([p.wide for p in parts], ignore_index=True),
        pd.concat([p.long for p in parts], ignore_index=True),
        parts[0].columns,
    )
    table = result.long if long else result.wide
    _write(table, result.columns, out)
    console.print(
        f"{len(result.wide):,} exposures × {len(result.columns):,} summaries → {out}",
        highlight=False,
    )


def _write(frame: pd.DataFrame, meta: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        pq.write_table(to_arrow(frame, meta), out)
    else:
        frame.to_csv(out, index=False)
        meta.to_csv(out.with_name(out.stem + ".columns.csv"), index=False)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command()(summarize)
