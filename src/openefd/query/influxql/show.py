"""SHOW statements, answered from the topic registry as InfluxDB 1.x shapes them.

- ``SHOW DATABASES``: series ``databases``, column ``name``, the one database.
  InfluxDB also lists ``_internal`` when it monitors itself; openefd has no
  such database, and listing one that cannot be queried would only mislead
  tools (Chronograf, Grafana) that offer every listed database.
- ``SHOW RETENTION POLICIES``: an unnamed series (``name == ""``; the
  encoder leaves ``name`` out, as InfluxDB does) with ``name, duration,
  shardGroupDuration, replicaN, default`` = ``autogen, 0s, 168h0m0s, 1,
  true`` (keep forever, InfluxDB 1.6's defaults).
- ``SHOW MEASUREMENTS``: series ``measurements``, column ``name``.
- ``SHOW FIELD KEYS``: a series per measurement, columns ``fieldKey,
  fieldType`` (``float``, ``integer``, ``string``, ``boolean``), arrays
  flattened as the EFD names them (``xForces0`` …), sorted; only fields
  that hold values (see :mod:`.fieldset`), as InfluxDB lists them.
- ``SHOW TAG KEYS`` / ``SHOW TAG VALUES``: openefd stores no tags, so no
  series, as InfluxDB answers for measurements without tags.
- ``SHOW SERIES``: an unnamed series, column ``key``: one key per
  measurement (a series key without tags is the measurement name).

An empty answer has no series at all. LIMIT and OFFSET apply to the rows of
each series.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from openefd.errors import QueryError
from openefd.query.influxql import ast
from openefd.query.influxql.catalog import check_database, measurements, topics_with_data
from openefd.query.influxql.fieldset import written_fields
from openefd.query.influxql.results import Series
from openefd.query.influxql.selection import field_kind
from openefd.query.select import array_lengths
from openefd.settings import Settings
from openefd.store.duckdb_store import Store

__all__ = ["run_show"]

_NO_TAGS = (
    "openefd stores no tags, so a WHERE on {what} matches on tags that do not exist; drop it"
)


def _page(items: list[Any], limit: int, offset: int) -> list[Any]:
    return items[offset : offset + limit] if limit else items[offset:]


def _names(name: str, column: str, values: list[str]) -> list[Series]:
    if not values:
        return []
    return [Series(name, [column], [np.array(values, dtype=object)], time_column=False)]


def _database(
    stmt_db: str | None, database: str | None, sources: tuple[ast.Measurement, ...]
) -> str | None:
    if stmt_db is not None:
        return stmt_db
    named = [m.database for m in sources if m.database is not None]
    return named[0] if named else database


def _all_sources(
    store: Store, settings: Settings, sources: tuple[ast.Measurement, ...], database: str | None
) -> list[str]:
    check_database(settings, database)
    if not sources:
        return topics_with_data(store)
    return measurements(store, settings, sources, database)


def _name_matches(op: str | None, value: str | ast.RegexLiteral | None, name: str) -> bool:
    if op is None or value is None:
        return True
    if isinstance(value, ast.RegexLiteral):
        found = re.search(value.pattern, name) is not None
        return found if op in ("=~", "=") else not found
    return (name == value) if op in ("=", "=~") else (name != value)


def _field_keys(store: Store, topic: str, limit: int, offset: int) -> Series | None:
    layout = store.layout(topic)
    refs = _page(written_fields(store, layout, array_lengths(store, layout)), limit, offset)
    if not refs:
        return None
    keys = np.array([r.name for r in refs], dtype=object)
    kinds = np.array([field_kind(r.field.type) for r in refs], dtype=object)
    return Series(topic, ["fieldKey", "fieldType"], [keys, kinds], time_column=False)


def _retention_policies(settings: Settings) -> list[Series]:
    values: list[Any] = [
        np.array([settings.influx_retention_policy], dtype=object),
        np.array(["0s"], dtype=object),
        np.array(["168h0m0s"], dtype=object),
        np.array([1], dtype=np.int64),
        np.array([True]),
    ]
    columns = ["name", "duration", "shardGroupDuration", "replicaN", "default"]
    return [Series("", columns, values, time_column=False)]


def run_show(
    store: Store, settings: Settings, stmt: ast.Statement, database: str | None
) -> list[Series]:
    """The series answering a SHOW statement.

    Raises
    ------
    QueryError
        For a missing or unknown database, or a WHERE on tags.
    """
    if isinstance(stmt, ast.ShowDatabases):
        return _names("databases", "name", [settings.influx_database])
    if isinstance(stmt, ast.ShowRetentionPolicies):
        check_database(settings, stmt.database or database)
        return _retention_policies(settings)
    if isinstance(stmt, ast.ShowMeasurements):
        check_database(settings, stmt.database or database)
        if stmt.condition is not None:
            raise QueryError(_NO_TAGS.format(what="SHOW MEASUREMENTS"))
        names = [
            t for t in topics_with_data(store) if _name_matches(stmt.name_op, stmt.name_value, t)
        ]
        return _names("measurements", "name", _page(names, stmt.limit, stmt.offset))
    if isinstance(stmt, ast.ShowFieldKeys):
        db = _database(stmt.database, database, stmt.sources)
        topics = _all_sources(store, settings, stmt.sources, db)
        found = (_field_keys(store, t, stmt.limit, stmt.offset) for t in topics)
        return [s for s in found if s is not None]
    if isinstance(stmt, ast.ShowTagKeys | ast.ShowTagValues):
        db = _database(stmt.database, database, stmt.sources)
        _all_sources(store, settings, stmt.sources, db)
        return []
    if isinstance(stmt, ast.ShowSeries):
        db = _database(stmt.database, database, stmt.sources)
        if stmt.condition is not None:
            raise QueryError(_NO_TAGS.format(what="SHOW SERIES"))
        topics = _all_sources(store, settings, stmt.sources, db)
        return _names("", "key", _page(topics, stmt.limit, stmt.offset))
    raise QueryError(f"unsupported statement {type(stmt).__name__}")
