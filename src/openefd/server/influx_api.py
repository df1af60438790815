"""The InfluxDB 1.x HTTP API: ``/query``, ``/write``, ``/ping``, ``/health``, ``/ready``.

Shapes, status codes and error texts follow InfluxDB 1.8's
``services/httpd/handler.go`` so that aioinflux, lsst-efd-client, the
``influx`` shell and dashboards work unchanged:

- ``/query`` (GET, POST form or multipart; ``q`` also in the query string):
  ``db``, ``epoch``, ``chunked``, ``chunk_size`` (default 10000), ``pretty``.
  ``200 {"results":[…]}``; an execution error is ``results[i].error`` (still
  200); text that does not parse is ``400 {"error":"error parsing query: …"}``.
- ``/write`` (POST line protocol, optionally gzip): ``db`` (required),
  ``rp``, ``precision`` (n/ns, u, ms, s, m, h). 204 once every line is
  stored; nothing is stored when any line is rejected (400 naming it).
- ``/ping``: 204, or 200 ``{"version":…}`` with ``verbose``; ``/health``:
  InfluxDB 1.8's document; ``/ready``: 200 once the store answers.

Every query runs in a worker thread within ``query_timeout_s`` and the
``query_max_points`` / ``query_max_series`` limits (the engine enforces them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from openefd.errors import InfluxQLError, LineProtocolError, OpenEfdError
from openefd.ingest.lp_batches import write_line_protocol
from openefd.ingest.writer import Writer
from openefd.query.influxql import QueryLimits, StatementResult, execute
from openefd.server.access_log import INFLUXDB_VERSION, OPENEFD_VERSION
from openefd.server.deps import get_state
from openefd.server.influx_auth import InfluxHTTPError, authenticate, go_quote
from openefd.server.influx_json import chunk_documents, encode_results_view
from openefd.server.influx_time import epoch_divisor
from openefd.server.limits import BodyTooLargeError, gunzip_limited
from openefd.server.state import Scope, ServerState

__all__ = ["DEFAULT_CHUNK_SIZE", "router"]

DEFAULT_CHUNK_SIZE = 10_000  # InfluxDB's DefaultChunkSize
# InfluxDB 1.8's /write precisions (empty: ns), as the line protocol reader names them.
WRITE_PRECISIONS = {
    "": "ns",
    "n": "ns",
    "ns": "ns",
    "u": "u",
    "ms": "ms",
    "s": "s",
    "m": "m",
    "h": "h",
}
_ERROR_LINE_CHARS = 2048
_JSON = "application/json"

router = APIRouter(tags=["InfluxDB 1.x"])


def _first_values(items: Any) -> dict[str, str]:
    """Parameters as Go's ``FormValue`` sees them: the first value of each name."""
    out: dict[str, str] = {}
    for key, value in items:
        out.setdefault(key, value)
    return out


async def _form_values(request: Request) -> dict[str, str]:
    """The fields of a POSTed form (urlencoded or multipart; a file ``q`` is read)."""
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return {}
    try:
        form = await request.form()
    except BodyTooLargeError:
        raise
    except HTTPException as err:
        raise InfluxHTTPError(400, f"error parsing form: {err.detail}") from err
    except Exception as err:  # python-multipart raises many kinds on bad input
        raise InfluxHTTPError(400, f"error parsing form: {err}") from err
    fields: dict[str, str] = {}
    try:
        for key, value in form.multi_items():
            if key in fields:
                continue
            if isinstance(value, UploadFile):
                data = await value.read()
                try:
                    fields[key] = data.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise InfluxHTTPError(400, f"form field {key!r} is not UTF-8: {err}") from err
            else:
                fields[key] = value
    finally:
        await form.close()  # uploaded parts live in temporary files
    return fields


async def _query_params(request: Request) -> dict[str, str]:
    params = _first_values(request.query_params.multi_items())
    if request.method == "POST":
        params.update(await _form_values(request))  # the body wins, as in Go
    return params


def _chunk_size(text: str | None) -> int:
    """``chunk_size`` as InfluxDB reads it: the default when absent, unparsable or < 1."""
    try:
        size = int(text or "")
    except ValueError:
        return DEFAULT_CHUNK_SIZE
    return size if size > 0 else DEFAULT_CHUNK_SIZE


def _limits(state: ServerState) -> QueryLimits:
    s = state.settings
    return QueryLimits(
        max_points=s.query_max_points, max_series=s.query_max_series, timeout_s=s.query_timeout_s
    )


def _execute(state: ServerState, text: str, database: str | None) -> list[StatementResult]:
    """Run ``text``; a parse error is a 400, an error while running is in the results."""
    try:
        return execute(
            state.store, text, database=database, settings=state.settings, limits=_limits(state)
        )
    except InfluxQLError as err:
        raise InfluxHTTPError(400, f"error parsing query: {err}") from err
    except OpenEfdError as err:  # the engine reports execution errors in the results
        return [StatementResult(0, error=str(err))]


def _query_body(
    state: ServerState, text: str, database: str | None, divisor: int | None, pretty: bool
) -> bytes | memoryview:
    return encode_results_view(_execute(state, text, database), divisor=divisor, pretty=pretty)


