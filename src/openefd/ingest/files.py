"""Loading files: InfluxDB line protocol, CSV and Parquet.

The kind comes from the suffix (``.lp``/``.line``/``.influx``/``.txt`` line
protocol, ``.csv``, ``.parquet``/``.pq``; line protocol and CSV may be gzipped, ``.gz``). The
topic of a CSV or Parquet file is given, or is the file name without suffixes
(``lsst.sal.MTMount.azimuth.csv``). Each file loads in one transaction: a
file with one bad line or row writes nothing, and the error names the file and
the line or row.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from openefd.errors import IngestError, RecordError
from openefd.ingest.line_protocol import iter_line_protocol
from openefd.ingest.lp_batches import batches_from_points
from openefd.ingest.writer import TopicBatch, Writer, WriteResult, table_from_data

__all__ = ["FILE_KINDS", "file_kind", "load_file"]

FILE_KINDS = {
    ".lp": "line",
    ".line": "line",
    ".influx": "line",
    ".txt": "line",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}

Progress = Callable[[int], None]


def file_kind(path: Path) -> str:
    """``line``, ``csv`` or ``parquet``; IngestError for anything else."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    kind = FILE_KINDS.get(suffixes[-1]) if suffixes else None
    if kind == "parquet" and path.suffix.lower() == ".gz":
        raise IngestError(f"{path}: Parquet is compressed inside; load it without .gz")
    if kind is None:
        raise IngestError(
            f"{path}: unknown file type; expected one of {', '.join(sorted(FILE_KINDS))} "
            "(optionally .gz)"
        )
    return kind


def topic_from_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz", *FILE_KINDS):
        name = name.removesuffix(suffix)
    return name


def _open_text(path: Path) -> IO[str]:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="\n")
    return path.open("r", encoding="utf-8", newline="\n")


def _counted(lines: IO[str], progress: Progress | None) -> Iterator[str]:
    for line in lines:
        if progress is not None:
            progress(
                len(line.encode("utf-8", "surrogateescape")) if not line.isascii() else len(line)
            )
        yield line


def _load_line_protocol(
    writer: Writer, path: Path, precision: str, progress: Progress | None
) -> WriteResult:
    result = WriteResult()
    settings = writer.store.settings
    with _open_text(path) as handle, writer.store.transaction():
        try:
            chunks = iter_line_protocol(
                _counted(handle, progress),
                source=str(path),
                precision=precision,
                max_line_bytes=settings.max_line_bytes,
                chunk_size=settings.batch_rows,
            )
            for points in chunks:
                result.add(writer.write_batches(batches_from_points(points, str(path))))
        except UnicodeDecodeError as exc:
            raise IngestError(
                f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from exc
    return result


def _read_table(path: Path, kind: str) -> pa.Table:
    try:
        if kind == "csv":
            return pacsv.read_csv(path)
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(f"{path}: cannot read as {kind}: {exc}") from exc


def _load_table(
    writer: Writer, path: Path, kind: str, topic: str, progress: Progress | None
) -> WriteResult:
    table = _read_table(path, kind)
    table, utc = table_from_data(table, str(path))
    first_line = 2 if kind == "csv" else 0
    label = "line" if kind == "csv" else "row"
    result = WriteResult()
    step = writer.store.settings.batch_rows
    size = path.stat().st_size
    with writer.store.transaction():
        for offset in range(0, table.num_rows, step):
            part = table.slice(offset, step)
            origins = [f"{path}:{label} {first_line + offset + i}" for i in range(part.num_rows)]
            batch = TopicBatch(
                topic, part, None if utc is None else utc[offset : offset + step], origins
            )
            result.add(writer.write_batches([batch]))
            if progress is not None:
                progress(size * part.num_rows // max(table.num_rows, 1))
    return result


def load_file(
    writer: Writer,
    path: Path | str,
    *,
    topic: str | None = None,
    precision: str = "ns",
    progress: Progress | None = None,
) -> WriteResult:
    """Load one file; ``progress`` is called with bytes done since its last call."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    kind = file_kind(path)
    if kind == "line":
        if topic is not None:
            raise IngestError(f"{path}: line protocol names its topics; drop --topic")
        return _load_line_protocol(writer, path, precision, progress)
    try:
        return _load_table(writer, path, kind, topic or topic_from_name(path), progress)
    except RecordError as exc:
        if str(path) in str(exc):
            raise
        raise RecordError(f"{path}: {exc}") from exc
