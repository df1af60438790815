"""The topic registry: every version of every topic definition, kept in the store.

Each topic has a *current* definition (the last registered) and a *layout*:
the union of the fields of all its versions, types widened so one column holds
them all. The topic's table has exactly the layout's columns, so data written
under any version stays readable, and writable: a field dropped by a new
definition keeps its column, a new field gets one, a resized array needs none.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import duckdb
import pyarrow as pa

from openefd.schema.model import FieldSchema, TopicSchema
from openefd.store.columns import TIME_COLUMN, duckdb_type, widen
from openefd.store.sql import run, run_one

__all__ = ["RegisterOutcome", "TopicRegistry", "quote_ident"]

_VERSIONS = "_openefd_topic_versions"
_LAYOUTS = "_openefd_topic_layouts"

RegisterOutcome = Literal["created", "updated", "unchanged"]


def quote_ident(name: str) -> str:
    """A DuckDB identifier for any name (topic names have dots)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class _Change:
    outcome: RegisterOutcome
    layout: TopicSchema
    ddl: list[str]


def _merge_layout(old: TopicSchema, new: TopicSchema) -> tuple[TopicSchema, list[str]]:
    """The layout holding both, and the DDL that turns ``old``'s table into it."""
    table = quote_ident(new.name)
    merged: list[FieldSchema] = []
    ddl: list[str] = []
    for field in new.fields:
        prior = old.field(field.name)
        if prior is None:
            merged.append(field)
            ddl.append(
                f"ALTER TABLE {table} ADD COLUMN {quote_ident(field.name)} {duckdb_type(field)}"
            )
            continue
        joined = widen(new.name, prior, field)
        if duckdb_type(joined) != duckdb_type(prior):
            ddl.append(
                f"ALTER TABLE {table} ALTER COLUMN {quote_ident(field.name)} "
                f"TYPE {duckdb_type(joined)}"
            )
        merged.append(joined)
    names = {f.name for f in new.fields}
    merged.extend(f for f in old.fields if f.name not in names)
    return new.with_fields(tuple(merged)), ddl


def create_table_ddl(layout: TopicSchema) -> str:
    cols = [f"{TIME_COLUMN} BIGINT NOT NULL"]
    cols += [f"{quote_ident(f.name)} {duckdb_type(f)}" for f in layout.fields]
    return f"CREATE TABLE {quote_ident(layout.name)} ({', '.join(cols)})"


