"""Databases, retention policies and measurements as InfluxQL sees the store.

openefd answers to one database (``settings.influx_database``, ``efd``)
with one retention policy (``settings.influx_retention_policy``,
``autogen``); its measurements are the topics that hold data (committed,
or pending from the live writer). A topic that is registered but was never
written to is not a measurement, as in InfluxDB.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from openefd.errors import QueryError
from openefd.query.influxql import ast
from openefd.settings import Settings
from openefd.store.duckdb_store import Store

__all__ = ["check_database", "has_data", "measurements", "topics_with_data"]


def check_database(
    settings: Settings, database: str | None, retention_policy: str | None = None
) -> None:
    """Raise InfluxDB's error unless ``database`` (and ``retention_policy``) exist."""
    if not database:
        raise QueryError("database name required")
    if database != settings.influx_database:
        raise QueryError(f"database not found: {database}")
    if retention_policy and retention_policy != settings.influx_retention_policy:
        raise QueryError(f"retention policy not found: {retention_policy}")


def topics_with_data(store: Store) -> list[str]:
    """Topics with committed or pending rows, sorted."""
    names = set(store.registry.tables())
    names.update(t for t in store.pending.peek_all() if store.registry.layout(t) is not None)
    return sorted(names)


def has_data(store: Store, topic: str) -> bool:
    if store.registry.layout(topic) is None:
        return False
    return store.registry.has_table(topic) or store.pending.snapshot(topic) is not None


def measurements(
    store: Store,
    settings: Settings,
    sources: Iterable[ast.Measurement],
    database: str | None,
) -> list[str]:
    """The topics named or matched by ``sources`` that hold data, sorted, each once.

    Raises
    ------
    QueryError
        For a missing or unknown database or retention policy.
    """
    found: set[str] = set()
    every: list[str] | None = None
    for m in sources:
        check_database(settings, m.database or database, m.retention_policy)
        if m.name is not None:
            if has_data(store, m.name):
                found.add(m.name)
            continue
        assert m.regex is not None
        if every is None:
            every = topics_with_data(store)
        pattern = re.compile(m.regex.pattern)
        found.update(t for t in every if pattern.search(t))
    return sorted(found)
