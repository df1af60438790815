"""Tokens: hashed on disk, scopes enforced, every credential form, revocation while running."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.server.conftest import AZ, Served, serve_store

from openefd.errors import ConfigurationError
from openefd.server.state import Principal, Scope
from openefd.server.tokens import TOKEN_FILE, TokenBook

T0 = 1714532400_000_000_000
LINE = f"{AZ} actualPosition=1.5,private_seqNum=0i {T0}\n"


def test_book_keeps_hashes_only(tmp_path: Path) -> None:
    book = TokenBook.for_store(tmp_path)
    assert not book.enabled()
    record, secret = book.create("ops", [Scope.READ, Scope.WRITE], user="efdreader")
    assert secret.startswith("oefd_") and len(secret) > 40
    path = tmp_path / TOKEN_FILE
    text = path.read_text()
    assert secret not in text and secret[5:] not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(text)["tokens"][0]
    assert doc["name"] == "ops" and doc["scopes"] == ["read", "write"]
    assert (
        doc["user"] == "efdreader"
        and len(doc["sha256"]) == 64
        and doc["created"].endswith("+00:00")
    )
    assert book.enabled()
    ops = Principal("ops", frozenset({Scope.READ, Scope.WRITE}))
    assert book.check(secret) == ops  # Bearer: no user name given
    assert book.check(secret, "efdreader") == ops
    assert record.scopes == ops.scopes
    assert book.check(secret, "someone-else") is None
    assert book.check(secret + "x") is None


def test_book_follows_changes_made_elsewhere(tmp_path: Path) -> None:
    server_side = TokenBook.for_store(tmp_path)
    cli_side = TokenBook.for_store(tmp_path)
    _, secret = cli_side.create("a", [Scope.READ])
    assert server_side.check(secret) is not None
    cli_side.revoke("a")
    assert server_side.check(secret) is None
    assert server_side.enabled()  # the file stays: revoking the last token does not open up
    with pytest.raises(ConfigurationError, match="no token named 'a'"):
        cli_side.revoke("a")
    cli_side.create("b", [Scope.ADMIN])
    with pytest.raises(ConfigurationError, match="exists"):
        cli_side.create("b", [Scope.READ])
    with pytest.raises(ConfigurationError, match="token name"):
        cli_side.create("bad name", [Scope.READ])
    with pytest.raises(ConfigurationError, match="at least one scope"):
        cli_side.create("c", [])


def test_unreadable_book_refuses_everyone(tmp_path: Path) -> None:
    book = TokenBook.for_store(tmp_path)
    _, secret = book.create("a", [Scope.READ])
    (tmp_path / TOKEN_FILE).write_text("{not json")
    assert book.enabled() and book.check(secret) is None
    with pytest.raises(ConfigurationError, match="cannot read token file"):
        TokenBook.for_store(tmp_path)
    with pytest.raises(ConfigurationError, match="no store directory"):
        TokenBook(tmp_path / "missing" / TOKEN_FILE).create("a", [Scope.READ])


def test_required_book_refuses_when_empty(tmp_path: Path) -> None:
    assert TokenBook.for_store(tmp_path, required=True).enabled()


@pytest.fixture(scope="module")
def secured(
    tmp_path_factory: pytest.TempPathFactory, template_store: Path
) -> Iterator[tuple[Served, dict[str, str]]]:
    """A served store with a read token, a write token (user 'writer') and an admin token."""
    where = tmp_path_factory.mktemp("secured") / "store"
    with serve_store(template_store, where) as served:
        book = TokenBook.for_store(where)
        secrets = {
            "reader": book.create("reader", [Scope.READ])[1],
            "writer": book.create("writer", [Scope.WRITE], user="writer")[1],
            "admin": book.create("admin", [Scope.ADMIN])[1],
        }
        yield served, secrets


def write(served: Served, **kw: object) -> httpx.Response:
    return served.client.post("/write", params={"db": "efd"}, content=LINE, **kw)  # type: ignore[arg-type]


def test_credentials_are_required(secured: tuple[Served, dict[str, str]]) -> None:
    served, _ = secured
    response = write(served)
    assert response.status_code == 401
    assert response.json() == {"error": "unable to parse authentication credentials"}
    assert response.headers["www-authenticate"] == 'Basic realm="InfluxDB"'
    wrong = write(served, headers={"Authorization": "Bearer oefd_wrong"})
    assert wrong.status_code == 401 and wrong.json() == {"error": "authorization failed"}
    garbled = write(served, headers={"Authorization": "Basic !!!"})
    assert garbled.status_code == 401
    assert served.client.get("/ping").status_code == 204  # ping and health stay open
    assert served.client.get("/health").status_code == 200


def test_every_credential_form(secured: tuple[Served, dict[str, str]]) -> None:
    served, secrets = secured
    token = secrets["writer"]
    basic = base64.b64encode(f"writer:{token}".encode()).decode()
    forms: list[dict[str, object]] = [
        {"headers": {"Authorization": f"Bearer {token}"}},
        {"headers": {"Authorization": f"Token {token}"}},
        {"headers": {"Authorization": f"Token writer:{token}"}},
        {"headers": {"Authorization": f"Basic {basic}"}},
        {"params": {"db": "efd", "u": "writer", "p": token}},
        {"params": {"db": "efd", "p": token}},
    ]
    for form in forms:
        params = form.pop("params", {"db": "efd"})
        response = served.client.post("/write", params=params, content=LINE, **form)  # type: ignore[arg-type]
        assert response.status_code == 204, (form, response.text)
    wrong_user = base64.b64encode(f"someone:{token}".encode()).decode()
    response = write(served, headers={"Authorization": f"Basic {wrong_user}"})
    assert response.status_code == 401 and response.json() == {"error": "authorization failed"}
    response = served.client.post(
        "/write", params={"db": "efd", "u": "someone", "p": token}, content=LINE
    )
    assert response.status_code == 401


def test_scopes_are_enforced(secured: tuple[Served, dict[str, str]]) -> None:
    served, secrets = secured
    before = served.rows(AZ)
    response = write(served, headers={"Authorization": f"Bearer {secrets['reader']}"})
    assert response.status_code == 403
    assert response.json() == {
        "error": '"reader" user is not authorized to write to database "efd"'
    }
    assert served.rows(AZ) == before
    admin = write(served, headers={"Authorization": f"Bearer {secrets['admin']}"})
    assert admin.status_code == 204


def test_read_token_queries(secured: tuple[Served, dict[str, str]]) -> None:
    served, secrets = secured
    for name in ("reader", "writer", "admin"):  # write and admin imply read
        response = served.client.get(
            "/query",
            params={"q": "SHOW DATABASES"},
            headers={"Authorization": f"Bearer {secrets[name]}"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["results"][0]["series"][0]["values"] == [["efd"]]
    anonymous = served.client.get("/query", params={"q": "SHOW DATABASES"})
    assert anonymous.status_code == 401


def test_revocation_takes_effect_on_the_running_server(
    secured: tuple[Served, dict[str, str]],
) -> None:
    served, _ = secured
    book = TokenBook.for_store(served.settings.store)
    _, secret = book.create("short-lived", [Scope.WRITE])
    auth = {"Authorization": f"Bearer {secret}"}
    assert write(served, headers=auth).status_code == 204
    book.revoke("short-lived")
    response = write(served, headers=auth)
    assert response.status_code == 401 and response.json() == {"error": "authorization failed"}
