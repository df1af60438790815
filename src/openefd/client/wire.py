"""What openefd's native HTTP API carries, in one place for the server and the client.

Paths (under ``/api/v1``)::

    GET  /topics                          JSON list of topic names
    GET  /topics/{topic}/fields           JSON list of field names
    GET  /topics/{topic}/schema           frame: name, description, units, is_array
    POST /topics/{topic}/select           RangeBody  -> frame (select_time_series)
    POST /topics/{topic}/asof             AsofBody   -> frame (select_asof)
    POST /topics/{topic}/top              TopNBody   -> frame (select_top_n)
    POST /topics/{topic}/packed           PackedBody -> frame (select_packed_time_series)
    POST /topics/{topic}/rows             Arrow IPC stream or JSON rows -> write result
    POST /write/line-protocol?precision=  line protocol text -> write result
    POST /exposures                       ExposuresBody -> frame (get_exposures)
    POST /exposures/overlapping           OverlapBody   -> frame (get_exposures_overlapping)
    POST /arrivals                        ArrivalsBody  -> frame (get_image_arrivals)
    POST /latency                         LatencyBody   -> report (night_latency)

Times in request bodies are integers of canonical TAI ns (what the Python
client sends) or ISO 8601 strings (UTC unless they carry an offset). A frame
is an Arrow IPC stream (``application/vnd.apache.arrow.stream``, no
compression, one record batch) of the DataFrame with its index as the last
column, so ``frame_from_arrow`` rebuilds exactly the DataFrame the server
computed (a select's rows are written without building that DataFrame on the
server: ``rows_to_arrow``; time-indexed numbers go as plain columns,
:mod:`openefd.client.wire_plain`);
with ``?format=json`` or ``Accept: application/json`` it is JSON
``{"columns", "index", "index_name", "data"}`` (rows) with times as ISO
strings (``Z``-suffixed UTC, or naive TAI when the index is ``time_tai``).
Frames of the exposure registry keep their nullable ``Int64``/``boolean``
columns; in JSON a missing value is ``null``. The latency report's form is
in :mod:`openefd.client.wire_report`.
A write result is JSON ``{"received", "written", "rows_received",
"rows_written"}``. An error is JSON ``{"error": message, "type": class name}``
with a 4xx status; ``error_from_response`` turns it back into that
:mod:`openefd.errors` class.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from openefd import errors
from openefd.client.wire_plain import PLAIN, frame_of_table, table_of_frame, table_of_rows
from openefd.errors import OpenEfdError, RemoteError, TimeValueError
from openefd.ingest.writer import WriteResult
from openefd.query.rows import Rows
from openefd.timeinput import to_tai_ns

__all__ = [
    "API_PREFIX",
    "ARROW_STREAM",
    "INDEX_UTC_NS",
    "JSON",
    "ArrivalsBody",
    "AsofBody",
    "ExposuresBody",
    "LatencyBody",
    "OverlapBody",
    "PackedBody",
    "RangeBody",
    "TopNBody",
    "error_from_response",
    "frame_from_arrow",
    "frame_to_arrow",
    "frame_to_json",
    "index_utc_ns",
    "int64_tai_ns",
    "nullable_frame_to_json",
    "rows_to_arrow",
    "table_from_arrow",
    "table_to_arrow",
    "tai_ns_of",
    "write_result_from_json",
    "write_result_to_json",
]

API_PREFIX = "/api/v1"
ARROW_STREAM = "application/vnd.apache.arrow.stream"
JSON = "application/json"
INDEX_UTC_NS = "__openefd_index_utc_ns__"
"""Column of a written Arrow table holding a DataFrame index's UTC ns (``INT64_MIN``: none)."""

WireTime = int | str
"""A time in a request body: canonical TAI ns, or an ISO 8601 string."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RangeBody(_Body):
    """``select_time_series``: both ends included."""

    fields: list[str]
    start: WireTime
    end: WireTime
    index: int | None = None
    use_old_csc_indexing: bool = False
    time_scale: str = "utc"
    resolution: str | None = None
    stats: str | list[str] = "mean"
    downsample: str | None = None
    fill: str | int | float = "none"


class AsofBody(_Body):
    """``select_asof``; ``single``: one time asked, no data at it is an error."""

    fields: list[str]
    times: list[WireTime]
    single: bool = False
    max_age_ns: int | None = None
    index: int | None = None
    time_scale: str = "utc"


class TopNBody(_Body):
    """``select_top_n``: newest ``num`` rows before ``time_cut`` (exclusive)."""

    fields: list[str]
    num: int
    time_cut: WireTime | None = None
    index: int | None = None
    use_old_csc_indexing: bool = False
    time_scale: str = "utc"


class PackedBody(_Body):
    """``select_packed_time_series``: both ends included."""

    base_fields: list[str]
    start: WireTime
    end: WireTime
    index: int | None = None
    ref_timestamp_col: str = "cRIO_timestamp"
    ref_timestamp_fmt: str = "unix_tai"
    ref_timestamp_scale: str = "tai"
    use_old_csc_indexing: bool = False


DayObs = int | str
"""An observing day: ``20240501``, ``"20240501"`` or ``"2024-05-01"``."""
_INT64_MAX = 2**63 - 1
TaiNs = Annotated[int, Field(ge=-_INT64_MAX - 1, le=_INT64_MAX)]
"""TAI ns that fit the registry's BIGINT columns."""
ExposureId = Annotated[int, Field(ge=0, le=_INT64_MAX)]
DetectorId = Annotated[int, Field(ge=0, le=2**31 - 1)]
RegistryTime = TaiNs | str


