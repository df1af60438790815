"""The released clients against InfluxDB 1.6.7 and against openefd: the same DataFrames.

Every call of :mod:`tests.compat.calls` goes through the unchanged
``lsst-efd-client`` 0.13.1 (with ``aioinflux`` 0.9.0) or through raw
``aioinflux`` as the seed notebook (002) uses it, once against each peer, in
the clients' own venv (``efdclient_driver.py``); the two answers must be
equal DataFrames (index, columns, dtypes, values; see the driver for what
equal means for dicts, lists, chunks and errors). One test per call, each
failure showing both answers.

``lsst-efd-client`` reaches openefd the way it reaches the EFD: credentials
from openefd's own ``/segwarides/creds/openefd``, then ``GET /health``, then
``/query`` over HTTPS. InfluxDB 1.6.7 has no ``/health`` (added in 1.8), so
on that side the client gets its ``aioinflux`` client handed in (``client=``,
built with the very arguments ``EfdClient`` uses) and its credentials from a
look-alike service in the driver.

``get_schema`` has no InfluxDB side (InfluxDB has no schema registry): its
answer from openefd's ``/schema-registry`` is compared with ts_xml, read here
directly from the XML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from tests.compat.calls import CALLS, SCHEMA_TOPICS
from tests.compat.dataset import SAL_XML


def _explain(result: dict[str, Any]) -> str:
    problems = "\n".join(f"- {p}" for p in result["problems"])
    return (
        f"{result['id']}: the answers differ\n{problems}\n"
        f"--- InfluxDB 1.6.7:\n{result['influxdb']}\n--- openefd:\n{result['openefd']}"
    )


@pytest.mark.parametrize("call_id", [c.id for c in CALLS])
def test_same_answer(call_id: str, driver_results: dict[str, dict[str, Any]]) -> None:
    result = driver_results[call_id]
    assert result["ok"], _explain(result)


def _ts_xml_fields(topic: str) -> list[dict[str, Any]]:
    """The user fields of ``topic`` in ts_xml: name, description, units, is_array."""
    _, _, csc, short = topic.split(".", 3)
    for path in sorted((SAL_XML / csc).glob(f"{csc}_*.xml")):
        for node in ET.parse(path).getroot():
            if node.findtext("EFDB_Topic") != f"{csc}_{short}":
                continue
            return [
                {
                    "name": item.findtext("EFDB_Name"),
                    "description": (item.findtext("Description") or "").strip() or None,
                    "units": (item.findtext("Units") or "").strip() or None,
                    "is_array": int(item.findtext("Count") or "1") > 1,
                }
                for item in node.findall("item")
            ]
    raise AssertionError(f"{topic} not found in {SAL_XML / csc}")


@pytest.mark.parametrize("topic", SCHEMA_TOPICS)
def test_get_schema_matches_ts_xml(topic: str, driver_results: dict[str, dict[str, Any]]) -> None:
    result = driver_results[f"schema-{topic}"]
    assert result["ok"], f"get_schema({topic!r}) failed: {result['problems']}"
    got = result["value"]
    expected = _ts_xml_fields(topic)
    user = [r for r in got if r["name"] in {e["name"] for e in expected}]
    assert user == expected, f"get_schema({topic!r}) differs from ts_xml:\n{result['openefd']}"
    extra = [r["name"] for r in got if r not in user]
    assert all(n.startswith("private_") or n == "salIndex" for n in extra), extra


def test_list_efd_names(driver_results: dict[str, dict[str, Any]]) -> None:
    """``EfdClient.list_efd_names(creds_service=…/segwarides/)`` names openefd's one alias."""
    result = driver_results["list_efd_names"]
    assert result["ok"], result["problems"]
    assert result["value"] == ["openefd"]
