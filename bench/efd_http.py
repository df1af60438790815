"""openefd over HTTP against InfluxDB 1.6.7, through the released client and openefd's own.

Run ``scripts/bench-http`` (or ``.venv/bin/python -m bench.efd_http``) from the
repo root after ``scripts/setup-compat``; ``--help`` lists the options and
``bench/README.md`` explains what is measured. A full run appends a section
to ``bench/RESULTS.md``.

The question is the one notebooks ask most: ``select_time_series`` of 3
fields over 10 minutes of a 50 Hz topic (30,000 rows), at random offsets.
Asked three ways, over the same windows:

(a) the unchanged ``lsst-efd-client`` 0.13.1 (aioinflux, its pinned pandas,
    in ``.venv-efdclient``) against InfluxDB 1.6.7;
(b) the same client against ``openefd serve``, found through openefd's own
    ``/segwarides/`` credential service as the client finds the EFD;
(c) openefd's native HTTP client, ``EfdClientSync("https://…")``, against the
    same ``openefd serve``.

Targets: (a)/(b) ≥ 3 (the released client gets faster by pointing it at
openefd) and (a)/(c) ≥ 20 (openefd's own client against the released client
on InfluxDB). (a) and (b) run in one process of the released clients' venv
(:mod:`bench.efdclient_timing`), taking turns call by call; (c) runs here.

Both servers are separate processes on 127.0.0.1 with HTTPS (the released
client speaks nothing else) and a certificate of a throw-away CA:
``influxd`` (:class:`bench.influx.InfluxServer`, HTTP log off) and ``openefd
serve --log-level warning`` (its access log off likewise), each holding the
same rows: ``--minutes`` (default 60) of M1M3 ``forceActuatorData`` from
:mod:`openefd.sim` — 50 Hz, 812 values a row in seven arrays, which InfluxDB
holds flattened (``xForce0`` …) as the EFD does. Loading is not timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas
import pyarrow
from astropy.time import Time

from bench.efd_queries import Timing
from bench.efd_report import Row, Section, append_section, print_rows, time_ratio
from bench.influx import InfluxHttp, InfluxServer, TlsFiles, influxd_version, make_tls
from bench.lp_fast import line_body
from bench.results import git_commit, machine
from openefd.client import EfdClientSync
from openefd.ingest.writer import TopicBatch, Writer
from openefd.settings import Settings
from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.store.duckdb_store import Store
from openefd.timescales import NS_PER_S, seconds_to_ns

__all__ = ["main"]

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO.parent / "shared" / "ts_xml" / "sal_interfaces"
EFDCLIENT_PYTHON = REPO / ".venv-efdclient" / "bin" / "python"
TIMING_SCRIPT = Path(__file__).with_name("efdclient_timing.py")
OPENEFD = REPO / ".venv" / "bin" / "openefd"
TOPIC = "lsst.sal.MTM1M3.forceActuatorData"
START_UTC = dt.datetime(2024, 5, 1, 23, 30, tzinfo=dt.UTC)
WINDOW_S = 600
SLICE_S = 60
LINES_PER_WRITE = 300  # ~33 kB a line: ~10 MB a /write
FIELD_SETS = {
    "array elements": ["xForce0", "yForce0", "zForce0"],
    "scalars": ["fx", "fy", "fz"],
}
CLIENT_TARGET = 3.0  # (a) / (b)
NATIVE_TARGET = 20.0  # (a) / (c)
START_TIMEOUT_S = 60.0


def _say(text: str) -> None:
    print(text, flush=True)


# -- the data ---------------------------------------------------------------------
def _load(store: Store, influx: InfluxServer, minutes: float) -> dict[str, float]:
    """``minutes`` of M1M3 forces into both, slice by slice; seconds spent and counts."""
    sim = NightSimulator(
        SimConfig(schemas=SCHEMAS, start_utc=START_UTC, hours=minutes / 60, profile=Profile.DEMO)
    )
    store.register_topics([t for t in sim.topics() if t.name == TOPIC])
    writer = Writer(store)
    clients = [influx.client() for _ in range(2)]
    stats = {"rows": 0.0, "values": 0.0, "openefd_s": 0.0, "lp_s": 0.0, "influx_wait_s": 0.0}
    pending: list[Future[None]] = []
    step = SLICE_S * NS_PER_S
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        for t in range(sim.start_tai_ns, sim.end_tai_ns, step):
            table = sim.topic_table(TOPIC, t, min(t + step, sim.end_tai_ns))
            if table is None:
                continue
            t0 = time.perf_counter()
            writer.write_batches([TopicBatch(TOPIC, table)])
            t1 = time.perf_counter()
            utc = seconds_to_ns(table["private_efdStamp"].to_numpy(zero_copy_only=False))
            body = line_body(TOPIC, table, utc)
            t2 = time.perf_counter()
            for f in pending:  # the previous slice's writes ran meanwhile
                f.result()
            t3 = time.perf_counter()
            parts = list(body.batches(LINES_PER_WRITE))
            pending = [
                pool.submit(_write_all, c, parts[k :: len(clients)]) for k, c in enumerate(clients)
            ]
            stats["openefd_s"] += t1 - t0
            stats["lp_s"] += t2 - t1
            stats["influx_wait_s"] += t3 - t2
            stats["rows"] += table.num_rows
            stats["values"] += table.num_rows * _values_per_row(table)
        t0 = time.perf_counter()
        for f in pending:
            f.result()
        stats["influx_wait_s"] += time.perf_counter() - t0
    for c in clients:
        c.close()
    return stats


def _write_all(client: InfluxHttp, parts: list[memoryview]) -> None:
    for part in parts:
        client.write(part)


def _values_per_row(table: pyarrow.Table) -> int:
    row = table.slice(0, 1).to_pylist()[0]
    return sum(len(v) if isinstance(v, list) else 1 for v in row.values())


# -- the servers ---------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_openefd(
    store_dir: Path, tls: TlsFiles, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    argv = [str(OPENEFD), "serve", "--store", str(store_dir), "--port", str(port)]
    argv += ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key), "--log-level", "warning"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"openefd serve exited with {proc.returncode}: {log.read_text()}")
        try:
            conn = http.client.HTTPSConnection(
                "127.0.0.1", port, timeout=2, context=tls.client_context()
            )
            conn.request("GET", "/ping")
            status = conn.getresponse().status
            conn.close()
            if status < 300:
                return proc, f"https://127.0.0.1:{port}"
        except OSError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"openefd serve did not answer /ping in {START_TIMEOUT_S:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


# -- the timings ---------------------------------------------------------------------
def _windows(minutes: float, count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` 10-minute windows at random whole-millisecond offsets (isot, UTC)."""
    rng = random.Random(seed)
    span_ms = round((minutes * 60 - WINDOW_S) * 1000)
    out = []
    for _ in range(count):
        start = START_UTC + dt.timedelta(milliseconds=rng.randrange(0, max(span_ms, 1)))
        end = start + dt.timedelta(seconds=WINDOW_S)
        # Always with milliseconds: isoformat() drops the fraction of a whole second.
        out.append(
            (
                start.replace(tzinfo=None).isoformat(timespec="milliseconds"),
                end.replace(tzinfo=None).isoformat(timespec="milliseconds"),
            )
        )
    return out


