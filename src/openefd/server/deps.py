"""FastAPI dependencies shared by every router: the server state and the caller.

Credentials are read as InfluxDB 1.x accepts them and as openefd's client
sends them (:mod:`openefd.server.credentials`). When the server has no tokens, every caller is
``anonymous`` with every scope (the server then only listens on loopback).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from openefd.errors import AuthenticationError, PermissionDeniedError
from openefd.server.access_log import note_principal
from openefd.server.credentials import presented_credentials
from openefd.server.state import Principal, Scope, ServerState

__all__ = ["ANONYMOUS", "caller", "get_state", "require"]

ANONYMOUS = Principal("anonymous", frozenset(Scope))


def get_state(request: Request) -> ServerState:
    """The state ``create_app`` put on the application."""
    state: ServerState = request.app.state.openefd
    return state


def caller(request: Request) -> Principal:
    """The principal making the request (raises AuthenticationError when unknown)."""
    state = get_state(request)
    if not state.tokens.enabled():
        note_principal(request.scope, ANONYMOUS.name)
        return ANONYMOUS
    credentials = presented_credentials(request)
    if credentials is None:
        raise AuthenticationError("this server needs a token (Authorization: Bearer <token>)")
    principal = state.tokens.check(credentials.secret, credentials.user)
    if principal is None:
        raise AuthenticationError("unknown or revoked token")
    note_principal(request.scope, principal.name)
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
