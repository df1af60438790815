"""From physical lines to points: comments, CRLF, line limits, multi-line strings.

:class:`LineReader` keeps its state between :meth:`LineReader.feed` calls,
so a stream can be fed in batches and a point whose string value runs over
a line break can straddle two batches.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable

from openefd.errors import LineProtocolError
from openefd.ingest._lp_point import LinePoint, make_point, parse_simple
from openefd.ingest._lp_scan import scan_line
from openefd.ingest._lp_values import (
    LineSyntaxError,
    UnterminatedStringError,
    parse_timestamp,
    precision_multiplier,
)

__all__ = ["LineReader"]


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _has_closing_quote(text: str) -> bool:
    """Whether ``text``, read from inside a string value, holds an unescaped ``"``."""
    return '"' in text.replace("\\\\", "").replace('\\"', "")


class LineReader:
    """Turns physical lines of one source into points, keeping count of lines."""

    def __init__(self, source: str, precision: str, max_line_bytes: int, first_line: int) -> None:
        self.multiplier = precision_multiplier(precision)
        if max_line_bytes < 1:
            raise ValueError(f"max_line_bytes must be positive, not {max_line_bytes}")
        self.source = source
        self.max_line_bytes = max_line_bytes
        self.line_number = first_line - 1  # the last line fed
        self.pending: list[str] = []  # the lines of a point still inside a string value
        self.pending_bytes = 0
        self.pending_start = 0
        self.pending_reason = ""  # why the pending point is still open

    def _error(self, reason: str, line_number: int) -> LineProtocolError:
        return LineProtocolError(reason, source=self.source, line_number=line_number)

    def feed(self, lines: Iterable[str], out: list[LinePoint], *, crlf: bool = True) -> None:
        """Parse physical ``lines`` (no ``\\n``), appending their points to ``out``.

        ``crlf=False`` promises that no line ends in ``\\r``. The garbage
        collector is paused meanwhile: the points hold no reference cycles,
        and collecting while millions of them pile up took a quarter to a
        third of the time.
        """
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._feed(lines, out, crlf)
        finally:
            if enabled:
                gc.enable()

    def _feed(self, lines: Iterable[str], out: list[LinePoint], crlf: bool) -> None:
        append = out.append
        multiplier = self.multiplier
        quick_limit = self.max_line_bytes // 4  # a character is at most 4 bytes
        number = self.line_number
        pending = bool(self.pending)
        try:
            for raw in lines:
                number += 1
                if pending:
                    self._resume(raw, number, out)
                    pending = bool(self.pending)
                    continue
                line = raw[:-1] if crlf and raw[-1:] == "\r" else raw
                if not line:
                    continue
                if len(line) > quick_limit and (size := _utf8_length(line)) > self.max_line_bytes:
                    raise self._error(
                        f"line too long: {size} bytes > max_line_bytes {self.max_line_bytes}",
                        number,
                    )
                first = line[0]
                try:
                    if first not in "# \t" and "\\" not in line and line.isascii():
                        point = parse_simple(line, number, multiplier)
                        if point is not None:
                            append(point)
                            continue
                    elif first == "#":
                        continue
                    scanned = scan_line(line)
                    if scanned is None:  # blank or comment after leading whitespace
                        continue
                    measurement, tags, fields, stamp = scanned
                    timestamp = None if stamp is None else parse_timestamp(stamp, multiplier)
                except UnterminatedStringError as exc:
                    self.pending_reason = exc.reason
                    self.pending = [raw]
                    self.pending_bytes = _utf8_length(raw)
                    self.pending_start = number
                    pending = True
                    continue
                except LineSyntaxError as exc:
                    raise self._error(exc.reason, number) from None
                append(make_point(measurement, tags, fields, timestamp, number))
        finally:
            self.line_number = number

    def _resume(self, raw: str, number: int, out: list[LinePoint]) -> None:
        """Add a physical line to a point whose string value is still open."""
        self.pending.append(raw)
        self.pending_bytes += 1 + _utf8_length(raw)
        start = self.pending_start
        if self.pending_bytes > self.max_line_bytes:
            raise self._error(
                f"line too long: {self.pending_bytes} bytes > max_line_bytes "
                f"{self.max_line_bytes} (a double-quoted string opened on line {start} "
                f"is still open on line {number})",
                start,
            )
        if not _has_closing_quote(raw):
            return
        logical = "\n".join(self.pending)
        if logical.endswith("\r"):
            logical = logical[:-1]
        try:
            scanned = scan_line(logical)
            if scanned is None:  # pragma: no cover - it starts like a data line
                raise LineSyntaxError("internal error: a continued line scanned as blank")
            measurement, tags, fields, stamp = scanned
            timestamp = None if stamp is None else parse_timestamp(stamp, self.multiplier)
        except UnterminatedStringError as exc:
            self.pending_reason = exc.reason
            return
        except LineSyntaxError as exc:
            raise self._error(
                f"{exc.reason} (in a point on lines {start}-{number}: a double-quoted "
                "string value runs over a line break)",
                start,
            ) from None
        self.pending = []
        out.append(make_point(measurement, tags, fields, timestamp, start))

    def finish(self) -> None:
        """Fail if the text ended inside a double-quoted string value."""
        if self.pending:
            raise self._error(self.pending_reason, self.pending_start)