def _efdclient(
    influx: InfluxServer,
    url: str,
    tls: TlsFiles,
    fields: list[str],
    windows: list[Any],
    warmup: int,
    server_pids: dict[str, int],
) -> dict[str, Any]:
    """(a) and (b): the released client against both servers, in its own venv."""
    job = {
        "server_pids": server_pids,
        "targets": {
            "influxdb": {
                "alias": "influxdb",
                "creds": {
                    "host": "127.0.0.1",
                    "port": influx.port,
                    "path": "/",
                    "username": "efdreader",
                    "password": "unused",  # auth is off on the private influxd
                    "schema_registry": f"{url}/schema-registry",
                },
            },
            "openefd": {"alias": "openefd", "creds_service": f"{url}/segwarides/"},
        },
        "topic": TOPIC,
        "fields": fields,
        "windows": windows,
        "warmup": warmup,
    }
    env = {**os.environ, "SSL_CERT_FILE": str(tls.ca), "REQUESTS_CA_BUNDLE": str(tls.ca)}
    env["PYTHONWARNINGS"] = "ignore"
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [str(EFDCLIENT_PYTHON), str(TIMING_SCRIPT)],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"efdclient_timing failed ({done.returncode}):\n{done.stderr[-4000:]}")
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def _native(
    url: str, tls: TlsFiles, fields: list[str], windows: list[Any], warmup: int
) -> dict[str, Any]:
    """(c): openefd's HTTP client against the same server and windows."""
    seconds: list[float] = []
    rows: list[int] = []
    first: dict[str, Any] = {}
    with EfdClientSync(url, verify=str(tls.ca)) as client:
        for i, (start, end) in enumerate(windows):
            t0 = time.perf_counter()
            frame = client.select_time_series(
                TOPIC, fields, Time(start, scale="utc"), Time(end, scale="utc")
            )
            elapsed = time.perf_counter() - t0
            if i < warmup:
                continue
            seconds.append(elapsed)
            rows.append(len(frame))
            if i == warmup:
                first = _summary(frame)
    return {"seconds": seconds, "rows": rows, "first_answer": first}


