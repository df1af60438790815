"""``openefd token create|list|revoke`` and the EFDAUTH file, run in-process."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from urllib.parse import urlparse

from typer.testing import CliRunner

from openefd.cli.main import app
from openefd.server.tokens import TOKEN_FILE, TokenBook

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_create_list_revoke(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    code, out = invoke("token", "create", "ops", "--scope", "read", "--scope", "write",
                       "--user", "efdreader", "--store", str(store))  # fmt: skip
    assert code == 0, out
    secret = next(line for line in out.splitlines() if line.startswith("oefd_"))
    assert "read, write" in out
    assert secret not in (store / TOKEN_FILE).read_text()
    assert TokenBook.for_store(store).check(secret, "efdreader") is not None
    code, out = invoke("token", "list", "--store", str(store))
    assert code == 0 and "ops" in out and "read, write" in out and "efdreader" in out
    assert secret not in out
    code, out = invoke("token", "create", "ops", "--scope", "read", "--store", str(store))
    assert code == 1 and "exists" in out
    code, out = invoke("token", "revoke", "ops", "--store", str(store))
    assert code == 0 and "revoked" in out
    assert TokenBook.for_store(store).check(secret) is None
    code, out = invoke("token", "list", "--store", str(store))
    assert code == 0 and "no tokens" in out
    code, out = invoke("token", "revoke", "ops", "--store", str(store))
    assert code == 1 and "no token named 'ops'" in out


def test_bad_arguments_are_clear(tmp_path: Path) -> None:
    code, out = invoke("token", "create", "x", "--scope", "root", "--store", str(tmp_path))
    assert code == 2 and "'root' is not one of" in out
    code, out = invoke("token", "create", "x", "--scope", "read", "--store", str(tmp_path / "no"))
    assert code == 1 and "no store directory" in out
    code, out = invoke("token", "--help")
    assert code == 0 and "create" in out and "revoke" in out


def test_efdauth_file_for_lsst_efd_client(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    efdauth = tmp_path / "efdauth.json"
    efdauth.write_text(json.dumps({"usdf_efd": {"url": "https://usdf/influxdb/"}}))
    url = "https://efd.example.org:8086"
    code, out = invoke("token", "create", "notebook", "--scope", "read", "--store", str(store),
                       "--efdauth-file", str(efdauth), "--url", url)  # fmt: skip
    assert code == 0, out
    secret = next(line for line in out.splitlines() if line.startswith("oefd_"))
    doc = json.loads(efdauth.read_text())
    assert set(doc) == {"usdf_efd", "openefd"}  # other aliases are kept
    entry = doc["openefd"]
    assert entry == {
        "url": "https://efd.example.org:8086/",
        "database": "efd",
        "username": "notebook",
        "password": secret,
        "schema_registry": "https://efd.example.org:8086/schema-registry",
    }
    assert stat.S_IMODE(efdauth.stat().st_mode) == 0o600
    url = urlparse(entry["url"])  # what NotebookAuth.get_auth makes of it
    assert (url.hostname, url.port, url.path) == ("efd.example.org", 8086, "/")
