"""Runs calls through the released clients against InfluxDB and openefd; compares the answers.

Run with the released clients' own interpreter (``.venv-efdclient/bin/python``,
built by ``scripts/setup-compat``: ``lsst-efd-client`` 0.13.1, ``aioinflux``
0.9.0 and their pinned numpy/pandas), never with openefd's: that is the
point. It imports nothing of openefd. ``test_efdclient_compat.py`` starts
it as a subprocess; by hand::

    SSL_CERT_FILE=ca.pem REQUESTS_CA_BUNDLE=ca.pem \\
        .venv-efdclient/bin/python tests/compat/efdclient_driver.py < job.json

The job (JSON on stdin)::

    {"peers": {"influxdb": PEER, "openefd": PEER}, "calls": [CALL, ...]}

    PEER: {"alias": "openefd", "creds_service": "https://127.0.0.1:PORT/segwarides/"}
          the released client's whole path: credential lookup, /health, queries;
      or  {"alias": "influxdb", "creds": {"host": …, "port": …, "path": "/", "username": …,
           "password": …, "schema_registry": …}}
          the driver serves these credentials itself (a segwarides look-alike on
          127.0.0.1) and hands ``EfdClient`` an ``aioinflux.InfluxDBClient`` made
          exactly as ``EfdClient`` makes it (``client=``, its documented test hook):
          InfluxDB 1.6.7 has no ``/health`` (added in 1.8), which ``EfdClient``
          checks otherwise.

    CALL: {"id": …, "kind": "efd", "method": "select_time_series", "args": [...],
           "kwargs": {...}}                      an EfdClient method
       or {"id": …, "kind": "raw", "query": "SELECT …", "epoch": "ns",
           "chunked": false, "chunk_size": null, "db": null}
                                                 aioinflux.InfluxDBClient.query, as the
                                                 seed notebook makes its client
       or {"id": …, "kind": "ping"}             aioinflux ping: the x-influxdb-* header names
       or {"id": …, "kind": "write", "data": …}  aioinflux write (line protocol or a mapping)
       or {"id": …, "kind": "schema", "topic": …}  EfdClient.get_schema, openefd only
          (InfluxDB has no schema registry): the frame is returned as records
       or {"id": …, "kind": "list_names"}         EfdClient.list_efd_names, openefd only
       Optional: "rtol" (compare floats to this relative tolerance instead of exactly),
       "mentions" (strings both error messages must contain, case-insensitive).
       Times in args: {"$time": "2026-…T…", "scale": "utc", "format": "isot"} is an
       astropy Time, {"$timedelta_s": 60} a TimeDelta.

Output (JSON on stdout): one result per call, ``{"id", "ok", "problems", "influxdb",
"openefd"}`` with each side's answer described (shape, dtypes, head and tail, or
the exception); for the openefd-only calls its answer as ``"value"`` (a
frame as records) for the caller to judge.

"Equal" is ``pandas.testing.assert_frame_equal`` (index, columns, dtypes,
values; floats exactly unless the call gives ``rtol``), plus the frame's
``name`` (aioinflux sets it to the measurement); dicts and lists of frames
(several series or statements) key by key and item by item; chunked answers
by their chunks' sizes (InfluxDB cuts a chunk at ``chunk_size`` rows and at
each new series) and by the concatenation of their chunks; errors by
exception type, and each message must mention what the call lists in
``mentions``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioinflux
import pandas as pd
from astropy.time import Time, TimeDelta
from lsst_efd_client import EfdClient
from lsst_efd_client.auth_helper import NotebookAuth

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: find bench/
from bench.efdclient_peers import efd_client

CALL_TIMEOUT_S = 120.0
OPENEFD_ONLY = ("schema", "list_names")  # InfluxDB has no schema registry, no segwarides
DESCRIBE_CHARS = 2500


@dataclass
class Error:
    """What a call raised."""

    type: str
    message: str

    def describe(self) -> str:
        return f"raised {self.type}: {self.message}"


@dataclass
class Chunks:
    """The frames a chunked query yielded."""

    parts: list[Any]

    def combined(self) -> Any:
        if self.parts and all(isinstance(p, pd.DataFrame) for p in self.parts):
            return pd.concat(self.parts)
        return self.parts


@dataclass
class Peer:
    name: str
    efd: EfdClient
    raw: aioinflux.InfluxDBClient
    creds_service: str


def _raw_client(
    host: str, port: int | str, path: str, user: str, password: str
) -> aioinflux.InfluxDBClient:
    # As the seed notebook makes it (ssl, credentials, db efd), dataframe output.
    client = aioinflux.InfluxDBClient(
        host=host, port=port, path=path, ssl=True, username=user, password=password, db="efd"
    )
    client.output = "dataframe"
    return client


def _make_peer(name: str, spec: dict[str, Any]) -> Peer:
    alias = spec["alias"]
    efd, service = efd_client(spec)
    host, _registry, port, user, password, path = NotebookAuth(service).get_auth(alias)
    return Peer(name, efd, _raw_client(host, port, path, user, password), service)


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "$time" in value:
        return Time(value["$time"], scale=value.get("scale", "utc"), format=value.get("format"))
    if isinstance(value, dict) and "$timedelta_s" in value:
        return TimeDelta(value["$timedelta_s"], format="sec")
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


async def _run(peer: Peer, call: dict[str, Any]) -> Any:
    kind = call["kind"]
    if kind == "efd":
        method = getattr(peer.efd, call["method"])
        args = [_decode(a) for a in call.get("args", [])]
        kwargs = {k: _decode(v) for k, v in call.get("kwargs", {}).items()}
        return await method(*args, **kwargs)
    if kind == "schema":
        frame = await peer.efd.get_schema(call["topic"])
        return frame
    if kind == "list_names":
        return EfdClient.list_efd_names(creds_service=peer.creds_service)
    if kind == "ping":
        # Header names only, lower-cased: HTTP names are case-insensitive and the
        # versions differ by design (aioinflux hands back a plain dict of them).
        headers = await peer.raw.ping()
        return sorted(k.lower() for k in headers if k.lower().startswith("x-influxdb-"))
    if kind == "write":
        return await peer.raw.write(call["data"])
    if kind == "raw":
        kwargs = {"epoch": call.get("epoch", "ns"), "chunked": call.get("chunked", False)}
        for key in ("chunk_size", "db"):
            if call.get(key) is not None:
                kwargs[key] = call[key]
        answer = await peer.raw.query(call["query"], **kwargs)
        if kwargs["chunked"]:
            return Chunks([part async for part in answer])
        return answer
    raise ValueError(f"unknown call kind {kind!r}")


async def _outcome(peer: Peer | Error, call: dict[str, Any]) -> Any:
    if isinstance(peer, Error):
        return Error(peer.type, f"peer not set up: {peer.message}")
    try:
        return await asyncio.wait_for(_run(peer, call), CALL_TIMEOUT_S)
    except Exception as err:
        return Error(type(err).__name__, str(err))


def describe(value: Any) -> str:
    """A readable account of one answer, cut to a few thousand characters."""
    if isinstance(value, Error):
        text = value.describe()
    elif isinstance(value, Chunks):
        inner = describe(value.combined())
        text = f"{len(value.parts)} chunks of {[_size(p) for p in value.parts]}; together {inner}"
    elif isinstance(value, pd.DataFrame):
        with pd.option_context("display.width", 200, "display.max_columns", 12):
            head = value.head(3).to_string()
            tail = value.tail(2).to_string() if len(value) > 3 else ""
        dtypes = ", ".join(f"{c}: {t}" for c, t in value.dtypes.items())
        text = (
            f"DataFrame name={_frame_name(value)!r} shape={value.shape} "
            f"index={type(value.index).__name__}[{value.index.dtype}] dtypes {{{dtypes}}}\n"
            f"{head}\n{tail}"
        )
    elif isinstance(value, dict):
        text = "dict {" + "; ".join(f"{k!r}: {describe(v)}" for k, v in value.items()) + "}"
    elif isinstance(value, list) and any(isinstance(v, dict | pd.DataFrame) for v in value):
        text = "list [" + "; ".join(describe(v) for v in value) + "]"
    else:
        text = f"{type(value).__name__} {value!r}"
    return text if len(text) <= DESCRIBE_CHARS else text[:DESCRIBE_CHARS] + " …"


def _frame_name(frame: pd.DataFrame) -> Any:
    """The ``name`` aioinflux set on the frame (an attribute, not a column called name)."""
    return frame.__dict__.get("name")


def _size(part: Any) -> Any:
    return len(part) if isinstance(part, pd.DataFrame) else type(part).__name__


def compare(a: Any, b: Any, call: dict[str, Any], where: str = "") -> list[str]:
    """What differs between InfluxDB's answer ``a`` and openefd's ``b`` (empty: equal)."""
    at = f" at {where}" if where else ""
    if isinstance(a, Error) or isinstance(b, Error):
        if not (isinstance(a, Error) and isinstance(b, Error)):
            return [f"only one side raised{at}"]
        problems = []
        if a.type != b.type:
            problems.append(f"exception types differ{at}: {a.type} vs {b.type}")
        for needle in call.get("mentions", []):
            for side, err in (("InfluxDB", a), ("openefd", b)):
                if needle.lower() not in err.message.lower():
                    problems.append(f"{side}'s message does not mention {needle!r}{at}")
        return problems
    if isinstance(a, Chunks) and isinstance(b, Chunks):
        sizes_a, sizes_b = [_size(p) for p in a.parts], [_size(p) for p in b.parts]
        cut = [] if sizes_a == sizes_b else [f"chunks differ: {sizes_a} vs {sizes_b}"]
        return cut + compare(a.combined(), b.combined(), call, where or "chunks concatenated")
    if type(a) is not type(b):
        return [f"answer types differ{at}: {type(a).__name__} vs {type(b).__name__}"]
    if isinstance(a, pd.DataFrame):
        problems = []
        name_a, name_b = _frame_name(a), _frame_name(b)
        if name_a != name_b:
            problems.append(f"frame name differs{at}: {name_a!r} vs {name_b!r}")
        rtol = call.get("rtol")
        try:
            pd.testing.assert_frame_equal(
                a,
                b,
                check_exact=rtol is None,
                rtol=rtol if rtol is not None else 1e-5,
                check_freq=False,
            )
        except AssertionError as err:
            problems.append(f"frames differ{at}: {err}")
        return problems
    if isinstance(a, dict):
        if list(a) != list(b):
            return [f"keys differ{at}: {list(a)} vs {list(b)}"]
        return [p for k in a for p in compare(a[k], b[k], call, f"{where}[{k!r}]")]
    if isinstance(a, list) and any(isinstance(v, dict | pd.DataFrame) for v in a + b):
        if len(a) != len(b):
            return [f"lengths differ{at}: {len(a)} vs {len(b)}"]
        pairs = enumerate(zip(a, b, strict=True))
        return [p for i, (x, y) in pairs for p in compare(x, y, call, f"{where}[{i}]")]
    return [] if a == b else [f"values differ{at}"]


def _value(answer: Any) -> Any:
    """An openefd-only answer as JSON: a frame as records of its schema columns."""
    if not isinstance(answer, pd.DataFrame):
        return answer
    frame = answer
    cols = [c for c in ("name", "description", "units", "is_array") if c in frame.columns]
    return [
        {
            c: (None if pd.isna(v) else (bool(v) if c == "is_array" else str(v)))
            for c, v in row.items()
        }
        for row in frame[cols].to_dict("records")
    ]


async def main() -> list[dict[str, Any]]:
    job = json.load(sys.stdin)
    peers: dict[str, Peer | Error] = {}
    for name in ("influxdb", "openefd"):
        try:
            peers[name] = _make_peer(name, job["peers"][name])
        except Exception as err:
            peers[name] = Error(type(err).__name__, f"{err}\n{traceback.format_exc(limit=3)}")
    out = []
    for call in job["calls"]:
        if call["kind"] in OPENEFD_ONLY:
            answer = await _outcome(peers["openefd"], call)
            failed = isinstance(answer, Error)
            out.append(
                {
                    "id": call["id"],
                    "ok": not failed,
                    "problems": [answer.describe()] if failed else [],
                    "influxdb": "(no InfluxDB side)",
                    "openefd": describe(answer),
                    "value": None if failed else _value(answer),
                }
            )
            continue
        a = await _outcome(peers["influxdb"], call)
        b = await _outcome(peers["openefd"], call)
        problems = compare(a, b, call)
        out.append(
            {
                "id": call["id"],
                "ok": not problems,
                "problems": problems,
                "influxdb": describe(a),
                "openefd": describe(b),
            }
        )
    for peer in peers.values():
        if isinstance(peer, Peer):
            await peer.raw.close()
            await peer.efd.influx_client.close()
    return out


if __name__ == "__main__":
    for var in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        if not os.environ.get(var):
            sys.exit(f"set {var} to the test CA's PEM file (both peers speak HTTPS only)")
    json.dump(asyncio.run(main()), sys.stdout)