class ExposuresBody(_Body):
    """``get_exposures``: every filter given; ``[begin, end)`` overlaps the timespan."""

    day_obs: DayObs | None = None
    begin: RegistryTime | None = None
    end: RegistryTime | None = None
    instrument: str | None = None
    exposure_ids: list[ExposureId] | None = None
    observation_types: list[str] | None = None


class OverlapBody(_Body):
    """``get_exposures_overlapping``: timespans overlapping ``[begin, end)``."""

    begin: RegistryTime
    end: RegistryTime
    instrument: str | None = None


class ArrivalsBody(_Body):
    """``get_image_arrivals``; ``detectors``: ids (``94``) or names (``"R22_S11"``)."""

    day_obs: DayObs | None = None
    instrument: str | None = None
    exposure_ids: list[ExposureId] | None = None
    detectors: list[DetectorId | str] | None = None
    first_delivery_only: bool = False


class LatencyBody(_Body):
    """``night_latency``; targets left out are the server's settings."""

    day_obs: DayObs
    instrument: str | None = None
    transfer_target_s: float | None = None
    cadence_target_s: float | None = None
    science_only: bool = False
    exposure_ids: list[ExposureId] | None = None
    detectors: list[DetectorId | str] | None = None


def int64_tai_ns(tai_ns: int, what: str) -> int:
    """``tai_ns`` when the registry's BIGINT holds it (times before 2262-04-11)."""
    if not -_INT64_MAX - 1 <= tai_ns <= _INT64_MAX:
        raise TimeValueError(f"{what}: times after 2262-04-11 are not supported")
    return tai_ns


def tai_ns_of(value: WireTime, what: str) -> int:
    """TAI ns of a request body's time (an integer already is)."""
    return value if isinstance(value, int) else to_tai_ns(value, what)


def _ipc_stream(table: pa.Table) -> pa.Buffer:
    """``table`` as an uncompressed IPC stream in Arrow memory (sized first: no regrowth)."""
    counter = pa.MockOutputStream()
    with pa.ipc.new_stream(counter, table.schema) as writer:
        writer.write_table(table)
    buffer = pa.allocate_buffer(counter.size())
    with pa.ipc.new_stream(pa.FixedSizeBufferWriter(buffer), table.schema) as writer:
        writer.write_table(table)
    return buffer


def table_to_arrow(table: pa.Table) -> bytes:
    """An Arrow table as an uncompressed IPC stream."""
    data: bytes = _ipc_stream(table).to_pybytes()
    return data


def table_from_arrow(data: bytes | pa.Buffer) -> pa.Table:
    """The Arrow table of an IPC stream."""
    return pa.ipc.open_stream(data).read_all()


def frame_to_arrow(frame: pd.DataFrame) -> bytes:
    """A DataFrame as an Arrow IPC stream that ``frame_from_arrow`` turns back into it.

    The index is the last column, named as pandas names it (its name, or
    ``__index_level_0__``). A frame of numbers with a time index goes as plain
    columns (schema metadata ``openefd.plain_frame``: the index name, and under
    ``float64`` the float64 columns sent as float32 because every value is a
    float32 — SAL's float, stored so; 40 % less to send), any other with pandas
    metadata (dtypes, index, column order).
    """
    return table_to_arrow(_frame_table(frame))


def _frame_table(frame: pd.DataFrame) -> pa.Table:
    table = table_of_frame(frame)
    if table is None:
        # One thread: for a few columns, starting threads costs more than it saves.
        table = pa.Table.from_pandas(frame, nthreads=1)
    return table


def rows_to_arrow(rows: Rows) -> memoryview:
    """``frame_to_arrow(rows.frame())``, as a view of Arrow memory (no copy into bytes).

    Plain rows (numbers and booleans, no nulls) are written straight from their
    arrays, without the DataFrame; any other rows through it.
    """
    table = table_of_rows(rows)
    return memoryview(_ipc_stream(table if table is not None else _frame_table(rows.frame())))


def frame_from_arrow(data: bytes | pa.Buffer) -> pd.DataFrame:
    """The DataFrame ``frame_to_arrow`` sent.

    pandas ≥ 3 reads Arrow strings as ``str``; columns that were ``object``
    (strings with ``None`` for missing, as the store answers) are made so again.
    """
    table = table_from_arrow(data)
    plain = (table.schema.metadata or {}).get(PLAIN)
    if plain is not None:
        return frame_of_table(table, plain)
    frame: pd.DataFrame = table.to_pandas(use_threads=False)
    for column in (table.schema.pandas_metadata or {}).get("columns", []):
        name, field = column["name"], column["field_name"]
        if (
            column["numpy_type"] == "object"
            and field in table.column_names
            and name in frame.columns
            and frame[name].dtype != object
        ):
            values = table.column(field).to_numpy(zero_copy_only=False)
            frame[name] = pd.Series(values, index=frame.index, dtype=object)
    return frame


