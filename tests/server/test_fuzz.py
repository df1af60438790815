"""Arbitrary input against a real server: never a 5xx, and rejected writes change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.server.conftest import AZ, Served, serve_store

from openefd.settings import SchemaMode
from openefd.store.duckdb_store import Store

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
HEADER_BYTES = st.binary(max_size=40).map(
    lambda b: bytes(c for c in b if c == 9 or 32 <= c <= 126 or c >= 128).strip()
)
WORDS = st.text(max_size=12) | st.sampled_from(
    [AZ, "actualPosition", "private_seqNum", "x", "a b", "a,b", "a=b", '"', "\\", "é", "\x00"]
)
VALUES = st.sampled_from(
    [
        "1",
        "1i",
        "-3i",
        "1.5",
        "1e308",
        "1e999",
        "NaN",
        "Inf",
        "t",
        "false",
        '"s"',
        '"',
        "18446744073709551616i",
        "9223372036854775808u",
        "",
    ]
) | st.text(max_size=8)
STAMPS = st.sampled_from(
    ["", " 0", " -1", " 1714532400000000000", " 99999999999999999999", " 1.5", " x"]
) | st.integers().map(lambda i: f" {i}")


NAMES = st.sampled_from(
    [AZ, "lsst.sal.Test.a", "x", "m-1", "time", "select", "a.b.c", "Ünïcode", "with space"]
)
KEYS = st.sampled_from(
    ["actualPosition", "private_seqNum", "v", "time", "salIndex", "ÄÖ", "a.b", "x-y", "1st"]
)
PLAIN_VALUES = (
    st.integers(-(2**63), 2**63 - 1).map(lambda i: f"{i}i")
    | st.floats(allow_nan=False, allow_infinity=False).map(repr)
    | st.booleans().map(lambda b: "true" if b else "F")
    | st.text(max_size=6).map(lambda t: '"' + t.replace("\\", "").replace('"', "") + '"')
)


def _escape(text: str) -> str:
    return text.replace(" ", "\\ ").replace(",", "\\,").replace("=", "\\=")


@st.composite
def plausible_line(draw: st.DrawFn) -> str:
    """A line most parsers accept: known-looking names, typed values, a sane time."""
    fields = draw(st.lists(st.tuples(KEYS, PLAIN_VALUES), min_size=1, max_size=3))
    body = ",".join(f"{_escape(k)}={v}" for k, v in fields)
    stamp = draw(st.integers(0, 4_000_000_000) | st.just(-1))
    time = "" if stamp < 0 else f" {1_700_000_000_000_000_000 + stamp * 10**6}"
    return f"{_escape(draw(NAMES))} {body}{time}"


@st.composite
def wild_line(draw: st.DrawFn) -> str:
    fields = draw(st.lists(st.tuples(WORDS, VALUES), min_size=0, max_size=3))
    tags = draw(st.lists(st.tuples(WORDS, WORDS), max_size=2))
    head = draw(WORDS) + "".join(f",{k}={v}" for k, v in tags)
    body = ",".join(f"{k}={v}" for k, v in fields)
    return f"{head} {body}{draw(STAMPS)}"


lp_lines = plausible_line() | wild_line()


LP_BODIES = st.lists(lp_lines, max_size=4).map("\n".join) | st.binary(max_size=200).map(
    lambda b: b.decode("latin-1")
)


@pytest.fixture(scope="module")
def extend_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A store that starts empty and takes new topics and fields (schema mode 'extend')."""
    template = tmp_path_factory.mktemp("empty") / "store"
    Store(template).close()
    where = tmp_path_factory.mktemp("fuzz") / "store"
    with serve_store(template, where, schema_mode=SchemaMode.EXTEND) as served:
        yield served


@pytest.fixture(scope="module")
def seeded(served: Served) -> Served:
    """The demo store with 200 azimuth rows, so queries find data."""
    lines = "".join(
        f"{AZ} actualPosition={i / 4},private_seqNum={i}i {1714532400_000_000_000 + i * 10**8}\n"
        for i in range(200)
    )
    assert served.client.post("/write", params={"db": "efd"}, content=lines).status_code == 204
    return served


def snapshot(served: Served) -> tuple[list[str], int]:
    names = served.store.registry.names()
    stats = served.store.topic_stats(served.store.registry.tables())
    return names, sum(s.rows for s in stats)


@FUZZ
@given(
    body=LP_BODIES, precision=st.sampled_from(["", "n", "s", "h", "x", "µ"]) | st.text(max_size=4)
)
def test_line_protocol_bodies(extend_served: Served, body: str, precision: str) -> None:
    before = snapshot(extend_served)
    response = extend_served.client.post(
        "/write",
        params={"db": "efd", "precision": precision},
        content=body.encode("utf-8", "surrogatepass"),
    )
    assert response.status_code < 500, response.text
    assert response.status_code in (204, 400), response.text
    if response.status_code != 204:
        assert snapshot(extend_served) == before
        assert response.json()["error"]


