"""The credentials a request presents, in every form InfluxDB 1.x and openefd accept.

In InfluxDB's order (``parseCredentials`` in ``services/httpd/handler.go``):

1. ``u`` and ``p`` query parameters (``p`` alone is accepted too);
2. ``Authorization: Bearer <token>`` (InfluxDB's JWT slot, openefd's token);
3. ``Authorization: Token <token>`` or ``Token <user>:<token>`` (the form
   InfluxDB 2 clients send to 1.8);
4. HTTP basic auth, the password being the token.

Secrets never leave this module except to be hashed by the token book.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from fastapi import Request

from openefd.errors import AuthenticationError
from openefd.server.tokens import TOKEN_PREFIX

__all__ = ["Credentials", "presented_credentials"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """A presented token, with the user name that came with it (None: none given)."""

    user: str | None
    secret: str


def presented_credentials(request: Request) -> Credentials | None:
    """The credentials of ``request`` in any InfluxDB form; None when there are none."""
    params = request.query_params
    user, password = params.get("u"), params.get("p")
    if user and password:
        return Credentials(user, password)
    header = request.headers.get("authorization", "").strip()
    if header:
        scheme, _, value = header.partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "bearer" and value:
            return Credentials(None, value)
        if scheme == "token" and value:
            name, sep, secret = value.partition(":")
            if sep and not value.startswith(TOKEN_PREFIX):
                return Credentials(name or None, secret)
            return Credentials(None, value)
        if scheme == "basic" and value:
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise AuthenticationError("malformed basic authorization header") from None
            name, sep, secret = decoded.partition(":")
            if sep and secret:
                return Credentials(name or None, secret)
        raise AuthenticationError(f"unsupported or empty authorization header ({scheme!r})")
    if password:
        return Credentials(None, password)
    return None
