"""The core benchmark of issue 2: bulk load, a 10-minute select, the latest row.

Run ``scripts/bench`` (or ``.venv/bin/python -m bench.core``) from the repo
root; ``--help`` lists the options and ``bench/README.md`` explains what is
measured. A full run appends a section to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas
import pyarrow
from astropy.time import Time
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.dataset import (
    FAST_HZ,
    FAST_PERIOD_NS,
    FAST_TOPIC,
    DatasetShape,
    fast_sample_utc_ns,
    slice_count,
    slices,
    topics,
)
from bench.results import Metric, Run, append_results, git_commit, machine
from openefd.client import EfdClientSync
from openefd.ingest.writer import Writer
from openefd.settings import Settings
from openefd.store.duckdb_store import Store
from openefd.timescales import NS_PER_S, utc_to_tai_ns

__all__ = ["main"]

DATASET_VERSION = 1
MARKER = "bench-dataset.json"
WINDOW_S = 600
WINDOW_ROWS = WINDOW_S * FAST_HZ
QUERY_FIELDS = ["f000", "f001", "f002"]
WARMUP = 20

LOAD_TARGET_VALUES_S = 5e6
SELECT_TARGET_MS = 10.0
TOP_TARGET_MS = 5.0


def _say(text: str) -> None:
    print(text, flush=True)


# -- load --------------------------------------------------------------------
@dataclass(slots=True)
class LoadResult:
    """Wall-clock seconds of a load (generation excluded) and what it wrote."""

    register_s: float = 0.0
    fast_s: float = 0.0
    slow_s: float = 0.0
    checkpoint_s: float = 0.0
    fast_rows: int = 0
    slow_rows: int = 0
    rows_written: int = 0
    values: int = 0
    fast_values: int = 0
    slow_values: int = 0
    size_bytes: int = 0
    fast_batch_ms: list[float] = field(default_factory=list)
    slow_batch_ms: list[float] = field(default_factory=list)

    @property
    def total_s(self) -> float:
        """The load: every write call plus the final checkpoint."""
        return self.fast_s + self.slow_s + self.checkpoint_s


def _settings(store_dir: Path) -> Settings:
    return Settings(store=store_dir)


def load(store_dir: Path, shape: DatasetShape, slice_s: int) -> LoadResult:
    """Write the data set into a new store at ``store_dir``, timing only the writes."""
    result = LoadResult()
    n_slices = slice_count(shape, slice_s)
    with Store(store_dir, settings=_settings(store_dir)) as store:
        t0 = time.perf_counter()
        store.register_topics(topics())
        result.register_s = time.perf_counter() - t0
        writer = Writer(store)
        columns = (
            TextColumn("loading {task.completed}/{task.total} slices of {task.fields[slice]}"),
            BarColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
        )
        # One import, one transaction (as `openefd load` treats a file): DuckDB then
        # writes full row groups straight to the file instead of through its WAL.
        with Progress(*columns, transient=False) as progress, store.transaction():
            task = progress.add_task("load", total=n_slices, slice=f"{slice_s // 60} min", rate="")
            for piece in slices(shape, slice_s):
                for topic, table in piece.tables:
                    fields = table.num_columns - 1  # time_tai_ns is the index, not a field
                    t0 = time.perf_counter()
                    written = writer.write(topic, table)
                    elapsed = time.perf_counter() - t0
                    values = table.num_rows * fields
                    result.rows_written += written.rows_written
                    result.values += values
                    if topic == FAST_TOPIC:
                        result.fast_s += elapsed
                        result.fast_rows += table.num_rows
                        result.fast_values += values
                        result.fast_batch_ms.append(elapsed * 1e3)
                    else:
                        result.slow_s += elapsed
                        result.slow_rows += table.num_rows
                        result.slow_values += values
                        result.slow_batch_ms.append(elapsed * 1e3)
                spent = result.fast_s + result.slow_s
                progress.update(
                    task, advance=1, rate=f"{result.values / spent / 1e6:.1f} M values/s"
                )
            t0 = time.perf_counter()
        # The commit (at the end of the with-block above) and a checkpoint are part of the load.
        store.cursor().execute("CHECKPOINT").fetchall()
        result.checkpoint_s = time.perf_counter() - t0
        rows = result.fast_rows + result.slow_rows
        if result.rows_written != rows:
            raise SystemExit(f"load wrote {result.rows_written} rows of {rows}; expected all")
    result.size_bytes = sum(p.stat().st_size for p in store_dir.glob("efd.duckdb*"))
    return result


# -- queries -----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Timing:
    """Milliseconds of repeated calls."""

    ms: np.ndarray

    @property
    def median(self) -> float:
        return float(np.median(self.ms))

    @property
    def p90(self) -> float:
        return float(np.percentile(self.ms, 90))

    def text(self) -> str:
        return f"{self.median:.2f} ms"

    def detail(self) -> str:
        return f"p90 {self.p90:.2f} ms, min {self.ms.min():.2f}, max {self.ms.max():.2f}"


def _timed(calls: list[Callable[[], None]]) -> Timing:
    ms = np.empty(len(calls))
    for i, call in enumerate(calls):
        t0 = time.perf_counter()
        call()
        ms[i] = (time.perf_counter() - t0) * 1e3
    return Timing(ms)


def _windows(shape: DatasetShape, count: int, seed: int) -> np.ndarray:
    """UTC ns starts of 10-minute windows holding exactly 30,000 rows.

    A window starts half a period after a nominal sample, so with ±0.5 ms
    jitter the inclusive range ``[start, start + 600 s]`` holds the next
    30,000 samples and no other.
    """
    rng = np.random.default_rng(seed)
    last = shape.fast_rows - WINDOW_ROWS - 1
    if last < 0:
        raise SystemExit(f"the data set is shorter than the {WINDOW_S} s query window")
    first = rng.integers(0, last, size=count, endpoint=True)
    return fast_sample_utc_ns(first) + FAST_PERIOD_NS // 2


def _astropy_utc(utc_ns: int) -> Any:
    return Time(utc_ns // NS_PER_S, (utc_ns % NS_PER_S) / NS_PER_S, format="unix", scale="utc")


@dataclass(frozen=True, slots=True)
class QueryResult:
    select: Timing
    select_sql_arrow: Timing
    select_sql_df: Timing
    top: Timing
    top_sql: Timing
    first_select_ms: float
    first_top_ms: float


def queries(store_dir: Path, shape: DatasetShape, repeat: int) -> QueryResult:
    """Time the client's selects and the same selects in plain SQL."""
    table = '"' + FAST_TOPIC + '"'
    cols = ", ".join(["time_tai_ns", *QUERY_FIELDS])
    range_sql = (
        f"SELECT {cols} FROM {table} WHERE time_tai_ns >= ? AND time_tai_ns <= ? "
        "ORDER BY time_tai_ns"
    )
    top_sql = f"SELECT time_tai_ns, f000 FROM {table} ORDER BY time_tai_ns DESC LIMIT 1"

    with EfdClientSync(store_dir, settings=_settings(store_dir)) as client:
        cursor = client.store.cursor()
        last_tai = cursor.execute(f"SELECT max(time_tai_ns) FROM {table}").fetchall()[0][0]

        def select(start_ns: int) -> Callable[[], None]:
            start, end = _astropy_utc(start_ns), _astropy_utc(start_ns + WINDOW_S * NS_PER_S)

            def call() -> None:
                frame = client.select_time_series(FAST_TOPIC, QUERY_FIELDS, start, end)
                if len(frame) != WINDOW_ROWS or list(frame.columns) != QUERY_FIELDS:
                    raise SystemExit(
                        f"select_time_series returned {len(frame)} rows, "
                        f"columns {list(frame.columns)}; expected {WINDOW_ROWS}, {QUERY_FIELDS}"
                    )

            return call

        def select_sql(start_ns: int, as_frame: bool) -> Callable[[], None]:
            begin = int(utc_to_tai_ns(np.int64(start_ns)))
            params = [begin, begin + WINDOW_S * NS_PER_S]

            def call() -> None:
                if as_frame:
                    rows = len(cursor.execute(range_sql, params).df())
                else:
                    rows = cursor.sql(range_sql, params=params).to_arrow_table().num_rows
                if rows != WINDOW_ROWS:
                    raise SystemExit(f"SQL select returned {rows} rows; expected {WINDOW_ROWS}")

            return call

        def top() -> None:
            frame = client.select_top_n(FAST_TOPIC, "f000", 1)
            if len(frame) != 1:
                raise SystemExit(f"select_top_n returned {len(frame)} rows; expected 1")

        def top_raw() -> None:
            rows = cursor.execute(top_sql).fetchall()
            if rows[0][0] != last_tai:
                raise SystemExit("SQL latest row is not the last row")

        first_select = _timed([select(int(_windows(shape, 1, 99)[0]))]).median
        first_top = _timed([top]).median
        # Warm up: caches, DuckDB's buffer pool, astropy's and pandas' lazy imports.
        for start in _windows(shape, WARMUP, 2):
            select(int(start))()
            select_sql(int(start), False)()
            select_sql(int(start), True)()
            top()
            top_raw()
        frame = client.select_top_n(FAST_TOPIC, "f000", 1)
        want = utc_to_tai_ns(np.asarray(frame.index.asi8, dtype=np.int64))[0]
        if int(want) != int(last_tai):
            raise SystemExit("select_top_n did not return the last row")

        starts = [int(s) for s in _windows(shape, repeat, 1)]
        _say(f"timing {repeat} calls of each query")
        return QueryResult(
            select=_timed([select(s) for s in starts]),
            select_sql_arrow=_timed([select_sql(s, False) for s in starts]),
            select_sql_df=_timed([select_sql(s, True) for s in starts]),
            top=_timed([top] * repeat),
            top_sql=_timed([top_raw] * repeat),
            first_select_ms=first_select,
            first_top_ms=first_top,
        )


