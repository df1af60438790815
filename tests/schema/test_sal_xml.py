"""Loading SAL XML: all of ts_xml against an independent count, spot checks, bad input."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from openefd.errors import SchemaError
from openefd.schema import (
    PRIVATE_FIELDS,
    SAL_INDEX_FIELD,
    FieldType,
    TopicKind,
    TopicSchema,
    list_subsystems,
    load_sal_xml,
)

SAL_INTERFACES = (
    Path(__file__).resolve().parents[3] / "shared" / "ts_xml" / "sal_interfaces"
).resolve()
ACKCMD_FIELDS = ["ack", "error", "result", "identity", "origin", "cmdtype", "timeout"]


# --- an independent count of the XML, with regular expressions only -------------------------


def _xml_text(path: Path) -> str:
    return re.sub(r"<!--.*?-->", "", path.read_text(encoding="utf-8"), flags=re.S)


def _blocks(text: str, tag: str) -> list[str]:
    return re.findall(rf"<{tag}>(.*?)</{tag}>", text, flags=re.S)


def _value(block: str, tag: str) -> str:
    match = re.search(rf"<{tag}>\s*(.*?)\s*</{tag}>", block, flags=re.S)
    assert match is not None, tag
    return match.group(1)


def _expected_counts() -> dict[str, tuple[int, int]]:
    """CSC name: (topics, fields), counting generics, ackcmd and private fields."""
    generics_text = _xml_text(SAL_INTERFACES / "SALGenerics.xml")
    generics = [  # (name without SALGeneric_, categories, item count)
        (
            _value(block, "EFDB_Topic").removeprefix("SALGeneric_"),
            set(re.findall(r"<Category>\s*(\w+)\s*</Category>", block)),
            block.count("<item>"),
        )
        for tag in ("SALCommand", "SALEvent", "SALTelemetry")
        for block in _blocks(generics_text, tag)
    ]
    counts: dict[str, tuple[int, int]] = {}
    for block in _blocks(_xml_text(SAL_INTERFACES / "SALSubsystems.xml"), "SALSubsystem"):
        name = _value(block, "Name")
        indexed = _value(block, "IndexEnumeration") != "no"
        wanted = {"mandatory", *(g.strip() for g in _value(block, "AddedGenerics").split(","))}
        items = [n for topic, cats, n in generics if topic in wanted or cats & wanted]
        for file in (SAL_INTERFACES / name).glob(f"{name}_*.xml"):
            text = _xml_text(file)
            items += [b.count("<item>") for b in re.findall(r"<EFDB_Topic>.*?</SAL", text, re.S)]
        n_topics = len(items) + 1  # + ackcmd
        n_private = len(PRIVATE_FIELDS) + (1 if indexed else 0)
        counts[name] = (n_topics, sum(items) + len(ACKCMD_FIELDS) + n_topics * n_private)
    return counts


@pytest.fixture(scope="module")
def all_topics() -> dict[str, TopicSchema]:
    topics = load_sal_xml(SAL_INTERFACES)
    by_name = {t.name: t for t in topics}
    assert len(by_name) == len(topics), "topic names are unique"
    return by_name


def test_every_csc_matches_an_independent_count(all_topics: dict[str, TopicSchema]) -> None:
    expected = _expected_counts()
    topics = Counter(t.csc for t in all_topics.values())
    fields = Counter[str | None]()
    for t in all_topics.values():
        fields[t.csc] += len(t.fields)
    actual = {csc: (topics[csc], fields[csc]) for csc in topics if csc is not None}
    assert actual == expected
    assert len(expected) > 60
    assert len(all_topics) == sum(n for n, _ in expected.values())


def test_topic_names_kinds_and_private_fields(all_topics: dict[str, TopicSchema]) -> None:
    for topic in all_topics.values():
        assert topic.csc is not None
        last = topic.name.removeprefix(f"lsst.sal.{topic.csc}.")
        assert "." not in last
        assert not last.startswith(("SALGeneric", topic.csc))
        if last.startswith("logevent_") or last == "ackcmd":
            assert topic.kind is TopicKind.EVENT
        elif last.startswith("command_"):
            assert topic.kind is TopicKind.COMMAND
        else:
            assert topic.kind is TopicKind.TELEMETRY
        private = [f.name for f in topic.fields if f.private]
        expected = [f.name for f in PRIVATE_FIELDS] + ([SAL_INDEX_FIELD] if topic.indexed else [])
        assert private == expected
        assert topic.field_names[-len(expected) :] == expected  # user fields come first
        assert all(f.count == 1 for f in topic.fields if f.type is FieldType.STRING)


def test_mtmount_azimuth(all_topics: dict[str, TopicSchema]) -> None:
    topic = all_topics["lsst.sal.MTMount.azimuth"]
    assert topic.kind is TopicKind.TELEMETRY
    assert topic.csc == "MTMount"
    assert not topic.indexed
    assert topic.field(SAL_INDEX_FIELD) is None
    assert topic.source is not None
    assert topic.source.endswith("MTMount_Telemetry.xml")
    block = re.search(
        r"<EFDB_Topic>MTMount_azimuth</EFDB_Topic>(.*?)</SALTelemetry>",
        _xml_text(SAL_INTERFACES / "MTMount" / "MTMount_Telemetry.xml"),
        flags=re.S,
    )
    assert block is not None
    xml_names = re.findall(r"<EFDB_Name>(\w+)</EFDB_Name>", block.group(1))
    assert [f.name for f in topic.fields if not f.private] == xml_names
    units = {f.name: f.units for f in topic.fields}
    assert units["actualPosition"] == "deg"
    assert units["actualVelocity"] == "deg/s"
    assert units["actualAcceleration"] == "deg/s^2"
    assert units["actualTorque"] == "N m"
    assert units["timestamp"] == "second"
    position = topic.field("actualPosition")
    assert position is not None
    assert (position.type, position.count, position.private) == (FieldType.DOUBLE, 1, False)


def test_m1m3_force_actuator_array(all_topics: dict[str, TopicSchema]) -> None:
    text = _xml_text(SAL_INTERFACES / "MTM1M3" / "MTM1M3_Telemetry.xml")
    block = re.search(
        r"<EFDB_Topic>MTM1M3_forceActuatorData</EFDB_Topic>(.*?)</SALTelemetry>", text, re.S
    )
    assert block is not None
    item = re.search(r"<EFDB_Name>zForce</EFDB_Name>(.*?)</item>", block.group(1), re.S)
    assert item is not None
    xml_count = int(_value(item.group(1), "Count"))
    assert xml_count == 156
    z_force = all_topics["lsst.sal.MTM1M3.forceActuatorData"].field("zForce")
    assert z_force is not None
    assert (z_force.type, z_force.count, z_force.units) == (FieldType.FLOAT, xml_count, "N")
    assert z_force.is_array
    assert z_force.flat_names()[0] == "zForce0"
    assert z_force.flat_names()[-1] == "zForce155"


def test_indexed_and_not_indexed(all_topics: dict[str, TopicSchema]) -> None:
    for csc, indexed in [("ESS", True), ("MTHexapod", True), ("MTMount", False)]:
        topics = [t for t in all_topics.values() if t.csc == csc]
        assert topics
        for topic in topics:
            assert topic.indexed is indexed
            sal_index = topic.field(SAL_INDEX_FIELD)
            assert (sal_index is not None) is indexed
            if sal_index is not None:
                assert (sal_index.type, sal_index.private) == (FieldType.LONG, True)


def test_generics_of_a_csc_with_the_csc_category(all_topics: dict[str, TopicSchema]) -> None:
    summary = all_topics["lsst.sal.MTHexapod.logevent_summaryState"]
    assert summary.kind is TopicKind.EVENT
    assert summary.source is not None
    assert summary.source.endswith("SALGenerics.xml")
    start = all_topics["lsst.sal.MTHexapod.command_start"]
    assert start.kind is TopicKind.COMMAND
    override = start.field("configurationOverride")
    assert override is not None
    assert override.type is FieldType.STRING
    assert "lsst.sal.MTHexapod.logevent_configurationApplied" in all_topics  # configurable
    ack = all_topics["lsst.sal.MTHexapod.ackcmd"]
    assert ack.kind is TopicKind.EVENT
    assert [f.name for f in ack.fields if not f.private] == ACKCMD_FIELDS


def test_generics_follow_added_generics() -> None:
    subsystems = list_subsystems(SAL_INTERFACES)
    assert subsystems["ScriptQueue"].indexed
    assert not subsystems["MTMount"].indexed
    assert subsystems["ATHeaderService"].added_generics == (
        "csc",
        "logevent_largeFileObjectAvailable",
    )
    header = sorted(
        t.name.rsplit(".", 1)[1] for t in load_sal_xml(SAL_INTERFACES / "ATHeaderService")
    )
    assert header == sorted(
        ["logevent_logLevel", "logevent_logMessage", "logevent_softwareVersions"]
        + ["logevent_heartbeat", "logevent_errorCode", "logevent_summaryState"]
        + ["logevent_simulationMode", "logevent_largeFileObjectAvailable", "ackcmd"]
        + [f"command_{c}" for c in ("enable", "disable", "standby", "exitControl", "start")]
        + ["command_setLogLevel"]
    )
    # Script adds no category: mandatory generics and two named ones, no state commands.
    assert subsystems["Script"].added_generics == (
        "command_setLogLevel",
        "logevent_largeFileObjectAvailable",
    )
    script = {t.name.rsplit(".", 1)[1] for t in load_sal_xml(SAL_INTERFACES / "Script")}
    assert {"command_setLogLevel", "logevent_largeFileObjectAvailable", "ackcmd"} <= script
    assert {"logevent_heartbeat", "logevent_logMessage"} <= script
    assert not script & {"command_start", "logevent_summaryState", "command_enterControl"}


def test_one_csc_folder_and_one_file(all_topics: dict[str, TopicSchema]) -> None:
    folder = load_sal_xml(str(SAL_INTERFACES / "MTHexapod"))
    assert folder == [t for t in all_topics.values() if t.csc == "MTHexapod"]
    events_file = SAL_INTERFACES / "MTHexapod" / "MTHexapod_Events.xml"
    events = load_sal_xml(events_file)
    assert len(events) == _xml_text(events_file).count("<EFDB_Topic>")
    assert all(t.source == str(events_file) and t.indexed for t in events)
    assert [all_topics[t.name] for t in events] == events
    subsystems_file = load_sal_xml(SAL_INTERFACES / "SALSubsystems.xml")
    assert len(subsystems_file) == len(all_topics)


# --- bad input, in a small sal_interfaces tree of our own -------------------------------------

SUBSYSTEMS = """<?xml version="1.0" encoding="UTF-8"?>
<SALSubsystemSet>
  <SALSubsystem><Name>Demo</Name><IndexEnumeration>any</IndexEnumeration>
    <AddedGenerics>{added}</AddedGenerics></SALSubsystem>
