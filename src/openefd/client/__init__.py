"""Clients: the lsst-efd-client API over an embedded store or an openefd server."""

from openefd.client.async_client import EfdClient
from openefd.client.http_client import RemoteEfdClientSync
from openefd.client.sync_client import EfdClientSync

__all__ = ["EfdClient", "EfdClientSync", "RemoteEfdClientSync"]
