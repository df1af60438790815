"""Who calls the InfluxDB-compatible routes, and InfluxDB-shaped HTTP errors.

Credentials are read in the forms InfluxDB 1.x accepts, in its order
(``parseCredentials`` in ``services/httpd/handler.go``):

1. ``u`` and ``p`` query parameters (``p`` alone is accepted too);
2. ``Authorization: Bearer <token>`` (InfluxDB's JWT slot, openefd's token);
3. ``Authorization: Token <token>`` or ``Token <user>:<token>`` (the form
   InfluxDB 2 clients send to 1.8);
4. HTTP basic auth, the password being the token.

A token made with a user name only matches when the user given (basic auth,
``u``, ``Token user:…``) is that name. Failures answer as InfluxDB does:
``401 {"error":"unable to parse authentication credentials"}`` when nothing
usable was sent, ``401 {"error":"authorization failed"}`` for a wrong token.
"""

from __future__ import annotations

import json

from fastapi import Request
from fastapi.responses import Response

from openefd.errors import AuthenticationError
from openefd.server.access_log import note_principal
from openefd.server.credentials import Credentials, presented_credentials
from openefd.server.deps import ANONYMOUS, get_state
from openefd.server.influx_json import error_document
from openefd.server.state import Principal

__all__ = [
    "NO_CREDENTIALS",
    "WRONG_CREDENTIALS",
    "Credentials",
    "InfluxHTTPError",
    "authenticate",
    "go_quote",
    "influx_error_response",
    "presented_credentials",
]

NO_CREDENTIALS = "unable to parse authentication credentials"
WRONG_CREDENTIALS = "authorization failed"
_REALM = 'Basic realm="InfluxDB"'
_JSON = "application/json"


class InfluxHTTPError(Exception):
    """An answer ``{"error": message}`` with ``status``, as InfluxDB's httpError writes it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def go_quote(text: str) -> str:
    """``text`` in double quotes with escapes, as Go's ``%q`` shows it."""
    return json.dumps(text, ensure_ascii=False)


def _header_bytes(text: str, limit: int = 1024) -> bytes:
    """``text`` as a header value: UTF-8 as Go sends it, control characters as ``?``."""
    safe = "".join("?" if c < " " or c == "\x7f" else c for c in text[:limit])
    return safe.strip().encode("utf-8", "replace")


def influx_error_response(status: int, message: str) -> Response:
    """The response InfluxDB gives for an error: JSON body, plus a header saying why."""
    response = Response(error_document(message), status_code=status, media_type=_JSON)
    if status == 401:
        response.headers["WWW-Authenticate"] = _REALM
    elif status // 100 != 2:
        response.raw_headers.append((b"x-influxdb-error", _header_bytes(message)))
    return response


def authenticate(request: Request) -> Principal:
    """The caller of an InfluxDB route (anonymous with every scope when no tokens exist)."""
    book = get_state(request).tokens
    if not book.enabled():
        note_principal(request.scope, ANONYMOUS.name)
        return ANONYMOUS
    try:
        credentials = presented_credentials(request)
    except AuthenticationError:
        raise InfluxHTTPError(401, NO_CREDENTIALS) from None
    if credentials is None:
        raise InfluxHTTPError(401, NO_CREDENTIALS)
    principal = book.check(credentials.secret, credentials.user)
    if principal is None:
        raise InfluxHTTPError(401, WRONG_CREDENTIALS)
    note_principal(request.scope, principal.name)
    return principal