</SALSubsystemSet>
"""
GENERICS = """<?xml version="1.0" encoding="UTF-8"?>
<SALObjects><SALEventSet>
  <SALEvent><EFDB_Topic>SALGeneric_logevent_heartbeat</EFDB_Topic>
    <Category>mandatory</Category>
    <item><EFDB_Name>heartbeat</EFDB_Name><IDL_Type>boolean</IDL_Type><Count>1</Count></item>
  </SALEvent>
  <SALEvent><EFDB_Topic>SALGeneric_logevent_summaryState</EFDB_Topic>
    <Category>csc</Category>
    <item><EFDB_Name>summaryState</EFDB_Name><IDL_Type>int</IDL_Type><Count>1</Count></item>
  </SALEvent>
</SALEventSet></SALObjects>
"""
TELEMETRY = """<?xml version="1.0" encoding="UTF-8"?>
<SALTelemetrySet><SALTelemetry>
  <EFDB_Topic>{topic}</EFDB_Topic><Description> Motor data. </Description>
  <item><EFDB_Name>{field}</EFDB_Name><Description>Currents.</Description>
    <IDL_Type>{idl}</IDL_Type><Units> {units} </Units><Count>{count}</Count></item>
  <item><EFDB_Name>label</EFDB_Name><IDL_Type>string</IDL_Type><Count>32</Count></item>
