"""Clients: the lsst-efd-client API over an embedded store or an openefd server,
and summit_utils-style helpers over either."""

from openefd.client.async_client import EfdClient
from openefd.client.http_client import RemoteEfdClientSync
from openefd.client.summit_helpers import getEfdData, getMostRecentRowWithDataBefore
from openefd.client.sync_client import EfdClientSync

__all__ = [
    "EfdClient",
    "EfdClientSync",
    "RemoteEfdClientSync",
    "getEfdData",
    "getMostRecentRowWithDataBefore",
]
