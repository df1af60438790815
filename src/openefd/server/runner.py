"""Running the application with uvicorn: in the foreground, or in a thread for tests.

One process serves a store (DuckDB allows one writing process), with uvicorn's
event loop and a thread pool for queries and writes. :func:`check_bind` is
the rule ``openefd serve`` applies before listening: loopback is always
allowed; any other address needs TLS and at least one token.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from openefd.errors import ConfigurationError

__all__ = [
    "RunningServer",
    "check_bind",
    "configure_server_logging",
    "is_loopback",
    "serve_forever",
    "serve_in_thread",
]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_bind(host: str, tls_cert: Path | None, tls_key: Path | None, token_count: int) -> None:
    """Refuse a listening setup that would expose the store; say what to do instead.

    Raises
    ------
    ConfigurationError
        TLS half-configured or its files missing; or ``host`` beyond loopback
        without TLS or without a token.
    """
    if (tls_cert is None) != (tls_key is None):
        raise ConfigurationError(
            "TLS needs both a certificate and its key: give --tls-cert and --tls-key "
            "(or OPENEFD_TLS_CERT and OPENEFD_TLS_KEY)"
        )
    for what, path in (("certificate", tls_cert), ("key", tls_key)):
        if path is not None and not path.is_file():
            raise ConfigurationError(f"TLS {what} {path} is not a readable file")
    if is_loopback(host):
        return
    missing = []
    if tls_cert is None:
        missing.append("TLS (--tls-cert and --tls-key, or OPENEFD_TLS_CERT/OPENEFD_TLS_KEY)")
    if token_count == 0:
        missing.append("a token (openefd token create NAME --scope read --store DIR)")
    if missing:
        raise ConfigurationError(
            f"refusing to listen on {host}: beyond loopback openefd needs "
            + " and ".join(missing)
            + "; or listen on 127.0.0.1 (--host 127.0.0.1) behind a TLS proxy"
        )


def configure_server_logging(level: str = "info") -> None:
    """JSON access lines and server messages to stderr (``openefd.access``, ``openefd.server``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("openefd.access", "openefd.server"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False


def serve_forever(
    app: FastAPI,
    *,
    host: str,
    port: int,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    log_level: str = "info",
) -> None:
    """Serve ``app`` in this process until interrupted (SIGINT / SIGTERM)."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        log_level=log_level,
        access_log=False,  # openefd.access writes one JSON line per request instead
        lifespan="off",
        workers=None,
    )


@dataclass(frozen=True, slots=True)
class RunningServer:
    """Where a server started by ``serve_in_thread`` listens."""

    host: str
    port: int
    scheme: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve_in_thread(
    app: FastAPI,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    startup_timeout_s: float = 20.0,
) -> Iterator[RunningServer]:
    """Serve ``app`` with uvicorn in a background thread until the block ends."""
    chosen = port or _free_port(host)
    config = uvicorn.Config(
        app,
        host=host,
        port=chosen,
        log_level="warning",
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="openefd-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn did not start on {host}:{chosen}")
        time.sleep(0.01)
    try:
        yield RunningServer(host, chosen, "https" if tls_cert else "http")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
