"""The night latency report on the native API's wire (``POST /api/v1/latency``).

As Arrow: one IPC stream, a table with one row per report frame (``frame``
name, ``ipc`` bytes of that frame as :func:`openefd.client.wire.frame_to_arrow`
writes it) and the day, instrument, options and counts as JSON in the schema
metadata ``openefd.latency_report``. As JSON: ``{"day_obs", "instrument",
"options", "counts", "frames"}``, missing values ``null``.
"""

from __future__ import annotations

from typing import Any

import orjson
import pandas as pd
import pyarrow as pa

from openefd.analysis.latency import LatencyOptions, LatencyReport
from openefd.client.wire import (
    frame_from_arrow,
    frame_to_arrow,
    nullable_frame_to_json,
    table_from_arrow,
    table_to_arrow,
)

__all__ = ["REPORT_FRAMES", "report_from_arrow", "report_to_arrow", "report_to_json"]


REPORT_FRAMES = (
    "per_image",
    "per_exposure",
    "summary",
    "cadence",
    "detectors",
    "late_resends",
    "missing_images",
    "images_without_exposure",
)
"""The DataFrames of a :class:`~openefd.analysis.latency.LatencyReport`, in wire order."""
_REPORT = b"openefd.latency_report"


def _report_head(report: LatencyReport) -> dict[str, Any]:
    return {
        "day_obs": report.day_obs,
        "instrument": report.instrument,
        "options": report.options.to_json(),
        "counts": {k: int(v) for k, v in report.counts.items()},
    }


def _options(body: dict[str, Any]) -> LatencyOptions:
    def tuple_of(name: str) -> tuple[Any, ...] | None:
        value = body.get(name)
        return None if value is None else tuple(value)

    return LatencyOptions(
        transfer_target_s=body["transfer_target_s"],
        cadence_target_s=body["cadence_target_s"],
        cap_s=body["cap_s"],
        percentiles=tuple(body["percentiles"]),
        slow_detector_margin_s=body["slow_detector_margin_s"],
        science_only=body["science_only"],
        exposure_ids=tuple_of("exposure_ids"),
        detectors=tuple_of("detectors"),
        expected_detectors=tuple_of("expected_detectors"),
    )


def report_to_arrow(report: LatencyReport) -> bytes:
    """A latency report as one Arrow IPC stream (see the module docstring)."""
    table = pa.table(
        {
            "frame": pa.array(REPORT_FRAMES, type=pa.string()),
            "ipc": pa.array(
                [frame_to_arrow(getattr(report, name)) for name in REPORT_FRAMES],
                type=pa.large_binary(),
            ),
        },
        metadata={_REPORT: orjson.dumps(_report_head(report))},
    )
    return table_to_arrow(table)


def _report_frame_from_arrow(data: bytes) -> pd.DataFrame:
    """``frame_from_arrow``, with categories of strings as ``str`` (the report's statuses)
    even when there are none: pandas reads an empty one as ``object`` categories."""
    frame = frame_from_arrow(data)
    for name in frame.columns[(frame.dtypes == "category").to_numpy()]:
        values = frame[name]
        categories = values.cat.categories
        if categories.dtype == object and all(isinstance(c, str) for c in categories):
            frame[name] = values.cat.set_categories(pd.Index(categories, dtype="str"))
    return frame


def report_from_arrow(data: bytes) -> LatencyReport:
    """The latency report ``report_to_arrow`` sent."""
    table = table_from_arrow(data)
    head = orjson.loads((table.schema.metadata or {})[_REPORT])
    frames = {
        str(name): _report_frame_from_arrow(ipc)
        for name, ipc in zip(
            table.column("frame").to_pylist(), table.column("ipc").to_pylist(), strict=True
        )
    }
    return LatencyReport(
        day_obs=int(head["day_obs"]),
        instrument=head["instrument"],
        options=_options(head["options"]),
        counts={str(k): int(v) for k, v in head["counts"].items()},
        **{name: frames[name] for name in REPORT_FRAMES},
    )


def report_to_json(report: LatencyReport) -> bytes:
    """A latency report as JSON: the head and ``"frames"`` as ``frame_to_json`` writes them."""
    frames = {
        name: orjson.Fragment(nullable_frame_to_json(getattr(report, name)))
        for name in REPORT_FRAMES
    }
    return orjson.dumps({**_report_head(report), "frames": frames})
