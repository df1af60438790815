"""Read and write topic definitions as Avro record schemas.

The Rubin EFD's Avro schemas (as ts_xml and the schema registry hold them)
carry ``units`` and ``description`` on every field. Avro types map to SAL
types as boolean→boolean, int→int, long→long long, float→float,
double→double, string→string; a union with ``"null"`` is its other member;
``bytes``, records, enums, maps and fixed are rejected. An optional
``sal_type`` attribute on a field names the SAL type exactly (``short``,
``unsigned int`` …) where Avro cannot; `to_avro` writes it when needed.

An array field is ``{"type": "array", "items": T}``; its length comes from an
integer ``count`` (or ``size``) attribute of the field or of the array type,
and is 0 (unknown) without one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from openefd.errors import SchemaError
from openefd.schema.model import (
    SAL_INDEX_FIELD,
    FieldSchema,
    FieldType,
    TopicSchema,
    kind_from_topic_name,
)

__all__ = ["load_avro", "to_avro"]

_FROM_AVRO = {
    "boolean": FieldType.BOOLEAN,
    "int": FieldType.INT,
    "long": FieldType.LONG_LONG,
    "float": FieldType.FLOAT,
    "double": FieldType.DOUBLE,
    "string": FieldType.STRING,
}
_TO_AVRO = {
    FieldType.BOOLEAN: "boolean",
    FieldType.BYTE: "int",
    FieldType.SHORT: "int",
    FieldType.INT: "int",
    FieldType.UNSIGNED_SHORT: "int",
    FieldType.LONG: "long",
    FieldType.LONG_LONG: "long",
    FieldType.UNSIGNED_INT: "long",
    FieldType.UNSIGNED_LONG: "long",
    FieldType.UNSIGNED_LONG_LONG: "long",
    FieldType.FLOAT: "float",
    FieldType.DOUBLE: "double",
    FieldType.STRING: "string",
}
_SAL_CSC = re.compile(r"^lsst\.sal\.([^.]+)\.[^.]+$")
# ts_xml writes the namespace as lsst.sal.kafka_<CSC> (DM-36101); the EFD drops "kafka_".
_KAFKA_NAMESPACE = re.compile(r"^lsst\.sal\.kafka_([^.]+)$")


def load_avro(source: Path | str | dict[str, Any] | list[Any]) -> list[TopicSchema]:
    """Load topics from Avro record schemas.

    Parameters
    ----------
    source
        An ``.avsc``/``.json`` file (or its path as text) holding one record
        schema, a JSON list of them, or a schema-registry document
        (``{"subject": "lsst.sal.X.y-value", "schema": "<record as JSON>"}``);
        or such a document already parsed.

    Returns
    -------
    list of TopicSchema
        One per record. The topic is named by the registry subject (without
        ``-value``) if given, else by ``namespace.name``. Fields called
        ``private_*`` or ``salIndex`` are private.

    Raises
    ------
    SchemaError
        Unreadable JSON, no record schema, or an unsupported field type; the
        message names the source, topic and field.
    """
    if isinstance(source, (dict, list)):
        return _load_doc(source, "<avro schema>")
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SchemaError(f"{path}: cannot read: {err.strerror or err}") from err
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise SchemaError(f"{path}: not JSON: {err}") from err
    return _load_doc(doc, str(path))


def to_avro(topic: TopicSchema) -> dict[str, Any]:
    """The Avro record schema of a topic; `load_avro` reads it back unchanged.

    The namespace is the topic name up to its last dot; arrays are Avro
    arrays with a ``count`` attribute on the field (none for unknown length);
    every field has ``units`` and ``description`` (``null`` when unknown).
    """
    namespace, _, name = topic.name.rpartition(".")
    record: dict[str, Any] = {"type": "record", "name": name}
    if namespace:
        record["namespace"] = namespace
    record["description"] = topic.description
    record["fields"] = [_field_to_avro(f) for f in topic.fields]
    return record


def _field_to_avro(f: FieldSchema) -> dict[str, Any]:
    avro_type = _TO_AVRO[f.type]
    doc: dict[str, Any] = {"name": f.name}
    if f.is_array:
        doc["type"] = {"type": "array", "items": avro_type}
        if f.count > 0:
            doc["count"] = f.count
    else:
        doc["type"] = avro_type
    if _FROM_AVRO[avro_type] is not f.type:
        doc["sal_type"] = f.type.value
    doc["units"] = f.units
    doc["description"] = f.description
    return doc


def _load_doc(doc: Any, source: str) -> list[TopicSchema]:
    if isinstance(doc, list):
        return [t for item in doc for t in _load_doc(item, source)]
    if not isinstance(doc, dict):
        raise SchemaError(f"{source}: expected an Avro record schema, got {type(doc).__name__}")
    if "schema" in doc:
        return [_load_registry_doc(doc, source)]
    return [_load_record(doc, source, None)]


def _load_registry_doc(doc: dict[str, Any], source: str) -> TopicSchema:
    subject = doc.get("subject")
    where = f"{source} (subject {subject!r}, version {doc.get('version')})"
    if doc.get("schemaType", "AVRO") != "AVRO":
        raise SchemaError(f"{where}: schemaType {doc['schemaType']!r} is not AVRO")
    schema = doc["schema"]
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as err:
            raise SchemaError(f"{where}: schema is not JSON: {err}") from err
    if not isinstance(schema, dict):
        raise SchemaError(f"{where}: schema is not an Avro record schema")
    topic = None
    if isinstance(subject, str):
        topic = subject.removesuffix("-value").removesuffix("-key")
    return _load_record(schema, source, topic)


def _load_record(record: dict[str, Any], source: str, topic_name: str | None) -> TopicSchema:
    if record.get("type") != "record" or not isinstance(record.get("name"), str):
        raise SchemaError(f"{source}: not an Avro record schema (needs type 'record' and a name)")
    name = topic_name or _full_name(record)
    raw_fields = record.get("fields")
    if not isinstance(raw_fields, list):
        raise SchemaError(f"{source}: record {name!r} has no list of fields")
    fields = tuple(_load_field(f, source, name) for f in raw_fields)
    match = _SAL_CSC.match(name)
    try:
        return TopicSchema(
            name=name,
            kind=kind_from_topic_name(name),
            fields=fields,
            csc=match.group(1) if match else None,
            indexed=any(f.name == SAL_INDEX_FIELD for f in fields),
            description=_text(record, "description", source, name),
            source=source,
        )
    except SchemaError as err:
        raise SchemaError(f"{source}: {err}") from err


def _full_name(record: dict[str, Any]) -> str:
    name: str = record["name"]
    namespace = record.get("namespace")
    if "." in name or not namespace:
        return name
    namespace = _KAFKA_NAMESPACE.sub(r"lsst.sal.\1", str(namespace))
    return f"{namespace}.{name}"


def _load_field(doc: Any, source: str, topic: str) -> FieldSchema:
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise SchemaError(f"{source}: topic {topic}: a field without a name")
    name: str = doc["name"]
    where = f"{source}: topic {topic}, field {name!r}"
    avro_type = _non_null(doc.get("type"), where)
    count = 1
    if isinstance(avro_type, dict) and avro_type.get("type") == "array":
        count = _array_count(doc, avro_type, where)
        avro_type = _non_null(avro_type.get("items"), where)
        if not isinstance(avro_type, str):
            raise SchemaError(f"{where}: arrays must hold a primitive type, not {avro_type!r}")
    elif isinstance(avro_type, dict):
        avro_type = _non_null(avro_type.get("type"), where)
    field_type = _field_type(avro_type, doc.get("sal_type"), where)
    if field_type is FieldType.STRING and count != 1:
        raise SchemaError(f"{where}: arrays of strings are not supported")
    return FieldSchema(
        name=name,
        type=field_type,
        count=count,
        units=_text(doc, "units", source, topic),
        description=_text(doc, "description", source, topic),
        private=name.startswith("private_") or name == SAL_INDEX_FIELD,
    )


def _non_null(avro_type: Any, where: str) -> Any:
    """The type of a union with ``"null"``; other types unchanged."""
    if not isinstance(avro_type, list):
        return avro_type
    members = [t for t in avro_type if t != "null"]
    if len(members) != 1:
        raise SchemaError(f"{where}: union {avro_type!r} is not one type plus null")
    return members[0]


def _array_count(field: dict[str, Any], array: dict[str, Any], where: str) -> int:
    for holder in (field, array):
        for key in ("count", "size"):
            value = holder.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SchemaError(f"{where}: array {key} {value!r} is not a positive integer")
            return value
    return 0


def _field_type(avro_type: Any, sal_type: Any, where: str) -> FieldType:
    if not isinstance(avro_type, str) or avro_type not in _FROM_AVRO:
        hint = "; store bytes as a base64 string" if avro_type == "bytes" else ""
        raise SchemaError(f"{where}: unsupported Avro type {avro_type!r}{hint}")
    if sal_type is None:
        return _FROM_AVRO[avro_type]
    try:
        field_type = FieldType(sal_type)
    except ValueError:
        raise SchemaError(f"{where}: unknown sal_type {sal_type!r}") from None
    if _TO_AVRO[field_type] != avro_type:
        raise SchemaError(f"{where}: sal_type {sal_type!r} does not fit Avro type {avro_type!r}")
    return field_type


def _text(doc: dict[str, Any], key: str, source: str, topic: str) -> str | None:
    value = doc.get(key)
    if value is None and key == "description":
        value = doc.get("doc")
    if value is None or isinstance(value, str):
        return value
    raise SchemaError(f"{source}: topic {topic}: {key} {value!r} is not text")
