"""``openefd serve``: the store over HTTP (InfluxDB 1.x API, native API, schemas)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from openefd.cli.common import StoreOption, console, guarded, open_for_writing, settings_for
from openefd.server.app import create_app
from openefd.server.runner import (
    check_bind,
    configure_server_logging,
    is_loopback,
    serve_forever,
)
from openefd.server.state import ServerState
from openefd.server.tokens import TokenBook

__all__ = ["serve"]


class LogLevel(StrEnum):
    """How much the server logs (access lines are logged at info)."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@guarded
def serve(
    store: StoreOption = None,
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to listen on (default: $OPENEFD_SERVER_HOST, else 127.0.0.1). "
            "Beyond loopback, TLS and a token are required.",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="Port (default: $OPENEFD_SERVER_PORT, else 8086; 0: any free port).",
            show_default=False,
            min=0,
            max=65535,
        ),
    ] = None,
    tls_cert: Annotated[
        Path | None,
        typer.Option(help="PEM certificate (chain) for HTTPS.", show_default=False),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(help="PEM private key of --tls-cert.", show_default=False),
    ] = None,
    log_level: Annotated[LogLevel, typer.Option(help="Server log level.")] = LogLevel.INFO,
) -> None:
    """Serve a store over HTTP until interrupted.

    InfluxDB 1.x clients (aioinflux, lsst-efd-client, the influx shell,
    dashboards) use /query, /write, /ping and /health; lsst-efd-client also
    finds /segwarides/ and /schema-registry/. One process serves the store
    (DuckDB has one writer); tokens from 'openefd token' take effect at once.
    Access lines go to stderr as JSON.
    """
    settings = settings_for(
        store, server_host=host, server_port=port, tls_cert=tls_cert, tls_key=tls_key
    )
    tokens = TokenBook.for_store(settings.store, required=not is_loopback(settings.server_host))
    check_bind(settings.server_host, settings.tls_cert, settings.tls_key, len(tokens.records()))
    configure_server_logging(log_level.value)
    with open_for_writing(settings) as st:
        app = create_app(ServerState(st, settings, tokens))
        scheme = "https" if settings.tls_cert else "http"
        auth = "tokens required" if tokens.enabled() else "no tokens: open to local callers"
        console.print(
            f"openefd serving {settings.store} at {scheme}://{settings.server_host}:"
            f"{settings.server_port} (database {settings.influx_database!r}; {auth})",
            highlight=False,
            soft_wrap=True,
        )
        serve_forever(
            app,
            host=settings.server_host,
            port=settings.server_port,
            tls_cert=settings.tls_cert,
            tls_key=settings.tls_key,
            log_level=log_level.value,
        )
