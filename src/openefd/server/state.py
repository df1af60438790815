"""What every request handler of one server shares."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from openefd.settings import Settings
from openefd.store.duckdb_store import Store

__all__ = ["Principal", "Scope", "ServerState", "TokenCheck"]


class Scope(StrEnum):
    """What a token allows. ``admin`` implies ``write``, which implies ``read``."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token's name and its scopes (``anonymous`` when auth is off)."""

    name: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        if Scope.ADMIN in self.scopes:
            return True
        if scope is Scope.READ:
            return bool(self.scopes & {Scope.READ, Scope.WRITE})
        return scope in self.scopes


class TokenCheck(Protocol):
    """Looks a presented secret up (implemented by ``tokens.TokenBook``)."""

    def enabled(self) -> bool:
        """True when at least one token exists: every request must then authenticate."""
        ...

    def check(self, secret: str, user: str | None = None) -> Principal | None:
        """The principal of a presented token (or basic-auth password), None if unknown
        (or when the token is bound to a user name other than ``user``)."""
        ...


@dataclass(slots=True)
class ServerState:
    """The open store, the settings and the token book of one running server."""

    store: Store
    settings: Settings
    tokens: TokenCheck