class TopicRegistry:
    """Topic definitions of one store, cached in memory, persisted in DuckDB."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, read_only: bool = False) -> None:
        self._con = con
        self._current: dict[str, TopicSchema] = {}
        self._versions: dict[str, int] = {}
        self._layouts: dict[str, TopicSchema] = {}
        self._tables: set[str] = set()  # committed: what readers can see
        self._new_tables: set[str] = set()  # created in the open transaction
        self.changed = False
        self.generation = 0  # bumped by every change to any table's columns
        if read_only:
            found = run_one(
                con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [_VERSIONS]
            )
            if found and found[0]:
                self.reload()
            return
        run(
            con,
            f"CREATE TABLE IF NOT EXISTS {_VERSIONS} (topic VARCHAR NOT NULL, "
            "version INTEGER NOT NULL, digest VARCHAR NOT NULL, definition JSON NOT NULL, "
            "registered_utc TIMESTAMP NOT NULL, PRIMARY KEY (topic, version))",
        )
        run(
            con,
            f"CREATE TABLE IF NOT EXISTS {_LAYOUTS} (topic VARCHAR PRIMARY KEY, "
            "layout JSON NOT NULL)",
        )
        self.reload()

    def reload(self) -> None:
        """Read the registry from the database again (after a rolled-back change)."""
        rows = run(
            self._con,
            f"SELECT topic, version, definition FROM {_VERSIONS} "
            "QUALIFY version = max(version) OVER (PARTITION BY topic)",
        )
        self._current = {t: TopicSchema.from_json(json.loads(d)) for t, _, d in rows}
        self._versions = {t: int(v) for t, v, _ in rows}
        layouts = run(self._con, f"SELECT topic, layout FROM {_LAYOUTS}")
        self._layouts = {t: TopicSchema.from_json(json.loads(d)) for t, d in layouts}
        existing = run(self._con, "SELECT table_name FROM duckdb_tables()")
        self._tables = {t for (t,) in existing if t in self._layouts}
        self._new_tables = set()
        self.changed = False

    def names(self) -> list[str]:
        return sorted(self._layouts)

    def current(self, topic: str) -> TopicSchema | None:
        """The latest registered definition of ``topic``."""
        return self._current.get(topic)

    def layout(self, topic: str) -> TopicSchema | None:
        """The union of all versions of ``topic``: its table's columns."""
        return self._layouts.get(topic)

    def version(self, topic: str) -> int:
        return self._versions.get(topic, 0)

    def history(self, topic: str) -> list[TopicSchema]:
        rows = run(
            self._con,
            f"SELECT definition FROM {_VERSIONS} WHERE topic = ? ORDER BY version",
            [topic],
        )
        return [TopicSchema.from_json(json.loads(d)) for (d,) in rows]

    def register(self, schema: TopicSchema) -> RegisterOutcome:
        """Record ``schema`` as the current definition; see :meth:`register_many`."""
        return self.register_many([schema])[0]

    def register_many(self, schemas: Iterable[TopicSchema]) -> list[RegisterOutcome]:
        """Record definitions as current; alters existing tables as needed.

        Tables are created on a topic's first write (:meth:`ensure_table`), so
        registering thousands of topics is cheap. Must run inside the caller's
        transaction; after a rollback the caller calls :meth:`reload`.
        """
        outcomes: list[RegisterOutcome] = []
        versions: list[tuple[str, int, str, str, dt.datetime]] = []
        layouts: dict[str, str] = {}
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # naive UTC, as the name says
        for schema in schemas:
            change = self._plan(schema)
            outcomes.append(change.outcome)
            if change.outcome == "unchanged":
                continue
            self.changed = True
            self.generation += 1
            if schema.name in self._tables or schema.name in self._new_tables:
                for statement in change.ddl:
                    run(self._con, statement)
            version = self.version(schema.name) + 1
            versions.append(
                (schema.name, version, schema.digest(), json.dumps(schema.to_json()), now)
            )
            layouts[schema.name] = json.dumps(change.layout.to_json())
            self._current[schema.name] = schema
            self._versions[schema.name] = version
            self._layouts[schema.name] = change.layout
        if versions:
            self._bulk_insert(
                _VERSIONS,
                ["topic", "version", "digest", "definition", "registered_utc"],
                versions,
                replace=False,
            )
            self._bulk_insert(_LAYOUTS, ["topic", "layout"], list(layouts.items()), replace=True)
        return outcomes

    def _bulk_insert(
        self, table: str, names: list[str], rows: list[tuple[Any, ...]], *, replace: bool
    ) -> None:
        """Insert many rows at once (DuckDB's executemany is slow per row)."""
        batch = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
        self._con.register("_openefd_registry_rows", batch)
        try:
            verb = "INSERT OR REPLACE" if replace else "INSERT"
            run(self._con, f"{verb} INTO {table} BY NAME SELECT * FROM _openefd_registry_rows")
        finally:
            self._con.unregister("_openefd_registry_rows")

    def has_table(self, topic: str) -> bool:
        """Whether ``topic`` has a committed table, i.e. has been written to."""
        return topic in self._tables

    def tables(self) -> list[str]:
        """Topics that have a table, sorted."""
        return sorted(self._tables)

    def ensure_table(self, topic: str) -> None:
        """Create ``topic``'s table from its layout if it has none (inside a transaction)."""
        if topic in self._tables or topic in self._new_tables:
            return
        layout = self._layouts[topic]
        self.changed = True
        run(self._con, create_table_ddl(layout))
        self._new_tables.add(topic)

    def writer_has_table(self, topic: str) -> bool:
        """Whether ``topic`` has a table for the writer (created in its open transaction too)."""
        return topic in self._tables or topic in self._new_tables

    def created_now(self, topic: str) -> bool:
        """Whether the open transaction created ``topic``'s table (columns in layout order)."""
        return topic in self._new_tables

    def committed(self) -> None:
        """The writer's transaction committed: its new tables are now everyone's."""
        self._tables |= self._new_tables
        self._new_tables = set()

    def _plan(self, schema: TopicSchema) -> _Change:
        old_layout = self._layouts.get(schema.name)
        if old_layout is None:
            return _Change("created", schema, [])
        current = self._current.get(schema.name)
        if current is not None and current.digest() == schema.digest():
            return _Change("unchanged", old_layout, [])
        layout, ddl = _merge_layout(old_layout, schema)
        return _Change("updated", layout, ddl)
