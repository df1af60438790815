"""The exposure registry's tables and their idempotent upsert.

Two tables in the store's database:

``_openefd_exposures``, key ``(instrument, exposure_id)``
    One row per exposure, as the butler's ``exposure`` dimension records it.
    Butler field → column: ``id`` → ``exposure_id``, ``exposure_time`` →
    ``exposure_time_s``, ``dark_time`` → ``dark_time_s``, ``tracking_ra``,
    ``tracking_dec``, ``azimuth``, ``zenith_angle`` → the same with ``_deg``;
    ``timespan`` → ``timespan_begin_tai_ns``/``timespan_end_tai_ns``: the
    shutter-open interval, half-open ``[begin, end)``, TAI ns (a bias has an
    empty one, begin = end). The shutter closes at ``timespan_end_tai_ns``.

``_openefd_image_arrivals``, key ``(instrument, exposure_id, detector, delivery)``
    One row per delivery of one detector's raw image: ``delivery`` 0 is the
    first, 1, 2, … are re-sends of the same object. ``s3_arrival_tai_ns``,
    ``notification_tai_ns`` (bucket notification) and ``ingest_tai_ns``
    (butler ingest) are TAI ns, NULL where unknown. ``day_obs`` is stored
    with every image so that images without an exposure record are still
    found by night.

Upserts are idempotent: loading the same rows again changes nothing; a row
whose key is stored takes the new values of the columns given (columns the
batch does not have keep their stored values), so importers that each know
part of a row (S3 arrival, butler ingest) can write into the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from openefd.errors import RecordError
from openefd.store.registry import quote_ident
from openefd.store.sql import run, run_one

if TYPE_CHECKING:
    from openefd.store.duckdb_store import Store

__all__ = [
    "ARRIVALS",
    "EXPOSURES",
    "RegistryTable",
    "UpsertCounts",
    "ensure_tables",
    "table_exists",
    "upsert",
]


@dataclass(frozen=True, slots=True)
class RegistryTable:
    """A registry table: its name, key columns and every column's DuckDB and Arrow type."""

    name: str
    key: tuple[str, ...]
    columns: dict[str, tuple[str, pa.DataType]]

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([(c, t) for c, (_, t) in self.columns.items()])

    def ddl(self) -> str:
        cols = [
            f"{quote_ident(c)} {sql}{' NOT NULL' if c in self.key else ''}"
            for c, (sql, _) in self.columns.items()
        ]
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({', '.join(cols)})"


_TEXT = ("VARCHAR", pa.string())
_I64 = ("BIGINT", pa.int64())
_I32 = ("INTEGER", pa.int32())
_F64 = ("DOUBLE", pa.float64())

EXPOSURES = RegistryTable(
    "_openefd_exposures",
    ("instrument", "exposure_id"),
    {
        "instrument": _TEXT,
        "exposure_id": _I64,
        "obs_id": _TEXT,
        "day_obs": _I32,
        "seq_num": _I32,
        "group": _TEXT,
        "physical_filter": _TEXT,
        "band": _TEXT,
        "observation_type": _TEXT,
        "observation_reason": _TEXT,
        "science_program": _TEXT,
        "exposure_time_s": _F64,
        "dark_time_s": _F64,
        "timespan_begin_tai_ns": _I64,
        "timespan_end_tai_ns": _I64,
        "can_see_sky": ("BOOLEAN", pa.bool_()),
        "tracking_ra_deg": _F64,
        "tracking_dec_deg": _F64,
        "azimuth_deg": _F64,
        "zenith_angle_deg": _F64,
    },
)

