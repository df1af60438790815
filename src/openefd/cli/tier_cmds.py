"""``openefd export`` and ``openefd retention``: the Parquet cold tier of a store."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from openefd.cli.common import StoreOption, console, guarded, settings_for
from openefd.errors import ConfigurationError
from openefd.settings import Settings
from openefd.store.cold import ExportReport, export_partition, plan_export
from openefd.store.cold_manifest import cold_location
from openefd.store.duckdb_store import DB_FILE, Store
from openefd.store.retention import RetentionReport, evict_partition, plan_retention
from openefd.store.utc_days import parse_day

__all__ = ["export", "retention"]


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _size(n_bytes: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes} B"


def _open(settings: Settings) -> Store:
    if not (settings.store / DB_FILE).exists():
        raise ConfigurationError(f"no openefd store at {settings.store}; run 'openefd init'")
    return Store(settings.store, settings=settings)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


@guarded
def export(
    store: StoreOption = None,
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic",
            "-t",
            metavar="TOPIC",
            help="Export this topic only; repeat for more (default: every topic with data).",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            metavar="DAY",
            help="Export only days before DAY (UTC, YYYY-MM-DD; DAY itself is not exported).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be written; write nothing.")
    ] = False,
) -> None:
    """Write each complete UTC day of each topic to Parquet: the cold tier.

    A day is written once it is complete (OPENEFD_EXPORT_GRACE_S after it
    ends) and written again when rows arrive for it later. Files go to
    OPENEFD_COLD_LOCATION (default: the folder 'cold' in the store), as
    topic=NAME/day=YYYY-MM-DD/part-….parquet; DuckDB, pandas and Spark read
    them directly. Raw rows stay in DuckDB until 'openefd retention'.
    """
    settings = settings_for(store)
    until_day = parse_day(until, "--until") if until is not None else None
    with _open(settings) as st:
        work = plan_export(st, topics=topic, until=until_day)
        location = cold_location(st).uri
        if not work:
            console.print(f"nothing to export: every complete day is in {location}")
            return
        rows = sum(w.rows for w in work)
        if dry_run:
            table = Table()
            for col in ("topic", "day (UTC)", "rows", "why"):
                table.add_column(col, justify="right" if col == "rows" else "left")
            for w in work:
                table.add_row(w.topic, w.day.isoformat(), f"{w.rows:,}", w.reason)
            console.print(table)
            console.print(
                f"would write {_n(len(work), 'partition')} ({_n(rows, 'row')}) to {location}",
                soft_wrap=True,
            )
            return
        report = ExportReport(location)
        with _progress() as progress:
            task = progress.add_task("exporting", total=rows)
            for w in work:
                progress.update(task, description=f"{w.topic} {w.day}")
                report.results.append(export_partition(st, w))
                progress.advance(task, w.rows)
            progress.update(task, description="exported")
    topics = len({p.topic for p in report.written})
    console.print(
        f"exported {_n(report.partitions, 'partition')} of {_n(topics, 'topic')}: "
        f"{_n(report.rows, 'row')}, {_size(report.bytes)} of Parquet in {location}",
        soft_wrap=True,
    )
    for result in report.skipped:
        console.print(
            f"skipped {result.work.topic} {result.work.day}: {result.skipped} "
            "(the next export writes it)",
            soft_wrap=True,
        )


@guarded
def retention(
    store: StoreOption = None,
    days: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Keep raw rows this many days after their UTC day ends "
            "(default: $OPENEFD_RAW_RETENTION_DAYS, else 30; 0: evict every exported day).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be evicted; delete nothing.")
    ] = False,
) -> None:
    """Delete from DuckDB the raw rows of old days that are exported to Parquet.

    Queries still return those rows: they read them from the cold tier. Only
    days whose export holds every row DuckDB has for them are evicted; days not
    exported, or with rows that arrived after their export, are kept and
    listed (run 'openefd export' first). Aggregates are not touched.
    """
    settings = settings_for(store, raw_retention_days=days)
    with _open(settings) as st:
        plan = plan_retention(st)
        location = cold_location(st).uri
        rows = sum(p.rows for p in plan.evict)
        cutoff = f"days before {plan.first_kept_day} (UTC)"
        if dry_run:
            table = Table()
            for col in ("topic", "day (UTC)", "rows"):
                table.add_column(col, justify="right" if col == "rows" else "left")
            for part in plan.evict:
                table.add_row(part.topic, part.day.isoformat(), f"{part.rows:,}")
            if plan.evict:
                console.print(table)
            console.print(
                f"would evict {_n(len(plan.evict), 'partition')} ({_n(rows, 'row')}) of {cutoff}",
                soft_wrap=True,
            )
        else:
            report = RetentionReport(plan)
            with _progress() as progress:
                task = progress.add_task("evicting", total=rows)
                for part in plan.evict:
                    progress.update(task, description=f"{part.topic} {part.day}")
                    report.results.append(evict_partition(st, part))
                    progress.advance(task, part.rows)
                progress.update(task, description="evicted")
            parquet = sum(r.partition.bytes for r in report.results if r.skipped is None)
            console.print(
                f"evicted {_n(report.partitions, 'partition')} of {cutoff} from DuckDB: "
                f"{_n(report.rows, 'row')}, now read from {_size(parquet)} of Parquet in "
                f"{location}",
                soft_wrap=True,
            )
            for result in report.skipped:
                console.print(
                    f"kept {result.partition.topic} {result.partition.day}: {result.skipped}",
                    soft_wrap=True,
                )
    if plan.unexported:
        kept = sum(n for _, _, n in plan.unexported)
        console.print(
            f"kept {_n(len(plan.unexported), 'day')} of {cutoff} ({_n(kept, 'row')}) not "
            "exported, or changed since their export: run 'openefd export' first",
            soft_wrap=True,
        )