def _summary(frame: pandas.DataFrame) -> dict[str, Any]:
    if frame.empty:
        return {"rows": 0}
    return {
        "rows": len(frame),
        "first_ns": int(frame.index[0].value),
        "last_ns": int(frame.index[-1].value),
        "columns": list(frame.columns),
        "sums": {c: float(frame[c].astype("float64").sum()) for c in frame.columns},
    }


def _same_answer(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """Why two first answers differ (None when they agree: rows, times, column sums)."""
    for key in ("rows", "first_ns", "last_ns", "columns"):
        if a.get(key) != b.get(key):
            return f"{key}: {a.get(key)} vs {b.get(key)}"
    for col, value in a.get("sums", {}).items():
        other = b["sums"][col]
        if abs(value - other) > 1e-9 * max(abs(value), 1.0):
            return f"sum of {col}: {value!r} vs {other!r}"
    return None


def _rows(label: str, fields: list[str], res: dict[str, Any]) -> list[Row]:
    a = Timing(np.array(res["influxdb"]["seconds"]) * 1e3)
    b = Timing(np.array(res["openefd"]["seconds"]) * 1e3)
    c = Timing(np.array(res["native"]["seconds"]) * 1e3)
    rows_a = set(res["influxdb"]["rows"])
    calls = len(res["influxdb"]["seconds"])
    what = f"select_time_series, {len(fields)} {label} ({', '.join(fields)})"
    what += " × 10 min of the 50 Hz topic"
    checks = res["checks"]
    return [
        Row(
            f"lsst-efd-client {what}, median: against openefd serve (b) vs against InfluxDB (a)",
            f"{b.median:.2f} ms",
            f"{a.median:.2f} ms",
            time_ratio(b.median, a.median),
            f"≥ {CLIENT_TARGET:g}× faster",
            a.median >= CLIENT_TARGET * b.median,
            f"{calls} calls each, taking turns, each started with both servers idle; (b) "
            f"{b.detail()}; (a) {a.detail()}; CPU the other server used during a call, median: "
            f"influxd {_other_cpu_ms(res, 'openefd')} ms in (b), openefd "
            f"{_other_cpu_ms(res, 'influxdb')} ms in (a); rows per call {sorted(rows_a)}; "
            f"answers {checks['b']}",
        ),
        _split_row(res),
        Row(
            f"{what}, median: openefd's HTTP client EfdClientSync('https://…') (c) vs "
            "lsst-efd-client against InfluxDB (a)",
            f"{c.median:.2f} ms",
            f"{a.median:.2f} ms",
            time_ratio(c.median, a.median),
            f"≥ {NATIVE_TARGET:g}× faster",
            a.median >= NATIVE_TARGET * c.median,
            f"{calls} calls; (c) {c.detail()}; (c) is {b.median / c.median:.1f}× faster than "
            f"lsst-efd-client against the same openefd (b); rows per call "
            f"{sorted(set(res['native']['rows']))}; answers {checks['c']}",
        ),
    ]


def _other_cpu_ms(res: dict[str, Any], target: str) -> str:
    cpu = res[target].get("other_cpu_s") or [0.0]
    return f"{float(np.median(cpu)) * 1e3:.0f}"


def _split_row(res: dict[str, Any]) -> Row:
    """Context: lsst-efd-client's time as /query round trip + aioinflux's JSON → DataFrame."""
    a, b = res["influxdb"]["breakdown"], res["openefd"]["breakdown"]
    return Row(
        "  where (a) and (b) spend it: /query round trip + aioinflux JSON → DataFrame, median",
        f"{b['query_round_trip_s'] * 1e3:.1f} + {b['json_to_frame_s'] * 1e3:.1f} ms",
        f"{a['query_round_trip_s'] * 1e3:.1f} + {a['json_to_frame_s'] * 1e3:.1f} ms",
        "round trip " + time_ratio(b["query_round_trip_s"], a["query_round_trip_s"]),
        detail=(
            "one window, on the client's own aiohttp session: request to the last byte of "
            f"the JSON ({b['json_bytes'] / 1e6:.2f} MB from openefd, "
            f"{a['json_bytes'] / 1e6:.2f} MB from InfluxDB), then json.loads and "
            "aioinflux.serialization.dataframe.parse on those bytes"
        ),
    )


# -- the run ---------------------------------------------------------------------------
def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench-http",
        description="lsst-efd-client against openefd serve and InfluxDB 1.6.7, and openefd's "
        "native HTTP client: select_time_series, 3 fields × 10 min of a 50 Hz topic.",
    )
    parser.add_argument(
        "--minutes", type=float, default=None, help="minutes of data (default 60; 12 quick)"
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="timed calls per system (default 30; 5 quick)"
    )
    parser.add_argument(
        "--warmup", type=int, default=None, help="untimed calls first (default 5; 2 quick)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: small everything")
    parser.add_argument(
        "--record",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="append the result to bench/RESULTS.md (default: yes, unless --quick)",
    )
    args = parser.parse_args(argv)
    for name, (full, small) in {
        "minutes": (60.0, 12.0),
        "repeat": (30, 5),
        "warmup": (5, 2),
    }.items():
        if getattr(args, name) is None:
            setattr(args, name, small if args.quick else full)
    if args.record is None:
        args.record = not args.quick
    if args.minutes < 11:
        parser.error("--minutes must be at least 11 (the windows are 10 minutes)")
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be positive and --warmup not negative")
    return args


