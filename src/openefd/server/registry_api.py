"""What ``lsst-efd-client`` asks besides InfluxDB: credentials and the schema registry.

``/segwarides/`` answers like SQuaRE's Segwarides credential service, which
``EfdClient(name, creds_service=…)`` reads: ``list`` gives the aliases (one,
``openefd``: this server, as the request reached it), ``creds/{alias}`` the
host, port, path and schema registry. It never hands out a password: tokens
are stored hashed and cannot be recovered, so ``username`` and ``password``
are empty; give the client a token yourself (basic-auth password, or an
``$EFDAUTH`` file written by ``openefd token create --efdauth-file``).

``/schema-registry/`` (also served at the root, ``/subjects/…``, because
kafkit resolves its absolute paths against the registry URL and so drops any
path in it) is the subset of the Confluent Schema Registry API that
kafkit's ``RegistryApi.get_schema_by_subject`` (used by
``EfdClient.get_schema``) and ``get_schema_by_id`` call: subjects are
``<topic>-value``, the schema is the topic's Avro record with ``units`` and
``description`` on each field. Only the current definition of a topic is
served (as version ``latest`` or its version number). Schema ids are stable
hashes of topic and version. These routes need no token: kafkit sends none,
and topic definitions are not secret (the EFD's own registry is open too).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from openefd.schema.avro import to_avro
from openefd.schema.model import TopicSchema
from openefd.server.deps import get_state
from openefd.store.registry import TopicRegistry

__all__ = ["CREDS_ALIAS", "REGISTRY_PREFIX", "registry_router", "schema_id", "segwarides_router"]

CREDS_ALIAS = "openefd"
_REGISTRY_JSON = "application/vnd.schemaregistry.v1+json"
_SUFFIX = "-value"
_MAX_VERSION = 2**31 - 1

segwarides_router = APIRouter(prefix="/segwarides", tags=["credentials"])
# Mounted at /schema-registry and at the root: kafkit joins its paths ("/subjects/…") to the
# registry URL with urljoin, which drops any path the URL has.
registry_router = APIRouter(tags=["schema registry"])
REGISTRY_PREFIX = "/schema-registry"


def _json(doc: Any, status: int = 200, media_type: str = "application/json") -> Response:
    return Response(json.dumps(doc), status_code=status, media_type=media_type)


def _host_port(request: Request) -> tuple[str, int]:
    host = request.url.hostname or request.scope.get("server", ("localhost", 0))[0]
    port = request.url.port or (443 if request.url.scheme == "https" else 80)
    return host, port


def _server_url(request: Request) -> str:
    host, port = _host_port(request)
    shown = f"[{host}]" if ":" in host else host
    return f"{request.url.scheme}://{shown}:{port}"


@segwarides_router.get("/")
async def segwarides_root(request: Request) -> Response:
    """The credential service is up (lsst-efd-client checks for 200)."""
    service = "openefd credentials (Segwarides-compatible)"
    return _json({"service": service, "aliases": [CREDS_ALIAS]})


@segwarides_router.get("/list")
async def segwarides_list() -> Response:
    """The credential aliases: one, for this server."""
    return _json([CREDS_ALIAS])


@segwarides_router.get("/creds/{alias}")
async def segwarides_creds(alias: str, request: Request) -> Response:
    """How to reach this server: host, port, path, schema registry; no password (see above)."""
    if alias != CREDS_ALIAS:
        return _json(
            {"error": f"no credentials for alias {alias!r} (this server has {CREDS_ALIAS!r})"},
            status=404,
        )
    host, port = _host_port(request)
    settings = get_state(request).settings
    registry = settings.schema_registry_url or f"{_server_url(request)}{REGISTRY_PREFIX}"
    return _json(
        {
            "host": host,
            "schema_registry": registry,
            "port": port,
            "username": "",
            "password": "",
            "path": "/",
        }
    )


# -- schema registry ---------------------------------------------------------------


def schema_id(topic: str, version: int) -> int:
    """A stable registry id for a topic's definition: 31 bits of a hash, never 0."""
    digest = hashlib.sha256(f"{topic}\0{version}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


def _drop_nulls(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if v is not None}


def avro_text(topic: TopicSchema) -> str:
    """The topic's Avro record as registry text; absent units/description are left out."""
    record = _drop_nulls(to_avro(topic))
    record["fields"] = [_drop_nulls(f) for f in record["fields"]]
    return json.dumps(record, separators=(",", ":"))


def _registry_error(status: int, code: int, message: str) -> Response:
    return _json({"error_code": code, "message": message}, status, _REGISTRY_JSON)


def _subject_topic(registry: TopicRegistry, subject: str) -> str | None:
    if not subject.endswith(_SUFFIX):
        return None
    topic = subject[: -len(_SUFFIX)]
    return topic if registry.current(topic) is not None else None


@registry_router.get("/subjects")
async def subjects(request: Request) -> Response:
    """Every subject: ``<topic>-value`` for each topic with a definition."""
    registry = get_state(request).store.registry
    names = [n + _SUFFIX for n in registry.names() if registry.current(n) is not None]
    return _json(names, media_type=_REGISTRY_JSON)


@registry_router.get("/subjects/{subject}/versions")
async def subject_versions(subject: str, request: Request) -> Response:
    """The versions served for a subject (the current one)."""
    registry = get_state(request).store.registry
    topic = _subject_topic(registry, subject)
    if topic is None:
        return _registry_error(404, 40401, "Subject not found.")
    return _json([max(registry.version(topic), 1)], media_type=_REGISTRY_JSON)


@registry_router.get("/subjects/{subject}/versions/{version}")
async def subject_version(subject: str, version: str, request: Request) -> Response:
    """``{"subject","version","id","schema"}`` as the Confluent registry answers."""
    registry = get_state(request).store.registry
    topic = _subject_topic(registry, subject)
    if topic is None:
        return _registry_error(404, 40401, "Subject not found.")
    current = max(registry.version(topic), 1)
    if version not in ("latest", "-1"):
        if not version.isascii() or not version.isdigit() or not 1 <= int(version) <= _MAX_VERSION:
            return _registry_error(
                422,
                42202,
                "The specified version is not a valid version id. Allowed values are between "
                '[1, 2^31-1] and the string "latest"',
            )
        if int(version) != current:
            return _registry_error(404, 40402, "Version not found.")
    definition = registry.current(topic)
    assert definition is not None
    doc = {
        "subject": subject,
        "version": current,
        "id": schema_id(topic, current),
        "schema": avro_text(definition),
    }
    return _json(doc, media_type=_REGISTRY_JSON)


@registry_router.get("/schemas/ids/{ident}")
async def schema_by_id(ident: str, request: Request) -> Response:
    """``{"schema": …}`` for an id given out by ``subject_version``."""
    registry = get_state(request).store.registry
    wanted = int(ident) if ident.isascii() and ident.isdigit() and len(ident) < 12 else -1
    for topic in registry.names():
        definition = registry.current(topic)
        if definition is None:
            continue
        if schema_id(topic, max(registry.version(topic), 1)) == wanted:
            return _json({"schema": avro_text(definition)}, media_type=_REGISTRY_JSON)
    return _registry_error(404, 40403, "Schema not found.")
