"""openefd's native HTTP API (``/api/v1/...``): JSON and Arrow IPC for the HTTP client.

Every route answers by calling the canonical layer of
:class:`~openefd.client.sync_client.EfdClientSync` on the server's store
(``select_range_tai`` and the like), the same code an in-process client runs,
so a remote client gets the same DataFrames and the same errors. A range
select that only reads rows sends them as Arrow without building the
DataFrame here (:func:`~openefd.client.sync_client.range_rows`);
the client builds it once. What travels is
defined in :mod:`openefd.client.wire`. Reads need the ``read`` scope,
writes the ``write`` scope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, TypeVar

import duckdb
import numpy as np
import orjson
import pandas as pd
from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from openefd.client import wire
from openefd.client.sync_client import EfdClientSync, range_rows
from openefd.errors import IngestError, LimitExceededError, LineProtocolError, QueryError
from openefd.ingest._lp_values import precision_multiplier
from openefd.ingest.writer import WriteResult
from openefd.query.rows import Rows
from openefd.server.deps import get_state, require
from openefd.server.state import Principal, Scope, ServerState
from openefd.store.deadlines import watch

__all__ = ["router"]

T = TypeVar("T")

router = APIRouter(prefix=wire.API_PREFIX, tags=["native"])


def _on_the_loop(scope: Scope) -> Callable[[Request], Awaitable[Principal]]:
    """``require(scope)`` run on the event loop: checking a token (a hash and a stat)
    costs less than the trip to a worker thread FastAPI makes for a plain function."""
    check = require(scope)

    async def dependency(request: Request) -> Principal:
        return check(request)

    return dependency


READ = [Depends(_on_the_loop(Scope.READ))]
_WRITE = [Depends(_on_the_loop(Scope.WRITE))]
_FORMATS = ("arrow", "json")

Format = Annotated[
    str | None,
    Query(alias="format", description="'arrow' (Arrow IPC stream, the default) or 'json'"),
]


def client_for(request: Request) -> tuple[EfdClientSync, ServerState]:
    state = get_state(request)
    return EfdClientSync.from_store(state.store), state


def answer(state: ServerState, compute: Callable[[], T]) -> T:
    """``compute()`` on this thread's cursor, interrupted after ``query_timeout_s``."""
    timeout_s = state.settings.query_timeout_s
    with watch(state.store.cursor(), timeout_s) as deadline:
        try:
            return compute()
        except duckdb.InterruptException as exc:
            if not deadline.expired:
                raise
            raise LimitExceededError(
                f"query timeout: the query ran longer than {timeout_s:g} s "
                "(query_timeout_s) and was cancelled; narrow the time range, select fewer "
                "fields, exposures or detectors, or downsample"
            ) from exc


def _wants_json(request: Request, state: ServerState, fmt: str | None, points: int) -> bool:
    """Whether to answer JSON rather than Arrow, once the answer's size is allowed."""
    if points > state.settings.query_max_points:
        raise LimitExceededError(
            f"the result holds {points:,} values, over the server's limit of "
            f"{state.settings.query_max_points:,} (query_max_points); narrow the time range "
            "or downsample"
        )
    if fmt is not None and fmt not in _FORMATS:
        raise QueryError(f"format={fmt!r}: choose 'arrow' or 'json'")
    accept = request.headers.get("accept", "")
    return fmt == "json" or (
        fmt is None and wire.JSON in accept and wire.ARROW_STREAM not in accept
    )


def _frame_response(
    frame: pd.DataFrame, request: Request, state: ServerState, fmt: str | None
) -> Response:
    if _wants_json(request, state, fmt, frame.shape[0] * max(frame.shape[1], 1)):
        return Response(wire.frame_to_json(frame), media_type=wire.JSON)
    return Response(wire.frame_to_arrow(frame), media_type=wire.ARROW_STREAM)


def _rows_response(rows: Rows, request: Request, state: ServerState, fmt: str | None) -> Response:
    """``_frame_response(rows.frame(), …)``, the Arrow answer written without the frame."""
    if _wants_json(request, state, fmt, len(rows) * max(len(rows.columns), 1)):
        return Response(wire.frame_to_json(rows.frame()), media_type=wire.JSON)
    return Response(wire.rows_to_arrow(rows), media_type=wire.ARROW_STREAM)


def _result_response(result: WriteResult) -> Response:
    return Response(wire.write_result_to_json(result), media_type=wire.JSON)


@router.get("/topics", dependencies=READ, summary="Topics that hold data (get_topics)")
def get_topics(request: Request) -> Response:
    client, _ = client_for(request)
    return Response(orjson.dumps(client.get_topics()), media_type=wire.JSON)


@router.get("/topics/{topic}/fields", dependencies=READ, summary="Fields of a topic (get_fields)")
def get_fields(topic: str, request: Request) -> Response:
    client, _ = client_for(request)
    return Response(orjson.dumps(client.get_fields(topic)), media_type=wire.JSON)


@router.get(
    "/topics/{topic}/schema",
    dependencies=READ,
    summary="Schema of a topic (get_schema without aunits)",
)
def get_schema(topic: str, request: Request, fmt: Format = None) -> Response:
    client, state = client_for(request)
    query = partial(client.schema_frame, topic)
    return _frame_response(answer(state, query), request, state, fmt)


