"""InfluxDB 1.x JSON for query results, as Go's ``encoding/json`` writes it.

Pure functions from :class:`~openefd.query.influxql.results.StatementResult`
to bytes. The layout is InfluxDB's: ``{"results":[{"statement_id":0,
"series":[{"name":…,"tags":{…},"columns":[…],"values":[[…]]}]}]}``, keys in
Go's order, empty parts omitted (``omitempty``), one trailing newline.

Numbers are written the way Go writes them because clients infer dtypes from
the text (aioinflux → pandas): a float64 that is whole (and below 2**63 in
magnitude; Go's limit is 1e21) is written without a decimal point (``1``, not ``1.0``), so pandas
makes that column int64 exactly as it does against InfluxDB; other floats are
the shortest text that reads back to the same float. NaN and ±Inf cannot be
stored in InfluxDB and Go's encoder refuses them; they are written as
``null``. Go also escapes ``<``, ``>`` and ``&`` in strings as ``\\u003c``
etc.; these bytes are left as they are (same value once parsed).

Columns are converted with numpy (whole floats become Python ints in one
masked assignment) and rows built with ``zip``; orjson writes the document.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import orjson

from openefd.query.influxql.results import Series, StatementResult
from openefd.server.influx_time import epoch_values, rfc3339nano

__all__ = ["chunk_documents", "encode_results", "error_document", "series_rows"]

_INT64_LIMIT = 2.0**63
_PLAIN_TYPES = frozenset({str, int, bool, type(None)})
_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while rows are built (threads share one pause).

    Building a large answer allocates a tuple per row; each batch of them
    would set off collections that walk the whole heap (pandas, pyarrow,
    DuckDB: many objects) and take a third of the encoding time. The rows
    hold no cycles, so pausing costs nothing.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def error_document(message: str) -> bytes:
    """``{"error":"…"}`` with a trailing newline, as InfluxDB's httpError writes it."""
    return orjson.dumps({"error": message}, option=orjson.OPT_APPEND_NEWLINE)


def _float_list(values: np.ndarray[Any, Any]) -> list[Any]:
    """A float column as Python values: whole floats as ints, NaN/Inf as None."""
    floats = values.astype(np.float64, copy=False)
    finite = np.isfinite(floats)
    magnitude = np.abs(floats)
    # Whole floats of 2**63 and more stay floats: orjson writes no integer wider than
    # 64 bits (Go writes the digits up to 1e21; no telemetry value comes near).
    whole = finite & (np.trunc(floats) == floats) & (magnitude < _INT64_LIMIT)
    all_finite = bool(finite.all())
    if all_finite and not whole.any():
        return floats.tolist()  # type: ignore[no-any-return]
    out = floats.astype(object)
    out[whole] = floats[whole].astype(np.int64)
    if not all_finite:
        out[~finite] = None
    return out.tolist()  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    """One value of an object column, as JSON-ready Python (Go's rules for floats)."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            return None
        if number.is_integer() and abs(number) < _INT64_LIMIT:
            return int(number)
        return number
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _object_list(values: Sequence[Any] | np.ndarray[Any, Any]) -> list[Any]:
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if set(map(type, items)) <= _PLAIN_TYPES:
        return items
    return [_plain(v) for v in items]


def _column_list(values: np.ndarray[Any, Any] | Sequence[Any]) -> list[Any]:
    if not isinstance(values, np.ndarray):
        return _object_list(values)
    kind = values.dtype.kind
    if kind == "f":
        return _float_list(values)
    if kind in "iub":
        return values.tolist()  # type: ignore[no-any-return]
    if kind == "M":
        ns = values.astype("datetime64[ns]")
        text: list[Any] = rfc3339nano(ns.view(np.int64))
        for i in np.flatnonzero(np.isnat(ns)):
            text[i] = None
        return text
    return _object_list(values)


def _time_list(values: np.ndarray[Any, Any] | Sequence[Any], divisor: int | None) -> list[Any]:
    utc_ns = np.asarray(values, dtype=np.int64)
    if divisor is None:
        return rfc3339nano(utc_ns)
    return epoch_values(utc_ns, divisor)


def series_rows(series: Series, divisor: int | None) -> list[tuple[Any, ...]]:
    """The rows of ``series`` as tuples; time per ``divisor`` (None: RFC 3339 text)."""
    if not series.values:
        return []
    columns = []
    for i, column in enumerate(series.values):
        if i == 0 and series.time_column:
            columns.append(_time_list(column, divisor))
        else:
            columns.append(_column_list(column))
    return list(zip(*columns, strict=True))


def _series_doc(
    series: Series, rows: Sequence[tuple[Any, ...]], partial: bool = False
) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if series.name:
        doc["name"] = series.name
    if series.tags:
        doc["tags"] = dict(sorted(series.tags.items()))
    if series.columns:
        doc["columns"] = series.columns
    if rows:
        doc["values"] = rows
    if partial:
        doc["partial"] = True
    return doc


def _result_doc(
    result: StatementResult, series: list[dict[str, Any]], partial: bool = False
) -> dict[str, Any]:
    doc: dict[str, Any] = {"statement_id": result.statement_id}
    if series:
        doc["series"] = series
    if partial:
        doc["partial"] = True
    if result.error is not None:
        doc["error"] = result.error
    return doc


def _dumps(doc: dict[str, Any], pretty: bool) -> bytes:
    if not pretty:
        return orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE)
    # Go's json.MarshalIndent(resp, "", "    "): orjson indents by two, so double it.
    text = orjson.dumps(doc, option=orjson.OPT_INDENT_2)
    lines = []
    for line in text.split(b"\n"):
        indent = len(line) - len(line.lstrip(b" "))
        lines.append(b" " * indent + line)
    return b"\n".join(lines) + b"\n"


def encode_results(
    results: Sequence[StatementResult], *, divisor: int | None, pretty: bool = False
) -> bytes:
    """The whole answer as one JSON document (``chunked`` not asked for)."""
    with _gc_paused():
        docs = []
        for result in results:
            series = [_series_doc(s, series_rows(s, divisor)) for s in result.series]
            docs.append(_result_doc(result, series))
        return _dumps({"results": docs}, pretty)


def chunk_documents(
    results: Sequence[StatementResult],
    *,
    divisor: int | None,
    chunk_size: int,
    pretty: bool = False,
) -> Iterator[bytes]:
    """The answer as InfluxDB streams it with ``chunked=true``: one document per line.

    As InfluxDB's emitter does: each document holds one series of at most
    ``chunk_size`` rows; a series cut short carries ``"partial":true``, and so
    does every result but the last document of its statement. A statement
    without series (or with an error) is one document.
    """
    size = max(1, chunk_size)
    for result in results:
        if result.error is not None or not result.series:
            yield _dumps({"results": [_result_doc(result, [])]}, pretty)
            continue
        last_series = len(result.series) - 1
        for index, series in enumerate(result.series):
            with _gc_paused():
                rows = series_rows(series, divisor)
            starts = range(0, len(rows), size) if rows else range(1)
            for start in starts:
                more_rows = start + size < len(rows)
                more_in_statement = more_rows or index < last_series
                doc = _series_doc(series, rows[start : start + size], partial=more_rows)
                result_doc = _result_doc(result, [doc], partial=more_in_statement)
                yield _dumps({"results": [result_doc]}, pretty)
