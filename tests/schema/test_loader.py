"""load_schemas: dispatch on the kind of path, later definitions win."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from openefd.errors import SchemaError
from openefd.schema import FieldType, load_sal_xml, load_schemas, to_avro

SAL_INTERFACES = Path(__file__).resolve().parents[3] / "shared" / "ts_xml" / "sal_interfaces"


def _record(name: str, namespace: str, field_type: str = "double") -> dict[str, Any]:
    return {
        "type": "record",
        "name": name,
        "namespace": namespace,
        "fields": [{"name": "value", "type": field_type, "units": "deg"}],
    }


def test_sal_folder_csc_folder_and_file() -> None:
    everything = load_schemas([SAL_INTERFACES])
    assert everything == load_sal_xml(SAL_INTERFACES)
    dome = load_schemas([str(SAL_INTERFACES / "ATDome")])
    assert {t.csc for t in dome} == {"ATDome"}
    assert "lsst.sal.ATDome.ackcmd" in {t.name for t in dome}
    header = load_schemas([SAL_INTERFACES / "ATHeaderService"])  # generics only
    assert len(header) == 15
    events = load_schemas([SAL_INTERFACES / "ATDome" / "ATDome_Events.xml"])
    assert events
    assert all(t.name.startswith("lsst.sal.ATDome.logevent_") for t in events)


def test_avro_files_and_folder(tmp_path: Path) -> None:
    (tmp_path / "b.avsc").write_text(json.dumps(_record("b", "lsst.sal.Demo")))
    (tmp_path / "a.json").write_text(
        json.dumps({"subject": "lsst.sal.Demo.a-value", "schema": json.dumps(_record("a", "x"))})
    )
    (tmp_path / "notes.txt").write_text("not a schema")
    names = [t.name for t in load_schemas([tmp_path])]
    assert names == ["lsst.sal.Demo.a", "lsst.sal.Demo.b"]
    assert [t.name for t in load_schemas([tmp_path / "b.avsc"])] == ["lsst.sal.Demo.b"]


def test_later_definition_wins(tmp_path: Path) -> None:
    [azimuth] = [t for t in load_sal_xml(SAL_INTERFACES / "MTMount") if t.name.endswith("azimuth")]
    override = to_avro(azimuth)
    override["fields"] = [_record("x", "y", "float")["fields"][0]]
    path = tmp_path / "azimuth.avsc"
    path.write_text(json.dumps(override))
    topics = load_schemas([SAL_INTERFACES / "MTMount", path])
    by_name = {t.name: t for t in topics}
    assert len(by_name) == len(topics)
    new = by_name["lsst.sal.MTMount.azimuth"]
    assert new.field_names == ["value"]
    assert new.fields[0].type is FieldType.FLOAT
    assert new.source == str(path)
    first = load_schemas([path, SAL_INTERFACES / "MTMount"])
    assert {t.name: t for t in first}["lsst.sal.MTMount.azimuth"] == azimuth


def test_bad_paths(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.avsc"
    with pytest.raises(SchemaError, match=str(missing)):
        load_schemas([missing])
    (tmp_path / "readme.md").write_text("hello")
    with pytest.raises(SchemaError, match="unknown kind of schema file"):
        load_schemas([tmp_path / "readme.md"])
    with pytest.raises(SchemaError, match="neither SAL XML"):
        load_schemas([tmp_path])
    assert load_schemas([]) == []
