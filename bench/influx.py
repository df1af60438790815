"""InfluxDB 1.x as the benchmark's reference: a private ``influxd`` and an HTTP client.

:class:`InfluxServer` writes a config into a temporary directory (data, WAL
and meta there; HTTP and RPC bound to free ports on 127.0.0.1; reporting,
``_internal`` monitoring and query logs off; no auth; no series or tag
limits; a write cache large enough for bulk loads; no row limit on
queries; HTTPS when given :class:`TlsFiles`), starts ``influxd``, waits
for ``/ping`` and stops it again —
terminate, wait, kill — on ``stop()``, at the end of a ``with`` block and
at interpreter exit; should the benchmark process be killed outright,
Linux sends ``influxd`` SIGTERM (``PR_SET_PDEATHSIG``).

:class:`InfluxHttp` speaks the 1.x HTTP API over one keep-alive connection
(stdlib ``http.client``): ``/write`` with line protocol, ``/query`` with
InfluxQL, and the JSON → DataFrame step that ``aioinflux`` performs for
``lsst-efd-client`` (``output="dataframe"``, ``epoch="ns"``).

:func:`make_tls` makes a throw-away certificate authority and a server
certificate for 127.0.0.1 with the ``openssl`` command, for the peers the
released clients reach (they speak HTTPS only).
"""

from __future__ import annotations

import atexit
import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

__all__ = [
    "InfluxError",
    "InfluxHttp",
    "InfluxServer",
    "TlsFiles",
    "influxd_version",
    "make_tls",
    "process_cpu_s",
]

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
HTTP_TIMEOUT_S = 600.0
PR_SET_PDEATHSIG = 1


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


CONFIG = """\
reporting-enabled = false
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root}/meta"
  retention-autocreate = true
  logging-enabled = false

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  index-version = "inmem"
  wal-fsync-delay = "0s"
  query-log-enabled = false
  cache-max-memory-size = {cache_bytes}
  max-series-per-database = 0
  max-values-per-tag = 0

[coordinator]
  write-timeout = "60s"
  query-timeout = "0s"

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = false
  log-enabled = false
  max-row-limit = 0
  max-body-size = 0
  pprof-enabled = false
{https}
[logging]
  level = "warn"
  suppress-logo = true

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false
"""


HTTPS_CONFIG = """\
  https-enabled = true
  https-certificate = "{cert}"
  https-private-key = "{key}"
"""


