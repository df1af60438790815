"""The FastAPI application: routers, error shapes, the shared state."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from openefd.errors import (
    AuthenticationError,
    LimitExceededError,
    OpenEfdError,
    PermissionDeniedError,
    QueryError,
    UnknownFieldError,
    UnknownTopicError,
)
from openefd.server import native_api
from openefd.server.state import ServerState

__all__ = ["create_app", "error_status"]


def error_status(err: OpenEfdError) -> int:
    """The HTTP status an openefd error maps to."""
    if isinstance(err, AuthenticationError):
        return 401
    if isinstance(err, PermissionDeniedError):
        return 403
    if isinstance(err, UnknownTopicError | UnknownFieldError):
        return 404
    if isinstance(err, LimitExceededError):
        return 422
    if isinstance(err, QueryError):
        return 400
    return 400


async def _openefd_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OpenEfdError)
    return JSONResponse(
        {"error": str(exc), "type": type(exc).__name__}, status_code=error_status(exc)
    )


def create_app(state: ServerState) -> FastAPI:
    """An application serving ``state.store``."""
    app = FastAPI(
        title="openefd",
        summary="Observatory engineering database: InfluxDB 1.x-compatible and native APIs.",
    )
    app.state.openefd = state
    app.add_exception_handler(OpenEfdError, _openefd_error)
    app.include_router(native_api.router)
    return app
