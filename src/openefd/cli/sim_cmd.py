"""``openefd simulate``: write a simulated observatory night as files ``openefd load`` reads.

One file per topic in ``--out`` (``lsst.sal.MTMount.azimuth.parquet``, or
``.lp`` line protocol), ``anomalies.json`` beside them, and the image tables
``images/exposures.parquet`` and ``images/arrivals.parquet`` in a sub-folder,
so that ``openefd load --store S OUT/*.parquet`` loads exactly the telemetry.
"""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from openefd.cli.common import console, guarded, settings_for
from openefd.cli.demo_cmd import find_sal_xml
from openefd.errors import ConfigurationError
from openefd.ingest.line_protocol import format_line
from openefd.sim import NightSimulator, Profile, SimConfig

__all__ = ["simulate"]

IMAGES_DIR = "images"


class OutputFormat(StrEnum):
    """File format of the topic files."""

    PARQUET = "parquet"
    LP = "lp"


def _schemas(given: Path | None) -> Path:
    if given is not None:
        return given
    for path in settings_for().schemas:
        if (path / "SALSubsystems.xml").is_file():
            return path
    found = find_sal_xml()
    if found is None:
        raise ConfigurationError(
            "no SAL XML definitions: give --schemas PATH (a ts_xml sal_interfaces folder) "
            "or set OPENEFD_SCHEMAS"
        )
    return found


def _lp_lines(topic: str, table: pa.Table) -> list[str]:
    """Line protocol of a topic table: arrays flattened, time = private_efdStamp (UTC ns)."""
    efd = table["private_efdStamp"].to_numpy()
    stamps = (np.round(efd * 1e6).astype(np.int64) * 1000).tolist()
    columns: dict[str, list[Any]] = {}
    for name in table.column_names:
        values = table[name].to_pylist()
        if pa.types.is_list(table[name].type):
            width = len(values[0]) if values else 0
            for i in range(width):
                columns[f"{name}{i}"] = [v[i] for v in values]
        else:
            columns[name] = values
    names = list(columns)
    return [
        format_line(topic, {n: columns[n][row] for n in names}, timestamp=stamps[row])
        for row in range(table.num_rows)
    ]


class _Files:
    """One open output file per topic."""

    def __init__(self, out: Path, fmt: OutputFormat) -> None:
        self.out = out
        self.fmt = fmt
        self.parquet: dict[str, pq.ParquetWriter] = {}
        self.text: dict[str, IO[str]] = {}
        self.rows = 0

    def write(self, topic: str, table: pa.Table) -> None:
        self.rows += table.num_rows
        if self.fmt is OutputFormat.PARQUET:
            writer = self.parquet.get(topic)
            if writer is None:
                path = self.out / f"{topic}.parquet"
                writer = self.parquet[topic] = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
            return
        handle = self.text.get(topic)
        if handle is None:
            handle = self.text[topic] = (self.out / f"{topic}.lp").open("w", encoding="utf-8")
        handle.write("".join(line + "\n" for line in _lp_lines(topic, table)))

    def close(self) -> int:
        for writer in self.parquet.values():
            writer.close()
        for handle in self.text.values():
            handle.close()
        return len(self.parquet) + len(self.text)


@guarded
def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the files (created).")],
    schemas: Annotated[
        Path | None,
        typer.Option(
            help="ts_xml sal_interfaces folder (default: $OPENEFD_SCHEMAS, or "
            "../shared/ts_xml/sal_interfaces when present).",
            show_default=False,
        ),
    ] = None,
    hours: Annotated[float, typer.Option(min=0.001, max=48, help="Hours to simulate.")] = 1.0,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same night.")
    ] = 1,
    profile: Annotated[
        Profile, typer.Option(help="demo: main telescope topics; efd: shaped like the Rubin EFD.")
    ] = Profile.DEMO,
    start: Annotated[
        str, typer.Option(help="First simulated instant (ISO 8601, UTC unless an offset).")
    ] = "2024-05-01T23:30:00Z",
    fmt: Annotated[
        OutputFormat,
        typer.Option("--format", help="Topic files as Parquet, or line protocol (slow)."),
    ] = OutputFormat.PARQUET,
) -> None:
    """Simulate an observatory night and write it as files for 'openefd load'.

    Writes one file per topic (file name = topic name), anomalies.json, and
    images/exposures.parquet and images/arrivals.parquet. Load the telemetry
    with: openefd load --store STORE OUT/*.parquet
    """
    config = SimConfig(_schemas(schemas), start, hours, seed, profile)
    t0 = time.perf_counter()
    sim = NightSimulator(config)
    out.mkdir(parents=True, exist_ok=True)
    files = _Files(out, fmt)
    chunks = int(np.ceil(hours * 60 - 1e-9))
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("minutes · {task.fields[rows]:,} rows"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(f"simulating ({profile.value})", total=chunks, rows=0)
            for chunk in sim.chunks(60.0):
                for topic, table in chunk.tables.items():
                    files.write(topic, table)
                progress.update(task, advance=1, rows=files.rows)
    finally:
        n_files = files.close()
    images = out / IMAGES_DIR
    images.mkdir(exist_ok=True)
    exposures = sim.exposures()
    arrivals = sim.arrivals()
    exposures.to_parquet(images / "exposures.parquet", index=False)
    arrivals.to_parquet(images / "arrivals.parquet", index=False)
    (out / "anomalies.json").write_text(
        json.dumps([a.to_json() for a in sim.anomalies()], indent=2) + "\n", encoding="utf-8"
    )
    console.print(
        f"{files.rows:,} rows in {n_files} topic files, {len(exposures)} exposures, "
        f"{len(arrivals):,} image arrivals, {len(sim.anomalies())} anomalies → {out} "
        f"({time.perf_counter() - t0:.1f} s)",
        highlight=False,
    )
