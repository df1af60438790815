"""The FastAPI application: routers, error shapes, limits, headers and the access log.

Routes:

- InfluxDB 1.x: ``/query``, ``/write``, ``/ping``, ``/health``, ``/ready``
  (:mod:`.influx_api`), errors as ``{"error": …}`` the way InfluxDB writes them;
- openefd's native API under ``/api/v1`` (:mod:`.native_api`), errors as
  ``{"error": …, "type": <openefd exception>}``;
- ``/segwarides/`` and ``/schema-registry/`` (also at the root, where kafkit
  looks) for lsst-efd-client (:mod:`.registry_api`).

Around all of them: request bodies are bounded by ``request_max_body_bytes``
(:mod:`.limits`), and every response carries InfluxDB's version and request-id
headers and is logged as one JSON line (:mod:`.access_log`).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from openefd.errors import (
    AuthenticationError,
    LimitExceededError,
    OpenEfdError,
    PermissionDeniedError,
    QueryError,
    UnknownFieldError,
    UnknownTopicError,
)
from openefd.server import exposures_api, influx_api, native_api, registry_api
from openefd.server.access_log import AccessLogMiddleware
from openefd.server.influx_auth import InfluxHTTPError, influx_error_response
from openefd.server.limits import TOO_LARGE, BodyLimitMiddleware, BodyTooLargeError
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


async def _influx_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InfluxHTTPError)
    return influx_error_response(exc.status, exc.message)


async def _too_large(request: Request, exc: Exception) -> Response:
    response = influx_error_response(413, TOO_LARGE)
    response.headers["Connection"] = "close"  # the rest of the body is not read
    return response


def create_app(state: ServerState) -> FastAPI:
    """An application serving ``state.store``."""
    app = FastAPI(
        title="openefd",
        summary="Observatory engineering database: InfluxDB 1.x-compatible and native APIs.",
    )
    app.state.openefd = state
    app.add_exception_handler(OpenEfdError, _openefd_error)
    app.add_exception_handler(InfluxHTTPError, _influx_error)
    app.add_exception_handler(BodyTooLargeError, _too_large)
    app.include_router(native_api.router)
    app.include_router(exposures_api.router)
    app.include_router(influx_api.router)
    app.include_router(registry_api.segwarides_router)
    app.include_router(registry_api.registry_router, prefix=registry_api.REGISTRY_PREFIX)
    app.include_router(registry_api.registry_router, include_in_schema=False)  # for kafkit
    # The last added is the outermost: the log sees every answer, even a 413.
    app.add_middleware(BodyLimitMiddleware, max_bytes=state.settings.request_max_body_bytes)
    app.add_middleware(AccessLogMiddleware)
    return app