def _check_tools() -> str:
    if shutil.which("influxd") is None or not EFDCLIENT_PYTHON.exists():
        raise SystemExit("InfluxDB or .venv-efdclient is missing: run scripts/setup-compat")
    return influxd_version()


def run(args: argparse.Namespace) -> int:
    version = _check_tools()
    started = dt.datetime.now(dt.UTC)
    commit = git_commit()
    t_start = time.perf_counter()
    load_before = os.getloadavg()[0]
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="openefd-bench-http-") as tmp:
        tls = make_tls(Path(tmp) / "tls")
        store_dir = Path(tmp) / "store"
        with InfluxServer(tls=tls) as influx:
            http = influx.client()
            http.create_database()
            http.close()
            _say(f"{version} at {influx.url}; loading {args.minutes:g} min of {TOPIC}")
            with Store(store_dir, settings=Settings(store=store_dir)) as store:
                stats = _load(store, influx, args.minutes)
            settle_s = influx.wait_idle()
            _say(
                f"loaded {stats['rows']:,.0f} rows, {stats['values']:,.0f} values: openefd "
                f"{stats['openefd_s']:.1f} s; InfluxDB idle {settle_s:.0f} s after the last write"
            )
            proc, url = _start_openefd(store_dir, tls, Path(tmp) / "openefd-serve.log")
            try:
                windows = _windows(args.minutes, args.warmup + args.repeat, seed=11)
                assert influx.proc is not None
                pids = {"influxdb": influx.proc.pid, "openefd": proc.pid}  # idle before each call
                for label, fields in FIELD_SETS.items():
                    _say(f"timing {label} {fields}: {args.warmup} + {args.repeat} windows")
                    res = _efdclient(influx, url, tls, fields, windows, args.warmup, pids)
                    res["native"] = _native(url, tls, fields, windows, args.warmup)
                    first = res["influxdb"]["first_answer"]
                    res["checks"] = {
                        k: (
                            _same_answer(first, res[name]["first_answer"])
                            or "alike (checked one: rows, first and last time, column sums)"
                        )
                        for k, name in (("b", "openefd"), ("c", "native"))
                    }
                    results[label] = res
            finally:
                _stop(proc)
    software = (
        f"{version}; {next(iter(results.values()))['software']} (in .venv-efdclient); "
        f"openefd: Python {sys.version.split()[0]}, duckdb {duckdb.__version__}, "
        f"pyarrow {pyarrow.__version__}, pandas {pandas.__version__}, numpy {np.__version__}"
    )
    rows = [
        r for label, fields in FIELD_SETS.items() for r in _rows(label, fields, results[label])
    ]
    load_after = os.getloadavg()[0]
    wall_min = (time.perf_counter() - t_start) / 60
    print_rows("select_time_series over HTTP: lsst-efd-client and openefd's client", rows)
    _say(f"whole run: {wall_min:.1f} min")
    if args.record:
        section = Section(
            title="HTTP: lsst-efd-client and openefd's client vs InfluxDB",
            utc=started,
            commit=commit if git_commit() == commit else f"{commit} (changed during the run)",
            command=shlex.join(["scripts/bench-http", *sys.argv[1:]]),
            machine=machine(),
            software=software,
            facts=[
                f"data: {args.minutes:g} min of {TOPIC} from openefd.sim (50 Hz, 812 values a "
                f"row in 7 arrays + 8 scalars + SAL's private fields), {stats['rows']:,.0f} rows, "
                f"{stats['values']:,.0f} values, in both (InfluxDB: arrays flattened, as the EFD)",
                f"windows: {args.warmup} untimed then {args.repeat} timed 10-minute windows at "
                "random offsets, the same for every system; times as astropy Time (UTC)",
                "servers: separate processes on 127.0.0.1 over HTTPS (throw-away CA): influxd "
                "(HTTP log off) and `openefd serve --log-level warning` (access log off)",
            ],
            rows=rows,
            notes=[
                "ratio = openefd / InfluxDB (times): below 1 is openefd faster.",
                "(a) and (b) are the unchanged lsst-efd-client 0.13.1 (aioinflux, pandas "
                "2.3) in one process, taking turns call by call, each call started with both "
                "servers idle (bench/efdclient_timing.py); its time includes aioinflux "
                "turning the JSON into a DataFrame. (b) finds openefd through "
                "/segwarides/creds/openefd and checks /health as it does for the EFD; (a) gets "
                "its aioinflux client handed in (client=), as InfluxDB 1.6.7 has no /health.",
                "(c) is EfdClientSync('https://…') in openefd's venv: openefd's native HTTP "
                "API, Arrow IPC, DataFrame built.",
                f"1-minute load average {load_before:.2f} before the run, {load_after:.2f} "
                f"after; the run took {wall_min:.1f} min.",
            ],
        )
        _say(f"results appended to {append_section(section)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(_parse(argv))


if __name__ == "__main__":
    raise SystemExit(main())