class InfluxError(RuntimeError):
    """influxd did not start, or answered a request with an error."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files of a test certificate authority and a server certificate signed by it."""

    ca: Path
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts exactly ``ca``."""
        return ssl.create_default_context(cafile=str(self.ca))


def make_tls(directory: Path, host: str = "127.0.0.1") -> TlsFiles:
    """A new CA and a server certificate for ``host`` (IP and ``localhost``), valid 2 days.

    Made with the ``openssl`` command (P-256 keys); the files go to ``directory``.
    """
    exe = shutil.which("openssl")
    if exe is None:
        raise InfluxError("openssl not found; install it with 'apt-get install openssl'")
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    ext = directory / "server.ext"
    ext.write_text(
        f"subjectAltName = IP:{host}, DNS:localhost\n"
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid, issuer\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca_args = ["-subj", "/CN=openefd test CA", "-addext", "basicConstraints=critical,CA:TRUE"]
    ca_args += ["-addext", "keyUsage=critical,keyCertSign,cRLSign"]
    sign_args = ["-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2", "-extfile", ext]
    steps = [
        [exe, "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", *ca_args],
        [exe, "req", *ec, "-keyout", key, "-out", csr, "-subj", f"/CN={host}"],
        [exe, "x509", "-req", "-in", csr, "-out", cert, *sign_args],
    ]
    for argv in steps:
        done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise InfluxError(f"openssl failed ({' '.join(map(str, argv[:3]))}): {done.stderr}")
    return TlsFiles(ca=ca, cert=cert, key=key)


def influxd_version() -> str:
    """``influxd version`` (e.g. ``InfluxDB v1.6.7~rc0 (git: unknown unknown)``)."""
    exe = shutil.which("influxd")
    if exe is None:
        raise InfluxError("influxd not found; install it with 'apt-get install influxdb'")
    out = subprocess.run([exe, "version"], capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.strip()


def _die_with_parent() -> None:
    """In the child: ask Linux to send SIGTERM when the benchmark process dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: stop() and atexit still end influxd on a normal exit


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class InfluxServer:
    """A private ``influxd`` on 127.0.0.1 with its data in a temporary directory.

    With ``tls`` it serves HTTPS only (``https-enabled``), with that certificate.
    """

    def __init__(self, cache_bytes: int = 8 << 30, tls: TlsFiles | None = None) -> None:
        exe = shutil.which("influxd")
        if exe is None:
            raise InfluxError("influxd not found; install it with 'apt-get install influxdb'")
        self.root = Path(tempfile.mkdtemp(prefix="openefd-bench-influx-"))
        self.port = _free_port()
        self.tls = tls
        https = "" if tls is None else HTTPS_CONFIG.format(cert=tls.cert, key=tls.key)
        config = self.root / "influxdb.conf"
        config.write_text(
            CONFIG.format(
                root=self.root,
                rpc_port=_free_port(),
                http_port=self.port,
                cache_bytes=cache_bytes,
                https=https,
            )
        )
        self.log_path = self.root / "influxd.log"
        self._log = self.log_path.open("wb")
        self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [exe, "run", "-config", str(config)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        atexit.register(self.stop)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https`` with TLS)."""
        return f"{'http' if self.tls is None else 'https'}://127.0.0.1:{self.port}"

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self.tls is None:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        return http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=timeout, context=self.tls.client_context()
        )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise InfluxError(f"influxd exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                conn = self._connection(2.0)
                conn.request("GET", "/ping")
                if conn.getresponse().status == 204:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.1)
        raise InfluxError(f"influxd did not answer /ping in {START_TIMEOUT_S:.0f} s")

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def client(self, db: str = "efd") -> InfluxHttp:
        ctx = None if self.tls is None else self.tls.client_context()
        return InfluxHttp(self.port, db, ssl_context=ctx)

    def cpu_s(self) -> float:
        """CPU seconds influxd has used (user + system), from /proc."""
        return process_cpu_s(self.pid)

    def wait_idle(
        self, busy_fraction: float = 0.05, window_s: float = 2.0, timeout_s: float = 300.0
    ) -> float:
        """Wait until influxd uses < ``busy_fraction`` of a core over ``window_s``.

        Lets the write cache snapshot and compactions finish after a load.
        Returns the seconds waited (``timeout_s`` at most).
        """
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            before = self.cpu_s()
            time.sleep(window_s)
            if self.cpu_s() - before < busy_fraction * window_s:
                break
        return time.monotonic() - t0

    def size_bytes(self) -> int:
        """Bytes of the data, WAL and meta directories."""
        total = 0
        for part in ("data", "wal", "meta"):
            for p in (self.root / part).rglob("*"):
                if p.is_file():
                    total += p.stat().st_size
        return total

    def stop(self) -> None:
        """Terminate influxd (kill after a timeout) and delete its directory."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT_S)
        if not self._log.closed:
            self._log.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> InfluxServer:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def frame_from_series(series: dict[str, Any]) -> pd.DataFrame:
    """One result series as ``aioinflux`` turns it into a DataFrame (UTC index)."""
    df = pd.DataFrame(series.get("values", []), columns=series["columns"])
    if "time" not in df.columns:
        return df
    df = df.set_index(pd.DatetimeIndex(pd.to_datetime(df["time"]))).drop("time", axis=1)
    df.index = pd.DatetimeIndex(df.index).tz_localize("UTC")
    df.index.name = None
    return df


class InfluxHttp:
    """The InfluxDB 1.x HTTP API on one keep-alive connection to 127.0.0.1."""

    def __init__(self, port: int, db: str, ssl_context: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.db = db
        self._conn: http.client.HTTPConnection
        if ssl_context is None:
            self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_S)
        else:
            self._conn = http.client.HTTPSConnection(
                "127.0.0.1", port, timeout=HTTP_TIMEOUT_S, context=ssl_context
            )
        self._write_path = "/write?" + urllib.parse.urlencode({"db": db, "precision": "ns"})

    def close(self) -> None:
        self._conn.close()

    def _request(
        self, method: str, path: str, body: bytes | memoryview | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        for attempt in (0, 1):
            try:
                self._conn.request(method, path, body=body, headers=headers)
                resp = self._conn.getresponse()
                return resp.status, resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed an idle keep-alive connection: reconnect once.
                self._conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def write(self, body: bytes | memoryview) -> None:
        """POST line protocol (ns precision); InfluxError unless 204."""
        status, text = self._request(
            "POST", self._write_path, body, {"Content-Type": "text/plain; charset=utf-8"}
        )
        if status != 204:
            raise InfluxError(f"/write answered {status}: {text[:500]!r}")

    def query_json(self, q: str) -> dict[str, Any]:
        """POST an InfluxQL query (epoch=ns, as aioinflux sends it); the parsed JSON."""
        form = urllib.parse.urlencode({"q": q, "db": self.db, "epoch": "ns"}).encode()
        status, text = self._request(
            "POST", "/query", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 200:
            raise InfluxError(f"/query answered {status} to {q[:200]!r}: {text[:500]!r}")
        doc: dict[str, Any] = json.loads(text)
        for result in doc.get("results", []):
            if "error" in result:
                raise InfluxError(f"query {q[:200]!r} failed: {result['error']}")
        return doc

    def query(self, q: str) -> pd.DataFrame:
        """The first series of the answer as a DataFrame (empty when none), as aioinflux does."""
        doc = self.query_json(q)
        series = doc["results"][0].get("series", [])
        if not series:
            return pd.DataFrame()
        return frame_from_series(series[0])

    def create_database(self) -> None:
        self.query_json(f'CREATE DATABASE "{self.db}"')
