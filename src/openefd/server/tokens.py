"""Access tokens: hashed, scoped, kept in ``tokens.json`` in the store directory.

A token is a random secret (``oefd_`` + 43 URL-safe characters) shown once
when it is made; the book keeps only its SHA-256, its name, scopes (``read``,
``write``, ``admin``), creation time (UTC, ISO 8601) and an optional user
name that InfluxDB-style basic auth (and the ``u`` parameter) must then give.

The book lives in a JSON file next to the DuckDB file, not in DuckDB: the
server holds the database open and locked, and ``openefd token create`` /
``revoke`` must work while it runs. The file is written atomically (temporary
file, fsync, rename; mode 0600) under an exclusive lock, and a running server
re-reads it when it changes, so new and revoked tokens take effect at once.

A book whose file cannot be read after it was loaded keeps nothing valid
(every request is refused) rather than letting everyone in.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openefd.errors import ConfigurationError
from openefd.server.state import Principal, Scope

__all__ = ["TOKEN_FILE", "TOKEN_PREFIX", "TokenBook", "TokenRecord", "new_secret"]

TOKEN_FILE = "tokens.json"
TOKEN_PREFIX = "oefd_"
_FORMAT_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_log = logging.getLogger("openefd.server")


def new_secret() -> str:
    """A fresh token secret: ``oefd_`` and 256 random bits, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """One token as the book keeps it (never the secret itself)."""

    name: str
    scopes: frozenset[Scope]
    created: str
    sha256: str
    user: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scopes": sorted(s.value for s in self.scopes),
            "created": self.created,
            "sha256": self.sha256,
            "user": self.user,
        }

    @classmethod
    def from_json(cls, doc: Any, where: str) -> TokenRecord:
        try:
            scopes = frozenset(Scope(s) for s in doc["scopes"])
            user = doc.get("user")
            record = cls(str(doc["name"]), scopes, str(doc["created"]), str(doc["sha256"]), user)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ConfigurationError(f"{where}: malformed token entry {doc!r}: {err}") from err
        if user is not None and not isinstance(user, str):
            raise ConfigurationError(f"{where}: token {record.name!r} has a non-text user")
        return record


class TokenBook:
    """The tokens of one store; implements the server's ``TokenCheck``.

    ``required``: authentication is demanded even when the book is empty
    (a server listening beyond loopback refuses everyone rather than no one).
    """

    def __init__(self, path: Path | str, *, required: bool = False) -> None:
        self.path = Path(path)
        self.required = required
        self._lock = threading.Lock()
        self._records: dict[str, TokenRecord] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._broken = False
        self._refresh(strict=True)

    @classmethod
    def for_store(cls, store_dir: Path | str, *, required: bool = False) -> TokenBook:
        return cls(Path(store_dir) / TOKEN_FILE, required=required)

    # -- reading --------------------------------------------------------------
    def _read(self) -> tuple[dict[str, TokenRecord], tuple[int, int, int] | None]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return {}, None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ConfigurationError(f"cannot read token file {self.path}: {err}") from err
        if not isinstance(doc, dict) or not isinstance(doc.get("tokens"), list):
            raise ConfigurationError(f"{self.path}: not an openefd token file")
        records = [TokenRecord.from_json(item, str(self.path)) for item in doc["tokens"]]
        return {r.name: r for r in records}, stamp

    def _current_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError:
            return (-1, -1, -1)
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _refresh(self, *, strict: bool = False) -> None:
        with self._lock:
            if not strict and self._current_stamp() == self._stamp and not self._broken:
                return
            try:
                records, stamp = self._read()
            except ConfigurationError:
                if strict:
                    raise
                _log.exception("token file unreadable; refusing every request until it is fixed")
                self._records, self._broken = {}, True
                return
            had_tokens = bool(self._records) or self._broken
            self._records, self._stamp, self._broken = records, stamp, False
            if had_tokens and stamp is None:
                _log.warning("token file %s removed: no tokens are valid any more", self.path)

    def records(self) -> list[TokenRecord]:
        """Every token, by name."""
        self._refresh()
        return sorted(self._records.values(), key=lambda r: r.name)

    # -- TokenCheck ------------------------------------------------------------
    def enabled(self) -> bool:
        """True when requests must authenticate (tokens exist, or the book is required)."""
        self._refresh()
        return self.required or self._broken or bool(self._records) or self._stamp is not None

    def check(self, secret: str, user: str | None = None) -> Principal | None:
        """The principal of ``secret``; None when unknown, revoked or the user differs.

        ``user`` is the name given with basic auth or ``u=``; a token made with
        ``--user`` then only matches that name.
        """
        self._refresh()
        digest = _hash(secret)
        found: TokenRecord | None = None
        for record in self._records.values():  # every entry compared: no early exit
            if hmac.compare_digest(record.sha256, digest):
                found = record
        if found is None:
            return None
        if found.user is not None and user is not None and user != found.user:
            return None
        return Principal(found.name, found.scopes)

    # -- writing (the CLI) ------------------------------------------------------
    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        if not self.path.parent.is_dir():
            raise ConfigurationError(
                f"no store directory at {self.path.parent} (create the store first: openefd init)"
            )
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._refresh(strict=True)
            yield
        finally:
            os.close(fd)

    def _write(self, records: Iterable[TokenRecord]) -> None:
        doc = {
            "version": _FORMAT_VERSION,
            "tokens": [r.to_json() for r in sorted(records, key=lambda r: r.name)],
        }
        data = (json.dumps(doc, indent=2) + "\n").encode("utf-8")
        fd, tmp = tempfile.mkstemp(prefix=".tokens-", suffix=".tmp", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._refresh(strict=True)

    def create(
        self, name: str, scopes: Iterable[Scope], *, user: str | None = None
    ) -> tuple[TokenRecord, str]:
        """Make a token; returns its record and its secret (shown once, never stored)."""
        if not _NAME.match(name):
            raise ConfigurationError(
                f"token name {name!r}: use 1–64 letters, digits and . _ @ - "
                "(starting with a letter or digit)"
            )
        scope_set = frozenset(Scope(s) for s in scopes)
        if not scope_set:
            raise ConfigurationError("a token needs at least one scope (read, write or admin)")
        if user is not None and (not user or ":" in user or not user.isprintable()):
            raise ConfigurationError(f"user name {user!r}: non-empty, printable, without ':'")
        with self._exclusive():
            if name in self._records:
                raise ConfigurationError(
                    f"a token named {name!r} exists; revoke it first or choose another name"
                )
            secret = new_secret()
            created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
            record = TokenRecord(name, scope_set, created, _hash(secret), user)
            self._write([*self._records.values(), record])
        return record, secret

    def revoke(self, name: str) -> TokenRecord:
        """Remove the token ``name``; it stops working at once on a running server."""
        with self._exclusive():
            record = self._records.get(name)
            if record is None:
                known = ", ".join(sorted(self._records)) or "none"
                raise ConfigurationError(f"no token named {name!r} (tokens: {known})")
            self._write(r for r in self._records.values() if r.name != name)
        return record
