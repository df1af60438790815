"""Avro schemas: reading the EFD's record schemas and the round trip through to_avro."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openefd.errors import SchemaError
from openefd.schema import (
    FieldSchema,
    FieldType,
    TopicKind,
    TopicSchema,
    load_avro,
    load_sal_xml,
    private_fields,
    to_avro,
)

SAL_INTERFACES = Path(__file__).resolve().parents[3] / "shared" / "ts_xml" / "sal_interfaces"

# Shaped like the schemas ts_xml makes for Kafka (lsst.ts.xml TopicInfo.make_avro_schema).
HEXAPOD_MOVE: dict[str, Any] = {
    "type": "record",
    "name": "command_move",
    "namespace": "lsst.sal.kafka_MTHexapod",
    "description": "Move the hexapod.",
    "fields": [
        {"name": "salIndex", "type": "long", "default": 0, "units": "unitless",
         "description": "SAL index"},
        {"name": "private_sndStamp", "type": "double", "default": 0.0, "units": "second",
         "description": "Time of instance publication"},
        {"name": "x", "type": "double", "default": 0.0, "units": "um", "description": "x"},
        {"name": "sync", "type": "boolean", "default": False, "units": "unitless",
         "description": "Synchronize motion?"},
        {"name": "positions", "type": {"type": "array", "items": "float"},
         "default": [0.0] * 6, "units": "mm", "description": "Actuator positions"},
    ],
}  # fmt: skip


def _topic(doc: Any) -> TopicSchema:
    [topic] = load_avro(doc)
    return topic


def test_ts_xml_style_record() -> None:
    topic = _topic(HEXAPOD_MOVE)
    assert topic.name == "lsst.sal.MTHexapod.command_move"
    assert (topic.kind, topic.csc, topic.indexed) == (TopicKind.COMMAND, "MTHexapod", True)
    assert topic.description == "Move the hexapod."
    assert topic.field_names == ["salIndex", "private_sndStamp", "x", "sync", "positions"]
    assert [f.private for f in topic.fields] == [True, True, False, False, False]
    assert [f.type for f in topic.fields] == [
        FieldType.LONG_LONG,
        FieldType.DOUBLE,
        FieldType.DOUBLE,
        FieldType.BOOLEAN,
        FieldType.FLOAT,
    ]
    x = topic.field("x")
    assert x is not None
    assert (x.units, x.description, x.count) == ("um", "x", 1)
    positions = topic.field("positions")
    assert positions is not None
    assert positions.count == 0  # no length in the schema
    assert positions.is_array
    with pytest.raises(SchemaError, match="positions"):
        positions.flat_names()
    assert topic.source == "<avro schema>"


def test_registry_document_file(tmp_path: Path) -> None:
    record = {
        "type": "record",
        "name": "ackcmd",
        "namespace": "lsst.sal.ATDome",
        "doc": "Command acknowledgement",
        "fields": [
            {"name": "ack", "type": "long", "units": "unitless"},
            {"name": "timeout", "type": ["null", "double"], "units": "second"},
            {"name": "result", "type": ["string", "null"], "doc": "Message"},
        ],
    }
    doc = {"subject": "lsst.sal.ATDome.ackcmd-value", "version": 1, "id": 3}
    doc["schema"] = json.dumps(record)
    path = tmp_path / "ackcmd.json"
    path.write_text(json.dumps(doc))
    topic = _topic(str(path))
    assert topic.name == "lsst.sal.ATDome.ackcmd"
    assert (topic.kind, topic.csc, topic.indexed) == (TopicKind.EVENT, "ATDome", False)
    assert topic.description == "Command acknowledgement"
    assert [(f.type, f.units) for f in topic.fields] == [
        (FieldType.LONG_LONG, "unitless"),
        (FieldType.DOUBLE, "second"),
        (FieldType.STRING, None),
    ]
    result = topic.field("result")
    assert result is not None
    assert result.description == "Message"
    assert topic.source == str(path)


def test_avsc_file_with_a_list_and_array_lengths(tmp_path: Path) -> None:
    records = [
        {
            "type": "record",
            "name": "lsst.sal.MTM1M3.forceActuatorData",
            "fields": [
                {"name": "zForce", "type": {"type": "array", "items": "float"}, "count": 156},
                {"name": "yForce", "type": {"type": "array", "items": "float", "size": 100}},
                {"name": "ok", "type": {"type": "array", "items": ["null", "boolean"]}},
            ],
        },
        {"type": "record", "name": "cpu", "namespace": "host", "fields": []},
    ]
    path = tmp_path / "m1m3.avsc"
    path.write_text(json.dumps(records))
    m1m3, cpu = load_avro(path)
    assert [(f.type, f.count) for f in m1m3.fields] == [
        (FieldType.FLOAT, 156),
        (FieldType.FLOAT, 100),
        (FieldType.BOOLEAN, 0),
    ]
    assert (m1m3.kind, m1m3.csc) == (TopicKind.TELEMETRY, "MTM1M3")
    assert m1m3.fields[0].flat_names()[:2] == ["zForce0", "zForce1"]
    assert (cpu.name, cpu.csc, cpu.fields) == ("host.cpu", None, ())


@pytest.mark.parametrize(
    ("avro_type", "expected"),
    [
        ("boolean", FieldType.BOOLEAN),
        ("int", FieldType.INT),
        ("long", FieldType.LONG_LONG),
        ("float", FieldType.FLOAT),
        ("double", FieldType.DOUBLE),
        ("string", FieldType.STRING),
        (["null", "int"], FieldType.INT),
        ({"type": "long", "logicalType": "timestamp-millis"}, FieldType.LONG_LONG),
    ],
)
def test_type_mapping(avro_type: Any, expected: FieldType) -> None:
    topic = _topic({"type": "record", "name": "t", "fields": [{"name": "v", "type": avro_type}]})
    assert topic.fields[0].type is expected


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ({"name": "blob", "type": "bytes"}, "'bytes'"),
        ({"name": "sub", "type": {"type": "record", "name": "r", "fields": []}}, "'record'"),
        ({"name": "either", "type": ["int", "string"]}, "not one type plus null"),
        ({"name": "names", "type": {"type": "array", "items": "string"}, "count": 2}, "strings"),
        ({"name": "deep", "type": {"type": "array", "items": {"type": "array"}}}, "primitive"),
        ({"name": "bad", "type": {"type": "array", "items": "int"}, "count": -1}, "positive"),
        ({"name": "odd", "type": "int", "sal_type": "double"}, "does not fit"),
        ({"name": "odd", "type": "int", "sal_type": "int128"}, "unknown sal_type"),
        ({"name": "u", "type": "int", "units": 5}, "not text"),
        ({"type": "int"}, "without a name"),
    ],
)
def test_rejected_fields(field: dict[str, Any], message: str) -> None:
    record = {"type": "record", "name": "y", "namespace": "lsst.sal.X", "fields": [field]}
    with pytest.raises(SchemaError, match=message) as info:
        load_avro(record)
    assert "lsst.sal.X.y" in str(info.value)


def test_rejected_documents(tmp_path: Path) -> None:
    path = tmp_path / "broken.avsc"
    path.write_text("{not json")
    with pytest.raises(SchemaError, match=r"broken\.avsc: not JSON"):
        load_avro(path)
    with pytest.raises(SchemaError, match=r"missing\.avsc: cannot read"):
        load_avro(tmp_path / "missing.avsc")
    with pytest.raises(SchemaError, match="not an Avro record"):
        load_avro({"type": "enum", "name": "e", "symbols": ["A"]})
    with pytest.raises(SchemaError, match="PROTOBUF"):
        load_avro({"subject": "s-value", "schemaType": "PROTOBUF", "schema": "syntax"})
    with pytest.raises(SchemaError, match="defines field 'a' twice"):
        load_avro({"type": "record", "name": "d", "fields": [{"name": "a", "type": "int"}] * 2})


def test_to_avro_shape() -> None:
    topic = TopicSchema(
        name="lsst.sal.Demo.logevent_motion",
        kind=TopicKind.EVENT,
        fields=(
            FieldSchema("speed", FieldType.SHORT, 3, "deg/s", "Axis speeds."),
            FieldSchema("samples", FieldType.DOUBLE, 0, None, None),
            *private_fields(False),
        ),
        csc="Demo",
    )
    doc = to_avro(topic)
    assert (doc["type"], doc["name"], doc["namespace"]) == (
        "record",
        "logevent_motion",
        "lsst.sal.Demo",
    )
    speed, samples = doc["fields"][:2]
    assert speed == {
        "name": "speed",
        "type": {"type": "array", "items": "int"},
        "count": 3,
        "sal_type": "short",
        "units": "deg/s",
        "description": "Axis speeds.",
    }
    assert samples["type"] == {"type": "array", "items": "double"}
    assert "count" not in samples
    assert all({"units", "description"} <= set(f) for f in doc["fields"])
    assert _topic(json.loads(json.dumps(doc))) == replace(topic, source="<avro schema>")


def test_round_trip_of_every_ts_xml_topic() -> None:
    topics = load_sal_xml(SAL_INTERFACES)
    assert len(topics) > 3000
    docs = json.loads(json.dumps([to_avro(t) for t in topics]))
    loaded = load_avro(docs)
    assert [replace(t, source=None) for t in loaded] == [replace(t, source=None) for t in topics]


_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyzXYZ", min_size=1, max_size=8)


@st.composite
def _fields(draw: st.DrawFn) -> FieldSchema:
    field_type = draw(st.sampled_from(list(FieldType)))
    count = 1 if field_type is FieldType.STRING else draw(st.integers(0, 5))
    return FieldSchema(
        name=draw(_NAMES),
        type=field_type,
        count=count,
        units=draw(st.none() | st.sampled_from(["deg", "N m", "unitless", ""])),
        description=draw(st.none() | st.text(max_size=20)),
    )


@settings(max_examples=60, deadline=None)
@given(
    fields=st.lists(_fields(), max_size=6, unique_by=lambda f: f.name),
    csc=st.sampled_from(["MTMount", "ESS"]),
    suffix=st.sampled_from(["azimuth", "logevent_state", "command_move", "ackcmd"]),
    indexed=st.booleans(),
)
def test_round_trip_property(
    fields: list[FieldSchema], csc: str, suffix: str, indexed: bool
) -> None:
    name = f"lsst.sal.{csc}.{suffix}"
    topic = TopicSchema(
        name=name,
        kind=TopicKind.EVENT if suffix in ("ackcmd", "logevent_state") else TopicKind.TELEMETRY,
        fields=(*fields, *private_fields(indexed)),
        csc=csc,
        indexed=indexed,
        description="A topic.",
    )
    if suffix == "command_move":
        topic = replace(topic, kind=TopicKind.COMMAND)
    assert replace(_topic(to_avro(topic)), source=None) == topic
