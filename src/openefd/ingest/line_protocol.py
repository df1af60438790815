"""InfluxDB 1.x line protocol: a fast, exact parser and a writer.

Grammar, as in the InfluxDB 1.x line protocol reference and its parser::

    <measurement>[,<tag_key>=<tag_value>...] <field_key>=<field_value>[,...] [<timestamp>]

* Escapes: measurement ``\\,`` ``\\ ``; tag keys, tag values and field keys
  ``\\,`` ``\\=`` ``\\ ``; string field values ``\\"`` ``\\\\``. Any other
  backslash is a literal backslash (``\\\\`` in a name is two of them), so a
  name or tag value cannot end with a backslash (it would escape the
  separator after it) and cannot hold a newline. Quotes in names are
  literal; ``=`` needs no escape in a measurement.
* Field values: floats (``1``, ``1.5``, ``1.``, ``.5``, ``-1.5e-3``,
  ``1.E+78``; no leading ``+``; too large for float64 is an error),
  integers ``-12i`` (int64), unsigned ``12u`` (uint64, parsed as
  :class:`UnsignedInt`, an ``int``), booleans ``t T true True TRUE f F
  false False FALSE``, double-quoted strings.
* At least one field. A repeated field key: the last value wins (InfluxDB
  1.x writes both values at the same time, so the later one stays). A
  repeated tag key is an error, as in InfluxDB.
* Tag and field keys ``time``, ``_field`` and ``_measurement`` are errors:
  InfluxDB rejects ``time`` and drops points that carry the other two.
  Tag values cannot be empty.
* The timestamp is an optional signed integer in units of ``precision``,
  returned in ns; after scaling it must lie in InfluxDB's range
  [-2**63 + 2, 2**63 - 2] ns.
* Lines end in ``\\n`` or ``\\r\\n``. Blank lines and lines whose first
  non-blank character is ``#`` are skipped but counted. As in InfluxDB 1.x,
  leading spaces and tabs, runs of spaces between the sections and
  trailing spaces are allowed.
* A double-quoted string may hold raw line breaks: InfluxDB 1.x accepts
  them and ``influx_inspect export`` writes them (multi-line log messages),
  so such a point continues on the next physical line and its
  ``line_number`` is the line where it starts. (The reference says
  newlines are not supported; the server takes them, so exports of
  string fields holding line breaks, such as tracebacks, contain them.)

Extension: the float field values ``NaN`` and ``Inf`` in any letter case,
optionally signed (``nan``, ``+Inf``, ``-inf``, also ``Infinity``), are read
as floats. The EFD's data contain NaN; stock InfluxDB rejects them.

Every malformed line raises :class:`~openefd.errors.LineProtocolError` that
names the source, the line and what was wrong. ASCII lines without
backslashes take a fast path built on ``str.split``; everything else, and
every malformed line, goes through a careful scanner.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice, repeat

from openefd.ingest._lp_point import LinePoint
from openefd.ingest._lp_reader import LineReader
from openefd.ingest._lp_values import FieldValue, UnsignedInt
from openefd.ingest._lp_write import format_line

__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "FieldValue",
    "LinePoint",
    "UnsignedInt",
    "format_line",
    "iter_line_protocol",
    "parse_line_protocol",
]

DEFAULT_MAX_LINE_BYTES = 1_048_576


def parse_line_protocol(
    text: str,
    *,
    source: str = "<text>",
    precision: str = "ns",
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    first_line_number: int = 1,
) -> list[LinePoint]:
    """Parse line protocol ``text`` into points, in line order.

    ``precision`` is InfluxDB's: ``ns``/``n``, ``us``/``u``, ``ms``, ``s``,
    ``m``, ``h``; timestamps come out in ns. ``first_line_number`` is the
    number of the first line of ``text`` within ``source``. A line longer
    than ``max_line_bytes`` (UTF-8, without its line break) is an error.

    Raises
    ------
    LineProtocolError
        For the first malformed line.
    ValueError
        For an unknown ``precision`` or a ``max_line_bytes`` below 1.
    """
    reader = LineReader(source, precision, max_line_bytes, first_line_number)
    points: list[LinePoint] = []
    reader.feed(text.split("\n"), points, crlf="\r" in text)
    reader.finish()
    return points


def iter_line_protocol(
    lines: Iterable[str],
    *,
    source: str = "<text>",
    precision: str = "ns",
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    chunk_size: int = 10_000,
    first_line_number: int = 1,
) -> Iterator[list[LinePoint]]:
    """Parse a stream of lines, such as an open text file, in lists of points.

    Each item is one line, with or without its ``\\n``. Open files with
    ``newline="\\n"`` so that only ``\\n`` ends a line (``\\r\\n`` is still
    understood); universal newlines also split at a lone ``\\r``, which
    cuts a string value holding one. Every list but the last holds exactly
    ``chunk_size`` points; line numbers count from ``first_line_number``.
    The arguments are checked at the call, the lines as they are read.
    Raises like :func:`parse_line_protocol`.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, not {chunk_size}")
    reader = LineReader(source, precision, max_line_bytes, first_line_number)
    return _chunks(reader, iter(lines), chunk_size)


def _lines_of(items: list[str]) -> tuple[list[str], bool]:
    """The physical lines of ``items`` (no ``\n``), and whether any has a ``\r``."""
    joined = "".join(items)
    if all(map(str.endswith, items, repeat("\n"))) and joined.count("\n") == len(items):
        lines = joined.split("\n")  # the usual file: one line per item
        del lines[-1]
    else:
        lines = [item[:-1] if item[-1:] == "\n" else item for item in items]
        if "\n" in "".join(lines):  # an item held more than one line
            lines = [part for line in lines for part in line.split("\n")]
    return lines, "\r" in joined


def _chunks(
    reader: LineReader, items: Iterator[str], chunk_size: int
) -> Iterator[list[LinePoint]]:
    points: list[LinePoint] = []
    while batch := list(islice(items, chunk_size)):
        lines, crlf = _lines_of(batch)
        reader.feed(lines, points, crlf=crlf)
        while len(points) >= chunk_size:
            yield points[:chunk_size]
            del points[:chunk_size]
    reader.finish()
    if points:
        yield points
