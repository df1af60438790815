"""``openefd serve``'s rules, HTTPS with a self-signed certificate, and the access log."""

from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.server.conftest import AZ, serve_store
from typer.testing import CliRunner

from openefd.cli.main import app
from openefd.errors import ConfigurationError
from openefd.server.runner import check_bind, is_loopback
from openefd.server.state import Scope
from openefd.server.tokens import TokenBook

runner = CliRunner()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl's command line)."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("efd.example.org", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_check_bind(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    check_bind("127.0.0.1", None, None, 0)
    check_bind("0.0.0.0", cert, key, 1)
    with pytest.raises(ConfigurationError, match=r"refusing to listen on 0\.0\.0\.0.*TLS.*token"):
        check_bind("0.0.0.0", None, None, 0)
    with pytest.raises(ConfigurationError, match="token create") as err:
        check_bind("10.0.0.5", cert, key, 0)
    assert "TLS (" not in str(err.value)
    with pytest.raises(ConfigurationError, match=r"needs TLS \(--tls-cert"):
        check_bind("efd.example.org", None, None, 3)
    with pytest.raises(ConfigurationError, match="both a certificate and its key"):
        check_bind("127.0.0.1", cert, None, 0)
    with pytest.raises(ConfigurationError, match="not a readable file"):
        check_bind("127.0.0.1", cert, key.with_name("missing.pem"), 0)


def test_serve_command_refuses_an_open_public_bind(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["serve", "--store", str(tmp_path / "s"), "--host", "0.0.0.0"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 1
    assert "refusing to listen on 0.0.0.0" in result.output
    assert not (tmp_path / "s").exists()  # refused before the store was opened


def test_https_with_a_token(
    tmp_path: Path, template_store: Path, tls_files: tuple[Path, Path]
) -> None:
    cert, key = tls_files
    with serve_store(template_store, tmp_path / "store", tls_cert=cert, tls_key=key) as served:
        assert served.url.startswith("https://")
        _, secret = TokenBook.for_store(served.settings.store).create("tls", [Scope.WRITE])
        line = f"{AZ} actualPosition=2.5,private_seqNum=1i 1714532400000000000\n"
        written = served.client.post(
            "/write", params={"db": "efd"}, content=line, auth=("anyone", secret)
        )
        assert written.status_code == 204
        response = served.client.get(
            "/query",
            params={"q": "SHOW MEASUREMENTS", "db": "efd"},
            auth=("anyone", secret),
        )
        assert response.status_code == 200, response.text
        names = [row[0] for row in response.json()["results"][0]["series"][0]["values"]]
        assert AZ in names
        creds = served.client.get("/segwarides/creds/openefd").json()
        assert creds["schema_registry"].startswith("https://127.0.0.1:")


def test_access_log_is_json_without_secrets(
    tmp_path: Path, template_store: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openefd.access")
    with serve_store(template_store, tmp_path / "store") as served:
        _, secret = TokenBook.for_store(served.settings.store).create("logged", [Scope.WRITE])
        line = f"{AZ} actualPosition=2.5,private_seqNum=1i 1714532400000000000\n"
        c = served.client
        assert (
            c.post("/write", params={"db": "efd", "u": "x", "p": secret}, content=line).status_code
            == 204
        )
        assert c.get("/query", params={"q": "SHOW DATABASES", "p": secret}).status_code == 200
        assert c.get("/query", headers={"Authorization": f"Bearer {secret}"}).status_code == 400
        assert c.get("/ping", auth=("u", secret)).status_code == 204
        assert (
            c.post("/write", params={"db": "efd", "p": secret + "x"}, content=line).status_code
            == 401
        )
    records = [r for r in caplog.records if r.name == "openefd.access"]
    assert len(records) == 5
    lines = [json.loads(r.getMessage()) for r in records]
    assert [(x["method"], x["path"], x["status"]) for x in lines] == [
        ("POST", "/write", 204),
        ("GET", "/query", 200),
        ("GET", "/query", 400),
        ("GET", "/ping", 204),
        ("POST", "/write", 401),
    ]
    assert [x["principal"] for x in lines] == ["logged", "logged", "logged", "-", "-"]
    for x in lines:
        assert set(x) == {
            "method", "path", "status", "duration_ms", "bytes", "principal", "remote", "request_id"
        }  # fmt: skip
        assert x["remote"] == "127.0.0.1" and x["duration_ms"] >= 0
    text = "\n".join(r.getMessage() for r in records)
    assert secret not in text and secret[5:20] not in text


def test_query_limits_answer_in_the_results(tmp_path: Path, template_store: Path) -> None:
    with serve_store(template_store, tmp_path / "store", query_max_points=20) as served:
        lines = "".join(
            f"{AZ} actualPosition={i}.5,private_seqNum={i}i {1714532400_000_000_000 + i}\n"
            for i in range(30)
        )
        assert served.client.post("/write", params={"db": "efd"}, content=lines).status_code == 204
        response = served.client.get(
            "/query", params={"q": f'SELECT actualPosition FROM "{AZ}"', "db": "efd"}
        )
        assert response.status_code == 200
        (result,) = response.json()["results"]
        assert "series" not in result
        assert result["error"].startswith("max-select-point limit exceeded")
        assert served.client.get("/ping").status_code == 204


def test_serve_command_runs_until_interrupted(tmp_path: Path) -> None:
    """The installed command: serves on a free port, writes JSON access lines, stops on SIGINT."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = tmp_path / "store"
    exe = Path(sys.executable).parent / "openefd"
    process = subprocess.Popen(
        [str(exe), "serve", "--store", str(store), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ping = httpx.get(f"http://127.0.0.1:{port}/ping", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "openefd serve did not start"
                time.sleep(0.2)
        assert ping.status_code == 204
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert f"at http://127.0.0.1:{port}" in out
    access = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert [(a["path"], a["status"]) for a in access][-2:] == [("/ping", 204), ("/ready", 200)]
    assert (store / "efd.duckdb").is_file()