</SALTelemetry></SALTelemetrySet>
"""


def _tree(tmp_path: Path, added: str = "csc", **telemetry: str) -> Path:
    root = tmp_path / "sal_interfaces"
    (root / "Demo").mkdir(parents=True)
    (root / "SALSubsystems.xml").write_text(SUBSYSTEMS.format(added=added))
    (root / "SALGenerics.xml").write_text(GENERICS)
    values = {"topic": "Demo_motors", "field": "current", "idl": "float", "units": "A"}
    values["count"] = "3"
    values.update(telemetry)
    (root / "Demo" / "Demo_Telemetry.xml").write_text(TELEMETRY.format(**values))
    return root


def test_small_tree_loads_exactly(tmp_path: Path) -> None:
    topics = load_sal_xml(_tree(tmp_path))
    assert [t.name for t in topics] == [
        "lsst.sal.Demo.logevent_heartbeat",
        "lsst.sal.Demo.logevent_summaryState",
        "lsst.sal.Demo.motors",
        "lsst.sal.Demo.ackcmd",
    ]
    motors = topics[2]
    assert motors.description == "Motor data."
    assert motors.field_names[:2] == ["current", "label"]
    assert motors.field_names[-1] == SAL_INDEX_FIELD
    current, label = motors.fields[:2]
    assert (current.type, current.count, current.units) == (FieldType.FLOAT, 3, "A")
    assert (label.type, label.count, label.units) == (FieldType.STRING, 1, None)


def _error(root: Path) -> str:
    with pytest.raises(SchemaError) as info:
        load_sal_xml(root)
    return str(info.value)


def test_malformed_xml(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "Demo" / "Demo_Telemetry.xml").write_text("<SALTelemetrySet><SALTelemetry>")
    assert "Demo_Telemetry.xml: malformed XML" in _error(root)


def test_unknown_idl_type(tmp_path: Path) -> None:
    message = _error(_tree(tmp_path, idl="quaternion"))
    assert "Demo_Telemetry.xml" in message
    assert "Demo_motors" in message
    assert "'quaternion'" in message


def test_missing_efdb_topic(tmp_path: Path) -> None:
    message = _error(_tree(tmp_path, topic=""))
    assert "Demo_Telemetry.xml" in message
    assert "<EFDB_Topic>" in message


def test_missing_field_name_and_bad_count(tmp_path: Path) -> None:
    message = _error(_tree(tmp_path, field=""))
    assert "Demo_Telemetry.xml" in message
    assert "<EFDB_Name>" in message
    message = _error(_tree(tmp_path / "b", count="many"))
    assert "Demo_motors" in message
    assert "'many'" in message


def test_topic_of_another_csc_or_kind(tmp_path: Path) -> None:
    assert "does not start with 'Demo_'" in _error(_tree(tmp_path, topic="Other_motors"))
    message = _error(_tree(tmp_path / "b", topic="Demo_logevent_motors"))
    assert "unlike a SAL telemetry topic" in message


def test_topic_defined_twice(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "Demo" / "Demo_Events.xml").write_text(
        "<SALEventSet><SALEvent><EFDB_Topic>Demo_logevent_summaryState</EFDB_Topic>"
        "</SALEvent></SALEventSet>"
    )
    message = _error(root)
    assert "Demo_Events.xml" in message
    assert "'logevent_summaryState'" in message
    assert "defined twice" in message
    message = _error(_tree(tmp_path / "b", field="private_seqNum"))
    assert "Demo_Telemetry.xml" in message
    assert "private_seqNum" in message


def test_unknown_added_generic(tmp_path: Path) -> None:
    message = _error(_tree(tmp_path, added="csc, telescope"))
    assert "SALSubsystems.xml" in message
    assert "'telescope'" in message
    message = _error(_tree(tmp_path / "b", added="command_fly"))
    assert "'command_fly'" in message


def test_doctype_is_rejected(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    file = root / "Demo" / "Demo_Telemetry.xml"
    file.write_text('<!DOCTYPE x [<!ENTITY big "boom">]>' + file.read_text().split("?>", 1)[1])
    assert "DOCTYPE" in _error(root)


def test_bad_paths(tmp_path: Path) -> None:
    assert "no such file" in _error(tmp_path / "missing")
    lone = tmp_path / "lone" / "Demo_Telemetry.xml"
    lone.parent.mkdir()
    lone.write_text(TELEMETRY)
    assert "SALSubsystems.xml" in _error(lone)
    root = _tree(tmp_path / "t")
    (root / "Other").mkdir()
    assert "'Other' is not listed" in _error(root / "Other")
    assert "not a SAL interface file" in _error(root / "SALGenerics.xml")