@router.api_route("/query", methods=["GET", "POST"])
async def query(request: Request) -> Response:
    """Run InfluxQL (``q``) and answer as InfluxDB 1.x does."""
    state = get_state(request)
    principal = authenticate(request)
    params = await _query_params(request)
    text = params.get("q", "").strip()
    if not text:
        raise InfluxHTTPError(400, 'missing required parameter "q"')
    if not principal.allows(Scope.READ):
        raise InfluxHTTPError(
            403, f"error authorizing query: {principal.name} not authorized to read"
        )
    epoch = params.get("epoch", "").strip()
    divisor = epoch_divisor(epoch) if epoch else None
    if epoch and divisor is None:
        raise InfluxHTTPError(
            400, f"invalid epoch {go_quote(epoch)} (use ns, u, µ, ms, s, m or h)"
        )
    database = params.get("db") or None
    pretty = params.get("pretty") == "true"
    if params.get("chunked") == "true":
        results = await run_in_threadpool(_execute, state, text, database)
        chunks = chunk_documents(
            results,
            divisor=divisor,
            chunk_size=_chunk_size(params.get("chunk_size")),
            pretty=pretty,
        )
        return StreamingResponse(chunks, media_type=_JSON)
    body = await run_in_threadpool(_query_body, state, text, database, divisor, pretty)
    return Response(body, media_type=_JSON)


def _rejected_line(text: str, line_number: int) -> str:
    lines = text.split("\n")
    if not 1 <= line_number <= len(lines):
        return ""
    line = lines[line_number - 1].rstrip("\r")
    return line if len(line) <= _ERROR_LINE_CHARS else line[:_ERROR_LINE_CHARS] + "…"


def _write(state: ServerState, text: str, precision: str) -> None:
    try:
        write_line_protocol(Writer(state.store), text, source="body", precision=precision)
    except LineProtocolError as err:
        line = _rejected_line(text, err.line_number)
        raise InfluxHTTPError(400, f"unable to parse '{line}': {err.reason}") from err
    except (OpenEfdError, ValueError) as err:
        raise InfluxHTTPError(400, str(err)) from err


def _check_write_target(params: Mapping[str, str], state: ServerState) -> tuple[str, str]:
    precision = params.get("precision", "")
    if precision not in WRITE_PRECISIONS:
        raise InfluxHTTPError(
            400, f"invalid precision {go_quote(precision)} (use n, u, ms, s, m or h)"
        )
    database = params.get("db", "")
    if not database:
        raise InfluxHTTPError(400, "database is required")
    if database != state.settings.influx_database:
        raise InfluxHTTPError(404, f"database not found: {go_quote(database)}")
    policy = params.get("rp", "")
    if policy and policy != state.settings.influx_retention_policy:
        raise InfluxHTTPError(404, f"retention policy not found: {policy}")
    return database, WRITE_PRECISIONS[precision]


async def _write_body(request: Request, max_bytes: int) -> bytes:
    body = await request.body()
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding == "gzip":
        try:
            return gunzip_limited(body, max_bytes)
        except ValueError as err:
            raise InfluxHTTPError(400, str(err)) from err
    if encoding not in ("", "identity"):
        raise InfluxHTTPError(
            415, f"unsupported Content-Encoding {go_quote(encoding)} (send gzip or none)"
        )
    return body


@router.post("/write")
async def write(request: Request) -> Response:
    """Store InfluxDB line protocol; all of the body or none of it."""
    state = get_state(request)
    principal = authenticate(request)
    params = _first_values(request.query_params.multi_items())
    database, precision = _check_write_target(params, state)
    if not principal.allows(Scope.WRITE):
        raise InfluxHTTPError(
            403,
            f"{go_quote(principal.name)} user is not authorized to write to database "
            f"{go_quote(database)}",
        )
    body = await _write_body(request, state.settings.request_max_body_bytes)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InfluxHTTPError(
            400, f"unable to parse body: not UTF-8 (byte {err.start}: {err.reason})"
        ) from err
    if text.strip():
        await run_in_threadpool(_write, state, text, precision)
    return Response(status_code=204)


@router.options("/query", include_in_schema=False)
@router.options("/write", include_in_schema=False)
async def preflight() -> Response:
    """CORS pre-flight, answered as InfluxDB does (204)."""
    return Response(status_code=204)


@router.api_route("/ping", methods=["GET", "HEAD"])
async def ping(request: Request) -> Response:
    """204 while the server runs; ``verbose=true`` gives 200 and the version."""
    verbose = request.query_params.get("verbose", "")
    if verbose not in ("", "0", "false"):
        return Response(orjson.dumps({"version": INFLUXDB_VERSION}), media_type=_JSON)
    return Response(status_code=204)


@router.get("/health")
async def health() -> Response:
    """InfluxDB 1.8's health document (keys in Go's sorted order), naming openefd too."""
    doc = {
        "checks": [],
        "message": "ready for queries and writes",
        "name": "influxdb",
        "server": f"openefd {OPENEFD_VERSION}",
        "status": "pass",
        "version": INFLUXDB_VERSION,
    }
    return Response(orjson.dumps(doc), media_type="application/json; charset=utf-8")


def _store_answers(state: ServerState) -> bool:
    try:
        state.store.cursor().execute("SELECT 1").fetchone()
    except Exception:  # any failure means not ready
        return False
    return True


@router.get("/ready")
async def ready(request: Request) -> Response:
    """200 once the store is open and answers; 503 otherwise."""
    state = get_state(request)
    if await run_in_threadpool(_store_answers, state):
        return Response(orjson.dumps({"status": "ready"}), media_type=_JSON)
    return Response(orjson.dumps({"status": "unavailable"}), status_code=503, media_type=_JSON)
