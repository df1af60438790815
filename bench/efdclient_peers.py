"""How the released EFD client reaches a server, shared by the scripts that run it.

Imported by ``bench/efdclient_timing.py`` and ``tests/compat/efdclient_driver.py``,
which run in the released clients' own venv (``.venv-efdclient``): this module
imports nothing of openefd.

- :func:`serve_creds`: a segwarides look-alike (``/`` → 200, ``list``,
  ``creds/{alias}``) on 127.0.0.1, for servers without their own;
- :func:`efd_client`: ``EfdClient(alias)`` the client's whole way (credential
  service, ``/health``), or — for InfluxDB 1.6.7, which has no ``/health`` —
  with its aioinflux client handed in (``client=``), made with exactly the
  arguments ``EfdClient.__init__`` uses.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["efd_client", "serve_creds"]


class _Creds(BaseHTTPRequestHandler):
    creds: dict[str, dict[str, Any]] = {}  # noqa: RUF012 (set once per server, read only)

    def do_GET(self) -> None:
        path = self.path.removeprefix("/segwarides/").strip("/")
        if path in ("", "list"):
            self._send(200, sorted(self.creds))
        elif path.startswith("creds/") and path[6:] in self.creds:
            self._send(200, self.creds[path[6:]])
        else:
            self._send(404, {"error": f"no credentials for {path!r}"})

    def _send(self, status: int, doc: object) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_creds(creds: dict[str, dict[str, Any]]) -> str:
    """Serve ``creds`` (alias → document) on 127.0.0.1; the service's URL."""
    handler = type("Creds", (_Creds,), {"creds": creds})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/segwarides/"


def efd_client(spec: dict[str, Any]) -> tuple[Any, str]:
    """``EfdClient`` for ``{"alias", "creds_service"}`` or ``{"alias", "creds"}``, and the
    credential service's URL."""
    import aioinflux
    from lsst_efd_client import EfdClient

    alias = spec["alias"]
    if "creds_service" in spec:
        service = spec["creds_service"]
        return EfdClient(alias, creds_service=service), service
    c = spec["creds"]
    service = serve_creds({alias: c})
    influx = aioinflux.InfluxDBClient(
        host=c["host"],
        path=c["path"],
        port=c["port"],
        ssl=True,
        username=c["username"],
        password=c["password"],
        db="efd",
        mode="async",
        output="dataframe",
        timeout=900,
    )
    return EfdClient(alias, creds_service=service, client=influx), service
