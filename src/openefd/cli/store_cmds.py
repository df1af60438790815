"""``openefd init``, ``load`` and ``info``: creating, filling and describing a store."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from openefd.cli.common import StoreOption, console, guarded, open_for_writing, settings_for
from openefd.errors import ConfigurationError
from openefd.ingest.files import load_file
from openefd.ingest.writer import Writer, WriteResult
from openefd.schema.loader import load_schemas
from openefd.settings import SchemaMode
from openefd.store.duckdb_store import DB_FILE, Store
from openefd.timeinput import tai_ns_to_index

__all__ = ["info", "init", "load"]


@guarded
def init(
    store: StoreOption = None,
    schemas: Annotated[
        list[Path] | None,
        typer.Option("--schemas", help="SAL XML folder/file or Avro file; repeat for more."),
    ] = None,
) -> None:
    """Create a store, or update its topic registry, from SAL XML and Avro definitions.

    Run it again with newer definitions: fields added, removed or resized are
    taken in, and data written under older definitions stays readable.
    """
    settings = settings_for(store)
    paths = schemas or settings.schemas
    with Store(settings.store, settings=settings) as st:
        if not paths:
            console.print(
                f"store ready at {settings.store} (no --schemas given: registry "
                f"holds {len(st.registry.names())} topics)"
            )
            return
        topics = load_schemas(paths)
        counts = st.register_topics(topics)
    console.print(
        f"store {settings.store}: {len(topics)} topic definitions read — "
        f"{counts['created']} created, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged"
    )


class Precision(StrEnum):
    """InfluxDB's timestamp precisions."""

    NS = "ns"
    N = "n"
    US = "us"
    U = "u"
    MS = "ms"
    S = "s"
    M = "m"
    H = "h"


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


@guarded
def load(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Files: .lp/.line/.influx/.txt line protocol, .csv (both optionally .gz), "
            ".parquet/.pq."
        ),
    ],
    store: StoreOption = None,
    topic: Annotated[
        str | None,
        typer.Option(help="Topic of CSV/Parquet files (default: the file name without suffixes)."),
    ] = None,
    precision: Annotated[
        Precision,
        typer.Option(help="Line protocol timestamp unit, as InfluxDB's precision parameter."),
    ] = Precision.NS,
    schema_mode: Annotated[
        SchemaMode | None,
        typer.Option(
            help="Unknown topics/fields: extend (add them) or strict (reject) "
            "(default: $OPENEFD_SCHEMA_MODE, else extend).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Load files into the store, each file all-or-nothing.

    Line protocol is read as the EFD writes it: measurement = topic, fields =
    fields, timestamp = UTC ns of private_efdStamp. Re-loading a file stores
    nothing twice.
    """
    settings = settings_for(store, schema_mode=schema_mode)
    total = WriteResult()
    with (
        open_for_writing(settings) as st,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        ) as progress,
    ):
        writer = Writer(st)
        for path in files:
            size = path.stat().st_size if path.is_file() else 0
            task = progress.add_task(path.name, total=size)

            def advance(n: int, task: TaskID = task) -> None:
                progress.advance(task, n)

            result = load_file(
                writer, path, topic=topic, precision=precision.value, progress=advance
            )
            progress.update(task, completed=size)
            total.add(result)
    console.print(
        f"{_n(total.rows_written, 'row')} stored "
        f"({total.rows_received - total.rows_written} already present) in "
        f"{_n(len(total.received), 'topic')} from {_n(len(files), 'file')}"
    )


@guarded
def info(store: StoreOption = None) -> None:
    """Topics, rows, time span (UTC and TAI) and size on disk of a store."""
    settings = settings_for(store)
    if not (settings.store / DB_FILE).exists():
        raise ConfigurationError(f"no openefd store at {settings.store}; run 'openefd init'")
    with Store(settings.store, settings=settings, read_only=True) as st:
        stats = [s for s in st.topic_stats() if s.rows]
        console.print(
            f"{settings.store}: {len(st.registry.names())} topics registered, "
            f"{len(stats)} with data, {st.size_bytes() / 1e6:.1f} MB on disk",
            highlight=False,
            soft_wrap=True,
        )
        table = Table()
        for col in ("topic", "rows", "first (UTC)", "last (UTC)"):
            table.add_column(col, justify="right" if col == "rows" else "left")
        for s in stats:
            assert s.first_tai_ns is not None
            assert s.last_tai_ns is not None
            first, last = tai_ns_to_index(np.array([s.first_tai_ns, s.last_tai_ns]))
            table.add_row(s.topic, f"{s.rows:,}", first.isoformat(), last.isoformat())
        console.print(table)
        rows = sum(s.rows for s in stats)
        if stats:
            lo = min(s.first_tai_ns or 0 for s in stats)
            hi = max(s.last_tai_ns or 0 for s in stats)
            console.print(f"{_n(rows, 'row')}; TAI ns span {lo} – {hi}")


@guarded
def aggregate(
    store: StoreOption = None,
    topic: Annotated[
        list[str] | None,
        typer.Option(help="Only this topic (repeat for several); default: every topic."),
    ] = None,
    rebuild: Annotated[
        bool,
        typer.Option(help="Drop the aggregates and recompute them from the raw rows."),
    ] = False,
) -> None:
    """Bring the 1-second aggregates up to date (after a crash), or rebuild them."""
    settings = settings_for(store)
    if not (settings.store / DB_FILE).exists():
        raise ConfigurationError(f"no openefd store at {settings.store}; run 'openefd init'")
    with Store(settings.store, settings=settings) as st:
        names = list(topic) if topic else st.registry.tables()
        for name in names:
            st.layout(name)  # unknown topics: a clear error before any work
        done = 0
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("aggregating", total=len(names))
            for name in names:
                progress.update(task, description=name)
                with st.transaction():
                    if rebuild:
                        done += st.aggregates.rebuild([name])
                    else:
                        done += st.aggregates.catch_up([name])
                progress.advance(task)
        console.print(
            f"{'rebuilt' if rebuild else 'brought up to date'}: {_n(done, 'second')} "
            f"aggregated over {_n(len(names), 'topic')}"
        )