# -- the run ---------------------------------------------------------------------
def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description="openefd core benchmark (issue 2): bulk load, 10-minute select, latest row.",
    )
    parser.add_argument(
        "--hours", type=float, default=None, help="hours of data (default 6; 0.5 with --quick)"
    )
    parser.add_argument(
        "--store",
        type=Path,
        default=None,
        help="store directory; a complete benchmark store there is reused (no load), an "
        "absent one is created and kept (e.g. bench/data/store). Default: a temporary "
        "directory, deleted afterwards.",
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="calls timed per query (default 200; 50 quick)"
    )
    parser.add_argument(
        "--slice-minutes",
        type=int,
        default=10,
        help="minutes of data per write call and topic (default 10)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 0.5 h, 50 calls")
    parser.add_argument(
        "--record",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="append the result to bench/RESULTS.md (default: yes, unless --quick)",
    )
    args = parser.parse_args(argv)
    if args.hours is None:
        args.hours = 0.5 if args.quick else 6.0
    if args.repeat is None:
        args.repeat = 50 if args.quick else 200
    if args.record is None:
        args.record = not args.quick
    if args.repeat < 1 or args.hours <= 0 or args.slice_minutes < 1:
        parser.error("--hours, --repeat and --slice-minutes must be positive")
    return args


