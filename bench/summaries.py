"""The per-exposure summaries benchmark (issue 7): one night, openefd against InfluxDB 1.6.7.

Run ``scripts/bench-summaries`` (or ``.venv/bin/python -m bench.summaries``)
from the repo root; ``--help`` lists the options and ``bench/README.md``
says what is measured. A full run appends a section to ``bench/RESULTS.md``;
``--quick`` (50 exposures) records nothing.

The run, in order:

1. simulate the night (:mod:`bench.summaries_data`): the first 1,000
   exposures of :mod:`openefd.sim`'s plan and the rows of the topics
   ``bench/summaries_config.yaml`` summarises;
2. start a private ``influxd`` 1.6.7 and load the same rows into a new
   openefd store and into InfluxDB (not timed against the targets; reported);
3. (a) openefd: ``summarize(store, config, day_obs=…)`` end to end, in a
   fresh process each time (:mod:`bench.summaries_openefd`), ``--repeat``
   times; the median is the figure;
4. (b) the per-exposure approach: one windowed InfluxQL query per exposure
   and topic entry, as-of queries for the values at exposure start and end,
   pandas/numpy for the functions (:mod:`bench.summaries_influx`), serially
   on one keep-alive connection — all exposures, or every k-th when all of
   them would take longer than ``--influx-budget-min`` (the time is then
   extrapolated per exposure, and the section says so);
5. compare (a) with (b) value by value (:mod:`bench.summaries_compare`);
6. stop ``influxd``; print and record the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas
import pyarrow

from bench.influx import InfluxHttp, InfluxServer, influxd_version
from bench.results import Metric, Run, append_results, git_commit, machine
from bench.summaries_compare import (
    Comparison,
    column_counts,
    compare_results,
    results_from_long,
    rows_config,
)
from bench.summaries_data import (
    DAY_OBS,
    InfluxLoadResult,
    Night,
    load_influx,
    load_openefd,
    simulate_night,
)
from bench.summaries_influx import InfluxTiming, SpecPlan, plan_specs, summarize_influx
from openefd.analysis.summaries import summarize_exposures
from openefd.analysis.summaries_config import SummaryConfig, load_config
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures as registry_exposures

__all__ = ["main"]

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO.parent / "shared" / "ts_xml" / "sal_interfaces"
CONFIG = Path(__file__).with_name("summaries_config.yaml")
TARGET_S = 10.0
TARGET_FASTER = 10.0
PILOT_EXPOSURES = 10


def _say(text: str) -> None:
    print(text, flush=True)


# -- (a) ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OpenefdRun:
    """One run of (a) in its own process, as :mod:`bench.summaries_openefd` reports it."""

    seconds: float
    rss_before_mb: float
    rss_peak_mb: float
    exposures: int
    configured_columns: int
    wide_columns: int
    long_rows: int
    values_per_exposure: int


def _run_openefd(store: Path, config: Path, out: Path | None) -> OpenefdRun:
    argv = [sys.executable, "-m", "bench.summaries_openefd", str(store), str(config), str(DAY_OBS)]
    if out is not None:
        argv += ["--out", str(out)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"(a) failed ({done.returncode}):\n{done.stderr[-3000:]}")
    doc: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return OpenefdRun(**doc)


# -- (b) ---------------------------------------------------------------------
def _sample_every(
    client: InfluxHttp, plans: list[SpecPlan], exposures: pandas.DataFrame, budget_s: float
) -> tuple[int, float]:
    """k for timing every k-th exposure within ``budget_s``, from a pilot of a few exposures."""
    picks = np.unique(np.linspace(0, len(exposures) - 1, PILOT_EXPOSURES).round().astype(int))
    _, _, _, timing = summarize_influx(client, plans, exposures.iloc[picks])
    per_exposure = timing.total_s / len(picks)
    estimate = per_exposure * len(exposures)
    return max(1, math.ceil(estimate / budget_s)), estimate


def _run_influx(
    client: InfluxHttp, plans: list[SpecPlan], sample: pandas.DataFrame
) -> tuple[dict[str, np.ndarray], InfluxTiming]:
    t0 = time.perf_counter()
    step = max(1, len(sample) // 10)

    def progress(done: int) -> None:
        if done % step == 0 or done == len(sample):
            spent = time.perf_counter() - t0
            _say(f"  (b) {done}/{len(sample)} exposures, {spent:.0f} s")

    results, _, _, timing = summarize_influx(client, plans, sample, progress)
    return results, timing


# -- the run -----------------------------------------------------------------
def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench-summaries",
        description=(
            "Per-exposure summaries of a simulated night: openefd's summarize() against "
            "one InfluxDB 1.6.7 query per exposure and topic."
        ),
    )
    parser.add_argument("--exposures", type=int, default=1000, help="exposures in the night")
    parser.add_argument("--config", type=Path, default=CONFIG, help="summaries configuration")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of (a), fresh processes")
    parser.add_argument(
        "--influx-every",
        type=int,
        default=0,
        help="time (b) on every k-th exposure (default 0: all of them, unless a pilot of "
        f"{PILOT_EXPOSURES} exposures predicts more than --influx-budget-min)",
    )
    parser.add_argument(
        "--influx-budget-min", type=float, default=15.0, help="time allowed for (b), minutes"
    )
    parser.add_argument("--writers", type=int, default=2, help="connections loading InfluxDB")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 50 exposures, 1 run of (a), not recorded"
    )
    parser.add_argument(
        "--keep-store",
        type=Path,
        default=None,
        metavar="DIR",
        help="load openefd's store into DIR and keep it; with --openefd-only, reuse DIR's "
        "store when it holds one (no simulation, no loading)",
    )
    parser.add_argument(
        "--openefd-only",
        action="store_true",
        help="time (a) only: no InfluxDB, no (b), no comparison, not recorded",
    )
    parser.add_argument(
        "--record",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="append to bench/RESULTS.md (default: yes, unless --quick)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.exposures, args.repeat = 50, 1
        if args.influx_every == 0:
            args.influx_every = 1
    if args.record is None:
        args.record = not args.quick and not args.openefd_only
    if args.openefd_only and args.record:
        parser.error("--openefd-only runs are not recorded; drop --record")
    if args.exposures < 1 or args.repeat < 1 or args.influx_every < 0:
        parser.error("--exposures and --repeat must be positive, --influx-every ≥ 0")
    return args


def _software(influxd: str) -> str:
    return (
        f"{influxd}; Python {sys.version.split()[0]}, duckdb {duckdb.__version__}, "
        f"pyarrow {pyarrow.__version__}, pandas {pandas.__version__}, numpy {np.__version__}"
    )


@dataclass(slots=True)
class Outcome:
    """Everything measured, for the table."""

    night: Night
    config: SummaryConfig
    widths: dict[str, int]
    efd_load_s: float
    efd_size_bytes: int
    influx_load: InfluxLoadResult
    influx_rows_missing: dict[str, int]
    window_rows: int
    window_values: int
    runs: list[OpenefdRun]
    every: int
    estimate_s: float | None
    sample: int
    influx: InfluxTiming
    comparison: Comparison


def _influx_row_counts(client: InfluxHttp, night: Night) -> dict[str, int]:
    """Rows each topic lacks in InfluxDB (points merged there), by counting one field."""
    missing = {}
    for topic, table in night.tables.items():
        name = next(n for n in table.column_names if n != "time_tai_ns")
        if pyarrow.types.is_list(table[name].type):
            name = f"{name}0"
        doc = client.query_json(f'SELECT count("{name}") FROM "{topic}"')
        series = doc["results"][0].get("series", [])
        held = int(series[0]["values"][0][1]) if series else 0
        if held != table.num_rows:
            missing[topic] = table.num_rows - held
    return missing


def _window_rows(
    store_dir: Path, config: SummaryConfig, widths: dict[str, int]
) -> tuple[int, int]:
    """Rows in all exposure windows of all topic entries, and the values (× fields read)."""
    with Store(store_dir, read_only=True) as store:
        frame = registry_exposures(store, day_obs=DAY_OBS)
        counted = summarize_exposures(store, frame, rows_config(config)).long
    element = counted["element"].to_numpy(dtype=np.float64, na_value=-1.0)
    per_entry = counted[element <= 0].groupby("column")["value"].sum()
    rows = values = 0
    for n, spec in enumerate(config.topics):
        spec_rows = int(per_entry.get(f"rows_{n}", 0))
        fields = {c.field for c in spec.columns}
        rows += spec_rows
        values += spec_rows * sum(max(widths[f"{spec.topic}|{f}"], 1) for f in fields)
    return rows, values


def _store_in(directory: Path) -> bool:
    return (directory / "efd.duckdb").exists()


def run_openefd_only(args: argparse.Namespace) -> int:
    """(a) alone, ``--repeat`` times, on the store in ``--keep-store`` (made when missing)."""
    with tempfile.TemporaryDirectory(prefix="openefd-bench-summaries-") as tmp:
        store_dir = args.keep_store if args.keep_store is not None else Path(tmp) / "store"
        if _store_in(store_dir):
            _say(f"reusing the store in {store_dir}")
        else:
            config = load_config(args.config)
            _say(f"simulating the night: {args.exposures} exposures, config {args.config}")
            night = simulate_night(SCHEMAS, config, args.exposures, args.seed, _say)
            _say(f"openefd: loaded in {load_openefd(store_dir, night):.1f} s into {store_dir}")
        seconds = []
        for i in range(args.repeat):
            result = _run_openefd(store_dir, args.config, None)
            seconds.append(result.seconds)
            _say(
                f"(a) run {i + 1}: {result.seconds:.2f} s, peak RSS {result.rss_peak_mb:,.0f} MB, "
                f"{result.exposures} exposures, {result.long_rows:,} long rows"
            )
    _say(f"(a) median of {len(seconds)}: {statistics.median(seconds):.2f} s")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.openefd_only:
        return run_openefd_only(args)
    if args.keep_store is not None and _store_in(args.keep_store):
        raise SystemExit(f"{args.keep_store} already holds a store; reuse it with --openefd-only")
    started = dt.datetime.now(dt.UTC)
    wall0 = time.perf_counter()
    load_before = os.getloadavg()[0]
    config = load_config(args.config)
    _say(f"simulating the night: {args.exposures} exposures, config {args.config}")
    night = simulate_night(SCHEMAS, config, args.exposures, args.seed, _say)
    _say(
        f"simulated {night.rows:,} rows, {night.values:,} values of {len(night.tables)} topics "
        f"over {night.hours:.2f} h in {night.generate_s:.0f} s"
    )
    plans = plan_specs(config, night.schemas)
    widths = {c.name: p.widths[c.field] for p in plans for c in p.spec.columns}
    field_widths = {f"{p.spec.topic}|{f}": w for p in plans for f, w in p.widths.items()}
    influxd = influxd_version()
    with tempfile.TemporaryDirectory(prefix="openefd-bench-summaries-") as tmp:
        store_dir = args.keep_store if args.keep_store is not None else Path(tmp) / "store"
        efd_load_s = load_openefd(store_dir, night)
        efd_size = sum(p.stat().st_size for p in store_dir.glob("efd.duckdb*"))
        _say(f"openefd: loaded in {efd_load_s:.1f} s, {efd_size / 1e6:,.0f} MB")
        window_rows, window_values = _window_rows(store_dir, config, field_widths)
        _say(f"rows in the exposure windows: {window_rows:,} ({window_values:,} values)")
        with InfluxServer() as server:
            _say("InfluxDB: loading")
            influx_load = load_influx(server, night, args.writers, _say)
            _say(
                f"InfluxDB: loaded in {influx_load.write_s:.0f} s of /write "
                f"(+ {influx_load.lp_s:.0f} s making line protocol, "
                f"{influx_load.settle_s:.0f} s settling), {influx_load.size_bytes / 1e6:,.0f} MB"
            )
            client = server.client()
            try:
                missing = _influx_row_counts(client, night)
                runs = []
                for i in range(args.repeat):
                    out = Path(tmp) / "a_long.parquet" if i == 0 else None
                    runs.append(_run_openefd(store_dir, args.config, out))
                    _say(
                        f"(a) run {i + 1}: {runs[-1].seconds:.2f} s, "
                        f"peak RSS {runs[-1].rss_peak_mb:,.0f} MB"
                    )
                a_long = pandas.read_parquet(Path(tmp) / "a_long.parquet")
                exposures = night.exposures.rename(columns={"id": "exposure_id"})
                every, estimate = args.influx_every, None
                if every == 0:
                    every, estimate = _sample_every(
                        client, plans, exposures, args.influx_budget_min * 60
                    )
                    _say(
                        f"(b) pilot: all {len(exposures)} exposures would take "
                        f"~{estimate / 60:.1f} min; timing every {every}"
                        + ("" if every > 1 else " (all)")
                    )
                sample = exposures.iloc[::every]
                b_results, timing = _run_influx(client, plans, sample)
            finally:
                client.close()
    ids = sample["exposure_id"].to_numpy(dtype=np.int64)
    comparison = compare_results(results_from_long(a_long, ids, widths), b_results)
    outcome = Outcome(
        night=night,
        config=config,
        widths=widths,
        efd_load_s=efd_load_s,
        efd_size_bytes=efd_size,
        influx_load=influx_load,
        influx_rows_missing=missing,
        window_rows=window_rows,
        window_values=window_values,
        runs=runs,
        every=every,
        estimate_s=estimate,
        sample=len(sample),
        influx=timing,
        comparison=comparison,
    )
    metrics, notes = _report(outcome)
    load_after = os.getloadavg()[0]
    notes.append(
        f"1-minute load average {load_before:.2f} before the run, {load_after:.2f} after "
        f"(other processes on the machine inflate the numbers); the run took "
        f"{(time.perf_counter() - wall0) / 60:.1f} min."
    )
    for m in metrics:
        _say(f"{m.name}: {m.value} — {m.detail} {m.verdict}")
    for note in notes:
        _say(f"- {note}")
    if args.record:
        record = Run(
            utc=started,
            commit=git_commit(),
            machine=machine(),
            software=_software(influxd),
            command=shlex.join(["scripts/bench-summaries", *sys.argv[1:]]),
            dataset=_dataset(outcome, args.seed),
            metrics=metrics,
            notes=notes,
        )
        _say(f"results appended to {append_results(record)}")
    return 0 if comparison.agree else 1


def _dataset(o: Outcome, seed: int) -> str:
    n = len(o.night.exposures)
    return (
        f"per-exposure summaries — {n:,} simulated exposures of day_obs {DAY_OBS} "
        f"(openefd.sim, profile EFD, seed {seed}; {o.night.hours:.1f} h of night) and "
        f"{o.night.rows:,} rows ({o.night.values:,} values) of the {len(o.night.tables)} "
        f"topics the configuration reads, in both systems"
    )


def _ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _report(o: Outcome) -> tuple[list[Metric], list[str]]:
    n = len(o.night.exposures)
    configured, values_per_exposure = column_counts(o.widths)
    a_times = [r.seconds for r in o.runs]
    a_s = statistics.median(a_times)
    first = o.runs[0]
    b_per_exposure = o.influx.total_s / o.sample
    b_s = b_per_exposure * n
    faster = b_s / a_s
    sampled = o.sample < n
    b_how = (
        f"{o.sample} of {n} exposures timed (every {_ordinal(o.every)}), extrapolated per exposure"
        if sampled
        else f"all {n} exposures timed"
    )
    q_per_exp = o.influx.queries / o.sample
    c = o.comparison
    topics = len({s.topic for s in o.config.topics})
    metrics = [
        Metric(
            f"(a) openefd summarize(store, config, day_obs=…), {n:,} exposures × "
            f"{configured} configured columns, end to end, median",
            f"{a_s:.2f} s",
            f"{len(a_times)} runs, each in a fresh process: read the YAML, open the store, "
            f"compute, build the wide ({first.wide_columns} summary columns) and long "
            f"({first.long_rows:,} rows) frames; runs "
            + ", ".join(f"{t:.2f}" for t in a_times)
            + " s",
            f"≤ {TARGET_S:g} s",
            a_s <= TARGET_S,
        ),
        Metric(
            "(b) per-exposure queries against InfluxDB 1.6.7, same night"
            + (", extrapolated" if sampled else ""),
            f"{b_s:.1f} s",
            f"{b_how}: {b_per_exposure * 1e3:.0f} ms per exposure, {q_per_exp:.0f} queries "
            f"per exposure ({o.influx.window_queries:,} windowed, {o.influx.asof_queries:,} "
            f"as-of in all), {o.influx.rows_returned:,} rows returned; HTTP + JSON "
            f"{o.influx.query_s:.1f} s, JSON → DataFrame → numpy and the functions "
            f"{o.influx.compute_s:.1f} s, "
            f"frames {o.influx.frames_s:.2f} s",
        ),
        Metric(
            "(a) vs (b): how much faster openefd is",
            f"{faster:.1f}×",
            f"(b) {b_s:.1f} s ÷ (a) {a_s:.2f} s",
            f"≥ {TARGET_FASTER:g}× faster",
            faster >= TARGET_FASTER,
        ),
        Metric(
            "answers of (a) and (b) agree",
            f"{c.values - c.mismatches:,} of {c.values:,}",
            f"values of the {o.sample} exposures (b) computed, every configured column and "
            f"element; equal within 1e-6 relative (+ 1e-9 of the column's largest value); "
            f"{c.both_nan:,} NaN in both (no row in the window or the look-back); largest "
            f"relative difference {c.max_rel_diff:.1e}"
            + (f"; mismatches: {'; '.join(c.examples)}" if c.examples else "")
            + (f"; missing columns: {c.missing_columns[:5]}" if c.missing_columns else ""),
            "all",
            c.agree,
        ),
        Metric(
            "configured columns (YAML entries) / output values per exposure",
            f"{configured} / {values_per_exposure:,}",
            f"{len(o.config.topics)} topic entries over {topics} topics; array fields give "
            f"one value per element; wide frame {first.wide_columns} columns (arrays flattened "
            "where the entry says so), long frame every value",
        ),
        Metric(
            "rows in the exposure windows",
            f"{o.window_rows:,}",
            f"{o.window_values:,} values read by window functions (padding included; as-of "
            "look-backs not counted)",
        ),
        Metric(
            "(a) peak RSS",
            f"{max(r.rss_peak_mb for r in o.runs):,.0f} MB",
            f"VmHWM of the fresh process (getrusage's ru_maxrss would carry the benchmark's own "
            f"peak across fork and exec); {first.rss_before_mb:,.0f} MB of it before the store "
            "was opened (interpreter, openefd, numpy, pandas, DuckDB)",
        ),
        Metric(
            "loading the night (context, not timed against a target)",
            f"openefd {o.efd_load_s:.0f} s, InfluxDB {o.influx_load.total_s:.0f} s",
            f"openefd: Writer, one transaction, exposures, checkpoint; "
            f"{o.efd_size_bytes / 1e6:,.0f} MB on disk. InfluxDB: {o.influx_load.lines:,} lines "
            f"({o.influx_load.body_bytes / 1e9:.2f} GB) in {o.influx_load.requests:,} /write "
            f"calls over {o.influx_load.writers} connections, {o.influx_load.write_s:.0f} s in "
            f"/write + {o.influx_load.lp_s:.0f} s making line protocol, then "
            f"{o.influx_load.settle_s:.0f} s of compactions; "
            f"{o.influx_load.size_bytes / 1e6:,.0f} MB on disk. Simulating the rows took "
            f"{o.night.generate_s:.0f} s",
        ),
    ]
    notes = [
        "(b) follows the issue's reference: one windowed InfluxQL query per exposure and topic "
        "entry, plus one as-of query (`… WHERE time >= T − look-back AND time <= T ORDER BY "
        "time DESC LIMIT 1`) per instant and look-back for at_start, at_end, delta and "
        "most_recent_value, serially on one keep-alive HTTP connection; JSON → DataFrame as "
        "aioinflux builds it; numpy for the functions. ConsDB's transformed-EFD "
        "service (lsst-dm/consdb) instead queries each topic once per processing interval "
        "and selects each exposure's rows in pandas, on a new connection per query.",
        "M1M3 forceActuatorData is in for the whole night at 50 Hz, but only its force "
        "balance (fx, fy, fz, mx, my, mz, forceMagnitude): its 812-value actuator arrays "
        "would be 1.6 G values for the night, ~30 min of InfluxDB loading. Every topic keeps "
        "only the fields the configuration reads (and salIndex); both stores are columnar.",
        "Times: openefd stores TAI ns (from private_efdStamp, to the µs), InfluxDB the same "
        "instants in UTC ns; window bounds converted exactly. Values: float64 in both "
        "(SAL floats widened exactly).",
    ]
    if sampled:
        notes.append(
            f"(b) was timed on every {_ordinal(o.every)} exposure (deterministic), "
            + (
                f"because a pilot of {PILOT_EXPOSURES} exposures predicted "
                f"{o.estimate_s / 60:.0f} min for all of them; "
                if o.estimate_s is not None
                else ""
            )
            + "its seconds are per exposure × the night's exposures."
        )
    if o.influx_rows_missing:
        notes.append(
            "InfluxDB merged points that share a timestamp (no tags, as in the EFD): "
            + ", ".join(f"{t} −{k}" for t, k in o.influx_rows_missing.items())
        )
    same = {t: k for t, k in o.night.same_time_rows.items() if k}
    if same:
        notes.append(f"rows sharing a timestamp within a topic: {same}")
    return metrics, notes


def main(argv: list[str] | None = None) -> int:
    return run(_parse(argv))


if __name__ == "__main__":
    raise SystemExit(main())
