"""Clients: the lsst-efd-client API over an embedded store."""

from openefd.client.async_client import EfdClient
from openefd.client.sync_client import EfdClientSync

__all__ = ["EfdClient", "EfdClientSync"]