def _reusable(store_dir: Path, shape: DatasetShape) -> bool:
    """Whether ``store_dir`` holds this data set already; refuses foreign stores."""
    marker = store_dir / MARKER
    if marker.exists():
        doc = json.loads(marker.read_text())
        if doc == {"version": DATASET_VERSION, "hours": shape.hours}:
            return True
        raise SystemExit(
            f"{store_dir} holds a different benchmark data set ({doc}); "
            "remove it or give another --store"
        )
    if store_dir.exists() and any(store_dir.iterdir()):
        raise SystemExit(f"{store_dir} is not empty and not a benchmark store; give another")
    return False


def _per_kind(name: str, values: int, seconds: float, ms: list[float], fields: int) -> Metric:
    return Metric(
        name,
        f"{values / seconds / 1e6:.2f} M values/s",
        f"{len(ms)} calls of {fields} fields, {seconds:.1f} s; per call median "
        f"{np.median(ms):.1f} ms, max {max(ms):.0f} ms",
    )


def _metrics(shape: DatasetShape, loaded: LoadResult | None, q: QueryResult) -> list[Metric]:
    out: list[Metric] = []
    if loaded is None:
        out.append(Metric("bulk load", "not measured", "store reused (--store)"))
    else:
        rate = loaded.values / loaded.total_s
        out += [
            Metric(
                "bulk load, values/s",
                f"{rate / 1e6:.2f} M",
                f"{loaded.values:,} values in {loaded.total_s:.1f} s "
                f"(writes {loaded.fast_s + loaded.slow_s:.1f} s + commit and checkpoint "
                f"{loaded.checkpoint_s:.1f} s)",
                "≥ 5 M",
                rate >= LOAD_TARGET_VALUES_S,
            ),
            Metric(
                "bulk load, rows/s",
                f"{(loaded.fast_rows + loaded.slow_rows) / loaded.total_s / 1e3:.0f} k",
                f"{loaded.fast_rows + loaded.slow_rows:,} rows",
            ),
            _per_kind(
                "… 50 Hz topic alone",
                loaded.fast_values,
                loaded.fast_s,
                loaded.fast_batch_ms,
                shape.fast_fields,
            ),
            _per_kind(
                "… 1 Hz topics alone",
                loaded.slow_values,
                loaded.slow_s,
                loaded.slow_batch_ms,
                shape.slow_fields,
            ),
            Metric(
                "store on disk",
                f"{loaded.size_bytes / 1e6:.0f} MB",
                f"{loaded.size_bytes / loaded.values:.2f} bytes/value; "
                f"topic registration {loaded.register_s * 1e3:.0f} ms (not in the load time)",
            ),
        ]
    out += [
        Metric(
            "select_time_series, 3 fields × 10 min (30,000 rows)",
            q.select.text(),
            q.select.detail() + f"; first call {q.first_select_ms:.1f} ms",
            "median ≤ 10 ms",
            q.select.median <= SELECT_TARGET_MS,
        ),
        Metric(
            "… same range, raw DuckDB SQL → Arrow",
            q.select_sql_arrow.text(),
            q.select_sql_arrow.detail(),
        ),
        Metric(
            "… same range, raw DuckDB SQL → DataFrame (.df())",
            q.select_sql_df.text(),
            q.select_sql_df.detail(),
        ),
        Metric(
            "select_top_n(…, 1), latest row",
            q.top.text(),
            q.top.detail() + f"; first call {q.first_top_ms:.1f} ms",
            "median ≤ 5 ms",
            q.top.median <= TOP_TARGET_MS,
        ),
        Metric("… raw DuckDB SQL (ORDER BY … DESC LIMIT 1)", q.top_sql.text(), q.top_sql.detail()),
    ]
    return out