FIELDS = st.sampled_from(
    ["*", "actualPosition", '"actualPosition"', "mean(actualPosition)", "count(*)", "max(v)",
     "percentile(actualPosition, 95)", "last(*)", "actualPosition, private_seqNum", "/a/", "nope"]
)  # fmt: skip
SOURCES = st.sampled_from(
    [f'"{AZ}"', f'"efd"."autogen"."{AZ}"', "efd..x", "/MTMount/", '"nope"', "x", '"efd"."y"."z"']
)
WHERES = st.sampled_from(
    ["", " WHERE time > now() - 1h", " WHERE time >= '2024-05-01T00:00:00Z' AND time < 9s",
     " WHERE actualPosition > 1", " WHERE time > 9223372036854775807", " WHERE salIndex = 1",
     " WHERE time > '2024-13-45'", " WHERE time < now() + 1000000000w"]
)  # fmt: skip
TAILS = st.sampled_from(
    ["", " GROUP BY time(1s)", " GROUP BY time(0s)", " GROUP BY time(1ns) fill(previous)",
     " GROUP BY *", " ORDER BY time DESC", " LIMIT 0", " LIMIT 5 OFFSET 2", " SLIMIT 1",
     " GROUP BY time(1h, -30m) fill(0)", " LIMIT 99999999999999999999"]
)  # fmt: skip
SHOWS = st.sampled_from(
    ["SHOW DATABASES", "SHOW MEASUREMENTS", "SHOW MEASUREMENTS WITH MEASUREMENT =~ /Mount/",
     f'SHOW FIELD KEYS FROM "{AZ}"', "SHOW TAG KEYS", "SHOW TAG VALUES WITH KEY = \"x\"",
     "SHOW RETENTION POLICIES", "SHOW SERIES", "SHOW RETENTION POLICIES ON nope"]
)  # fmt: skip
PLAUSIBLE_QUERIES = (
    st.builds(lambda f, s, w, t: f"SELECT {f} FROM {s}{w}{t}", FIELDS, SOURCES, WHERES, TAILS)
    | SHOWS
)


@FUZZ
@given(
    queries=st.lists(PLAUSIBLE_QUERIES, min_size=1, max_size=3),
    epoch=st.sampled_from(["", "ns", "s"]),
)
def test_plausible_queries(seeded: Served, queries: list[str], epoch: str) -> None:
    q = "; ".join(queries)
    response = seeded.client.get("/query?" + urlencode({"q": q, "db": "efd", "epoch": epoch}))
    assert response.status_code in (200, 400), (q, response.text)
    if response.status_code == 200:
        assert len(response.json()["results"]) == len(queries)


@FUZZ
@given(q=st.text(max_size=80) | st.binary(max_size=80), method=st.sampled_from(["GET", "POST"]))
def test_arbitrary_queries(served: Served, q: str | bytes, method: str) -> None:
    if method == "GET":
        response = served.client.get("/query?" + urlencode({"q": q, "db": "efd"}))
    else:
        response = served.client.post(
            "/query",
            content=urlencode({"q": q, "db": "efd"}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code < 500, response.text
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert "results" in response.json()


@FUZZ
@given(
    epoch=st.text(max_size=4),
    chunked=st.sampled_from(["true", "false", "", "1"]),
    chunk_size=st.text(max_size=6) | st.integers().map(str),
    pretty=st.sampled_from(["true", "", "x"]),
    db=st.sampled_from(["efd", "", "nope"]) | st.text(max_size=5),
    rp=st.sampled_from(["autogen", ""]) | st.text(max_size=5),
    user=st.text(max_size=5),
    password=st.text(max_size=5),
)
def test_garbage_parameters(
    served: Served, epoch: str, chunked: str, chunk_size: str, pretty: str, db: str, rp: str,
    user: str, password: str,
) -> None:  # fmt: skip
    before = served.rows(AZ)
    params = {"epoch": epoch, "chunked": chunked, "chunk_size": chunk_size, "pretty": pretty,
              "db": db, "rp": rp, "u": user, "p": password}  # fmt: skip
    query = f'SELECT * FROM "{AZ}" LIMIT 3'
    response = served.client.get("/query?" + urlencode({**params, "q": query}))
    assert response.status_code < 500, response.text
    write = served.client.post(
        "/write?" + urlencode({**params, "precision": epoch}), content=b"x y=1"
    )
    assert write.status_code < 500 and write.status_code != 204, write.text
    assert served.rows(AZ) == before


@FUZZ
@given(
    authorization=HEADER_BYTES,
    encoding=HEADER_BYTES | st.sampled_from([b"gzip", b"GZIP", b"identity"]),
    content_type=HEADER_BYTES
    | st.sampled_from([b"multipart/form-data", b"application/x-www-form-urlencoded"]),
    request_id=HEADER_BYTES,
    body=st.binary(max_size=120),
)
def test_garbage_headers(
    served: Served, authorization: bytes, encoding: bytes, content_type: bytes, request_id: bytes,
    body: bytes,
) -> None:  # fmt: skip
    before = served.rows(AZ)
    headers = {"Authorization": authorization, "Content-Encoding": encoding,
               "Content-Type": content_type, "X-Request-Id": request_id}  # fmt: skip
    headers = {k: v for k, v in headers.items() if v}
    for path in ("/write?db=efd", "/query?db=efd"):
        response = served.client.post(path, content=body, headers=headers)
        assert response.status_code < 500, (path, response.text)
        assert response.headers["x-request-id"]
    assert served.rows(AZ) == before
    assert served.client.get("/ping").status_code == 204
