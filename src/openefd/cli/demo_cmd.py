"""``openefd demo``: load a sample into the embedded store and query it.

A later version runs the observatory simulator; this one loads a deterministic
sample of real SAL topics (see :mod:`openefd.sample`) and shows the answers,
and timings, of the queries a user asks first.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from openefd.cli.common import StoreOption, console, guarded, settings_for
from openefd.client import EfdClientSync
from openefd.ingest.writer import Writer
from openefd.sample import sample_topics
from openefd.schema.loader import load_schemas
from openefd.settings import SchemaMode
from openefd.store.duckdb_store import Store

__all__ = ["demo", "find_sal_xml"]

SAMPLE_START = "2024-05-01T03:00:00"
_CANDIDATES = ("../shared/ts_xml/sal_interfaces", "ts_xml/sal_interfaces")


def find_sal_xml() -> Path | None:
    """A ts_xml ``sal_interfaces`` folder near the working directory, if there is one."""
    for candidate in _CANDIDATES:
        path = Path(candidate)
        if (path / "SALSubsystems.xml").is_file():
            return path
    return None


def _median_ms(func: Callable[[], Any], runs: int = 15) -> tuple[Any, float]:
    result = func()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        func()
        times.append((time.perf_counter() - t0) * 1000)
    return result, statistics.median(times)


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
    hours: Annotated[float, typer.Option(min=0.01, max=24, help="Hours of sample data.")] = 1.0,
) -> None:
    """Load an hour of sample telemetry, events and commands, then query it."""
    settings = settings_for(store)
    paths = [schemas] if schemas else (settings.schemas or ([p] if (p := find_sal_xml()) else []))
    with Store(settings.store, settings=settings) as st:
        if paths:
            counts = st.register_topics(load_schemas(paths))
            console.print(
                f"topic registry from {', '.join(map(str, paths))}: "
                f"{sum(counts.values())} topics ({counts['created']} new)"
            )
        else:
            console.print("no SAL XML found: topics get types inferred from the data")
        mode = SchemaMode.STRICT if paths else SchemaMode.EXTEND
        frames = sample_topics(start_utc=SAMPLE_START + "Z", hours=hours)
        writer = Writer(st, mode)
        t0 = time.perf_counter()
        values = 0
        with Progress(console=console) as progress:
            task = progress.add_task("loading sample", total=len(frames))
            for topic, frame in frames.items():
                writer.write(topic, frame)
                values += frame.size
                progress.advance(task)
        elapsed = time.perf_counter() - t0
    console.print(
        f"loaded {values:,} values into {len(frames)} topics in {elapsed:.1f} s "
        f"({values / elapsed / 1e6:.1f} M values/s) → {settings.store}"
    )
    _show_queries(settings.store, settings, hours)


def _show_queries(path: Path, settings: Any, hours: float) -> None:
    from astropy.time import Time, TimeDelta

    # A window inside the sample, whatever its length: 10 minutes a third of the way in.
    span_s = min(600.0, hours * 3600 / 3)
    start = Time(SAMPLE_START, scale="utc") + TimeDelta(hours * 1200, format="sec")
    table = Table(title="example queries (median of 15 runs)")
    for col in ("query", "answer", "ms"):
        table.add_column(col)
    with EfdClientSync(path, settings=settings) as efd:
        df, ms = _median_ms(
            lambda: efd.select_time_series(
                "lsst.sal.MTMount.azimuth",
                ["actualPosition", "actualVelocity", "actualTorque"],
                start,
                TimeDelta(span_s, format="sec"),
            )
        )
        table.add_row(
            f"select_time_series(MTMount.azimuth, 3 fields, {span_s / 60:g} min)",
            f"{len(df):,} rows, azimuth {df['actualPosition'].min():.1f}…"
            f"{df['actualPosition'].max():.1f} deg",
            f"{ms:.2f}",
        )
        df, ms = _median_ms(
            lambda: efd.select_top_n("lsst.sal.MTMount.elevation", "actualPosition", 1)
        )
        table.add_row(
            "select_top_n(MTMount.elevation, actualPosition, 1)",
            f"{df['actualPosition'].iloc[0]:.2f} deg at {df.index[0]}",
            f"{ms:.2f}",
        )
        df, ms = _median_ms(
            lambda: efd.get(
                "ESS.temperature.temperatureItem", start, TimeDelta(60, format="sec"), index=1
            )
        )
        table.add_row(
            "get('ESS.temperature.temperatureItem', 1 min, index=1)",
            f"{df.shape[0]} rows × {df.shape[1]} sensors, mean {df.to_numpy().mean():.2f} °C",
            f"{ms:.2f}",
        )
        topics = efd.get_topics()
    console.print(table)
    console.print(f"{len(topics)} topics hold data. Try: openefd info --store {path}")