def _print_table(metrics: list[Metric]) -> None:
    table = Table(title="openefd core benchmark")
    for name in ("metric", "measured", "detail", "target", "result"):
        table.add_column(name, justify="right" if name == "measured" else "left")
    for m in metrics:
        style = {"PASS": "green", "MISS": "bold red"}.get(m.verdict, "")
        table.add_row(
            m.name,
            m.value,
            m.detail,
            m.target or "—",
            f"[{style}]{m.verdict}[/]" if style else "—",
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(table)


def _software() -> str:
    return (
        f"Python {sys.version.split()[0]}, duckdb {duckdb.__version__}, "
        f"pyarrow {pyarrow.__version__}, pandas {pandas.__version__}, numpy {np.__version__}"
    )


def run(args: argparse.Namespace) -> int:
    shape = DatasetShape(args.hours)
    slice_s = args.slice_minutes * 60
    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()[0]
    dataset = (
        f"{shape.topics} topics (1 at {FAST_HZ} Hz × {shape.fast_fields} fields, 100 at 1 Hz × "
        f"{shape.slow_fields} fields), {shape.hours:g} h, {shape.rows:,} rows, "
        f"{shape.values:,} values; written {args.slice_minutes} min per call and topic, "
        "all calls in one transaction (one import, as openefd load does per file)"
    )
    _say(f"data set: {dataset}")
    with tempfile.TemporaryDirectory(prefix="openefd-bench-") as tmp:
        store_dir = args.store.resolve() if args.store is not None else Path(tmp) / "store"
        loaded: LoadResult | None = None
        if _reusable(store_dir, shape):
            _say(f"reusing the data set in {store_dir} (load not measured)")
        else:
            _say(f"loading into {store_dir}")
            loaded = load(store_dir, shape, slice_s)
            (store_dir / MARKER).write_text(
                json.dumps({"version": DATASET_VERSION, "hours": shape.hours})
            )
            _say(f"loaded in {loaded.total_s:.1f} s")
        result = queries(store_dir, shape, args.repeat)
    metrics = _metrics(shape, loaded, result)
    load_after = os.getloadavg()[0]
    _print_table(metrics)
    if args.record:
        run_record = Run(
            utc=started,
            commit=git_commit(),
            machine=machine(),
            software=_software(),
            command=shlex.join(["scripts/bench", *sys.argv[1:]]),
            dataset=dataset,
            metrics=metrics,
            notes=[
                f"queries: {args.repeat} timed calls each at random offsets after {WARMUP} "
                "warm-up calls; select times include the DataFrame with its UTC index.",
                f"1-minute load average {load_before:.2f} before the run, {load_after:.2f} "
                "after (other processes on the machine inflate the numbers).",
            ],
        )
        _say(f"results appended to {append_results(run_record)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(_parse(argv))


if __name__ == "__main__":
    raise SystemExit(main())
