"""``openefd summarize``: per-exposure summaries of telemetry into a Parquet or CSV file.

Exposures come from the store's exposure registry: one observing day
(``--day-obs``) or those overlapping ``--begin``/``--end``; a range is done
day by day with a progress bar (backfill). The configuration is YAML
(:mod:`openefd.analysis.summaries_config`; the shipped default without
``--config``). Parquet columns carry ``units``, ``description`` and ``ucd``
as field metadata; a CSV gets a ``<name>.columns.csv`` beside it.

``--save`` also keeps the summaries in the store (what the automatic upkeep
does as data arrives, :mod:`openefd.analysis.summary_upkeep`) — the way to
backfill a date range; ``--stored`` reads the stored summaries instead of
computing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import pyarrow.parquet as pq
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from openefd.analysis.summaries import ExposureSummaries, summarize_exposures, to_arrow
from openefd.analysis.summaries_config import SummaryConfig, load_config
from openefd.analysis.summaries_stored import SUMMARISED_COLUMN, save_summaries, stored_summaries
from openefd.cli.common import StoreOption, console, guarded, settings_for
from openefd.errors import ConfigurationError
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures as registry_exposures
from openefd.timescales import now_tai_ns

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
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Output file: .parquet or .csv (default without --save: summaries.parquet).",
        ),
    ] = None,
    long: Annotated[
        bool, typer.Option("--long", help="Key/value rows (exposure, column, element, value).")
    ] = False,
    instrument: Annotated[str | None, typer.Option(help="Only this instrument.")] = None,
    save: Annotated[
        bool,
        typer.Option("--save", help="Also keep the summaries in the store (backfill)."),
    ] = False,
    stored: Annotated[
        bool,
        typer.Option(
            "--stored", help="Read the summaries kept in the store instead of computing them."
        ),
    ] = False,
) -> None:
    """Summarise telemetry per exposure (mean, stddev, as-of values, …) to a file or the store."""
    if day_obs is None and (begin is None or end is None):
        raise ConfigurationError("give --day-obs, or both --begin and --end")
    if save and stored:
        raise ConfigurationError("--save computes and stores; --stored reads: give one")
    if out is None and not save:
        out = Path("summaries.parquet")
    if out is not None and out.suffix.lower() not in (".parquet", ".csv"):
        raise ConfigurationError(f"--out {out}: give a .parquet or .csv file name")
    settings = settings_for(store)
    if stored:
        with Store(settings.store, settings=settings, read_only=True) as st:
            result = stored_summaries(
                st, instrument=instrument, day_obs=day_obs, begin=begin, end=end
            )
        missing = int(result.wide[SUMMARISED_COLUMN].isna().sum())
        if missing:
            console.print(
                f"{missing:,} of {len(result.wide):,} exposures have no stored summaries "
                "(summarise them with --save)",
                highlight=False,
            )
    else:
        cfg = load_config(config)
        with Store(settings.store, settings=settings, read_only=not save) as st:
            result = _compute(st, cfg, instrument, day_obs, begin, end, save=save)
    if out is not None:
        table = result.long if long else result.wide
        _write(table, result.columns, out)
    where = f" → {out}" if out is not None else ""
    kept = f" (kept in {settings.store})" if save else ""
    console.print(
        f"{len(result.wide):,} exposures × {len(result.columns):,} summaries{where}{kept}",
        highlight=False,
    )


def _compute(
    st: Store,
    cfg: SummaryConfig,
    instrument: str | None,
    day_obs: str | None,
    begin: str | None,
    end: str | None,
    *,
    save: bool,
) -> ExposureSummaries:
    """Summaries night by night with a progress bar, saved in the store after each night."""
    frame = registry_exposures(st, instrument=instrument, day_obs=day_obs, begin=begin, end=end)
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

            part = summarize_exposures(st, night, cfg, progress=advance)
            if save:
                now = now_tai_ns()
                save_summaries(st, night, part, cfg, computed_tai_ns=now)
            parts.append(part)
            done += len(night)
            progress.update(task, completed=done)
    if not parts:
        parts.append(summarize_exposures(st, frame, cfg))
    return ExposureSummaries(
        pd.concat([p.wide for p in parts], ignore_index=True),
        pd.concat([p.long for p in parts], ignore_index=True),
        parts[0].columns,
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
