"""A real store served by uvicorn on 127.0.0.1 (one per module), and helpers."""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from openefd.server.app import create_app
from openefd.server.runner import serve_in_thread
from openefd.server.state import ServerState
from openefd.server.tokens import TokenBook
from openefd.settings import SchemaMode, Settings
from openefd.store.duckdb_store import Store

AZ = "lsst.sal.MTMount.azimuth"
EL = "lsst.sal.MTMount.elevation"
BODY_LIMIT = 64_000


@dataclass
class Served:
    """A running server: its URL, a client for it, its store, settings and token book."""

    url: str
    client: httpx.Client
    store: Store
    settings: Settings
    tokens: TokenBook

    def rows(self, topic: str) -> int:
        return self.store.topic_stats([topic])[0].rows


@contextmanager
def serve_store(
    template: Path, where: Path, *, required: bool = False, **settings: Any
) -> Iterator[Served]:
    """Copy ``template`` to ``where`` and serve it until the block ends."""
    shutil.copytree(template, where)
    options: dict[str, Any] = {
        "store": where,
        "schema_mode": SchemaMode.STRICT,
        "request_max_body_bytes": BODY_LIMIT,
        **settings,
    }
    config = Settings(**options)
    tokens = TokenBook.for_store(where, required=required)
    tls = {}
    if config.tls_cert is not None:
        tls = {"tls_cert": str(config.tls_cert), "tls_key": str(config.tls_key)}
    with (
        Store(where, settings=config) as store,
        serve_in_thread(create_app(ServerState(store, config, tokens)), **tls) as running,
    ):
        verify: Any = True
        if config.tls_cert is not None:
            verify = ssl.create_default_context(cafile=str(config.tls_cert))
        with httpx.Client(base_url=running.url, timeout=60, verify=verify) as client:
            yield Served(running.url, client, store, config, tokens)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, template_store: Path) -> Iterator[Served]:
    """A store with the demo CSCs, served without tokens (open to loopback callers)."""
    with serve_store(template_store, tmp_path_factory.mktemp("served") / "store") as s:
        yield s
