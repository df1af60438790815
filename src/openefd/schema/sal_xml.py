"""Read topic definitions from SAL XML interface files (ts_xml).

A ``sal_interfaces`` folder holds ``SALSubsystems.xml`` (every CSC, whether it
is indexed, which generic topics it adds), ``SALGenerics.xml`` (the generic
topics) and one folder per CSC with ``<CSC>_Telemetry.xml``,
``<CSC>_Events.xml`` and ``<CSC>_Commands.xml``.

A CSC's topics are, as SAL and ``lsst.ts.xml.ComponentInfo`` build them: the
generics of category ``mandatory``; then, in the order of its
``AddedGenerics``, every generic of a listed category (``csc``,
``configurable``) or the generic of a listed name (``command_enterControl``);
then the CSC's own topics; then ``ackcmd``. A topic defined twice is an error.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from openefd.errors import SchemaError
from openefd.schema.model import FieldSchema, FieldType, TopicKind, TopicSchema, private_fields

__all__ = ["SubsystemInfo", "list_subsystems", "load_sal_xml"]

SUBSYSTEMS_FILE = "SALSubsystems.xml"
GENERICS_FILE = "SALGenerics.xml"
_GENERIC_PREFIX = "SALGeneric_"
_FILE_PARTS = ("Telemetry", "Events", "Commands")
_TAG_KINDS = {
    "SALTelemetry": TopicKind.TELEMETRY,
    "SALEvent": TopicKind.EVENT,
    "SALCommand": TopicKind.COMMAND,
}
_IDL_TYPES = {t.value: t for t in FieldType}

# The command acknowledgement topic every CSC has, as lsst.ts.xml defines it.
_ACKCMD_FIELDS = tuple(
    FieldSchema(name, field_type, 1, units, description)
    for name, field_type, units, description in [
        ("ack", FieldType.LONG, "unitless", "Acknowledgement code."),
        ("error", FieldType.LONG, "unitless", "An error code; only relevant if ack=FAILED."),
        ("result", FieldType.STRING, "unitless", "Message."),
        ("identity", FieldType.STRING, "unitless", "private_identity of the command."),
        ("origin", FieldType.LONG, "unitless", "private_origin of the command."),
        ("cmdtype", FieldType.LONG, "unitless", "Index of the command, alphabetically."),
        ("timeout", FieldType.DOUBLE, "second", "Estimated remaining duration."),
    ]
)


@dataclass(frozen=True, slots=True)
class SubsystemInfo:
    """One SAL component as ``SALSubsystems.xml`` lists it.

    ``added_generics`` holds the generic categories and topic names of its
    ``AddedGenerics``, in order, without ``mandatory`` (which every CSC gets).
    """

    name: str
    indexed: bool
    added_generics: tuple[str, ...]
    description: str | None = None


@dataclass(frozen=True, slots=True)
class _TopicDef:
    """A topic as written in a file, before it is bound to a CSC."""

    short_name: str  # logevent_summaryState, azimuth, ...
    kind: TopicKind
    fields: tuple[FieldSchema, ...]
    description: str | None
    categories: tuple[str, ...]
    source: Path


def load_sal_xml(path: Path | str) -> list[TopicSchema]:
    """Load the topics of SAL XML interface files.

    Parameters
    ----------
    path
        A ``sal_interfaces`` folder (or its ``SALSubsystems.xml``): every
        CSC, with generics and ``ackcmd``. One CSC folder: that CSC, likewise.
        One ``<CSC>_{Telemetry,Events,Commands}.xml`` file: just its topics.
        ``SALSubsystems.xml`` must be in the folder, or the folder above.

    Returns
    -------
    list of TopicSchema
        User fields in XML order, then `private_fields`. ``source`` is the
        file read (``SALGenerics.xml`` for generics, ``SALSubsystems.xml``
        for ``ackcmd``).

    Raises
    ------
    SchemaError
        Missing files, malformed XML, a missing element, an unknown IDL type
        or a duplicated topic; the message names the file and the topic.
    """
    path = Path(path).resolve()
    if not path.exists():
        raise SchemaError(f"{path}: no such file or folder")
    root = _interfaces_root(path)
    subsystems = list_subsystems(root)
    if path.is_file() and path.name != SUBSYSTEMS_FILE:
        csc = _split_file_name(path)
        info = _subsystem(subsystems, csc, path)
        return [_bind(d, info, path) for d in _read_topics(path, csc)]
    generics = _read_topics(root / GENERICS_FILE, None)
    if path.is_dir() and path != root:
        return _load_csc(_subsystem(subsystems, path.name, path), path, generics)
    topics: list[TopicSchema] = []
    for info in subsystems.values():
        topics.extend(_load_csc(info, root / info.name, generics))
    return topics


def list_subsystems(path: Path | str) -> dict[str, SubsystemInfo]:
    """The SAL components of ``SALSubsystems.xml``, by name.

    Parameters
    ----------
    path
        ``SALSubsystems.xml``, the ``sal_interfaces`` folder, a CSC folder or
        a CSC's XML file.
    """
    file = _interfaces_root(Path(path)) / SUBSYSTEMS_FILE
    result: dict[str, SubsystemInfo] = {}
    for elt in _parse(file).iter("SALSubsystem"):
        name = _required(elt, "Name", file, "a SALSubsystem")
        index = _required(elt, "IndexEnumeration", file, name)
        added = _optional(elt, "AddedGenerics") or ""
        result[name] = SubsystemInfo(
            name=name,
            indexed=index.strip() != "no",
            added_generics=tuple(a.strip() for a in added.split(",") if a.strip()),
            description=_optional(elt, "Description"),
        )
    return result


def _interfaces_root(path: Path) -> Path:
    """The ``sal_interfaces`` folder that ``path`` is, or is in."""
    candidates = [path.parent, path.parent.parent] if path.is_file() else [path, path.parent]
    for folder in candidates:
        if (folder / SUBSYSTEMS_FILE).is_file():
            return folder
    raise SchemaError(
        f"{path}: no {SUBSYSTEMS_FILE} found in {' or '.join(map(str, candidates))}; "
        "give a path inside a ts_xml sal_interfaces folder"
    )


def _split_file_name(path: Path) -> str:
    """The CSC name of a ``<CSC>_<Kind>.xml`` file."""
    csc, _, kind = path.stem.rpartition("_")
    if not csc or kind not in _FILE_PARTS or path.suffix != ".xml":
        raise SchemaError(
            f"{path}: not a SAL interface file; expected <CSC>_Telemetry.xml, "
            "<CSC>_Events.xml or <CSC>_Commands.xml"
        )
    return csc


def _subsystem(subsystems: dict[str, SubsystemInfo], name: str, path: Path) -> SubsystemInfo:
    info = subsystems.get(name)
    if info is None:
        raise SchemaError(f"{path}: CSC {name!r} is not listed in {SUBSYSTEMS_FILE}")
    return info


def _load_csc(info: SubsystemInfo, folder: Path, generics: list[_TopicDef]) -> list[TopicSchema]:
    subsystems_file = folder.parent / SUBSYSTEMS_FILE
    by_name = {d.short_name: d for d in generics}
    chosen: dict[str, _TopicDef] = {}

    def add(d: _TopicDef, where: Path) -> None:
        if d.short_name in chosen:
            raise SchemaError(f"{where}: topic {d.short_name!r} of {info.name} is defined twice")
        chosen[d.short_name] = d

    for entry in ("mandatory", *info.added_generics):
        if "_" in entry:
            if entry not in by_name:
                raise SchemaError(
                    f"{subsystems_file}: {info.name} adds unknown generic topic {entry!r}"
                )
            add(by_name[entry], subsystems_file)
            continue
        members = [d for d in generics if entry in d.categories]
        if not members:
            raise SchemaError(
                f"{subsystems_file}: {info.name} adds unknown generic category {entry!r}"
            )
        for d in members:
            add(d, subsystems_file)
    for part in _FILE_PARTS:
        file = folder / f"{info.name}_{part}.xml"
        if file.is_file():
            for d in _read_topics(file, info.name):
                add(d, file)
    topics = [_bind(d, info, d.source) for d in chosen.values()]
    topics.append(_ackcmd(info, subsystems_file))
    return topics


def _bind(d: _TopicDef, info: SubsystemInfo, source: Path) -> TopicSchema:
    name = f"lsst.sal.{info.name}.{d.short_name}"
    try:
        return TopicSchema(
            name=name,
            kind=d.kind,
            fields=(*d.fields, *private_fields(info.indexed)),
            csc=info.name,
            indexed=info.indexed,
            description=d.description,
            source=str(source),
        )
    except SchemaError as err:
        raise SchemaError(f"{source}: {err}") from err


def _ackcmd(info: SubsystemInfo, source: Path) -> TopicSchema:
    return TopicSchema(
        name=f"lsst.sal.{info.name}.ackcmd",
        kind=TopicKind.EVENT,
        fields=(*_ACKCMD_FIELDS, *private_fields(info.indexed)),
        csc=info.name,
        indexed=info.indexed,
        description="Command acknowledgement.",
        source=str(source),
    )


def _read_topics(file: Path, csc: str | None) -> list[_TopicDef]:
    """The topics of one file; ``csc`` None for ``SALGenerics.xml``."""
    prefix = _GENERIC_PREFIX if csc is None else f"{csc}_"
    defs: list[_TopicDef] = []
    for elt in _parse(file).iter():
        kind = _TAG_KINDS.get(elt.tag)
        if kind is None:
            continue
        full = _required(elt, "EFDB_Topic", file, f"a {elt.tag} (topic #{len(defs) + 1})")
        if not full.startswith(prefix):
            raise SchemaError(f"{file}: topic {full!r} does not start with {prefix!r}")
        short = full.removeprefix(prefix)
        _check_kind(short, kind, file, full)
        fields = tuple(_read_field(item, file, full) for item in elt.iter("item"))
        defs.append(
            _TopicDef(
                short_name=short,
                kind=kind,
                fields=fields,
                description=_optional(elt, "Description"),
                categories=tuple((c.text or "").strip() for c in elt.findall("Category")),
                source=file,
            )
        )
    return defs


def _check_kind(short: str, kind: TopicKind, file: Path, full: str) -> None:
    expected = {TopicKind.EVENT: "logevent_", TopicKind.COMMAND: "command_"}.get(kind)
    is_prefixed = short.startswith(("logevent_", "command_"))
    if (expected is None and is_prefixed) or (expected and not short.startswith(expected)):
        raise SchemaError(f"{file}: topic {full!r} is named unlike a SAL {kind.value} topic")


def _read_field(item: ET.Element, file: Path, topic: str) -> FieldSchema:
    name = _required(item, "EFDB_Name", file, f"an item of topic {topic}")
    where = f"field {name!r} of topic {topic}"
    idl = " ".join(_required(item, "IDL_Type", file, where).split())
    field_type = _IDL_TYPES.get(idl)
    if field_type is None:
        raise SchemaError(f"{file}: {where}: unknown IDL_Type {idl!r}")
    count_text = _optional(item, "Count") or "1"  # SAL's default
    try:
        count = int(count_text)
    except ValueError:
        count = 0
    if count < 1:
        raise SchemaError(f"{file}: {where}: Count {count_text!r} is not a positive integer")
    return FieldSchema(
        name=name,
        type=field_type,
        count=1 if field_type is FieldType.STRING else count,
        units=_optional(item, "Units"),
        description=_optional(item, "Description"),
    )


def _parse(file: Path) -> ET.Element:
    try:
        data = file.read_bytes()
    except OSError as err:
        raise SchemaError(f"{file}: cannot read: {err.strerror or err}") from err
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise SchemaError(f"{file}: DOCTYPE and ENTITY declarations are not allowed")
    try:
        return ET.fromstring(data)
    except ET.ParseError as err:
        raise SchemaError(f"{file}: malformed XML: {err}") from err


def _required(elt: ET.Element, tag: str, file: Path, where: str) -> str:
    text = _optional(elt, tag)
    if text is None:
        raise SchemaError(f"{file}: {where}: missing or empty <{tag}>")
    return text


def _optional(elt: ET.Element, tag: str) -> str | None:
    child = elt.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None
