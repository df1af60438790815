"""The InfluxDB 1.x API on a real server: ping, health, write, query and their errors."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from tests.server.conftest import AZ, BODY_LIMIT, EL, Served

from openefd.ingest.line_protocol import format_line

T0 = 1714532400_000_000_000  # 2024-05-01T03:00:00Z
FROM_AZ = f'"efd"."autogen"."{AZ}"'


def az_lines(start_ns: int, values: list[float]) -> str:
    return "".join(
        format_line(AZ, {"actualPosition": v, "private_seqNum": i}, timestamp=start_ns + i * 10**8)
        + "\n"
        for i, v in enumerate(values)
    )


def assert_influx_error(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"error": message}
    assert response.headers["content-type"] == "application/json"
    if status != 401:
        assert response.headers["x-influxdb-error"] == message


# -- ping, health, ready, headers -------------------------------------------------------


def test_ping_health_ready(served: Served) -> None:
    c = served.client
    ping = c.get("/ping")
    assert ping.status_code == 204 and ping.content == b""
    assert ping.headers["x-influxdb-version"] == "1.8.10"
    assert ping.headers["x-influxdb-build"] == "OSS"
    assert c.head("/ping").status_code == 204
    verbose = c.get("/ping", params={"verbose": "true"})
    assert verbose.status_code == 200 and verbose.json() == {"version": "1.8.10"}
    assert c.get("/ping", params={"verbose": "false"}).status_code == 204
    health = c.get("/health")
    assert health.status_code == 200
    doc = health.json()
    assert doc["name"] == "influxdb" and doc["status"] == "pass" and doc["checks"] == []
    assert doc["message"] == "ready for queries and writes" and doc["version"] == "1.8.10"
    assert doc["server"].startswith("openefd ")
    assert c.get("/ready").json() == {"status": "ready"}


def test_every_answer_carries_version_and_request_id(served: Served) -> None:
    for response in (
        served.client.get("/ping"),
        served.client.get("/query"),
        served.client.get("/no-such-route"),
    ):
        assert response.headers["x-influxdb-version"] == "1.8.10"
        assert response.headers["request-id"] == response.headers["x-request-id"]
        assert len(response.headers["request-id"]) == 36  # a UUID
    echoed = served.client.get("/ping", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["x-request-id"] == echoed.headers["request-id"] == "abc-123"
    fallback = served.client.get("/ping", headers={"Request-Id": "from-request-id"})
    assert fallback.headers["x-request-id"] == "from-request-id"
    odd = served.client.get("/ping", headers={"X-Request-Id": "x y\t\x7f"})
    assert odd.headers["x-request-id"] != "x y\t\x7f" and len(odd.headers["x-request-id"]) == 36


# -- write ---------------------------------------------------------------------------


def test_write_needs_a_known_database(served: Served) -> None:
    body = az_lines(T0, [1.0])
    assert_influx_error(served.client.post("/write", content=body), 400, "database is required")
    assert_influx_error(
        served.client.post("/write", params={"db": "nope"}, content=body),
        404,
        'database not found: "nope"',
    )
    assert_influx_error(
        served.client.post("/write", params={"db": "efd", "rp": "weekly"}, content=body),
        404,
        "retention policy not found: weekly",
    )
    assert_influx_error(
        served.client.post("/write", params={"db": "efd", "precision": "sec"}, content=body),
        400,
        'invalid precision "sec" (use n, u, ms, s, m or h)',
    )


def test_rejected_write_names_the_line_and_stores_nothing(served: Served) -> None:
    before = served.rows(AZ)
    good = az_lines(T0 + 50 * 10**9, [1.0, 2.0])
    bad = f"{AZ} actualPosition=1.0 notatime\n"
    response = served.client.post("/write", params={"db": "efd"}, content=good + bad)
    assert response.status_code == 400
    message = response.json()["error"]
    assert message.startswith(f"unable to parse '{AZ} actualPosition=1.0 notatime': ")
    assert response.headers["x-influxdb-error"] == message
    wrong_type = az_lines(T0 + 60 * 10**9, [1.0]).replace(
        "private_seqNum=0i", 'private_seqNum="x"'
    )
    assert (
        served.client.post("/write", params={"db": "efd"}, content=wrong_type).status_code == 400
    )
    not_utf8 = b"\xff\xfe" + good.encode()
    response = served.client.post("/write", params={"db": "efd"}, content=not_utf8)
    assert response.status_code == 400
    assert response.json()["error"].startswith("unable to parse body: not UTF-8")
    assert served.rows(AZ) == before


def test_write_plain_gzip_and_precision(served: Served) -> None:
    before = served.rows(AZ)
    plain = served.client.post(
        "/write", params={"db": "efd", "rp": "autogen"}, content=az_lines(T0, [1.0, 2.0])
    )
    assert plain.status_code == 204 and plain.content == b""
    zipped = gzip.compress(az_lines(T0 + 10**9, [3.0]).encode())
    response = served.client.post(
        "/write", params={"db": "efd"}, content=zipped, headers={"Content-Encoding": "gzip"}
    )
    assert response.status_code == 204
    seconds = f"{EL} actualPosition=45.5,private_seqNum=1i {T0 // 10**9 + 7}\n"
    response = served.client.post(
        "/write", params={"db": "efd", "precision": "s"}, content=seconds
    )
    assert response.status_code == 204
    assert served.rows(AZ) == before + 3
    assert served.client.post("/write", params={"db": "efd"}, content=b"").status_code == 204


def test_bad_encodings_are_refused(served: Served) -> None:
    params = {"db": "efd"}
    response = served.client.post(
        "/write", params=params, content=b"not gzip", headers={"Content-Encoding": "gzip"}
    )
    assert response.status_code == 400 and response.json()["error"].startswith("gzip:")
    response = served.client.post(
        "/write", params=params, content=b"x", headers={"Content-Encoding": "br"}
    )
    assert response.status_code == 415


def test_bodies_over_the_limit_are_413(served: Served) -> None:
    big = b"#" * (BODY_LIMIT + 1)
    assert_influx_error(
        served.client.post("/write", params={"db": "efd"}, content=big),
        413,
        "Request Entity Too Large",
    )

    def stream() -> Iterator[bytes]:  # no Content-Length: counted while it arrives
        for _ in range(BODY_LIMIT // 1000 + 2):
            yield b"#" * 1000

    with httpx.Client(base_url=served.url, timeout=60) as fresh:
        response = fresh.post("/write", params={"db": "efd"}, content=stream())
    assert_influx_error(response, 413, "Request Entity Too Large")
    bomb = gzip.compress(b"#" * (BODY_LIMIT * 4))
    assert len(bomb) < BODY_LIMIT
    response = served.client.post(
        "/write", params={"db": "efd"}, content=bomb, headers={"Content-Encoding": "gzip"}
    )
    assert_influx_error(response, 413, "Request Entity Too Large")
    query = "SELECT * FROM x WHERE a = '" + "a" * BODY_LIMIT + "'"
    with httpx.Client(base_url=served.url, timeout=60) as fresh:
        assert_influx_error(
            fresh.post("/query", data={"q": query}), 413, "Request Entity Too Large"
        )
    assert served.client.get("/ping").status_code == 204


# -- query ---------------------------------------------------------------------------


def test_query_without_q(served: Served) -> None:
    missing = 'missing required parameter "q"'
    assert_influx_error(served.client.get("/query", params={"db": "efd"}), 400, missing)
    assert_influx_error(served.client.post("/query", data={"db": "efd", "q": "  "}), 400, missing)
    bad_form = served.client.post(
        "/query", content=b"--x\r\n", headers={"Content-Type": "multipart/form-data"}
    )
    assert bad_form.status_code == 400
    assert bad_form.json()["error"].startswith("error parsing form:")


def test_unknown_epoch_is_a_clear_400(served: Served) -> None:
    response = served.client.get("/query", params={"q": "SHOW DATABASES", "epoch": "sec"})
    assert_influx_error(response, 400, 'invalid epoch "sec" (use ns, u, µ, ms, s, m or h)')


@pytest.fixture(scope="module")
def az_values(served: Served) -> tuple[int, list[float]]:
    """Azimuth rows written over HTTP at a start time no other test uses."""
    start = T0 + 3600 * 10**9
    values = [round(0.25 * i - 2, 3) for i in range(25)] + [7.0]
    response = served.client.post("/write", params={"db": "efd"}, content=az_lines(start, values))
    assert response.status_code == 204
    return start, values


def az_query(start: int, n: int) -> str:
    end = start + n * 10**8
    return f"SELECT actualPosition FROM {FROM_AZ} WHERE time >= {start} AND time < {end}"


def test_write_then_query_round_trip(served: Served, az_values: tuple[int, list[float]]) -> None:
    start, values = az_values
    response = served.client.post(
        "/query", data={"q": az_query(start, len(values)), "db": "efd", "epoch": "ns"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    result = response.json()["results"][0]
    assert result["statement_id"] == 0
    (series,) = result["series"]
    assert series["name"] == AZ and series["columns"] == ["time", "actualPosition"]
    assert [t for t, _ in series["values"]] == [start + i * 10**8 for i in range(len(values))]
    assert [v for _, v in series["values"]] == values
    assert b",7]]" in response.content  # a whole float comes out as Go writes it


@pytest.mark.parametrize(("epoch", "divisor"), [("u", 10**3), ("ms", 10**6), ("s", 10**9)])
def test_epochs(
    served: Served, az_values: tuple[int, list[float]], epoch: str, divisor: int
) -> None:
    start, _ = az_values
    response = served.client.get(
        "/query", params={"q": az_query(start, 3), "db": "efd", "epoch": epoch}
    )
    times = [t for t, _ in response.json()["results"][0]["series"][0]["values"]]
    assert times == [(start + i * 10**8) // divisor for i in range(3)]


def test_rfc3339_times_and_pretty(served: Served, az_values: tuple[int, list[float]]) -> None:
    start, _ = az_values
    response = served.client.get("/query", params={"q": az_query(start, 2), "pretty": "true"})
    assert response.status_code == 200
    assert response.text.startswith('{\n    "results": [\n        {\n')
    times = [t for t, _ in response.json()["results"][0]["series"][0]["values"]]
    assert times == ["2024-05-01T04:00:00Z", "2024-05-01T04:00:00.1Z"]


def test_chunked_answer_equals_the_whole(
    served: Served, az_values: tuple[int, list[float]]
) -> None:
    start, values = az_values
    params = {"q": az_query(start, len(values)), "db": "efd", "epoch": "ns"}
    whole = served.client.get("/query", params=params).json()["results"][0]["series"][0]
    response = served.client.get(
        "/query", params={**params, "chunked": "true", "chunk_size": "10"}
    )
    assert response.status_code == 200
    lines = response.text.splitlines()
    assert len(lines) == 3
    docs = [json.loads(line) for line in lines]
    series = [d["results"][0]["series"][0] for d in docs]
    assert [len(s["values"]) for s in series] == [10, 10, len(values) - 20]
    assert [s.get("partial", False) for s in series] == [True, True, False]
    assert [d["results"][0].get("partial", False) for d in docs] == [True, True, False]
    assert [row for s in series for row in s["values"]] == whole["values"]
    garbage = served.client.get("/query", params={**params, "chunked": "true", "chunk_size": "x"})
    assert len(garbage.text.splitlines()) == 1  # InfluxDB's default of 10000 rows


def test_parse_error_is_400_with_header(served: Served) -> None:
    response = served.client.get("/query", params={"q": "SELEKT nothing"})
    assert response.status_code == 400
    message = response.json()["error"]
    assert message.startswith("error parsing query: ")
    assert response.headers["x-influxdb-error"] == message


def test_execution_error_is_200_in_results(served: Served) -> None:
    query = f'SELECT * FROM "{AZ}"'
    response = served.client.get("/query", params={"q": query, "db": "nope"})
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["statement_id"] == 0 and "error" in result and "series" not in result


def test_q_in_the_query_string_or_as_a_file(
    served: Served, az_values: tuple[int, list[float]]
) -> None:
    start, _ = az_values
    query = az_query(start, 2)
    in_url = served.client.post("/query", params={"q": query, "epoch": "ns"})
    as_file = served.client.post(
        "/query", params={"epoch": "ns"}, files={"q": ("q.iql", query.encode())}
    )
    assert in_url.status_code == as_file.status_code == 200
    assert in_url.json() == as_file.json()
    assert len(in_url.json()["results"][0]["series"][0]["values"]) == 2


def test_big_result_encodes_whole_floats_as_ints(served: Served) -> None:
    start = T0 + 7200 * 10**9
    values = np.arange(3000) / 2  # every other value is whole
    lines = az_lines(start, values.tolist()).splitlines(keepends=True)
    for first in range(0, len(lines), 500):  # under the test server's body limit
        batch = "".join(lines[first : first + 500])
        assert served.client.post("/write", params={"db": "efd"}, content=batch).status_code == 204
    body = served.client.get(
        "/query", params={"q": az_query(start, len(values)), "epoch": "ms"}
    ).json()
    got = [v for _, v in body["results"][0]["series"][0]["values"]]
    assert got == [int(v) if v.is_integer() else v for v in values.tolist()]
    assert [type(v) for v in got[:2]] == [int, float]
