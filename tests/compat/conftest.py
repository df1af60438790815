"""Fixtures of the differential suite: InfluxDB 1.6.7 and openefd, same data, HTTPS.

Both peers run on 127.0.0.1 with a certificate of a throw-away CA (the
released clients speak HTTPS only): ``influxd`` from the Debian package
(:class:`bench.influx.InfluxServer`), openefd's application served by uvicorn
in a thread. The released clients run in their own interpreter,
``.venv-efdclient`` (their numpy/pandas pins cannot live beside openefd's);
``scripts/setup-compat`` installs both that and ``influxd``. When either is
missing the suite fails and says so: a compatibility claim that is silently
skipped is no claim.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # bench/ and tests/ are not installed packages
    sys.path.insert(0, str(REPO))

from bench.influx import InfluxServer, TlsFiles, make_tls  # noqa: E402
from tests.compat.calls import CALLS, SCHEMA_TOPICS, CallContext  # noqa: E402
from tests.compat.dataset import SAL_XML, CompatData, build, load_influx, load_openefd  # noqa: E402

EFDCLIENT_PYTHON = REPO / ".venv-efdclient" / "bin" / "python"
DRIVER = Path(__file__).with_name("efdclient_driver.py")
DRIVER_TIMEOUT_S = 600
RESULTS_ENV = "OPENEFD_COMPAT_RESULTS"  # a path: every call's answers written there as JSON
SETUP_HINT = "run scripts/setup-compat (scripts/test runs it) to install it"


@dataclass(frozen=True, slots=True)
class Peers:
    """Where the two peers listen and how the driver reaches them."""

    influx: InfluxServer
    openefd_url: str
    tls: TlsFiles
    data: CompatData


def _require_tools() -> None:
    """Raise (the suite then fails, never skips) when InfluxDB or the clients' venv is missing."""
    if shutil.which("influxd") is None:
        raise RuntimeError(f"influxd (Debian package influxdb) is not installed; {SETUP_HINT}")
    if not EFDCLIENT_PYTHON.exists():
        venv = EFDCLIENT_PYTHON.parent.parent
        raise RuntimeError(f"the released clients' venv {venv} is missing; {SETUP_HINT}")


@contextmanager
def _influx(tls: TlsFiles, data: CompatData) -> Iterator[InfluxServer]:
    """InfluxDB 1.6.7 over HTTPS with the data set loaded."""
    with InfluxServer(cache_bytes=256 << 20, tls=tls) as server:
        client = server.client()
        try:
            load_influx(data, client)
        finally:
            client.close()
        yield server


@contextmanager
def _openefd(root: Path, tls: TlsFiles, data: CompatData) -> Iterator[str]:
    """openefd's app with the same rows, served over HTTPS by uvicorn in a thread; its URL."""
    from openefd.server.app import create_app
    from openefd.server.runner import serve_in_thread
    from openefd.server.state import ServerState
    from openefd.server.tokens import TokenBook
    from openefd.settings import SchemaMode, Settings
    from openefd.store.duckdb_store import Store

    path = root / "store"
    settings = Settings(
        store=path, schema_mode=SchemaMode.EXTEND, tls_cert=tls.cert, tls_key=tls.key
    )
    with Store(path, settings=settings) as store:
        load_openefd(data, store)
        state = ServerState(store, settings, TokenBook.for_store(path))
        with serve_in_thread(
            create_app(state), tls_cert=str(tls.cert), tls_key=str(tls.key)
        ) as running:
            yield running.url


@contextmanager
def peers(root: Path) -> Iterator[Peers]:
    """Both peers, with the data set, on 127.0.0.1 until the block ends."""
    _require_tools()
    tls = make_tls(root / "tls")
    data = build(SAL_XML, dt.datetime.now(dt.UTC))
    with _influx(tls, data) as influx, _openefd(root / "openefd", tls, data) as url:
        yield Peers(influx, url, tls, data)


def run_driver(peers: Peers, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run ``calls`` through the released clients against both peers; one result per call."""
    influx_creds = {
        "host": "127.0.0.1",
        "port": peers.influx.port,
        "path": "/",
        "username": "efdreader",
        "password": "unused",  # auth is off on the private influxd
        "schema_registry": f"{peers.openefd_url}/schema-registry",
    }
    job = {
        "peers": {
            "influxdb": {"alias": "influxdb", "creds": influx_creds},
            "openefd": {"alias": "openefd", "creds_service": f"{peers.openefd_url}/segwarides/"},
        },
        "calls": calls,
    }
    env = {
        **os.environ,
        "SSL_CERT_FILE": str(peers.tls.ca),
        "REQUESTS_CA_BUNDLE": str(peers.tls.ca),
        "PYTHONWARNINGS": "ignore",  # the released clients' own deprecations are not ours
    }
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [str(EFDCLIENT_PYTHON), str(DRIVER)],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=env,
        timeout=DRIVER_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the driver failed ({done.returncode}):\n{done.stderr[-5000:]}")
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def _run_all(root: Path) -> list[dict[str, Any]]:
    with peers(root) as p:
        ctx = CallContext(p.data.start_utc)
        calls = [c.job(ctx) for c in CALLS]
        calls += [{"id": f"schema-{t}", "kind": "schema", "topic": t} for t in SCHEMA_TOPICS]
        calls.append({"id": "list_efd_names", "kind": "list_names"})
        return run_driver(p, calls)


@pytest.fixture(scope="session")
def driver_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every call of :data:`~tests.compat.calls.CALLS` and the schema calls, run once per test run.

    Under pytest-xdist each worker has its own session: the first worker to take
    the lock starts the peers and runs the driver, the others wait and read its
    results (the temporary directory above the workers' is the run's own).
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    done = shared / "compat-results.json"
    with (shared / "compat.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            try:
                results: Any = _run_all(tmp_path_factory.mktemp("compat"))
            except Exception as err:
                results = {"error": f"{type(err).__name__}: {err}"}
            done.write_text(json.dumps(results))
    results = json.loads(done.read_text())
    if isinstance(results, dict):
        pytest.fail(f"the differential suite could not run: {results['error']}")
    dump = os.environ.get(RESULTS_ENV)
    if dump:
        Path(dump).write_text(json.dumps(results, indent=1))
    return {r["id"]: r for r in results}
