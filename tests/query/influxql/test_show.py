"""SHOW statements, shaped as InfluxDB 1.x answers them."""

from __future__ import annotations

import pytest
from tests.query.influxql.conftest import AZ, FA, NODATA, STATE, TEMP, Efd

from openefd.query.fields import flat_fields

WITH_DATA = sorted([AZ, FA, STATE, TEMP])


def test_show_databases(efd: Efd) -> None:
    (s,) = efd.one("SHOW DATABASES", database=None).series
    assert (s.name, s.columns, s.time_column) == ("databases", ["name"], False)
    assert s.values[0].tolist() == ["efd"]


@pytest.mark.parametrize(
    ("text", "database"),
    [("SHOW RETENTION POLICIES ON efd", None), ("SHOW RETENTION POLICIES", "efd")],
)
def test_show_retention_policies(efd: Efd, text: str, database: str | None) -> None:
    (s,) = efd.one(text, database=database).series
    assert s.name == "" and not s.time_column
    assert s.columns == ["name", "duration", "shardGroupDuration", "replicaN", "default"]
    assert [v.tolist() for v in s.values] == [["autogen"], ["0s"], ["168h0m0s"], [1], [True]]


def test_show_measurements(efd: Efd) -> None:
    (s,) = efd.one("SHOW MEASUREMENTS").series
    assert (s.name, s.columns, s.values[0].tolist()) == ("measurements", ["name"], WITH_DATA)
    assert NODATA not in s.values[0].tolist()  # registered, never written: not a measurement
    (s,) = efd.one("SHOW MEASUREMENTS WITH MEASUREMENT =~ /MTMount/ LIMIT 1 OFFSET 1").series
    assert s.values[0].tolist() == [STATE]
    (s,) = efd.one(f'SHOW MEASUREMENTS WITH MEASUREMENT = "{TEMP}"').series
    assert s.values[0].tolist() == [TEMP]
    (s,) = efd.one("SHOW MEASUREMENTS WITH MEASUREMENT !~ /MTM/").series
    assert s.values[0].tolist() == [TEMP]
    assert efd.one("SHOW MEASUREMENTS WITH MEASUREMENT = nosuch").series == []


def test_show_field_keys(efd: Efd) -> None:
    (s,) = efd.one(f'SHOW FIELD KEYS FROM "efd"."autogen"."{FA}"').series
    assert (s.name, s.columns, s.time_column) == (FA, ["fieldKey", "fieldType"], False)
    keys = s.values[0].tolist()
    assert keys == sorted(["fz", *(f"zForce{i}" for i in range(156))])  # the fields written
    assert keys[:4] == ["fz", "zForce0", "zForce1", "zForce10"]  # InfluxDB's byte order
    assert set(s.values[1].tolist()) == {"float"}
    (s,) = efd.one(f'SHOW FIELD KEYS FROM "{AZ}"').series
    types = dict(zip(s.values[0].tolist(), s.values[1].tolist(), strict=True))
    assert types == {
        "actualPosition": "float",
        "actualTorque": "float",
        "actualVelocity": "float",
        "private_identity": "string",
        "private_seqNum": "integer",
    }
    every = efd.one("SHOW FIELD KEYS").series
    assert [x.name for x in every] == WITH_DATA
    assert efd.one(f'SHOW FIELD KEYS FROM "{NODATA}", nosuch').series == []


def test_never_written_elements_are_no_field_keys(efd: Efd) -> None:
    """temperatureItem12 … 15 are NaN in every row; writers leave them out of InfluxDB."""
    (s,) = efd.one(f'SHOW FIELD KEYS FROM "{TEMP}"').series
    keys = s.values[0].tolist()
    assert "temperatureItem11" in keys and "temperatureItem12" not in keys
    assert set(keys) < set(flat_fields(efd.store.layout(TEMP)))
    (s,) = efd.one(f'SHOW FIELD KEYS FROM "{TEMP}" LIMIT 2 OFFSET 1').series
    assert s.values[0].tolist() == keys[1:3]


def test_show_tag_keys_values_series(efd: Efd) -> None:
    assert efd.one("SHOW TAG KEYS").series == []
    assert efd.one(f'SHOW TAG KEYS FROM "{AZ}"').series == []
    assert efd.one('SHOW TAG VALUES WITH KEY = "salIndex"').series == []
    (s,) = efd.one("SHOW SERIES").series
    assert (s.name, s.columns, s.values[0].tolist()) == ("", ["key"], WITH_DATA)
    (s,) = efd.one("SHOW SERIES FROM /ESS/").series
    assert s.values[0].tolist() == [TEMP]


@pytest.mark.parametrize(
    ("text", "database", "error"),
    [
        ("SHOW MEASUREMENTS", None, "database name required"),
        ("SHOW MEASUREMENTS ON foo", "efd", "database not found: foo"),
        ("SHOW FIELD KEYS FROM foo..m", "efd", "database not found: foo"),
        ('SHOW FIELD KEYS FROM "efd"."rp1".m', "efd", "retention policy not found: rp1"),
        ("SHOW RETENTION POLICIES", None, "database name required"),
        ("SHOW TAG KEYS", "nope", "database not found: nope"),
        ("SHOW MEASUREMENTS WHERE host = 'a'", "efd", "openefd stores no tags"),
    ],
)
def test_show_errors(efd: Efd, text: str, database: str | None, error: str) -> None:
    (result,) = efd.run(text, database=database)
    assert result.series == [] and result.error is not None and error in result.error
