"""The exposure registry over the native API: JSON and Arrow answers, errors, scopes.

What the Python client sees is the contract of tests/client/test_contract.py;
here is what other callers see. The server's store holds a simulated quarter
hour (day_obs 20240501, seed 1: 27 exposures, 17 of them science, 5,550 image
deliveries) and its settings set the transfer target to 9 s, so a report
asked without targets must use the server's.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.server.conftest import Served, serve_store

from openefd.analysis.latency import night_latency
from openefd.client import EfdClientSync, wire, wire_report
from openefd.errors import AuthenticationError
from openefd.ingest.exposure_loader import load_exposures
from openefd.server.state import Scope
from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures, image_arrivals

API = wire.API_PREFIX
DAY = 20240501
SCIENCE = [2024050100011 + i for i in range(17)]


@pytest.fixture(scope="module")
def night(
    tmp_path_factory: pytest.TempPathFactory, template_store: Path, sal_xml_dir: Path
) -> Iterator[Served]:
    """The quarter hour's exposures and arrivals, served with a 9 s transfer target."""
    template = tmp_path_factory.mktemp("night") / "store"
    shutil.copytree(template_store, template)
    sim = NightSimulator(
        SimConfig(sal_xml_dir, "2024-05-01T23:30:00Z", hours=0.25, seed=1, profile=Profile.DEMO)
    )
    with Store(template) as st:
        load_exposures(st, sim.exposures(), sim.arrivals())
    where = tmp_path_factory.mktemp("served-night") / "store"
    with serve_store(template, where, latency_transfer_target_s=9.0) as served:
        yield served


def _post(served: Served, path: str, body: dict[str, Any], **params: str) -> Any:
    return served.client.post(f"{API}{path}", json=body, params=params)


def test_exposures_as_json(night: Served) -> None:
    got = _post(
        night,
        "/exposures",
        {"day_obs": "2024-05-01", "observation_types": ["science"]},
        format="json",
    )
    assert got.status_code == 200 and got.headers["content-type"] == wire.JSON
    body = got.json()
    assert body["index_name"] is None and body["index"] == list(range(17))
    assert body["columns"][:3] == ["instrument", "exposure_id", "obs_id"]
    row = dict(zip(body["columns"], body["data"][0], strict=True))
    assert row["exposure_id"] == SCIENCE[0] and row["observation_type"] == "science"
    assert isinstance(row["timespan_begin_tai_ns"], int)
    assert row["timespan_end_tai_ns"] - row["timespan_begin_tai_ns"] == 30 * 10**9


def test_missing_values_are_json_null(night: Served) -> None:
    """Nullable columns never show pandas' ``<NA>``: a bias has no tracking position."""
    got = _post(night, "/exposures", {"exposure_ids": [2024050100001]}, format="json")
    assert got.status_code == 200
    assert b"<NA>" not in got.content and b"NaN" not in got.content
    row = dict(zip(got.json()["columns"], got.json()["data"][0], strict=True))
    assert row["observation_type"] == "bias"
    missing = [k for k, v in row.items() if v is None]
    want = exposures(night.store, exposure_ids=[2024050100001])
    assert missing == [c for c in want.columns if want[c].isna().iloc[0]]


def test_exposures_as_arrow_are_the_stores_frame(night: Served) -> None:
    got = night.client.post(
        f"{API}/exposures", json={"day_obs": DAY}, headers={"Accept": wire.ARROW_STREAM}
    )
    assert got.status_code == 200 and got.headers["content-type"] == wire.ARROW_STREAM
    frame = wire.frame_from_arrow(got.content)
    pd.testing.assert_frame_equal(frame, exposures(night.store, day_obs=DAY), check_exact=True)
    assert len(frame) == 27


def test_overlapping_takes_iso_times_and_is_half_open(night: Served) -> None:
    def ids(begin: str, end: str) -> list[int]:
        got = _post(night, "/exposures/overlapping", {"begin": begin, "end": end}, format="json")
        assert got.status_code == 200, got.text
        data = got.json()
        column = data["columns"].index("exposure_id")
        return [row[column] for row in data["data"]]

    assert ids("2024-05-01T23:30:45Z", "2024-05-01T23:30:46Z") == [2024050100001]  # a bias
    assert ids("2024-05-01T23:30:40Z", "2024-05-01T23:30:45Z") == []
    assert ids("2024-05-02T01:31:00+02:00", "2024-05-01T23:32:00Z") == [
        2024050100006,
        2024050100007,
    ]


def test_arrivals_as_json_and_arrow(night: Served) -> None:
    body = {"exposure_ids": [2024050100001], "detectors": ["R30_S22", 94]}
    got = _post(night, "/arrivals", body, format="json")
    assert got.status_code == 200
    data = got.json()
    rows = [dict(zip(data["columns"], r, strict=True)) for r in data["data"]]
    assert [(r["detector_name"], r["delivery"], r["resend"]) for r in rows] == [
        ("R22_S11", 0, False),
        ("R30_S22", 0, False),
        ("R30_S22", 1, True),
    ]
    arrow = _post(night, "/arrivals", {"day_obs": "20240501", "first_delivery_only": True})
    frame = wire.frame_from_arrow(arrow.content)
    want = image_arrivals(night.store, day_obs=DAY, first_delivery_only=True)
    pd.testing.assert_frame_equal(frame, want, check_exact=True)
    assert len(frame) == 27 * 205


