"""Clients: the lsst-efd-client API over an embedded store."""
