"""Load topic definitions from any mix of SAL XML and Avro sources."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from openefd.errors import SchemaError
from openefd.schema.avro import load_avro
from openefd.schema.model import TopicSchema
from openefd.schema.sal_xml import SUBSYSTEMS_FILE, load_sal_xml

__all__ = ["load_schemas"]

_AVRO_SUFFIXES = (".avsc", ".json")
_SAL_FILE_PARTS = ("_Telemetry.xml", "_Events.xml", "_Commands.xml")


def load_schemas(paths: Iterable[Path | str]) -> list[TopicSchema]:
    """Load the topics of every path, in order; a later definition of a topic wins.

    Parameters
    ----------
    paths
        Each one of: a ts_xml ``sal_interfaces`` folder or one CSC folder in
        it; a ``*.xml`` SAL file; an ``*.avsc``/``*.json`` Avro file; a folder
        of Avro files (read in name order, not recursively).

    Returns
    -------
    list of TopicSchema
        In order of first appearance.

    Raises
    ------
    SchemaError
        A path that does not exist or holds no topic definitions, or any
        error of `load_sal_xml` and `load_avro`.
    """
    topics: dict[str, TopicSchema] = {}
    for raw in paths:
        for topic in _load_one(Path(raw)):
            topics[topic.name] = topic
    return list(topics.values())


def _load_one(path: Path) -> list[TopicSchema]:
    if not path.exists():
        raise SchemaError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix == ".xml":
            return load_sal_xml(path)
        if path.suffix in _AVRO_SUFFIXES:
            return load_avro(path)
        raise SchemaError(f"{path}: unknown kind of schema file; expected .xml, .avsc or .json")
    if (path / SUBSYSTEMS_FILE).is_file() or _has_csc_files(path):
        return load_sal_xml(path)
    avro_files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in _AVRO_SUFFIXES)
    if avro_files:
        return [t for p in avro_files for t in load_avro(p)]
    if (path.parent / SUBSYSTEMS_FILE).is_file() or any(
        child.is_dir() and _has_csc_files(child) for child in path.iterdir()
    ):
        return load_sal_xml(path)  # a CSC with generic topics only, or CSC folders
    raise SchemaError(
        f"{path}: holds neither SAL XML ({SUBSYSTEMS_FILE}, CSC folders) "
        "nor Avro schemas (.avsc, .json)"
    )


def _has_csc_files(folder: Path) -> bool:
    """Whether ``folder`` holds ``<folder name>_{Telemetry,Events,Commands}.xml``."""
    return any((folder / f"{folder.name}{part}").is_file() for part in _SAL_FILE_PARTS)
