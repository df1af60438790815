"""The latency report benchmark (issue 6): one night of 1,000 exposures × 205 detectors.

Run ``scripts/bench-latency`` (or ``.venv/bin/python -m bench.latency_report``)
from the repo root; ``--help`` lists the options, ``bench/README.md`` says
what is measured. A full run appends a section to ``bench/RESULTS.md``.

The night comes from the simulator's own plan and arrival model
(:mod:`openefd.sim`): the first 1,000 exposures of a 12.4-hour night from
2024-05-01T23:30Z (one ``day_obs``), all 205 detectors each, with its
re-sends, stalls and planted anomalies. They are loaded into a store's
exposure registry (timed, for context), the store is closed and opened
again read-only, and what ``openefd latency`` does is timed from there: the
two registry queries, the analysis, the six plots, and writing the HTML,
JSON and CSV files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import matplotlib
import numpy as np
import pandas
import pyarrow

from bench.results import Metric, Run, append_results, git_commit, machine
from openefd.analysis.latency import night_latency
from openefd.analysis.latency_plots import render_plots
from openefd.analysis.latency_report import write_report
from openefd.ingest.exposure_loader import load_exposures
from openefd.sim.arrivals import arrivals_frame
from openefd.sim.exposures import exposures_frame
from openefd.sim.plan import make_plan
from openefd.store.duckdb_store import Store
from openefd.timeinput import to_tai_ns
from openefd.timescales import NS_PER_S

__all__ = ["main"]

START = "2024-05-01T23:30:00Z"
HOURS = 12.4  # up to 11:54 UTC: one day_obs (it changes at 12:00 UTC)
DAY_OBS = 20240501
DETECTORS = 205
TARGET_S = 5.0


def _say(text: str) -> None:
    print(text, flush=True)


def _night(n_exposures: int, seed: int) -> tuple[pandas.DataFrame, pandas.DataFrame]:
    start = to_tai_ns(START)
    plan = make_plan(start, start + round(HOURS * 3600 * NS_PER_S), seed)
    exposures = exposures_frame(plan)
    if len(exposures) < n_exposures:
        raise SystemExit(
            f"the simulated night holds {len(exposures)} exposures, not {n_exposures}"
        )
    exposures = exposures.head(n_exposures)
    return exposures, arrivals_frame(exposures, start, seed)


@dataclass(slots=True)
class Timing:
    """Seconds of one report: queries + analysis, plots, files, and the total."""

    analysis_s: float
    plots_s: float
    files_s: float

    @property
    def total_s(self) -> float:
        return self.analysis_s + self.plots_s + self.files_s


def _one_report(store: Store, out: Path) -> tuple[Timing, int]:
    t0 = time.perf_counter()
    report = night_latency(store, DAY_OBS)
    t1 = time.perf_counter()
    plots = render_plots(report)
    t2 = time.perf_counter()
    write_report(report, out, plots=plots)
    t3 = time.perf_counter()
    return Timing(t1 - t0, t2 - t1, t3 - t2), report.counts["images"]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench-latency",
        description="Time the latency report of a night of N exposures × 205 detectors.",
    )
    parser.add_argument("--exposures", type=int, default=1000, help="exposures in the night")
    parser.add_argument("--repeat", type=int, default=5, help="timed reports (after 1 warm-up)")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed")
    parser.add_argument(
        "--store", type=Path, default=None, help="store directory to keep (default: temporary)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 100 exposures, 2 reports, not recorded"
    )
    parser.add_argument(
        "--record",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="append to bench/RESULTS.md (default: yes, unless --quick)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.exposures, args.repeat = 100, 2
    if args.record is None:
        args.record = not args.quick
    return args


def _software() -> str:
    return (
        f"Python {sys.version.split()[0]}, duckdb {duckdb.__version__}, "
        f"pyarrow {pyarrow.__version__}, pandas {pandas.__version__}, numpy {np.__version__}, "
        f"matplotlib {matplotlib.__version__}"
    )


def run(args: argparse.Namespace) -> int:
    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()[0]
    exposures, arrivals = _night(args.exposures, args.seed)
    dataset = (
        f"{len(exposures):,} simulated exposures × {DETECTORS} detectors of day_obs {DAY_OBS} "
        f"(openefd.sim, seed {args.seed}): {len(arrivals):,} image deliveries "
        f"({int(arrivals['resend'].sum()):,} re-sends)"
    )
    _say(f"data set: {dataset}")
    with tempfile.TemporaryDirectory(prefix="openefd-bench-latency-") as tmp:
        store_dir = args.store.resolve() if args.store is not None else Path(tmp) / "store"
        t0 = time.perf_counter()
        with Store(store_dir) as st:
            loaded = load_exposures(st, exposures, arrivals)
        load_s = time.perf_counter() - t0
        _say(
            f"loaded into {store_dir} in {load_s:.2f} s ({loaded.arrivals.new:,} new arrivals, "
            f"{loaded.arrivals.unchanged:,} already stored)"
        )
        timings: list[Timing] = []
        with Store(store_dir, read_only=True) as st:
            _one_report(st, Path(tmp) / "warm-up")
            for i in range(args.repeat):
                timing, images = _one_report(st, Path(tmp) / f"report-{i}")
                if images != len(exposures) * DETECTORS:
                    raise SystemExit(f"the report counted {images} images, not the night's")
                timings.append(timing)
                _say(
                    f"report {i + 1}: {timing.total_s:.2f} s (queries + analysis "
                    f"{timing.analysis_s:.2f}, plots {timing.plots_s:.2f}, "
                    f"files {timing.files_s:.2f})"
                )
        sizes = {p.name: p.stat().st_size for p in (Path(tmp) / "report-0").iterdir()}
    load_after = os.getloadavg()[0]
    totals = [t.total_s for t in timings]
    median = statistics.median(totals)

    def med(attr: str) -> float:
        return statistics.median(getattr(t, attr) for t in timings)

    metrics = [
        Metric(
            f"latency report, {len(exposures):,} exposures × {DETECTORS} detectors, "
            "stored records → HTML + JSON + CSV, median",
            f"{median:.2f} s",
            f"{args.repeat} reports after 1 warm-up; min {min(totals):.2f}, max "
            f"{max(totals):.2f} s; what `openefd latency DAY_OBS` does after opening the store",
            f"≤ {TARGET_S:g} s",
            median <= TARGET_S,
        ),
        Metric(
            "  queries (exposures, image arrivals) + analysis, median",
            f"{med('analysis_s'):.2f} s",
            "night_latency: one query per table, per-image, per-exposure, cadence, "
            "detector and summary frames",
        ),
        Metric("  six plots (PNG), median", f"{med('plots_s'):.2f} s", "matplotlib Agg"),
        Metric(
            "  files, median",
            f"{med('files_s'):.2f} s",
            ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sorted(sizes.items())),
        ),
        Metric(
            "loading the night into the exposure registry (context)",
            f"{load_s:.2f} s",
            f"{len(exposures):,} exposures and {len(arrivals):,} deliveries, one transaction"
            + ("" if loaded.arrivals.new else "; the store already held them"),
        ),
    ]
    for m in metrics:
        _say(f"{m.name}: {m.value} {m.detail} {m.verdict}")
    if args.record:
        record = Run(
            utc=started,
            commit=git_commit(),
            machine=machine(),
            software=_software(),
            command=shlex.join(["scripts/bench-latency", *sys.argv[1:]]),
            dataset=dataset,
            metrics=metrics,
            notes=[
                f"1-minute load average {load_before:.2f} before the run, {load_after:.2f} "
                "after (other processes on the machine inflate the numbers).",
            ],
        )
        _say(f"results appended to {append_results(record)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(_parse(argv))


if __name__ == "__main__":
    raise SystemExit(main())
