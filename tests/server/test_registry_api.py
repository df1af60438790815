"""Segwarides-style credentials and the Confluent schema registry subset, over HTTP."""

from __future__ import annotations

import json

from tests.server.conftest import AZ, Served

from openefd.schema.avro import load_avro

REGISTRY_JSON = "application/vnd.schemaregistry.v1+json"


def test_segwarides(served: Served) -> None:
    c = served.client
    assert c.get("/segwarides/").status_code == 200
    assert c.get("/segwarides/list").json() == ["openefd"]
    creds = c.get("/segwarides/creds/openefd").json()
    port = int(served.url.rsplit(":", 1)[1])
    assert creds == {
        "host": "127.0.0.1",
        "schema_registry": f"http://127.0.0.1:{port}/schema-registry",
        "port": port,
        "username": "",
        "password": "",
        "path": "/",
    }
    via_name = c.get("/segwarides/creds/openefd", headers={"Host": f"efd.example.org:{port}"})
    assert via_name.json()["host"] == "efd.example.org"
    missing = c.get("/segwarides/creds/summit_efd")
    assert missing.status_code == 404 and "openefd" in missing.json()["error"]


def test_subject_latest_has_units_and_descriptions(served: Served) -> None:
    response = served.client.get(f"/schema-registry/subjects/{AZ}-value/versions/latest")
    assert response.status_code == 200
    assert response.headers["content-type"] == REGISTRY_JSON
    doc = response.json()
    assert set(doc) == {"subject", "version", "id", "schema"}
    assert doc["subject"] == f"{AZ}-value" and doc["version"] == 1
    schema = json.loads(doc["schema"])
    assert schema["type"] == "record" and schema["name"] == "azimuth"
    assert schema["namespace"] == "lsst.sal.MTMount"
    fields = {f["name"]: f for f in schema["fields"]}
    position = fields["actualPosition"]
    assert position["type"] == "double" and position["units"] == "deg"
    assert position["description"]
    assert all(v is not None for f in schema["fields"] for v in f.values())
    (topic,) = load_avro(schema)  # the text reads back as the same topic
    assert topic.name == AZ and "actualPosition" in {f.name for f in topic.fields}
    by_number = served.client.get(f"/schema-registry/subjects/{AZ}-value/versions/1")
    assert by_number.json() == doc
    by_id = served.client.get(f"/schema-registry/schemas/ids/{doc['id']}")
    assert by_id.status_code == 200 and by_id.json() == {"schema": doc["schema"]}
    # kafkit resolves "/subjects/…" against the registry URL, dropping its path
    at_root = served.client.get(f"/subjects/{AZ}-value/versions/latest")
    assert at_root.json() == doc
    assert served.client.get(f"/schemas/ids/{doc['id']}").json() == by_id.json()


def test_subjects_and_versions(served: Served) -> None:
    subjects = served.client.get("/schema-registry/subjects").json()
    assert f"{AZ}-value" in subjects and all(s.endswith("-value") for s in subjects)
    versions = served.client.get(f"/schema-registry/subjects/{AZ}-value/versions")
    assert versions.json() == [1]


def test_registry_errors(served: Served) -> None:
    c = served.client
    for path in (
        "/schema-registry/subjects/lsst.sal.Nope.topic-value/versions/latest",
        f"/schema-registry/subjects/{AZ}/versions/latest",
        f"/schema-registry/subjects/{AZ}-key/versions",
    ):
        response = c.get(path)
        assert response.status_code == 404
        assert response.json() == {"error_code": 40401, "message": "Subject not found."}
    old = c.get(f"/schema-registry/subjects/{AZ}-value/versions/7")
    assert old.status_code == 404 and old.json()["error_code"] == 40402
    bad = c.get(f"/schema-registry/subjects/{AZ}-value/versions/first")
    assert bad.status_code == 422 and bad.json()["error_code"] == 42202
    unknown_id = c.get("/schema-registry/schemas/ids/0")
    assert unknown_id.status_code == 404 and unknown_id.json()["error_code"] == 40403
