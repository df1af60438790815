"""Times ``lsst-efd-client``'s ``select_time_series`` against InfluxDB and openefd.

Run by :mod:`bench.efd_http` with the released clients' own interpreter
(``.venv-efdclient/bin/python bench/efdclient_timing.py < job.json``, with
``SSL_CERT_FILE`` and ``REQUESTS_CA_BUNDLE`` naming the test CA); it imports
nothing of openefd. The job (JSON on stdin)::

    {"targets": {"influxdb": TARGET, "openefd": TARGET},
     "topic": …, "fields": […], "windows": [["2024-…T…", "2024-…T…"], …], "warmup": 5}

    TARGET: {"alias": "openefd", "creds_service": "https://…/segwarides/"}
            the client's whole path (credential lookup, /health, queries), or
            {"alias": "influxdb", "creds": {...}}: credentials served here by a
            segwarides look-alike and the client's aioinflux client handed in
            (``client=``, made with ``EfdClient``'s own arguments) — InfluxDB
            1.6.7 has no ``/health``, which ``EfdClient`` checks otherwise.

Each window is one ``select_time_series(topic, fields, Time(start), Time(end))``
(astropy ``Time``, UTC), timed with ``time.perf_counter`` from the call to
the DataFrame; the targets take turns, the first of each pair alternating.
Each call starts with the servers of ``server_pids`` (target → pid) idle (their CPU time,
from ``/proc``, advancing less than 5 % of a core over 50 ms): on two cores
the work one server goes on doing after answering (influxd's garbage
collection) would otherwise slow the other's call that follows it. The CPU
the *other* server used during each call is reported (``other_cpu_s``).
The first ``warmup`` windows are run but not reported. Output (JSON on
stdout): per target the seconds and rows of each timed call and a summary of
the first timed answer (first and last index in ns, column sums) for the
caller to check that all systems answered alike.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aioinflux
import pandas as pd
from astropy.time import Time
from lsst_efd_client import EfdClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: find bench/
from bench.efdclient_peers import efd_client
from bench.influx import process_cpu_s


def _client(spec: dict[str, Any]) -> EfdClient:
    client, _service = efd_client(spec)
    return client


async def _breakdown(
    client: EfdClient, topic: str, fields: list[str], window: list[str], repeat: int
) -> dict[str, float]:
    """Median seconds of the /query round trip and of aioinflux's JSON → DataFrame."""
    influx = client.influx_client
    start, end = (Time(t, scale="utc") for t in window)
    query = client.build_time_range_query(topic, fields, start, end)
    data = {"q": query, "db": influx.db, "chunked": "false", "epoch": "ns"}
    url = influx.url.format(endpoint="query")
    fetch, parse = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        async with influx._session.post(url, data=data) as resp:
            body = await resp.read()
        t1 = time.perf_counter()
        aioinflux.serialization.dataframe.parse(json.loads(body))
        t2 = time.perf_counter()
        fetch.append(t1 - t0)
        parse.append(t2 - t1)
    return {
        "query_round_trip_s": statistics.median(fetch),
        "json_to_frame_s": statistics.median(parse),
        "json_bytes": float(len(body)),
    }


def _summary(frame: pd.DataFrame) -> dict[str, Any]:
    if frame.empty:
        return {"rows": 0}
    return {
        "rows": len(frame),
        "first_ns": int(frame.index[0].value),
        "last_ns": int(frame.index[-1].value),
        "columns": list(frame.columns),
        "sums": {c: float(frame[c].astype("float64").sum()) for c in frame.columns},
    }


def _settle(pids: list[int], window_s: float = 0.05, timeout_s: float = 2.0) -> None:
    """Wait until the processes ``pids`` together use < 5 % of a core over ``window_s``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        before = sum(process_cpu_s(p) for p in pids)
        time.sleep(window_s)
        if sum(process_cpu_s(p) for p in pids) - before < 0.05 * window_s:
            return


async def main() -> dict[str, Any]:
    job = json.load(sys.stdin)
    clients = {name: _client(spec) for name, spec in job["targets"].items()}
    names = list(clients)
    out: dict[str, Any] = {n: {"seconds": [], "rows": [], "other_cpu_s": []} for n in names}
    topic, fields, warmup = job["topic"], job["fields"], job["warmup"]
    server_pids: dict[str, int] = job.get("server_pids", {})  # target name → its server's pid
    pids = list(server_pids.values())
    for i, (start, end) in enumerate(job["windows"]):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            others = [p for n, p in server_pids.items() if n != name]
            _settle(pids)
            cpu0 = sum(process_cpu_s(p) for p in others)
            t0 = time.perf_counter()
            frame = await clients[name].select_time_series(
                topic, fields, Time(start, scale="utc"), Time(end, scale="utc")
            )
            elapsed = time.perf_counter() - t0
            if i < warmup:
                continue
            out[name]["other_cpu_s"].append(sum(process_cpu_s(p) for p in others) - cpu0)
            out[name]["seconds"].append(elapsed)
            out[name]["rows"].append(len(frame))
            if i == warmup:
                out[name]["first_answer"] = _summary(frame)
    repeat = job.get("breakdown_repeat", 5)
    for name in names:
        window = job["windows"][warmup]
        out[name]["breakdown"] = await _breakdown(clients[name], topic, fields, window, repeat)
    for c in clients.values():
        await c.influx_client.close()
    version = importlib.metadata.version
    out["software"] = (
        f"lsst-efd-client {version('lsst-efd-client')}, aioinflux {version('aioinflux')}, "
        f"aiohttp {version('aiohttp')}, pandas {pd.__version__}, numpy {version('numpy')}"
    )
    return out


if __name__ == "__main__":
    for var in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        if not os.environ.get(var):
            sys.exit(f"set {var} to the test CA's PEM file (the servers speak HTTPS only)")
    json.dump(asyncio.run(main()), sys.stdout)