ARRIVALS = RegistryTable(
    "_openefd_image_arrivals",
    ("instrument", "exposure_id", "detector", "delivery"),
    {
        "instrument": _TEXT,
        "exposure_id": _I64,
        "detector": _I32,
        "delivery": ("SMALLINT", pa.int16()),
        "detector_name": _TEXT,
        "day_obs": _I32,
        "object_key": _TEXT,
        "size_bytes": _I64,
        "s3_arrival_tai_ns": _I64,
        "notification_tai_ns": _I64,
        "ingest_tai_ns": _I64,
    },
)


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    """Rows of one upsert: newly stored, changed (stored with other values), unchanged."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.new + other.new, self.changed + other.changed, self.unchanged + other.unchanged
        )


def table_exists(con: duckdb.DuckDBPyConnection, table: RegistryTable) -> bool:
    found = run_one(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table.name])
    return bool(found and found[0])


def ensure_tables(store: Store) -> None:
    """Create both registry tables when missing (inside the store's write transaction)."""
    with store.transaction():
        for table in (EXPOSURES, ARRIVALS):
            run(store._con, table.ddl())


_BATCH = "_openefd_registry_batch"


def upsert(store: Store, table: RegistryTable, rows: pa.Table) -> UpsertCounts:
    """Store ``rows`` (key columns and any others of ``table``) in one transaction.

    Repeated keys within ``rows``: the last one wins. Key columns must not be null.
    """
    if rows.num_rows == 0:
        return UpsertCounts()
    unknown = [c for c in rows.column_names if c not in table.columns]
    missing = [k for k in table.key if k not in rows.column_names]
    if unknown or missing:
        raise RecordError(
            f"{table.name}: "
            + (f"unknown columns {unknown} " if unknown else "")
            + (f"missing key columns {missing}" if missing else "")
        )
    for key in table.key:
        if rows[key].null_count:
            raise RecordError(f"{table.name}: key column {key!r} must not be null")
    given = [c for c in table.columns if c in rows.column_names]
    rows = rows.select(given).cast(pa.schema([(c, table.columns[c][1]) for c in given]))
    rows = rows.append_column("_openefd_row", pa.array(range(rows.num_rows), pa.int64()))
    values = [c for c in given if c not in table.key]
    absent = [c for c in table.columns if c not in given]
    q = quote_ident
    on = " AND ".join(f"t.{q(k)} = b.{q(k)}" for k in table.key)
    differs = " OR ".join(f"b.{q(c)} IS DISTINCT FROM t.{q(c)}" for c in values) or "false"
    select = ", ".join([*(f"b.{q(c)}" for c in given), *(f"t.{q(c)}" for c in absent)])
    span = pc.min_max(rows["exposure_id"])
    lo, hi = int(span["min"].as_py()), int(span["max"].as_py())
    with store.transaction():
        con = store._con
        ensure_tables(store)
        con.register(_BATCH, rows)
        try:
            # Newest row per key, merged with the stored one; kept only when new or different.
            merged: pa.Table = con.sql(
                f"WITH b AS (SELECT * FROM {_BATCH} QUALIFY row_number() OVER "
                f"(PARTITION BY {', '.join(q(k) for k in table.key)} "
                "ORDER BY _openefd_row DESC) = 1), "
                f"t AS (SELECT * FROM {table.name} WHERE exposure_id BETWEEN ? AND ?) "
                f"SELECT {select}, t.{q(table.key[0])} IS NULL AS _openefd_new, "
                f"t.{q(table.key[0])} IS NULL OR ({differs}) AS _openefd_write "
                f"FROM b LEFT JOIN t ON {on}",
                params=[lo, hi],
            ).to_arrow_table()
        finally:
            con.unregister(_BATCH)
        new = int(pc.sum(merged["_openefd_new"].cast(pa.int64())).as_py() or 0)
        write = merged.filter(merged["_openefd_write"])
        changed = write.num_rows - new
        if write.num_rows:
            order = list(table.columns)
            write = write.select(order)
            con.register(_BATCH, write)
            try:
                if changed:
                    run(con, f"DELETE FROM {table.name} t USING {_BATCH} b WHERE {on}")
                run(
                    con,
                    f"INSERT INTO {table.name} ({', '.join(q(c) for c in order)}) "
                    f"SELECT {', '.join(q(c) for c in order)} FROM {_BATCH}",
                )
            finally:
                con.unregister(_BATCH)
            for listener in store.record_listeners:
                listener(table.name, write)
    return UpsertCounts(new, changed, merged.num_rows - write.num_rows)
