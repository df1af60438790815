"""Running the application with uvicorn: in the foreground, or in a thread for tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

__all__ = ["RunningServer", "serve_in_thread"]


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
