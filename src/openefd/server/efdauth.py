"""``$EFDAUTH`` files: credentials newer lsst-efd-client releases read from disk.

When ``$EFDAUTH`` names a file, ``NotebookAuth.get_auth(alias)`` reads it as
a JSON object of aliases, each ``{"url", "database", "username", "password",
"schema_registry"}``; host, port and path come from ``url``. ``openefd token
create --efdauth-file`` writes (or adds to) such a file for this server, with
the new token as the password, mode 0600.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

from openefd.errors import ConfigurationError
from openefd.settings import Settings

__all__ = ["efdauth_entry", "server_url", "write_efdauth"]


def server_url(settings: Settings) -> str:
    """This server's base URL from its settings (``https`` when TLS is set)."""
    scheme = "https" if settings.tls_cert else "http"
    host = settings.server_host
    if host in ("", "0.0.0.0", "::"):
        host = socket.getfqdn()
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{settings.server_port}/"


def efdauth_entry(settings: Settings, *, url: str, username: str, password: str) -> dict[str, Any]:
    """One alias of an ``$EFDAUTH`` file for the server at ``url``."""
    base = url if url.endswith("/") else url + "/"
    registry = settings.schema_registry_url or base + "schema-registry"
    return {
        "url": base,
        "database": settings.influx_database,
        "username": username,
        "password": password,
        "schema_registry": registry,
    }


def write_efdauth(path: Path, alias: str, entry: dict[str, Any]) -> None:
    """Add (or replace) ``alias`` in the ``$EFDAUTH`` file ``path``; atomic, mode 0600."""
    doc: dict[str, Any] = {}
    if path.exists():
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ConfigurationError(f"cannot read EFDAUTH file {path}: {err}") from err
        if not isinstance(doc, dict):
            raise ConfigurationError(f"{path} is not an EFDAUTH file (a JSON object of aliases)")
    doc[alias] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".efdauth-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