def _iso_times(values: pd.Index | pd.Series) -> list[str | None]:
    index = pd.DatetimeIndex(values)
    utc = index.tz is not None
    naive = index.tz_convert("UTC").tz_localize(None) if utc else index
    text = np.datetime_as_string(naive.as_unit("ns").to_numpy(), unit="ns")
    suffix = "Z" if utc else ""
    return [None if t == "NaT" else t + suffix for t in text.tolist()]


def _json_values(values: pd.Index | pd.Series) -> list[Any]:
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(
        values.dtype
    ):
        return _iso_times(values)
    if values.dtype == object:
        return [None if v is None or v is pd.NA else v for v in values.tolist()]
    return list(values.tolist())


def frame_to_json(frame: pd.DataFrame) -> bytes:
    """A DataFrame as JSON ``{"columns", "index", "index_name", "data"}`` (rows)."""
    columns = [_json_values(frame.iloc[:, i]) for i in range(frame.shape[1])]
    return orjson.dumps(
        {
            "columns": [str(c) for c in frame.columns],
            "index": _json_values(frame.index),
            "index_name": frame.index.name,
            "data": list(zip(*columns, strict=True)) if columns else [[] for _ in frame.index],
        },
        option=orjson.OPT_SERIALIZE_NUMPY,
        default=str,
    )


def write_result_to_json(result: WriteResult) -> bytes:
    return orjson.dumps(
        {
            "received": dict(result.received),
            "written": dict(result.written),
            "rows_received": result.rows_received,
            "rows_written": result.rows_written,
        }
    )


def write_result_from_json(data: bytes) -> WriteResult:
    body = orjson.loads(data)
    return WriteResult(received=Counter(body["received"]), written=Counter(body["written"]))


def index_utc_ns(table: pa.Table) -> tuple[pa.Table, npt.NDArray[np.int64] | None]:
    """A written table without its ``INDEX_UTC_NS`` column, and that column's values."""
    if INDEX_UTC_NS not in table.column_names:
        return table, None
    utc = np.asarray(table[INDEX_UTC_NS].cast(pa.int64()).to_numpy(), dtype=np.int64)
    return table.drop_columns([INDEX_UTC_NS]), utc


_ERRORS: dict[str, type[OpenEfdError]] = {
    name: cls
    for name in errors.__all__
    if isinstance(cls := getattr(errors, name), type) and issubclass(cls, OpenEfdError)
}
_LINE_PROTOCOL_WHERE = re.compile(r"^(.*):(\d+): (.*)$", re.DOTALL)


def _rebuild(cls: type[OpenEfdError], message: str) -> OpenEfdError:
    """An instance of ``cls`` whose ``str`` is ``message``, attributes rebuilt from it."""
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    if isinstance(err, errors.LineProtocolError):
        where = _LINE_PROTOCOL_WHERE.match(message)
        err.source = where.group(1) if where else "<text>"
        err.line_number = int(where.group(2)) if where else 0
        err.reason = where.group(3) if where else message
    elif isinstance(err, errors.InfluxQLError):
        err.position = -1
        err.reason = message
    return err


def error_from_response(status: int, body: bytes, content_type: str | None) -> OpenEfdError:
    """The openefd error an error response carries (``RemoteError`` when it is not one)."""
    payload: Any = None
    if content_type and content_type.startswith(JSON):
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            payload = None
    if status == 413:
        return errors.LimitExceededError(
            "the request body is over the server's limit (request_max_body_bytes); "
            "write fewer rows per call"
        )
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        cls = _ERRORS.get(str(payload.get("type")))
        if cls is not None and cls is not RemoteError:
            return _rebuild(cls, payload["error"])
        return RemoteError(f"server error ({status}): {payload['error']}", status=status)
    detail = payload.get("detail") if isinstance(payload, dict) else None
    text = (
        orjson.dumps(detail).decode()
        if detail is not None
        else body[:500].decode(errors="replace")
    )
    return RemoteError(f"server error ({status}): {text or 'no details'}", status=status)


def nullable_frame_to_json(frame: pd.DataFrame) -> bytes:
    """``frame_to_json`` of a frame with nullable columns (``Int64``, ``boolean``,
    ``category``, ``str``): a missing value is ``null``, never ``"<NA>"``."""
    plain = frame.copy(deep=False)
    for i, column in enumerate(frame.columns):
        values = frame.iloc[:, i]
        if isinstance(values.dtype, pd.api.extensions.ExtensionDtype) and not isinstance(
            values.dtype, pd.DatetimeTZDtype
        ):
            as_objects = values.astype(object)
            plain[column] = as_objects.where(values.notna(), None)
    return frame_to_json(plain)
