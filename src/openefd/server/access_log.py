"""Response headers every answer carries, and one JSON access-log line per request.

:class:`AccessLogMiddleware` (ASGI) adds InfluxDB's headers to every
response — ``X-Influxdb-Version``, ``X-Influxdb-Build``, ``Request-Id`` and
``X-Request-Id`` (the client's, when it sent a sane one, else a new UUID) —
plus ``X-Openefd-Version``, and logs to the ``openefd.access`` logger::

    {"method":"POST","path":"/write","status":204,"duration_ms":3.1,"bytes":0,
     "principal":"telegraf","remote":"127.0.0.1","request_id":"…"}

An unexpected exception is logged (``openefd.server``) and answered
``500 {"error": "internal error (…request id…)"}`` with the same headers.

The query string is never logged (it holds ``q`` and may hold ``p``), nor any
header: no secret reaches the log. ``principal`` is the token name the route
authenticated (``-`` when none did).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "INFLUXDB_BUILD",
    "INFLUXDB_VERSION",
    "AccessLogMiddleware",
    "note_principal",
]

INFLUXDB_VERSION = "1.8.10"  # the InfluxDB release whose 1.x API this server speaks
INFLUXDB_BUILD = "OSS"
_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger("openefd.access")
server_log = logging.getLogger("openefd.server")


def _version() -> str:
    try:
        return version("openefd")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


OPENEFD_VERSION = _version()


def note_principal(scope: Scope, name: str) -> None:
    """Record who the request authenticated as, for the access log."""
    scope.setdefault("state", {})["openefd_principal"] = name


def _request_id(scope: Scope) -> bytes:
    found: dict[bytes, bytes] = {}
    for key, value in scope.get("headers", ()):
        if key in (b"x-request-id", b"request-id"):
            found.setdefault(key, value)
    for key in (b"x-request-id", b"request-id"):  # X-Request-Id takes priority
        value = found.get(key, b"")
        if _REQUEST_ID.match(value):
            return value
    return str(uuid.uuid1()).encode()


async def _internal_error(send: Send, request_id: bytes) -> None:
    message = f"internal error (see the server log, request id {request_id.decode()})"
    body = orjson.dumps({"error": message}, option=orjson.OPT_APPEND_NEWLINE)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-influxdb-error", message.encode()),
    ]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class AccessLogMiddleware:
    """Adds the common headers and writes the access log (ASGI middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._headers = [
            (b"x-influxdb-version", INFLUXDB_VERSION.encode()),
            (b"x-influxdb-build", INFLUXDB_BUILD.encode()),
            (b"x-openefd-version", OPENEFD_VERSION.encode()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = _request_id(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500
        sent = 0
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, sent, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"request-id", b"x-request-id")
                ]
                headers += self._headers
                headers += [(b"request-id", request_id), (b"x-request-id", request_id)]
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            server_log.exception(
                "unexpected error answering %s %s (request id %s)",
                scope.get("method", ""),
                scope.get("path", ""),
                request_id.decode(),
            )
            if started:
                raise  # part of the answer is out: all that is left is to drop the connection
            await _internal_error(send_with_headers, request_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                line = {
                    "method": scope.get("method", ""),
                    "path": scope.get("path", ""),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - start) * 1e3, 3),
                    "bytes": sent,
                    "principal": state.get("openefd_principal", "-"),
                    "remote": client[0] if client else "-",
                    "request_id": request_id.decode(),
                }
                access_log.info(orjson.dumps(line).decode())
