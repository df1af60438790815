"""Where the Parquet cold tier lives: a local directory or any pyarrow file system.

``cold_location`` (a setting) is a local path, or a URI that
``pyarrow.fs.FileSystem.from_uri`` opens (``file:///data/cold``,
``s3://bucket/efd?region=…``, ``gs://…``, ``hdfs://…``), or, when ``fsspec``
is installed, any URI fsspec knows. Empty means ``<store>/cold``. Partition
files are named relative to this root, so the tier can be moved with its
files and the setting changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyarrow.fs as pafs

from openefd.errors import ConfigurationError

__all__ = ["ColdLocation", "resolve_cold_location"]

DEFAULT_DIR = "cold"


@dataclass(frozen=True, slots=True)
class ColdLocation:
    """A file system and the root path of the tier in it.

    ``local_root`` is set when the files are on local disk, where DuckDB reads
    them itself; other file systems are read through pyarrow.
    """

    uri: str
    filesystem: pafs.FileSystem
    root: str
    local_root: Path | None

    def path(self, relative: str) -> str:
        """The file system path of a file named relative to the root."""
        return f"{self.root.rstrip('/')}/{relative}"

    def local_path(self, relative: str) -> str:
        assert self.local_root is not None
        return str(self.local_root / relative)


@cache
def _from_uri(uri: str) -> tuple[pafs.FileSystem, str]:
    """One file system object per URI for the process (S3 clients are costly to make)."""
    try:
        return pafs.FileSystem.from_uri(uri)  # type: ignore[no-any-return]
    except (ValueError, NotImplementedError, OSError) as exc:  # ArrowInvalid is a ValueError
        pyarrow_error = exc
    try:
        import fsspec  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        raise ConfigurationError(
            f"cold_location {uri!r}: pyarrow cannot open it ({pyarrow_error}) and fsspec is "
            "not installed; give a local path or a file://, s3://, gs:// or hdfs:// URI"
        ) from None
    try:
        fs, path = fsspec.core.url_to_fs(uri)
    except (ValueError, ImportError) as exc:
        raise ConfigurationError(f"cold_location {uri!r}: fsspec cannot open it: {exc}") from exc
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), str(path)


def resolve_cold_location(location: str, store_path: Path) -> ColdLocation:
    """The cold tier for setting value ``location`` of the store in ``store_path``."""
    text = location.strip()
    if not text:
        root = (store_path / DEFAULT_DIR).resolve()
        return ColdLocation(str(root), pafs.LocalFileSystem(), str(root), root)
    if "://" not in text:
        root = Path(text).expanduser().resolve()
        return ColdLocation(str(root), pafs.LocalFileSystem(), str(root), root)
    fs, path = _from_uri(text)
    if isinstance(fs, pafs.LocalFileSystem):
        root = Path(path).resolve()
        return ColdLocation(text, fs, str(root), root)
    return ColdLocation(text, fs, path.rstrip("/"), None)
