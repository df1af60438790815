"""``openefd demo``: simulate part of an observing night into the embedded store, query it.

It creates (or reuses) a store, registers the SAL topic definitions, runs the
observatory simulator (:mod:`openefd.sim`, profile ``demo``: M1M3 at 50 Hz,
the mount, dome, weather, seeing, camera events, exposures) for an hour by
default, loads it as one import with a progress bar, and shows what a user
asks first: what was loaded, the time span, and example queries with their
answers and timings (:mod:`openefd.cli.demo_queries`). Exposures and image
arrivals go into the store's exposure registry (``openefd latency DAY_OBS``
reports on them) and beside the store as Parquet files (``sim/``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.compute as pc
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from openefd.analysis.summaries_stored import SUMMARISED_COLUMN, stored_summaries
from openefd.cli.common import StoreOption, console, guarded, open_for_writing, settings_for
from openefd.cli.demo_queries import show_queries, show_summary
from openefd.errors import ConfigurationError
from openefd.ingest.exposure_loader import load_exposures
from openefd.ingest.writer import TopicBatch, Writer
from openefd.schema.loader import load_schemas
from openefd.settings import SchemaMode
from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.store.duckdb_store import Store
from openefd.timeinput import to_tai_ns

__all__ = ["DEMO_START", "demo", "find_sal_xml"]

DEMO_START = "2024-05-01T23:30:00Z"
_CANDIDATES = ("../shared/ts_xml/sal_interfaces", "ts_xml/sal_interfaces")


def find_sal_xml() -> Path | None:
    """A ts_xml ``sal_interfaces`` folder near the working directory, if there is one."""
    for candidate in _CANDIDATES:
        path = Path(candidate)
        if (path / "SALSubsystems.xml").is_file():
            return path
    return None


@guarded
def demo(
    store: StoreOption = None,
    schemas: Annotated[
        Path | None,
        typer.Option(
            help="ts_xml sal_interfaces folder (default: $OPENEFD_SCHEMAS, or "
            "../shared/ts_xml/sal_interfaces when present).",
            show_default=False,
        ),
    ] = None,
    hours: Annotated[
        float, typer.Option(min=0.05, max=14, help="Hours of the night to simulate.")
    ] = 1.0,
    night: Annotated[
        bool, typer.Option("--night", help="Simulate a whole night (10 h); overrides --hours.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Simulator seed: same seed, same night.")] = 1,
) -> None:
    """Simulate an hour of an observing night into the store, then query it."""
    settings = settings_for(store)
    sal_xml = schemas or (settings.schemas[0] if settings.schemas else find_sal_xml())
    if sal_xml is None:
        raise ConfigurationError(
            "the demo simulates topics from the SAL definitions: give --schemas PATH "
            "(a ts_xml sal_interfaces folder) or set OPENEFD_SCHEMAS"
        )
    span_h = 10.0 if night else hours
    sim = NightSimulator(
        SimConfig(
            schemas=sal_xml, start_utc=DEMO_START, hours=span_h, seed=seed, profile=Profile.DEMO
        )
    )
    with open_for_writing(settings) as st:
        counts = st.register_topics(load_schemas([sal_xml]))
        console.print(
            f"topic registry from {sal_xml}: {sum(counts.values()):,} topics "
            f"({counts['created']:,} new)"
        )
        start_tai_ns = to_tai_ns(DEMO_START)
        values, elapsed = _load(st, sim, span_h, start_tai_ns)
        console.print(
            f"simulated and loaded {values:,} values in {elapsed:.1f} s "
            f"({values / max(elapsed, 1e-9) / 1e6:.1f} M values/s) → {settings.store}"
        )
        extra = _write_side_tables(sim, st)
        show_summary(st, extra)
        show_queries(st, sim.exposures(), start_tai_ns, span_h)
        days = sorted({int(d) for d in sim.exposures()["day_obs"]})
        if days:
            console.print(
                f"image latency of the night: openefd latency {days[0]} --store {settings.store}",
                highlight=False,
            )
            _show_kept_summaries(st, days[0])
        console.print(
            f"over HTTP (InfluxDB 1.x API for aioinflux/lsst-efd-client, and openefd's own "
            f"client): openefd serve --store {settings.store}",
            highlight=False,
        )


def _show_kept_summaries(st: Store, day_obs: int) -> None:
    """How many exposures have their telemetry summaries kept in the store."""
    kept = stored_summaries(st, day_obs=day_obs)
    done = int(kept.wide[SUMMARISED_COLUMN].notna().sum())
    if done:
        console.print(
            f"per-exposure summaries kept in the store as the exposures were recorded: "
            f"{done:,} exposures × {len(kept.columns):,} summaries (wind, dome temperature, "
            f"seeing, mount, M1M3 forces): openefd summarize --day-obs {day_obs} --stored "
            f"--store {st.path}",
            highlight=False,
        )


def _values(table: pa.Table) -> int:
    """Scalars in ``table``: array elements count one each, as the EFD flattens them."""
    total = 0
    for col in table.columns:
        if pa.types.is_list(col.type) or pa.types.is_fixed_size_list(col.type):
            total += int(pc.sum(pc.list_value_length(col)).as_py() or 0)
        else:
            total += len(col)
    return total


def _load(st: Store, sim: NightSimulator, span_h: float, start_tai_ns: int) -> tuple[int, float]:
    """Simulate and write minute by minute, as one import (one transaction)."""
    writer = Writer(st, SchemaMode.STRICT)
    columns = (
        TextColumn("simulating {task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} min"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    values = 0
    t0 = time.perf_counter()
    with Progress(*columns, console=console) as progress, st.transaction():
        task = progress.add_task(f"{span_h:g} h of night", total=span_h * 60)
        for chunk in sim.chunks(seconds=60.0):
            batches = [TopicBatch(topic, table) for topic, table in chunk.tables.items()]
            writer.write_batches(batches)
            values += sum(_values(t) for t in chunk.tables.values())
            progress.update(task, completed=(chunk.end_tai_ns - start_tai_ns) / 60e9)
    return values, time.perf_counter() - t0


def _write_side_tables(sim: NightSimulator, st: Store) -> dict[str, int]:
    """Exposures and image arrivals into the exposure registry, and as Parquet files
    beside the store."""
    out = st.path / "sim"
    out.mkdir(parents=True, exist_ok=True)
    exposures = sim.exposures()
    arrivals = sim.arrivals()
    exposures.to_parquet(out / "exposures.parquet")
    arrivals.to_parquet(out / "arrivals.parquet")
    load_exposures(st, exposures, arrivals)
    return {"exposures": len(exposures), "image arrivals": len(arrivals)}
