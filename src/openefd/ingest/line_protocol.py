"""InfluxDB 1.x line protocol: a fast, exact parser and a writer.

Grammar (InfluxDB 1.x line protocol reference, and what its parser does)::

    <measurement>[,<tag_key>=<tag_value>...] <field_key>=<field_value>[,...] [<timestamp>]

* Escapes: measurement ``\\,`` ``\\ ``; tag keys, tag values and field keys
  ``\\,`` ``\\=`` ``\\ ``; string field values ``\\"`` ``\\\\``. Any other
  backslash is literal, so a name cannot end with a backslash.
* Field values: floats (``1``, ``1.5``, ``1.``, ``.5``, ``-1.5e-3``,
  ``1.E+78``; no leading ``+``), integers ``-12i`` (int64), unsigned
  ``12u`` (uint64, parsed as :class:`UnsignedInt`, an ``int``), booleans
  ``t T true True TRUE f F false False FALSE``, double-quoted strings.
* At least one field. A repeated field key: the last value wins (InfluxDB
  1.x stores both at the same time and the later one overwrites). A
  repeated tag key is an error, as in InfluxDB.
* Tag and field keys ``time``, ``_field`` and ``_measurement`` are errors
  (InfluxDB rejects ``time`` and drops points carrying the other two).
  Tag values cannot be empty.
* The timestamp is an optional signed integer in units of ``precision``,
  converted to ns; after scaling it must lie in InfluxDB's range
  [-2**63 + 2, 2**63 - 2] ns.
* Lines end in ``\\n`` or ``\\r\\n``. Blank lines and lines whose first
  non-blank character is ``#`` are skipped but counted. Leading spaces and
  tabs, extra spaces between the sections and trailing spaces are allowed,
  as in InfluxDB 1.x.
* A double-quoted string may contain raw line breaks: InfluxDB 1.x accepts
  them and ``influx_inspect export`` writes them (multi-line log messages),
  so the point continues on the next physical line and its ``line_number``
  is the line it starts on. The formal reference says newlines are not
  supported; this is the behaviour of the server, which is what EFD
  exports contain.

Extension: the float field values ``NaN`` and ``Inf`` in any letter case,
optionally signed (``nan``, ``+Inf``, ``-inf``, also ``Infinity``), are read
as floats. The EFD's data contain NaN; stock InfluxDB rejects these.

Every malformed line raises :class:`~openefd.errors.LineProtocolError`
naming the source, the line and what was wrong.

Speed: lines without a backslash take a fast path built on ``str.split``;
everything else, and every line with an error, goes through the careful
scanner in :mod:`openefd.ingest._lp_scan`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from openefd.errors import LineProtocolError
from openefd.ingest._lp_scan import ScannedLine, scan_line
from openefd.ingest._lp_values import (
    BOOLEANS,
    MAX_TIME_NS,
    MIN_TIME_NS,
    RESERVED_KEYS,
    FieldValue,
    LineSyntaxError,
    UnsignedInt,
    UnterminatedStringError,
    parse_scalar,
    parse_timestamp,
    precision_multiplier,
)
from openefd.ingest._lp_write import format_line

__all__ = [
    "FieldValue",
    "LinePoint",
    "UnsignedInt",
    "format_line",
    "iter_line_protocol",
    "parse_line_protocol",
]

DEFAULT_MAX_LINE_BYTES = 1_048_576


@dataclass(frozen=True, slots=True)
class LinePoint:
    """One point of line protocol.

    ``timestamp`` is integer nanoseconds since the Unix epoch, as written
    and scaled by the parse ``precision`` (InfluxDB treats it as UTC);
    ``None`` when the line has none (InfluxDB would use its clock).
    ``line_number`` is 1-based: the physical line the point starts on.
    """

    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    timestamp: int | None
    line_number: int


# LinePoint(...) runs five object.__setattr__ calls to get past frozen=True;
# setting the slots through their descriptors builds the same object twice
# as fast, which matters at millions of lines. Tests check they agree.
_new_object = object.__new__
_set_measurement = LinePoint.measurement.__set__  # type: ignore[attr-defined]
_set_tags = LinePoint.tags.__set__  # type: ignore[attr-defined]
_set_fields = LinePoint.fields.__set__  # type: ignore[attr-defined]
_set_timestamp = LinePoint.timestamp.__set__  # type: ignore[attr-defined]
_set_line_number = LinePoint.line_number.__set__  # type: ignore[attr-defined]

_FLOAT_TEXT = "0123456789.eE-"  # a float of these is valid if float() takes it


def _parse_simple(line: str, number: int, multiplier: int) -> LinePoint | None:
    """The fast path for an ASCII line without backslashes; ``None``: ask the scanner.

    It accepts only what :func:`scan_line` accepts, with the same result,
    and gives up on anything else; it raises only for a bad field value in
    an otherwise sound line, through :func:`parse_scalar` (the scanner's
    message). A string value with a space or comma splits apart and fails
    the checks, so it goes to the scanner too.
    """
    parts = line.split(" ")
    if len(parts) == 2:
        key, field_set = parts
        timestamp = None
    elif len(parts) == 3:
        key, field_set, stamp = parts
        if not (stamp.isdigit() or (stamp[:1] == "-" and stamp[1:].isdigit())):
            return None
        timestamp = int(stamp) * multiplier
        if not MIN_TIME_NS <= timestamp <= MAX_TIME_NS:
            return None
    else:
        return None
    tags: dict[str, str] = {}
    if "," in key:
        names = key.split(",")
        measurement = names[0]
        for pair in names[1:]:
            tag, _, value = pair.partition("=")
            if not tag or not value or "=" in value or tag in tags or tag in RESERVED_KEYS:
                return None
            tags[tag] = value
    else:
        measurement = key
    if not measurement:
        return None
    fields: dict[str, FieldValue] = {}
    for pair in field_set.split(","):
        name, _, text = pair.partition("=")
        if not name or not text or name in RESERVED_KEYS:
            return None
        last = text[-1]
        if last == '"':
            if text[0] != '"' or text.count('"') != 2:
                return None
            fields[name] = text[1:-1]
        elif last in "0123456789.":
            try:
                number_value = float(text)
            except ValueError:
                number_value = parse_scalar(text, name)  # raises with the reason
            # float() also takes "+1", "1_0", " 1", "inf" and overflows to inf.
            if text.strip(_FLOAT_TEXT) or number_value - number_value:
                number_value = parse_scalar(text, name)
            fields[name] = number_value
        elif last == "i" and text[:-1].isdigit() and len(text) < 20:
            fields[name] = int(text[:-1])
        else:
            boolean = BOOLEANS.get(text)
            fields[name] = parse_scalar(text, name) if boolean is None else boolean
    point: LinePoint = _new_object(LinePoint)
    _set_measurement(point, measurement)
    _set_tags(point, tags)
    _set_fields(point, fields)
    _set_timestamp(point, timestamp)
    _set_line_number(point, number)
    return point


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _has_closing_quote(text: str) -> bool:
    """Whether ``text``, read from inside a string, contains an unescaped ``"``."""
    return '"' in text.replace("\\\\", "").replace('\\"', "")


