"""openefd's native API (/api/v1) on a real server: wire shapes, errors, limits, tokens, TLS.

What the Python client sees is the contract of tests/client/test_contract.py;
here are what other callers see (JSON, Arrow bytes, status codes), the
encoding itself, and who may do what.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pytest
from tests.server.conftest import AZ, EL, Served, serve_store

from openefd.client import EfdClientSync, RemoteEfdClientSync, wire
from openefd.errors import (
    AuthenticationError,
    ConfigurationError,
    InfluxQLError,
    LimitExceededError,
    LineProtocolError,
    PermissionDeniedError,
    QueryError,
    RemoteError,
    UnknownTopicError,
)
from openefd.server.state import Scope

ESS = "lsst.sal.ESS.temperature"
T0 = 1714532400_000_000_000  # 2024-05-01T03:00:00Z
TAI0 = T0 + 37_000_000_000
API = wire.API_PREFIX


@pytest.fixture(scope="module")
def with_rows(served: Served) -> Served:
    """Ten rows of azimuth at 10 Hz from 03:00:00 UTC and two ESS rows (strings)."""
    lines = "".join(
        f"{AZ} actualPosition={i * 0.5},private_seqNum={i}i {T0 + i * 100_000_000}\n"
        for i in range(10)
    )
    lines += "".join(
        f'{ESS} salIndex=1i,location="dome",temperatureItem0={11 + i}.5 {T0 + i * 10**9}\n'
        for i in range(2)
    )
    response = served.client.post(f"{API}/write/line-protocol", content=lines)
    assert response.status_code == 200, response.text
    assert response.json()["rows_written"] == 12
    return served


def test_select_as_json_for_other_languages(with_rows: Served) -> None:
    body = {"fields": ["actualPosition", "private_seqNum"], "start": TAI0, "end": TAI0 + 2 * 10**8}
    got = with_rows.client.post(f"{API}/topics/{AZ}/select?format=json", json=body)
    assert got.status_code == 200 and got.headers["content-type"] == wire.JSON
    assert got.json() == {
        "columns": ["actualPosition", "private_seqNum"],
        "index": [
            "2024-05-01T03:00:00.000000000Z",
            "2024-05-01T03:00:00.100000000Z",
            "2024-05-01T03:00:00.200000000Z",
        ],
        "index_name": None,
        "data": [[0.0, 0], [0.5, 1], [1.0, 2]],
    }
    # ISO strings work as times too; Accept chooses JSON as well as ?format=json
    iso = {**body, "start": "2024-05-01T03:00:00Z", "end": "2024-05-01T05:00:00.2+02:00"}
    same = with_rows.client.post(
        f"{API}/topics/{AZ}/select", json=iso, headers={"Accept": "application/json"}
    )
    assert same.json() == got.json()


def test_json_tai_index_strings_and_nulls(with_rows: Served) -> None:
    body = {"fields": ["location", "temperatureItem0"], "start": TAI0, "end": TAI0 + 10**9}
    tai = with_rows.client.post(
        f"{API}/topics/{ESS}/select?format=json", json={**body, "time_scale": "tai"}
    ).json()
    assert tai["index_name"] == "time_tai"
    assert tai["index"] == ["2024-05-01T03:00:37.000000000", "2024-05-01T03:00:38.000000000"]
    assert tai["data"] == [["dome", 11.5], ["dome", 12.5]]
    asof = {"fields": ["location"], "times": ["2024-05-01T02:00:00Z", TAI0 + 10**9]}
    got = with_rows.client.post(f"{API}/topics/{ESS}/asof?format=json", json=asof).json()
    assert got["columns"] == ["location", "sample_time"]
    assert got["data"] == [[None, None], ["dome", "2024-05-01T03:00:01.000000000Z"]]


def test_default_answer_is_an_arrow_stream_index_last(with_rows: Served) -> None:
    numbers = with_rows.client.post(
        f"{API}/topics/{AZ}/top", json={"fields": ["actualPosition"], "num": 2}
    )
    assert numbers.headers["content-type"] == wire.ARROW_STREAM
    table = pa.ipc.open_stream(numbers.content).read_all()
    assert table.column_names == ["actualPosition", "__index_level_0__"]
    assert table.schema.field("__index_level_0__").type == pa.timestamp("ns", tz="UTC")
    assert table["actualPosition"].to_pylist() == [4.5, 4.0]
    meta = table.schema.metadata[b"openefd.plain_frame"]
    assert meta == b'{"index_name":null,"float64":["actualPosition"]}'  # 4.5, 4.0: float32
    body = {"fields": ["location"], "num": 1, "time_scale": "tai"}
    text = with_rows.client.post(f"{API}/topics/{ESS}/top", json=body)
    table = pa.ipc.open_stream(text.content).read_all()
    assert table.column_names == ["location", "time_tai"]
    assert table.schema.pandas_metadata["index_columns"] == ["time_tai"]
    assert table.to_pandas().index.name == "time_tai"


def test_topics_fields_and_schema_as_json(with_rows: Served) -> None:
    c = with_rows.client
    topics = c.get(f"{API}/topics").json()
    assert topics == sorted(topics) and {ESS, AZ} <= set(topics)
    fields = c.get(f"{API}/topics/{AZ}/fields").json()
    assert "actualPosition" in fields and fields == sorted(fields)
    schema = c.get(f"{API}/topics/{AZ}/schema", params={"format": "json"}).json()
    assert schema["columns"] == ["name", "description", "units", "is_array"]
    by_name = {row[0]: row for row in schema["data"]}
    assert by_name["actualVelocity"][2:] == ["deg/s", False]
    assert schema["index"] == list(range(len(schema["data"])))


def test_writes_from_json_and_arrow_with_a_time_column(served: Served) -> None:
    c = served.client
    records = [{"time": "2024-05-09T00:00:00Z", "actualPosition": 1.0}]
    got = c.post(f"{API}/topics/{EL}/rows", content=orjson.dumps(records), headers=_json())
    assert got.status_code == 200, got.text
    assert got.json() == {
        "received": {EL: 1},
        "written": {EL: 1},
        "rows_received": 1,
        "rows_written": 1,
    }
    table = pa.table(
        {
            "time": pa.array([pd.Timestamp("2024-05-09T00:00:01Z")], pa.timestamp("ns", "UTC")),
            "actualPosition": [2.0],
        }
    )
    arrow = c.post(
        f"{API}/topics/{EL}/rows",
        content=wire.table_to_arrow(table),
        headers={"Content-Type": wire.ARROW_STREAM},
    )
    assert arrow.json()["rows_written"] == 1
    with EfdClientSync(served.url) as efd:
        back = efd.select_time_series(
            EL, "actualPosition", "2024-05-09T00:00:00", "2024-05-09T00:00:01"
        )
    assert back["actualPosition"].tolist() == [1.0, 2.0]


def _json() -> dict[str, str]:
    return {"Content-Type": wire.JSON}


def test_errors_carry_type_and_message(with_rows: Served) -> None:
    c = with_rows.client
    unknown = c.get(f"{API}/topics/lsst.sal.Nope.x/fields")
    assert unknown.status_code == 404
    assert (
        unknown.json()
        == {
            "error": unknown.json()["error"],
            "type": "UnknownTopicError",
        }
        and "lsst.sal.Nope.x" in unknown.json()["error"]
    )
    bad_format = c.post(
        f"{API}/topics/{AZ}/top?format=xml", json={"fields": ["actualPosition"], "num": 1}
    )
    assert bad_format.status_code == 400 and bad_format.json()["type"] == "QueryError"
    bad_time = c.post(
        f"{API}/topics/{AZ}/select", json={"fields": ["a"], "start": "noon", "end": TAI0}
    )
    assert bad_time.status_code == 400 and bad_time.json()["type"] == "TimeValueError"
    kind = c.post(
        f"{API}/topics/{AZ}/rows", content=b"a,b\n1,2\n", headers={"Content-Type": "text/csv"}
    )
    assert kind.status_code == 400 and kind.json()["type"] == "IngestError"
    assert "not text/csv" in kind.json()["error"]
    garbage = c.post(
        f"{API}/topics/{AZ}/rows",
        content=b"\x00" * 16,
        headers={"Content-Type": wire.ARROW_STREAM},
    )
    assert garbage.status_code == 400 and "not an Arrow IPC stream" in garbage.json()["error"]
    precision = c.post(f"{API}/write/line-protocol?precision=fortnight", content=b"")
    assert precision.status_code == 400 and "invalid precision" in precision.json()["error"]
    # A body the API does not accept is FastAPI's 422, which the client reports as RemoteError.
    shape = c.post(f"{API}/topics/{AZ}/select", json={"fields": "actualPosition"})
    assert shape.status_code == 422
    err = wire.error_from_response(422, shape.content, shape.headers["content-type"])
    assert isinstance(err, RemoteError) and err.status == 422 and "start" in str(err)


def test_body_over_the_limit_is_limit_exceeded_for_the_client(served: Served) -> None:
    big = pd.DataFrame(
        {"actualPosition": np.arange(10_000, dtype=np.float64)},
        index=pd.date_range("2024-05-10", periods=10_000, freq="1s", tz="UTC"),
    )
    with EfdClientSync(served.url) as efd, pytest.raises(LimitExceededError, match="fewer rows"):
        efd.write(EL, big)


def test_results_over_query_max_points_are_refused(tmp_path: Path, template_store: Path) -> None:
    with (
        serve_store(template_store, tmp_path / "store", query_max_points=5) as small,
        EfdClientSync(small.url) as efd,
    ):
        efd.write_line_protocol("".join(f"{AZ} actualPosition={i}.0 {T0 + i}\n" for i in range(6)))
        assert len(efd.select_top_n(AZ, "actualPosition", 5)) == 5
        with pytest.raises(LimitExceededError, match="query_max_points"):
            efd.select_top_n(AZ, "actualPosition", 6)


def test_error_from_response_rebuilds_every_openefd_error() -> None:
    def rebuilt(kind: str, message: str, status: int = 400) -> Exception:
        body = orjson.dumps({"error": message, "type": kind})
        return wire.error_from_response(status, body, "application/json")

    err = rebuilt("UnknownTopicError", "no topic 'x'", 404)
    assert type(err) is UnknownTopicError and str(err) == "no topic 'x'"
    assert isinstance(err, KeyError)
    lp = rebuilt("LineProtocolError", "<text>:2: no fields")
    assert isinstance(lp, LineProtocolError) and str(lp) == "<text>:2: no fields"
    assert (lp.source, lp.line_number, lp.reason) == ("<text>", 2, "no fields")
    ql = rebuilt("InfluxQLError", "bad")
    assert isinstance(ql, InfluxQLError) and ql.position == -1 and isinstance(ql, QueryError)
    odd = rebuilt("KeyError", "not ours", 500)
    assert type(odd) is RemoteError and odd.status == 500 and "not ours" in str(odd)
    plain = wire.error_from_response(502, b"Bad Gateway", "text/plain")
    assert type(plain) is RemoteError and str(plain) == "server error (502): Bad Gateway"


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(
            {
                "s": pd.Series(["a", None], dtype=object),
                "t": pd.Series(["x", "y"], dtype="str"),
                "b": [True, False],
                "i": np.array([1, -2], dtype=np.int64),
                "u": np.array([1, 2**63], dtype=np.uint64),
                "f": np.array([1.5, np.nan], dtype=np.float32),
                "when": pd.to_datetime(["2024-05-01T00:00:00Z", None], utc=True),
            },
            index=pd.DatetimeIndex(["2024-05-01T00:00:00", "2024-05-01T00:00:01"], tz="UTC"),
        ),
        pd.DataFrame({"x": [1.0, 2.0]}, index=pd.DatetimeIndex([1, 2], name="time_tai")),
        pd.DataFrame(
            {
                "f": [1.5, np.nan],
                "i": np.array([1, -2], dtype=np.int64),
                "u": np.array([1, 2**63], dtype=np.uint64),
                "g": np.array([0.5, np.inf], dtype=np.float32),
                "b": [True, False],
            },
            index=pd.DatetimeIndex(["2024-05-01T00:00:00", "2024-05-01T00:00:01"], tz="UTC"),
        ),
        pd.DataFrame({"x": [1.0]}, index=pd.DatetimeIndex(["2024-05-01"], name="x")),
        pd.DataFrame({"name": ["a"], "units": pd.Series([None], dtype=object)}),
        pd.DataFrame(
            {"a": pd.Series([], dtype=np.float64), "b": pd.Series([], dtype=object)},
            index=pd.DatetimeIndex([], tz="UTC"),
        ),
    ],
    ids=["dtypes", "tai-index", "plain", "index-named-as-column", "range-index", "empty"],
)
def test_arrow_round_trip_keeps_the_frame(frame: pd.DataFrame) -> None:
    got = wire.frame_from_arrow(wire.frame_to_arrow(frame))
    pd.testing.assert_frame_equal(got, frame, check_exact=True)
    assert list(got.dtypes) == list(frame.dtypes)
    assert type(got.index) is type(frame.index)


# --- tokens and TLS


@pytest.fixture(scope="module")
def guarded(
    tmp_path_factory: pytest.TempPathFactory, template_store: Path
) -> Iterator[tuple[Served, str, str]]:
    """A server that needs tokens: one that reads, one that writes."""
    where = tmp_path_factory.mktemp("guarded") / "store"
    with serve_store(template_store, where, required=True) as s:
        _, reader = s.tokens.create("reader", [Scope.READ])
        _, writer = s.tokens.create("writer", [Scope.WRITE])
        yield s, reader, writer


def test_tokens_decide_who_reads_and_writes(
    guarded: tuple[Served, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    served, reader, writer = guarded
    monkeypatch.delenv("OPENEFD_TOKEN", raising=False)
    line = f"{AZ} actualPosition=1.0 {T0}\n"
    with (
        EfdClientSync(served.url) as anonymous,
        pytest.raises(AuthenticationError, match="needs a token"),
    ):
        anonymous.get_topics()
    with (
        EfdClientSync(served.url, token="oefd_wrong") as wrong,
        pytest.raises(AuthenticationError, match="unknown or revoked"),
    ):
        wrong.get_topics()
    with EfdClientSync(served.url, token=writer) as efd:
        assert efd.write_line_protocol(line).rows_written == 1
    monkeypatch.setenv("OPENEFD_TOKEN", reader)
    with EfdClientSync(served.url) as efd:
        assert efd.get_topics() == [AZ]
        assert efd.select_top_n(AZ, "actualPosition", 1)["actualPosition"].tolist() == [1.0]
        with pytest.raises(PermissionDeniedError, match="'reader' lacks the 'write' scope"):
            efd.write_line_protocol(line)


def _self_signed(where: Path) -> tuple[Path, Path]:
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_with_a_ca_bundle(tmp_path: Path, template_store: Path) -> None:
    cert, key = _self_signed(tmp_path)
    with serve_store(template_store, tmp_path / "store", tls_cert=cert, tls_key=key) as tls:
        assert tls.url.startswith("https://")
        with EfdClientSync(tls.url, verify=cert) as efd:
            assert isinstance(efd, RemoteEfdClientSync) and efd.get_topics() == []
        with (
            EfdClientSync(tls.url) as untrusted,
            pytest.raises(ConfigurationError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            untrusted.get_topics()


def test_a_query_past_its_deadline_is_interrupted() -> None:
    from openefd.store.deadlines import watch

    con = duckdb.connect()
    try:
        with watch(con, 0.05) as deadline, pytest.raises(duckdb.InterruptException):
            con.execute("SELECT sum(range) FROM range(10000000000000)").fetchall()
        assert deadline.expired
        with watch(con, 0.05) as deadline:
            assert con.execute("SELECT 42").fetchall() == [(42,)]
        time.sleep(0.1)  # the deadline passes after the watch ended: nothing is interrupted
        assert not deadline.expired
        assert con.execute("SELECT 43").fetchall() == [(43,)]
    finally:
        con.close()


def test_float32_values_travel_as_float32_and_come_back_float64() -> None:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from openefd.client import wire

    index = pd.DatetimeIndex(pd.to_datetime([1, 2, 3, 4], unit="s", utc=True).as_unit("ns"))
    frame = pd.DataFrame(
        {
            "sal_float": np.array([0.1, -2.5, np.nan, 3e38], dtype=np.float32).astype(np.float64),
            "double": [0.1, 1e300, -0.0, 2.0],  # 0.1 and 1e300 are no float32: stays float64
            "count": np.array([1, 2, 3, 4], dtype=np.int64),
        },
        index=index,
    )
    data = wire.frame_to_arrow(frame)
    sent = pa.ipc.open_stream(data).read_all()
    assert sent.schema.field("sal_float").type == pa.float32()
    assert sent.schema.field("double").type == pa.float64()
    back = wire.frame_from_arrow(data)
    pd.testing.assert_frame_equal(back, frame)
    assert np.signbit(back["double"].iloc[2])  # -0.0 kept
