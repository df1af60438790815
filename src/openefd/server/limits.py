"""Request size limits, enforced while bytes arrive (never an unbounded read).

:class:`BodyLimitMiddleware` refuses a request whose ``Content-Length`` is
over ``request_max_body_bytes`` before reading it, and stops one that sends
more than that (chunked uploads have no length) as the bytes come in: the
``receive`` channel raises :class:`BodyTooLargeError`, which the app answers
with InfluxDB's ``413 {"error":"Request Entity Too Large"}``.
:func:`gunzip_limited` bounds what a gzip body expands to the same way.
"""

from __future__ import annotations

import zlib
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openefd.server.influx_json import error_document

__all__ = ["TOO_LARGE", "BodyLimitMiddleware", "BodyTooLargeError", "gunzip_limited"]

TOO_LARGE = "Request Entity Too Large"  # Go's http.StatusText(413), InfluxDB's message


class BodyTooLargeError(HTTPException):
    """A request body (or its decompressed form) went over the configured limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, TOO_LARGE)
        self.limit = limit


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` (ASGI middleware)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.max_bytes:
            await _send_too_large(send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)


async def _send_too_large(send: Send) -> None:
    body = error_document(TOO_LARGE)
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-influxdb-error", TOO_LARGE.encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def gunzip_limited(data: bytes, max_bytes: int) -> bytes:
    """``data`` gunzipped, refusing more than ``max_bytes`` of output.

    Raises
    ------
    BodyTooLargeError
        When the decompressed body is over ``max_bytes``.
    ValueError
        When ``data`` is not gzip (the message says what is wrong).
    """
    out = bytearray()
    rest = data
    while True:  # gzip allows several members one after the other
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(rest, max_bytes + 1 - len(out))
        except zlib.error as err:
            raise ValueError(f"gzip: invalid body: {err}") from err
        if len(out) > max_bytes:
            raise BodyTooLargeError(max_bytes)
        if not inflater.eof:
            raise ValueError("gzip: unexpected EOF (body truncated)")
        rest = inflater.unused_data
        if not rest:
            return bytes(out)