class _Parser:
    """Turns physical lines into points; keeps state across :meth:`feed` calls."""

    def __init__(self, source: str, precision: str, max_line_bytes: int, first_line: int) -> None:
        self.multiplier = precision_multiplier(precision)
        if max_line_bytes < 1:
            raise ValueError(f"max_line_bytes must be positive, not {max_line_bytes}")
        self.source = source
        self.max_line_bytes = max_line_bytes
        self.line_number = first_line - 1  # of the last line fed
        self.pending: list[str] = []  # physical lines of a point inside a string
        self.pending_bytes = 0
        self.pending_start = 0

    def error(self, reason: str, line_number: int) -> LineProtocolError:
        return LineProtocolError(reason, source=self.source, line_number=line_number)

    def too_long(self, size: int, line_number: int) -> LineProtocolError:
        return self.error(f"line too long: {size} bytes > max_line_bytes {self.max_line_bytes}",
                          line_number)

    def feed(self, lines: Iterable[str], out: list[LinePoint]) -> None:
        """Parse physical ``lines`` (without ``\\n``), appending points to ``out``."""
        append = out.append
        multiplier = self.multiplier
        quick_limit = self.max_line_bytes // 4  # 4 bytes per character at most
        number = self.line_number
        try:
            for raw in lines:
                number += 1
                if self.pending:
                    self.line_number = number
                    self.resume(raw, number, out)
                    continue
                line = raw[:-1] if raw[-1:] == "\r" else raw
                if not line:
                    continue
                if len(line) > quick_limit and (size := _utf8_length(line)) > self.max_line_bytes:
                    raise self.too_long(size, number)
                first = line[0]
                if first == "#":
                    continue
                try:
                    if first != " " and first != "\t" and "\\" not in line and line.isascii():
                        point = _parse_simple(line, number, multiplier)
                        if point is not None:
                            append(point)
                            continue
                    scanned = scan_line(line)
                    if scanned is None:
                        continue
                    measurement, tags, fields, stamp = scanned
                    timestamp = None if stamp is None else parse_timestamp(stamp, multiplier)
                except UnterminatedStringError:
                    self.pending = [raw]
                    self.pending_bytes = _utf8_length(raw)
                    self.pending_start = number
                    continue
                except LineSyntaxError as exc:
                    raise self.error(exc.reason, number) from None
                append(LinePoint(measurement, tags, fields, timestamp, number))
        finally:
            self.line_number = number

    def resume(self, raw: str, number: int, out: list[LinePoint]) -> None:
        """Add a physical line to a point whose string value is still open."""
        self.pending.append(raw)
        self.pending_bytes += 1 + _utf8_length(raw)
        if self.pending_bytes > self.max_line_bytes:
            raise self.error(
                f"line too long: {self.pending_bytes} bytes > max_line_bytes "
                f"{self.max_line_bytes} (a double-quoted string opened on this line runs on "
                f"to line {number} without its closing quote)",
                self.pending_start,
            )
        if not _has_closing_quote(raw):
            return
        logical = "\n".join(self.pending)
        if logical.endswith("\r"):
            logical = logical[:-1]
        try:
            scanned = scan_line(logical)
            assert scanned is not None  # it starts like the line that opened the string
            measurement, tags, fields, stamp = scanned
            timestamp = None if stamp is None else parse_timestamp(stamp, self.multiplier)
        except UnterminatedStringError:
            return
        except LineSyntaxError as exc:
            raise self.error(
                f"{exc.reason} (in a point spanning lines {self.pending_start}-{number}: "
                "a double-quoted string continued across a line break)",
                self.pending_start,
            ) from None
        self.pending = []
        out.append(LinePoint(measurement, tags, fields, timestamp, self.pending_start))

    def finish(self) -> None:
        """Fail if the text ended inside a double-quoted string."""
        if self.pending:
            try:
                scan_line("\n".join(self.pending))
            except UnterminatedStringError as exc:
                raise self.error(exc.reason, self.pending_start) from None
            raise AssertionError("unreachable: a pending point ends inside a string")


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
    number of the first line of ``text`` within ``source``. Raises
    :class:`~openefd.errors.LineProtocolError` for the first malformed line
    and ValueError for an unknown precision.
    """
    parser = _Parser(source, precision, max_line_bytes, first_line_number)
    points: list[LinePoint] = []
    parser.feed(text.split("\n"), points)
    parser.finish()
    return points


def _physical_lines(items: list[str]) -> list[str]:
    """Items of a text file (each ending in ``\\n`` but maybe the last) as lines."""
    lines = [item[:-1] if item[-1:] == "\n" else item for item in items]
    if "\n" in "".join(lines):
        lines = [part for line in lines for part in line.split("\n")]
    return lines


def iter_line_protocol(
    lines: Iterable[str],
    *,
    source: str = "<text>",
    precision: str = "ns",
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    chunk_size: int = 10_000,
    first_line_number: int = 1,
) -> Iterator[list[LinePoint]]:
    """Parse a stream of lines, such as an open text file, in lists of ``chunk_size`` points.

    Each item is one line with or without its ``\\n``. Open files with
    ``newline="\\n"`` so that only ``\\n`` ends a line (``\\r\\n`` is still
    understood); universal newlines would also split at a lone ``\\r``
    inside a string value. Every list but the last holds exactly
    ``chunk_size`` points. Arguments are checked when called, lines when
    iterated.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, not {chunk_size}")
    parser = _Parser(source, precision, max_line_bytes, first_line_number)
    return _iter_chunks(parser, iter(lines), chunk_size)


def _iter_chunks(parser: _Parser, lines: Iterator[str], chunk_size: int) -> Iterator[list[LinePoint]]:
    points: list[LinePoint] = []
    while True:
        batch = list(islice(lines, chunk_size))
        if not batch:
            break
        parser.feed(_physical_lines(batch), points)
        while len(points) >= chunk_size:
            yield points[:chunk_size]
            points = points[chunk_size:]
    parser.finish()
    if points:
        yield points
