"""The exposure registry over the native HTTP API: exposures, image arrivals, latency.

Routes (under ``/api/v1``, ``read`` scope; bodies in :mod:`openefd.client.wire`)::

    POST /exposures              ExposuresBody -> frame (get_exposures)
    POST /exposures/overlapping  OverlapBody   -> frame (get_exposures_overlapping)
    POST /arrivals               ArrivalsBody  -> frame (get_image_arrivals)
    POST /latency                LatencyBody   -> latency report (night_latency)

Each answers by calling the canonical layer of
:class:`~openefd.client.sync_client.EfdClientSync` on the server's store, as
:mod:`.native_api` does, so a remote client gets the same DataFrames, reports
and errors as an in-process one. Frames are Arrow IPC streams, or JSON with
``?format=json`` / ``Accept: application/json`` (missing values ``null``);
``day_obs`` may be ``20240501``, ``"20240501"`` or ``"2024-05-01"``.
"""

from __future__ import annotations

from functools import partial

import pandas as pd
from fastapi import APIRouter, Request, Response

from openefd.client import wire, wire_report
from openefd.errors import LimitExceededError, QueryError
from openefd.server.native_api import READ, Format, answer, client_for
from openefd.server.state import ServerState
from openefd.store.exposures import parse_day_obs

__all__ = ["router"]

router = APIRouter(prefix=wire.API_PREFIX, tags=["exposures"])


def _day(value: wire.DayObs | None) -> int | None:
    return None if value is None else parse_day_obs(value)


def _tai_ns(value: wire.RegistryTime, what: str) -> int:
    return wire.int64_tai_ns(wire.tai_ns_of(value, what), what)


def _wants_json(request: Request, fmt: str | None) -> bool:
    if fmt is not None and fmt not in ("arrow", "json"):
        raise QueryError(f"format={fmt!r}: choose 'arrow' or 'json'")
    accept = request.headers.get("accept", "")
    return fmt == "json" or (
        fmt is None and wire.JSON in accept and wire.ARROW_STREAM not in accept
    )


def _check_points(frames: list[pd.DataFrame], state: ServerState) -> None:
    points = sum(f.shape[0] * max(f.shape[1], 1) for f in frames)
    limit = state.settings.query_max_points
    if points > limit:
        raise LimitExceededError(
            f"the result holds {points:,} values, over the server's limit of {limit:,} "
            "(query_max_points); select fewer exposures or detectors"
        )


def _frame_response(
    frame: pd.DataFrame, request: Request, state: ServerState, fmt: str | None
) -> Response:
    _check_points([frame], state)
    if _wants_json(request, fmt):
        return Response(wire.nullable_frame_to_json(frame), media_type=wire.JSON)
    return Response(wire.frame_to_arrow(frame), media_type=wire.ARROW_STREAM)


@router.post("/exposures", dependencies=READ, summary="Exposures (get_exposures)")
def get_exposures(body: wire.ExposuresBody, request: Request, fmt: Format = None) -> Response:
    client, state = client_for(request)
    query = partial(
        client.exposures_frame,
        day_obs=_day(body.day_obs),
        begin_tai_ns=None if body.begin is None else _tai_ns(body.begin, "begin"),
        end_tai_ns=None if body.end is None else _tai_ns(body.end, "end"),
        instrument=body.instrument,
        exposure_ids=body.exposure_ids,
        observation_types=body.observation_types,
    )
    return _frame_response(answer(state, query), request, state, fmt)


@router.post(
    "/exposures/overlapping",
    dependencies=READ,
    summary="Exposures whose timespan overlaps [begin, end) (get_exposures_overlapping)",
)
def get_exposures_overlapping(
    body: wire.OverlapBody, request: Request, fmt: Format = None
) -> Response:
    client, state = client_for(request)
    query = partial(
        client.exposures_overlapping_tai,
        _tai_ns(body.begin, "begin"),
        _tai_ns(body.end, "end"),
        instrument=body.instrument,
    )
    return _frame_response(answer(state, query), request, state, fmt)


@router.post("/arrivals", dependencies=READ, summary="Image deliveries (get_image_arrivals)")
def get_image_arrivals(body: wire.ArrivalsBody, request: Request, fmt: Format = None) -> Response:
    client, state = client_for(request)
    query = partial(
        client.image_arrivals_frame,
        day_obs=_day(body.day_obs),
        instrument=body.instrument,
        exposure_ids=body.exposure_ids,
        detectors=body.detectors,
        first_delivery_only=body.first_delivery_only,
    )
    return _frame_response(answer(state, query), request, state, fmt)


@router.post(
    "/latency", dependencies=READ, summary="The image latency report of a night (night_latency)"
)
def night_latency(body: wire.LatencyBody, request: Request, fmt: Format = None) -> Response:
    client, state = client_for(request)
    day = _day(body.day_obs)
    assert day is not None
    query = partial(
        client.night_latency_report,
        day,
        instrument=body.instrument,
        transfer_target_s=body.transfer_target_s,
        cadence_target_s=body.cadence_target_s,
        science_only=body.science_only,
        exposure_ids=body.exposure_ids,
        detectors=body.detectors,
    )
    report = answer(state, query)
    _check_points([getattr(report, name) for name in wire_report.REPORT_FRAMES], state)
    if _wants_json(request, fmt):
        return Response(wire_report.report_to_json(report), media_type=wire.JSON)
    return Response(wire_report.report_to_arrow(report), media_type=wire.ARROW_STREAM)
