"""openefd against InfluxDB 1.6.7 at EFD scale: same data, same run, ratios (issue 3).

Run ``scripts/bench-efd-scale`` (or ``.venv/bin/python -m bench.efd_scale``)
from the repo root; ``--help`` lists the options and ``bench/README.md``
explains what is measured. A full run appends a section to
``bench/RESULTS.md``.

The run, in order: start a private ``influxd``; bulk-load the query data set
of :mod:`bench.dataset` into openefd (as :mod:`bench.core` does) and into
InfluxDB (:mod:`bench.efd_load`); time four questions on both
(:mod:`bench.efd_queries`); generate an EFD-shaped live stream and measure
ingest headroom and visibility latency on both (:mod:`bench.efd_live`);
stop ``influxd``; print and record the table.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import os
import pstats
import shlex
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pandas
import pyarrow

from bench.core import LoadResult, load
from bench.dataset import FAST_HZ, DatasetShape
from bench.efd_live import (
    LatencyResult,
    LiveResult,
    LiveStream,
    influx_headroom,
    influx_latency,
    make_stream,
    openefd_headroom,
    openefd_latency,
    stored_rows,
)
from bench.efd_load import InfluxLoad, load_influx
from bench.efd_queries import QueryPair, run_queries
from bench.efd_report import Row, Section, append_section, print_rows, speed_ratio, time_ratio
from bench.influx import InfluxServer, influxd_version
from bench.results import git_commit, machine
from openefd.client import EfdClientSync
from openefd.settings import Settings
from openefd.store.duckdb_store import Store

__all__ = ["main"]

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO.parent / "shared" / "ts_xml" / "sal_interfaces"
LIVE_START_UTC = dt.datetime(2024, 5, 2, 6, 0, tzinfo=dt.UTC)  # after the query data set

# Simulated seconds fed untimed before the headroom feed: tables and series exist and the
# rates of topics sampling at 1 Hz or more are judged, as in a store that has been running.
WARM_S = 60
HEADROOM_TARGET = 20.0
LATENCY_P99_TARGET_MS = 100.0
QUERY_TARGET_FASTER = 20.0
ASOF_TARGET_FASTER = 100.0
AGGREGATION_CORE_SHARE = 0.10  # of one core, at the stream's real-time rate


def _say(text: str) -> None:
    print(text, flush=True)


@contextmanager
def _profiled(directory: Path | None, name: str) -> Iterator[None]:
    """cProfile the block into ``directory/name.prof`` and print its top functions."""
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    prof = cProfile.Profile()
    prof.enable()
    try:
        yield
    finally:
        prof.disable()
        path = directory / f"{name}.prof"
        prof.dump_stats(path)
        _say(f"cProfile of {name} in {path}; top functions by own time:")
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)


# -- metrics -----------------------------------------------------------------
def _load_rows(efd: LoadResult, influx: InfluxLoad) -> list[Row]:
    efd_rate = efd.values / efd.total_s
    return [
        Row(
            "bulk load of the query data set, values/s",
            f"{efd_rate / 1e6:.2f} M",
            f"{influx.values_per_s / 1e6:.2f} M",
            speed_ratio(efd_rate, influx.values_per_s),
            detail=(
                f"openefd: {efd.values:,} values in {efd.total_s:.1f} s (Writer, one transaction, "
                f"commit and checkpoint {efd.checkpoint_s:.1f} s); InfluxDB: {influx.values:,} "
                f"values, {influx.lines:,} lines, {influx.body_bytes / 1e9:.2f} GB of line "
                f"protocol in {influx.requests} /write calls, {influx.write_s:.1f} s in /write "
                f"(making the line protocol, {influx.lp_s:.0f} s, not counted; then "
                f"{influx.settle_s:.0f} s of snapshots and compactions until idle, not counted)"
            ),
        ),
        Row(
            "store on disk, query data set",
            f"{efd.size_bytes / 1e6:,.0f} MB",
            f"{influx.size_bytes / 1e6:,.0f} MB",
            f"{efd.size_bytes / influx.size_bytes:.2f}",
            detail=(
                f"{efd.size_bytes / efd.values:.2f} vs {influx.size_bytes / influx.values:.2f} "
                "bytes/value; InfluxDB: data + WAL + meta after it went idle"
            ),
        ),
    ]


def _query_rows(pairs: list[QueryPair]) -> list[Row]:
    rows = []
    for p in pairs:
        if p.key == "latest":
            target, passed = "no slower", p.openefd.median <= p.influx.median
        elif p.key == "asof":
            target = f"≥ {ASOF_TARGET_FASTER:g}× faster"
            passed = p.influx.median >= ASOF_TARGET_FASTER * p.openefd.median
        else:
            target = f"≥ {QUERY_TARGET_FASTER:g}× faster"
            passed = p.influx.median >= QUERY_TARGET_FASTER * p.openefd.median
        rows.append(
            Row(
                p.name + ", median",
                f"{p.openefd.median:.2f} ms",
                f"{p.influx.median:.2f} ms",
                time_ratio(p.openefd.median, p.influx.median),
                target,
                passed,
                f"{p.calls} calls each; openefd {p.openefd.detail()}; InfluxDB "
                f"{p.influx.detail()}" + (f"; {p.note}" if p.note else ""),
            )
        )
    return rows


def _live_rows(
    stream: LiveStream,
    efd: LiveResult,
    efd_off: LiveResult,
    influx: LiveResult,
    efd_lat: LatencyResult,
    influx_lat: LatencyResult,
    counts: tuple[int, int, int],
) -> list[Row]:
    mb = stream.bytes_per_s / 1e6
    efd_rows, influx_rows, sent = counts
    # The larger of two estimates: the CPU the run with aggregation took beyond the run
    # without (noisy: two runs), and the time spent inside the aggregation itself.
    agg_share = max(efd.cpu_s - efd_off.cpu_s, efd.aggregate_s, 0.0) / efd.sim_s
    return [
        Row(
            "live ingest headroom (simulated s per wall s)",
            f"{efd.headroom:.1f}×",
            f"{influx.headroom:.1f}×",
            speed_ratio(efd.headroom, influx.headroom),
            f"openefd ≥ {HEADROOM_TARGET:g}×",
            efd.headroom >= HEADROOM_TARGET,
            f"stream at {mb:.2f} MB/s (EFD average ≈ 1.6): openefd takes "
            f"{efd.headroom * mb:.0f} MB/s, InfluxDB {influx.headroom * mb:.0f} MB/s; "
            f"openefd: {efd.how}, {efd.detail()}, final flush {efd.final_s * 1e3:.0f} ms; "
            f"InfluxDB: {influx.how}, {influx.detail()}",
        ),
        Row(
            "live ingest headroom, 1 s aggregation off",
            f"{efd_off.headroom:.1f}×",
            f"{influx.headroom:.1f}×",
            speed_ratio(efd_off.headroom, influx.headroom),
            f"openefd ≥ {HEADROOM_TARGET:g}×",
            efd_off.headroom >= HEADROOM_TARGET,
            f"same stream into a fresh store with OPENEFD_AGGREGATION=false: {efd_off.detail()}",
        ),
        Row(
            "1 s aggregation of the live stream, share of one core at real time",
            f"{agg_share * 100:.1f} %",
            "—",
            "—",
            f"≤ {AGGREGATION_CORE_SHARE * 100:g} %",
            agg_share <= AGGREGATION_CORE_SHARE,
            f"process CPU with aggregation {efd.cpu_s:.2f} s, without {efd_off.cpu_s:.2f} s, for "
            f"{efd.sim_s} simulated s; {efd.aggregate_s:.2f} s of wall time inside the "
            f"aggregation ({efd.aggregate_s / efd.sim_s * 100:.1f} % of real time); InfluxDB "
            "keeps no aggregates",
        ),
        Row(
            "visibility latency, p99",
            f"{efd_lat.p(99):.1f} ms",
            f"{influx_lat.p(99):.1f} ms",
            time_ratio(efd_lat.p(99), influx_lat.p(99)),
            f"openefd ≤ {LATENCY_P99_TARGET_MS:g} ms",
            efd_lat.p(99) <= LATENCY_P99_TARGET_MS and efd_lat.timeouts == 0,
            f"openefd: {efd_lat.detail()}; InfluxDB: {influx_lat.detail()}",
        ),
        Row(
            "visibility latency, p50",
            f"{efd_lat.p(50):.1f} ms",
            f"{influx_lat.p(50):.1f} ms",
            time_ratio(efd_lat.p(50), influx_lat.p(50)),
        ),
        Row(
            "live stream rows stored",
            f"{efd_rows:,}",
            f"{influx_rows:,}",
            f"{efd_rows / influx_rows:.4f}" if influx_rows else "—",
            detail=(
                f"{sent:,} rows sent to each; InfluxDB keeps one point per topic and "
                "timestamp, openefd one row per time, salIndex and private_seqNum; openefd: "
                "the first headroom store's rows plus the latency feed's"
            ),
        ),
    ]


# -- the run -------------------------------------------------------------------
def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench-efd-scale",
        description="openefd against InfluxDB 1.6.7 on EFD-shaped data (issue 3): bulk load, "
        "queries, live ingest headroom and visibility latency, with ratios.",
    )
    parser.add_argument(
        "--hours",
        type=float,
        default=None,
        help="hours of query data, at least 1 (default 6; 1 quick)",
    )
    parser.add_argument(
        "--live-minutes",
        type=float,
        default=None,
        help="simulated minutes fed for ingest headroom (default 3; 0.5 quick)",
    )
    parser.add_argument(
        "--latency-seconds",
        type=int,
        default=None,
        help="simulated seconds fed at a fixed pace for visibility latency (default 60; 10 quick)",
    )
    parser.add_argument(
        "--latency-speed",
        type=float,
        default=1.0,
        help="pace of the latency feed, × real time (default 1: real time)",
    )
    parser.add_argument(
        "--probes",
        type=int,
        default=5,
        help="openefd writes polled per simulated second in the latency feed (default 5)",
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="timed calls per query (default 50; 5 quick)"
    )
    parser.add_argument(
        "--warmup", type=int, default=None, help="warm-up calls per query (default 10; 2 quick)"
    )
    parser.add_argument(
        "--influx-writers",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="concurrent /write connections for InfluxDB's bulk load (default: one per core, "
        "its fastest here)",
    )
    parser.add_argument(
        "--batch-lines",
        type=int,
        default=5000,
        help="lines per /write in InfluxDB's bulk load (default 5000)",
    )
    parser.add_argument(
        "--cprofile",
        type=Path,
        default=None,
        metavar="DIR",
        help="cProfile openefd's parts into DIR/*.prof and print their top functions",
    )
    parser.add_argument(
        "--live-runs",
        type=int,
        default=None,
        help="headroom runs with and without aggregation, each into a fresh store; the "
        "median is reported (default 5; 1 quick)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: small everything")
    parser.add_argument(
        "--record",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="append the result to bench/RESULTS.md (default: yes, unless --quick)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "hours": (6.0, 1.0),
        "live_minutes": (3.0, 0.5),
        "latency_seconds": (60, 10),
        "repeat": (50, 5),
        "warmup": (10, 2),
        "live_runs": (5, 1),
    }
    for name, (full, small) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, small if quick else full)
    if args.record is None:
        args.record = not quick
    if args.hours < 1:
        parser.error("--hours must be at least 1 (the downsampling query spans an hour)")
    if min(args.hours, args.live_minutes, args.repeat, args.latency_seconds, args.live_runs) <= 0:
        parser.error(
            "--hours, --live-minutes, --latency-seconds, --repeat and --live-runs must be positive"
        )
    if args.latency_speed <= 0 or args.probes < 1 or args.influx_writers < 1:
        parser.error("--latency-speed, --probes and --influx-writers must be positive")
    return args


def _headroom_runs(tmp: Path, stream: LiveStream, runs: int) -> tuple[LiveResult, LiveResult, int]:
    """``runs`` headroom feeds with aggregation and ``runs`` without, taking turns, each
    into a fresh store (deleted after); the run of median headroom of each, with every
    run's figure in its description (the machine is shared: one run can be 30 % off),
    and the rows of the stream the first store held."""
    results: dict[bool, list[LiveResult]] = {True: [], False: []}
    topics = sorted({t for c in (*stream.warm, *stream.feed) for t in c.tables})
    held = 0
    for k in range(runs):
        for aggregation in (True, False):
            path = tmp / f"store-live-{k}-{'on' if aggregation else 'off'}"
            _settle()
            settings = Settings(store=path, aggregation=aggregation)
            with Store(path, settings=settings) as store:
                store.register_topics(stream.topics)
                result = openefd_headroom(store, stream)
                if not held:
                    held = sum(s.rows for s in store.topic_stats(topics))
            shutil.rmtree(path, ignore_errors=True)
            results[aggregation].append(result)
            what = "with" if aggregation else "without"
            _say(f"openefd headroom {what} aggregation, run {k + 1}: {result.headroom:.1f}×")
    return _median_run(results[True]), _median_run(results[False]), held


def _settle() -> None:
    """Start a timed feed from the same state: the previous run's files written out (its
    deleted store's write-back would otherwise land in this run's commits), garbage
    collected."""
    os.sync()
    gc.collect()


def _median_run(results: list[LiveResult]) -> LiveResult:
    ranked = sorted(results, key=lambda r: r.headroom)
    median = ranked[(len(ranked) - 1) // 2]
    if len(ranked) == 1:
        return median
    figures = ", ".join(f"{r.headroom:.1f}×" for r in results)
    return replace(median, how=f"{median.how}; median of {len(results)} runs ({figures})")


def _software(influx_version: str) -> str:
    return (
        f"{influx_version}; Python {sys.version.split()[0]}, duckdb {duckdb.__version__}, "
        f"pyarrow {pyarrow.__version__}, pandas {pandas.__version__}, numpy {np.__version__}"
    )


def _timed_phase(name: str, fn: Callable[[], object]) -> object:
    t0 = time.perf_counter()
    out = fn()
    _say(f"{name}: {time.perf_counter() - t0:.1f} s")
    return out


def run(args: argparse.Namespace) -> int:
    shape = DatasetShape(args.hours)
    slice_s = 600
    feed_s = round(args.live_minutes * 60)
    started = dt.datetime.now(dt.UTC)
    commit = git_commit()  # the code measured is the code at the start
    t_start = time.perf_counter()
    load_before = os.getloadavg()[0]
    version = influxd_version()
    dataset = (
        f"{shape.topics} topics (1 at {FAST_HZ} Hz × {shape.fast_fields} fields, 100 at 1 Hz × "
        f"{shape.slow_fields} fields), {shape.hours:g} h, {shape.rows:,} rows, "
        f"{shape.values:,} values (bench/dataset.py), loaded into both"
    )
    _say(f"query data set: {dataset}")
    with tempfile.TemporaryDirectory(prefix="openefd-bench-scale-") as tmp:
        store_dir = Path(tmp) / "store"
        server = InfluxServer()
        try:
            influx = server.client()
            influx.create_database()
            _say(f"{version} on 127.0.0.1:{server.port}, data in {server.root}")

            _say("loading openefd")
            efd_load = load(store_dir, shape, slice_s)
            _say(f"openefd loaded in {efd_load.total_s:.1f} s")
            _say(
                f"loading InfluxDB ({args.influx_writers} writers, {args.batch_lines} lines each)"
            )
            influx_load = load_influx(
                server, shape, slice_s, args.batch_lines, args.influx_writers, _say
            )
            influx_load.settle_s = server.wait_idle()
            influx_load.size_bytes = server.size_bytes()
            _say(
                f"InfluxDB loaded: {influx_load.write_s:.1f} s in /write, idle after "
                f"{influx_load.settle_s:.0f} s more"
            )

            settings = Settings(store=store_dir)
            with EfdClientSync(store_dir, settings=settings) as client:
                _say(f"queries: {args.repeat} timed calls each after {args.warmup} warm-up")
                with _profiled(args.cprofile, "queries"):
                    pairs = run_queries(
                        client, influx, server, shape, args.repeat, args.warmup, _say
                    )

                stream = make_stream(
                    SCHEMAS,
                    LIVE_START_UTC,
                    WARM_S,
                    feed_s,
                    args.latency_seconds,
                    seed=1,
                    say=_say,
                )
                t0 = time.perf_counter()
                client.store.register_topics(stream.topics)
                _say(
                    f"registered {len(stream.topics)} topics in openefd in "
                    f"{time.perf_counter() - t0:.1f} s (not timed)"
                )
                with _profiled(args.cprofile, "openefd_headroom"):
                    efd_live, efd_off, headroom_rows = _headroom_runs(
                        Path(tmp), stream, args.live_runs
                    )
                with _profiled(args.cprofile, "openefd_latency"):
                    efd_lat = openefd_latency(
                        client.store, stream, args.latency_speed, args.probes, seed=3
                    )
                _say(f"openefd latency p99 {efd_lat.p(99):.1f} ms: {efd_lat.detail()}")
                _settle()
                influx_live = influx_headroom(influx, stream)
                _say(f"InfluxDB headroom {influx_live.headroom:.1f}×: {influx_live.detail()}")
                server.wait_idle(timeout_s=120)
                influx_lat = influx_latency(influx, stream, args.latency_speed, seed=3)
                _say(f"InfluxDB latency p99 {influx_lat.p(99):.1f} ms: {influx_lat.detail()}")
                latency_rows, influx_rows, sent = stored_rows(client.store, influx, stream)
                counts = (headroom_rows + latency_rows, influx_rows, sent)
        finally:
            server.stop()
    rows = [
        *_load_rows(efd_load, influx_load),
        *_query_rows(pairs),
        *_live_rows(stream, efd_live, efd_off, influx_live, efd_lat, influx_lat, counts),
    ]
    load_after = os.getloadavg()[0]
    wall_min = (time.perf_counter() - t_start) / 60
    print_rows("openefd vs InfluxDB at EFD scale", rows)
    _say(f"whole run: {wall_min:.1f} min")
    if args.record:
        section = Section(
            title="EFD scale: openefd vs InfluxDB",
            utc=started,
            commit=commit if git_commit() == commit else f"{commit} (changed during the run)",
            command=shlex.join(["scripts/bench-efd-scale", *sys.argv[1:]]),
            machine=machine(),
            software=_software(version),
            facts=[
                f"query data set: {dataset}",
                f"live stream: {stream.source}, SAL topics of shared/ts_xml; "
                f"{stream.topics_per_s(stream.feed):.0f} topics and "
                f"{stream.rows(stream.feed) / feed_s:,.0f} rows per simulated second, "
                f"{stream.bytes_per_s / 1e6:.2f} MB/s by sim.volume(); {WARM_S} s fed untimed "
                f"(tables and series created, rates judged), {feed_s} s fed for headroom, "
                f"{args.latency_seconds} s more at {args.latency_speed:g}× real time for "
                "latency; pre-generated in memory before timing",
            ],
            rows=rows,
            notes=[
                "ratio = openefd / InfluxDB: for times below 1 is openefd faster; for rates "
                "above 1 is openefd faster.",
                "InfluxDB answers include parsing its JSON into a DataFrame as aioinflux does for "
                "lsst-efd-client; openefd answers include building its DataFrame.",
                f"InfluxDB config: no series or tag limits, max-row-limit 0, 8 GiB cache limit, "
                f"WAL fsync on every write (default), monitoring and query logs off; bulk load "
                f"over {args.influx_writers} connections of {args.batch_lines} lines per /write.",
                f"1-minute load average {load_before:.2f} before the run, {load_after:.2f} "
                f"after; the run took {wall_min:.1f} min.",
            ],
        )
        _say(f"results appended to {append_section(section)}")
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds: influxd is stopped, temporary files removed


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    return run(_parse(argv))


if __name__ == "__main__":
    raise SystemExit(main())