def test_latency_report_as_json(night: Served) -> None:
    got = _post(night, "/latency", {"day_obs": "2024-05-01", "science_only": True}, format="json")
    assert got.status_code == 200 and got.headers["content-type"] == wire.JSON
    body = got.json()
    assert (body["day_obs"], body["instrument"]) == (DAY, "LSSTCam")
    assert body["options"]["transfer_target_s"] == 9.0  # the server's setting
    assert body["options"]["science_only"] is True
    assert body["counts"]["exposures"] == 17 and body["counts"]["images"] == 17 * 205
    assert set(body["frames"]) == set(wire_report.REPORT_FRAMES)
    summary = body["frames"]["summary"]
    assert "transfer_s" in summary["index"] and "within_transfer_target" in summary["columns"]
    assert len(body["frames"]["per_exposure"]["data"]) == 17
    assert b"<NA>" not in got.content


def test_latency_report_as_arrow_is_the_in_process_report(night: Served) -> None:
    got = _post(night, "/latency", {"day_obs": DAY, "cadence_target_s": 40.0})
    assert got.status_code == 200 and got.headers["content-type"] == wire.ARROW_STREAM
    report = wire_report.report_from_arrow(got.content)
    want = night_latency(night.store, DAY, transfer_target_s=9.0, cadence_target_s=40.0)
    assert (report.day_obs, report.instrument, report.options) == (
        want.day_obs,
        want.instrument,
        want.options,
    )
    assert report.counts == want.counts and report.slow_detectors == ["R03_S12"]
    for name in wire_report.REPORT_FRAMES:
        pd.testing.assert_frame_equal(getattr(report, name), getattr(want, name))


def test_remote_client_targets_default_to_the_servers_settings(night: Served) -> None:
    with EfdClientSync(night.url) as efd:
        assert efd.settings.latency_transfer_target_s == 7.0  # the client's own
        report = efd.night_latency(DAY, exposure_ids=SCIENCE[:2])
    assert report.options.transfer_target_s == 9.0
    assert report.options.exposure_ids == tuple(SCIENCE[:2])
    assert len(report.per_exposure) == 2


@pytest.mark.parametrize(
    ("path", "body", "kind", "message"),
    [
        ("/exposures", {"day_obs": "2024-5-1"}, "QueryError", "give YYYYMMDD or YYYY-MM-DD"),
        ("/exposures", {"day_obs": 20241301}, "QueryError", "is not a valid date"),
        ("/arrivals", {"day_obs": "May 1st"}, "QueryError", "is not a date"),
        ("/latency", {"day_obs": "2024-02-30"}, "QueryError", "is not a valid date"),
        ("/exposures", {"begin": "yesterday"}, "TimeValueError", "begin: cannot read"),
        (
            "/exposures/overlapping",
            {"begin": "1970-01-01T00:00:00Z", "end": "2024-05-01T00:00:00Z"},
            "TimeValueError",
            "before 1972",
        ),
        ("/latency", {"day_obs": DAY, "transfer_target_s": 0}, "QueryError", "positive number"),
        (
            "/latency",
            {"day_obs": DAY, "instrument": "LATISS", "detectors": ["R22_S11"]},
            None,
            None,
        ),
    ],
)
def test_errors_name_what_was_wrong(
    night: Served, path: str, body: dict[str, Any], kind: str | None, message: str | None
) -> None:
    got = _post(night, path, body, format="json")
    if kind is None:  # a night without that instrument: an empty report, not an error
        assert got.status_code == 200 and got.json()["counts"]["exposures"] == 0
        return
    assert got.status_code == 400
    error = got.json()
    assert error["type"] == kind and message is not None and message in error["error"]


def test_malformed_requests_are_4xx(night: Served) -> None:
    unknown = _post(night, "/exposures", {"day": DAY})
    assert unknown.status_code == 422 and "day" in unknown.text
    missing = _post(night, "/latency", {})
    assert missing.status_code == 422 and "day_obs" in missing.text
    not_ids = _post(night, "/arrivals", {"exposure_ids": ["first"]})
    assert not_ids.status_code == 422
    too_big = _post(night, "/arrivals", {"exposure_ids": [2**70], "detectors": [2**40]})
    assert too_big.status_code == 422 and "exposure_ids" in too_big.text
    late = _post(night, "/exposures/overlapping", {"begin": 0, "end": 2**70})
    assert late.status_code == 422 and "end" in late.text
    fmt = _post(night, "/exposures", {}, format="xml")
    assert fmt.status_code == 400 and "choose 'arrow' or 'json'" in fmt.json()["error"]


def test_reading_the_registry_needs_the_read_scope(
    tmp_path: Path, template_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENEFD_TOKEN", raising=False)
    with serve_store(template_store, tmp_path / "store", required=True) as served:
        _, reader = served.tokens.create("reader", [Scope.READ])
        with (
            EfdClientSync(served.url) as anonymous,
            pytest.raises(AuthenticationError, match="needs a token"),
        ):
            anonymous.get_exposures(DAY)
        with (
            EfdClientSync(served.url, token="oefd_wrong") as wrong,
            pytest.raises(AuthenticationError, match="unknown or revoked"),
        ):
            wrong.night_latency(DAY)
        with EfdClientSync(served.url, token=reader) as efd:
            assert efd.get_exposures(DAY).empty  # a store that never held exposures
            assert efd.get_image_arrivals(DAY).empty
            assert efd.night_latency(DAY).counts["exposures"] == 0