@router.post(
    "/topics/{topic}/select",
    dependencies=READ,
    summary="Rows in a time range (select_time_series)",
)
def select(topic: str, body: wire.RangeBody, request: Request, fmt: Format = None) -> Response:
    client, state = client_for(request)
    start, end = wire.tai_ns_of(body.start, "start"), wire.tai_ns_of(body.end, "end")
    if body.resolution is None and body.downsample is None:
        plain = partial(
            range_rows,
            client,
            topic,
            body.fields,
            start,
            end,
            index=body.index,
            use_old_csc_indexing=body.use_old_csc_indexing,
            time_scale=body.time_scale,
        )
        rows = answer(state, plain)
        if rows is not None:
            return _rows_response(rows, request, state, fmt)
    query = partial(
        client.select_range_tai,
        topic,
        body.fields,
        start,
        end,
        index=body.index,
        use_old_csc_indexing=body.use_old_csc_indexing,
        time_scale=body.time_scale,
        resolution=body.resolution,
        stats=body.stats,
        downsample=body.downsample,
        fill=body.fill,
    )
    return _frame_response(answer(state, query), request, state, fmt)


@router.post("/topics/{topic}/asof", dependencies=READ, summary="Values as of times (select_asof)")
def asof(topic: str, body: wire.AsofBody, request: Request, fmt: Format = None) -> Response:
    client, state = client_for(request)
    query = partial(
        client.select_asof_tai,
        topic,
        body.fields,
        np.array([wire.tai_ns_of(t, "times") for t in body.times], dtype=np.int64),
        single=body.single,
        max_age_ns=body.max_age_ns,
        index=body.index,
        time_scale=body.time_scale,
    )
    return _frame_response(answer(state, query), request, state, fmt)


@router.post("/topics/{topic}/top", dependencies=READ, summary="The newest rows (select_top_n)")
def top_n(topic: str, body: wire.TopNBody, request: Request, fmt: Format = None) -> Response:
    client, state = client_for(request)
    query = partial(
        client.select_top_n_tai,
        topic,
        body.fields,
        body.num,
        None if body.time_cut is None else wire.tai_ns_of(body.time_cut, "time_cut"),
        index=body.index,
        use_old_csc_indexing=body.use_old_csc_indexing,
        time_scale=body.time_scale,
    )
    return _frame_response(answer(state, query), request, state, fmt)


@router.post(
    "/topics/{topic}/packed",
    dependencies=READ,
    summary="Packed array samples, one row each (select_packed_time_series)",
)
def packed(topic: str, body: wire.PackedBody, request: Request, fmt: Format = None) -> Response:
    client, state = client_for(request)
    query = partial(
        client.select_packed_tai,
        topic,
        body.base_fields,
        wire.tai_ns_of(body.start, "start"),
        wire.tai_ns_of(body.end, "end"),
        index=body.index,
        ref_timestamp_col=body.ref_timestamp_col,
        ref_timestamp_fmt=body.ref_timestamp_fmt,
        ref_timestamp_scale=body.ref_timestamp_scale,
        use_old_csc_indexing=body.use_old_csc_indexing,
    )
    return _frame_response(answer(state, query), request, state, fmt)


@router.post(
    "/topics/{topic}/rows",
    dependencies=_WRITE,
    summary="Write rows of a topic (write): Arrow IPC stream or JSON records/columns",
)
async def write_rows(topic: str, request: Request) -> Response:
    state = get_state(request)
    body = await request.body()  # bounded by request_max_body_bytes (limits.py)
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    client = EfdClientSync.from_store(state.store)

    def write() -> WriteResult:
        if kind == wire.ARROW_STREAM:
            try:
                table = wire.table_from_arrow(body)
            except (OSError, ValueError) as exc:
                raise IngestError(
                    f"topic {topic!r}: body is not an Arrow IPC stream: {exc}"
                ) from exc
            table, utc_ns = wire.index_utc_ns(table)
            if utc_ns is None:
                return client.write(topic, table)
            return client.write_table(topic, table, utc_ns)
        if kind == wire.JSON:
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise IngestError(f"topic {topic!r}: body is not JSON: {exc}") from exc
            if not isinstance(data, list | dict):
                raise IngestError(
                    f"topic {topic!r}: give a JSON list of records or an object of columns"
                )
            return client.write(topic, data)
        raise IngestError(
            f"topic {topic!r}: send rows as {wire.ARROW_STREAM} or {wire.JSON}, "
            f"not {kind or 'no content type'}"
        )

    return _result_response(await run_in_threadpool(write))


@router.post(
    "/write/line-protocol",
    dependencies=_WRITE,
    summary="Write InfluxDB line protocol text (write_line_protocol)",
)
async def write_line_protocol(request: Request, precision: str = "ns") -> Response:
    state = get_state(request)
    body = await request.body()  # bounded by request_max_body_bytes (limits.py)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LineProtocolError(
            f"not UTF-8 text at byte {exc.start}", source="<request>", line_number=0
        ) from exc
    try:
        precision_multiplier(precision)
    except ValueError as exc:
        raise IngestError(str(exc)) from exc
    client = EfdClientSync.from_store(state.store)
    result = await run_in_threadpool(client.write_line_protocol, text, precision)
    return _result_response(result)
