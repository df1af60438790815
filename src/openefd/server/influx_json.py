"""InfluxDB 1.x JSON for query results, as Go's ``encoding/json`` writes it.

Pure functions from :class:`~openefd.query.influxql.results.StatementResult`
to bytes. The layout is InfluxDB's: ``{"results":[{"statement_id":0,
"series":[{"name":…,"tags":{…},"columns":[…],"values":[[…]]}]}]}``, keys in
Go's order, empty parts omitted (``omitempty``), one trailing newline.

Numbers are written the way Go writes them because clients infer dtypes from
the text (aioinflux → pandas): a float64 that is whole (and below 2**63 in
magnitude; Go's limit is 1e21) is written without a decimal point (``1``, not
``1.0``), so pandas makes that column int64 exactly as it does against
InfluxDB; other floats are the shortest text that reads back to the same
float. NaN and ±Inf cannot be stored in InfluxDB and Go's encoder refuses
them; they are written as ``null`` (:mod:`.influx_values` has the rules for
every kind of column). Go also escapes ``<``, ``>`` and ``&`` in strings as ``\\u003c``
etc.; these bytes are left as they are (same value once parsed).

The values of a series are written by :mod:`.influx_json_fast` (column by
column, no Python object per row) whenever it applies, else row by row from
:func:`.influx_values.series_rows` (the reference: the same bytes either
way); orjson writes the rest of the document. ``pretty`` answers always go
row by row.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson

from openefd.query.influxql.results import Series, StatementResult
from openefd.server.influx_json_fast import RowsJson, joined, rows_json
from openefd.server.influx_values import series_rows

__all__ = [
    "chunk_documents",
    "encode_results",
    "encode_results_view",
    "error_document",
    "series_rows",
]

# Where a series' rows, already JSON text, go: orjson writes a fragment as it is and
# never writes a NUL byte itself (it escapes one in a string as \u0000).
_NUL = b"\x00"
_HOLE = orjson.Fragment(_NUL)
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


_Rows = RowsJson | list[tuple[Any, ...]]


def _rows(series: Series, divisor: int | None, vectorised: bool) -> _Rows:
    """The rows of ``series``: as JSON text when the vectorised encoder applies."""
    if vectorised:
        text = rows_json(series, divisor)
        if text is not None:
            return text
    with _gc_paused():
        return series_rows(series, divisor)


def _series_doc(
    series: Series,
    rows: _Rows,
    holes: list[list[bytes | memoryview]],
    start: int = 0,
    stop: int | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """The series document with rows ``start`` to ``stop`` (exclusive; None: all).

    Rows already written as JSON text leave a hole (:data:`_HOLE`) in the
    document and their parts in ``holes``, in the order orjson meets them.
    """
    end = len(rows) if stop is None else min(stop, len(rows))
    doc: dict[str, Any] = {}
    if series.name:
        doc["name"] = series.name
    if series.tags:
        doc["tags"] = dict(sorted(series.tags.items()))
    if series.columns:
        doc["columns"] = series.columns
    if end > start:
        if isinstance(rows, RowsJson):
            doc["values"] = _HOLE
            holes.append(rows.values(start, end))
        else:
            doc["values"] = rows if (start, end) == (0, len(rows)) else rows[start:end]
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


def _dumps(
    doc: dict[str, Any], pretty: bool, holes: list[list[bytes | memoryview]] | None = None
) -> bytes:
    document = _document(doc, pretty, holes, view=False)
    assert isinstance(document, bytes)
    return document


def _document(
    doc: dict[str, Any],
    pretty: bool,
    holes: list[list[bytes | memoryview]] | None = None,
    *,
    view: bool,
) -> bytes | memoryview:
    """``doc`` as JSON text, the rows in ``holes`` filled in (into Arrow's pool if ``view``)."""
    if not pretty:
        text = orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE)
        if not holes:
            return text
        between = text.split(_NUL)
        parts: list[bytes | memoryview] = [between[0]]
        for rows, after in zip(holes, between[1:], strict=True):
            parts += [*rows, after]
        return joined(parts) if view else b"".join(parts)
    # Go's json.MarshalIndent(resp, "", "    "): orjson indents by two, so double it.
    text = orjson.dumps(doc, option=orjson.OPT_INDENT_2)
    lines = []
    for line in text.split(b"\n"):
        indent = len(line) - len(line.lstrip(b" "))
        lines.append(b" " * indent + line)
    return b"\n".join(lines) + b"\n"


def encode_results(
    results: Sequence[StatementResult],
    *,
    divisor: int | None,
    pretty: bool = False,
    vectorised: bool = True,
) -> bytes:
    """The whole answer as one JSON document (``chunked`` not asked for).

    ``vectorised=False`` writes every series row by row (the reference the
    vectorised encoder is tested against); the bytes are the same.
    """
    body = encode_results_view(results, divisor=divisor, pretty=pretty, vectorised=vectorised)
    return body if isinstance(body, bytes) else bytes(body)


def encode_results_view(
    results: Sequence[StatementResult],
    *,
    divisor: int | None,
    pretty: bool = False,
    vectorised: bool = True,
) -> bytes | memoryview:
    """As :func:`encode_results`, without copying a large answer into a ``bytes``.

    A view of memory from Arrow's pool when rows were written vectorised
    (what an HTTP response can send as it is), else bytes.
    """
    fast = vectorised and not pretty
    holes: list[list[bytes | memoryview]] = []
    with _gc_paused():
        docs = []
        for result in results:
            series = [_series_doc(s, _rows(s, divisor, fast), holes) for s in result.series]
            docs.append(_result_doc(result, series))
        return _document({"results": docs}, pretty, holes, view=True)


def chunk_documents(
    results: Sequence[StatementResult],
    *,
    divisor: int | None,
    chunk_size: int,
    pretty: bool = False,
    vectorised: bool = True,
) -> Iterator[bytes]:
    """The answer as InfluxDB streams it with ``chunked=true``: one document per line.

    As InfluxDB's emitter does: each document holds one series of at most
    ``chunk_size`` rows; a series cut short carries ``"partial":true``, and so
    does every result but the last document of its statement. A statement
    without series (or with an error) is one document. ``vectorised`` as for
    :func:`encode_results`.
    """
    size = max(1, chunk_size)
    fast = vectorised and not pretty
    for result in results:
        if result.error is not None or not result.series:
            yield _dumps({"results": [_result_doc(result, [])]}, pretty)
            continue
        last_series = len(result.series) - 1
        for index, series in enumerate(result.series):
            rows = _rows(series, divisor, fast)
            starts = range(0, len(rows), size) if len(rows) else range(1)
            for start in starts:
                more_rows = start + size < len(rows)
                more_in_statement = more_rows or index < last_series
                holes: list[list[bytes | memoryview]] = []
                doc = _series_doc(series, rows, holes, start, start + size, partial=more_rows)
                result_doc = _result_doc(result, [doc], partial=more_in_statement)
                yield _dumps({"results": [result_doc]}, pretty, holes)
