"""FastAPI dependencies shared by every router: the server state and the caller.

Credentials are read as InfluxDB 1.x accepts them and as openefd's client
sends them: ``Authorization: Bearer <token>``, ``Authorization: Token
<token>``, HTTP basic auth (user name free, password = token), or the
``u``/``p`` query parameters. When the server has no tokens, every caller is
``anonymous`` with every scope (the server then only listens on loopback).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from fastapi import Request

from openefd.errors import AuthenticationError, PermissionDeniedError
from openefd.server.state import Principal, Scope, ServerState

__all__ = ["ANONYMOUS", "caller", "get_state", "presented_secret", "require"]

ANONYMOUS = Principal("anonymous", frozenset(Scope))


def get_state(request: Request) -> ServerState:
    """The state ``create_app`` put on the application."""
    state: ServerState = request.app.state.openefd
    return state


def presented_secret(request: Request) -> str | None:
    """The token the request carries, in any of the accepted forms, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme in ("bearer", "token") and value.strip():
        return value.strip()
    if scheme == "basic" and value.strip():
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as err:
            raise AuthenticationError("malformed basic authorization header") from err
        _, sep, password = decoded.partition(":")
        if not sep:
            raise AuthenticationError("malformed basic authorization header (no ':')")
        return password
    if header:
        raise AuthenticationError(f"unsupported authorization scheme {scheme!r}")
    query_password = request.query_params.get("p")
    return query_password if query_password else None


def caller(request: Request) -> Principal:
    """The principal making the request (raises AuthenticationError when unknown)."""
    state = get_state(request)
    if not state.tokens.enabled():
        return ANONYMOUS
    secret = presented_secret(request)
    if secret is None:
        raise AuthenticationError("this server needs a token (Authorization: Bearer <token>)")
    principal = state.tokens.check(secret)
    if principal is None:
        raise AuthenticationError("unknown or revoked token")
    return principal


def require(scope: Scope) -> Callable[[Request], Principal]:
    """A dependency that lets the request through only with ``scope``."""

    def dependency(request: Request) -> Principal:
        principal = caller(request)
        if not principal.allows(scope):
            raise PermissionDeniedError(
                f"token {principal.name!r} lacks the {scope.value!r} scope this request needs"
            )
        return principal

    return dependency
