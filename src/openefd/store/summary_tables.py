"""Stored per-exposure summaries: three tables and their replace-by-exposure writes.

``_openefd_exposure_summaries``, key ``(instrument, exposure_id, name, element)``
    One value per summary column and element (``element`` −1 for a scalar),
    NaN where there was no data — the key/value form of
    :class:`openefd.analysis.summaries.ExposureSummaries`.
``_openefd_exposure_summary_runs``, key ``(instrument, exposure_id)``
    When each exposure was last summarised (``computed_tai_ns``, TAI ns) and
    under which configuration (``config_digest``).
``_openefd_summary_columns``, key ``(config_digest, name)``
    What each column of a configuration means: topic, field, function,
    units, description, UCD, elements.

An exposure's rows are replaced as a whole when it is summarised again, so
they always come from one configuration and one computation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from openefd.store.sql import run, run_one

if TYPE_CHECKING:
    from openefd.store.duckdb_store import Store

__all__ = [
    "COLUMNS",
    "RUNS",
    "VALUES",
    "ensure_summary_tables",
    "read_summaries",
    "replace_summaries",
    "summary_tables_exist",
]

VALUES = "_openefd_exposure_summaries"
RUNS = "_openefd_exposure_summary_runs"
COLUMNS = "_openefd_summary_columns"

_DDL = (
    f"CREATE TABLE IF NOT EXISTS {VALUES} (instrument VARCHAR NOT NULL, "
    "exposure_id BIGINT NOT NULL, name VARCHAR NOT NULL, element INTEGER NOT NULL, "
    "value DOUBLE, PRIMARY KEY (instrument, exposure_id, name, element))",
    f"CREATE TABLE IF NOT EXISTS {RUNS} (instrument VARCHAR NOT NULL, "
    "exposure_id BIGINT NOT NULL, computed_tai_ns BIGINT NOT NULL, "
    "config_digest VARCHAR NOT NULL, PRIMARY KEY (instrument, exposure_id))",
    f"CREATE TABLE IF NOT EXISTS {COLUMNS} (config_digest VARCHAR NOT NULL, "
    "position INTEGER NOT NULL, name VARCHAR NOT NULL, topic VARCHAR, field VARCHAR, "
    "function VARCHAR, sal_index VARCHAR, units VARCHAR, description VARCHAR, ucd VARCHAR, "
    "elements INTEGER NOT NULL, flatten BOOLEAN NOT NULL, PRIMARY KEY (config_digest, name))",
)
_COLUMN_FIELDS = (
    "name",
    "topic",
    "field",
    "function",
    "sal_index",
    "units",
    "description",
    "ucd",
    "elements",
    "flatten",
)
_BATCH = "_openefd_summary_batch"


def summary_tables_exist(con: duckdb.DuckDBPyConnection) -> bool:
    found = run_one(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [RUNS])
    return bool(found and found[0])


def ensure_summary_tables(store: Store) -> None:
    with store.transaction():
        for ddl in _DDL:
            run(store._con, ddl)


def replace_summaries(
    store: Store,
    instrument: str,
    exposure_ids: npt.NDArray[np.int64],
    values: pa.Table,
    columns: pa.Table,
    *,
    config_digest: str,
    computed_tai_ns: int,
) -> None:
    """Replace every stored summary of ``exposure_ids`` by ``values``, in one transaction.

    ``values``: ``exposure_id``, ``name``, ``element`` (−1 for scalars), ``value``;
    ``columns``: the configuration's column table (``name``, ``topic``, … as
    :data:`_COLUMN_FIELDS`), stored once per ``config_digest``.
    """
    ids = pa.table({"exposure_id": pa.array(exposure_ids, pa.int64())})
    runs = ids.append_column(
        "computed_tai_ns", pa.array(np.full(len(ids), computed_tai_ns), pa.int64())
    ).append_column("config_digest", pa.array([config_digest] * len(ids), pa.string()))
    con = store._con
    with store.transaction():
        ensure_summary_tables(store)
        known = run_one(
            con, f"SELECT count(*) FROM {COLUMNS} WHERE config_digest = ?", [config_digest]
        )
        if not (known and known[0]):
            meta = columns.select(list(_COLUMN_FIELDS))
            meta = meta.append_column(
                "position", pa.array(np.arange(meta.num_rows, dtype=np.int32))
            )
            _insert(
                con,
                COLUMNS,
                meta,
                "?, position, name, topic, field, function, sal_index, units, description, "
                "ucd, elements, flatten",
                [config_digest],
            )
        for table in (VALUES, RUNS):
            with _registered(con, ids):
                run(
                    con,
                    f"DELETE FROM {table} WHERE instrument = ? AND exposure_id IN "
                    f"(SELECT exposure_id FROM {_BATCH})",
                    [instrument],
                )
        _insert(con, VALUES, values, "?, exposure_id, name, element, value", [instrument])
        _insert(con, RUNS, runs, "?, exposure_id, computed_tai_ns, config_digest", [instrument])


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, select: str, params: list[str]
) -> None:
    if rows.num_rows == 0:
        return
    with _registered(con, rows):
        run(con, f"INSERT INTO {table} SELECT {select} FROM {_BATCH}", params)


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, rows: pa.Table) -> Iterator[None]:
    """``rows`` as the view ``_BATCH`` while inside; unregistering never masks an error
    raised inside (DuckDB refuses it in a failed transaction)."""
    con.register(_BATCH, rows)
    try:
        yield
    finally:
        with suppress(duckdb.Error):
            con.unregister(_BATCH)


def read_summaries(
    con: duckdb.DuckDBPyConnection, pairs: pa.Table
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The stored values, runs and column tables of the ``(instrument, exposure_id)`` pairs.

    Values come by (instrument, exposure_id, position of the column, element);
    columns are those of every configuration the runs name, in their order.
    """
    with _registered(con, pairs.select(["instrument", "exposure_id"])):
        runs = con.sql(
            f"SELECT r.* FROM {RUNS} r JOIN {_BATCH} b USING (instrument, exposure_id) "
            "ORDER BY instrument, exposure_id"
        ).to_arrow_table()
        columns = con.sql(
            f"SELECT * FROM {COLUMNS} WHERE config_digest IN "
            f"(SELECT DISTINCT config_digest FROM {RUNS} r JOIN {_BATCH} b "
            "USING (instrument, exposure_id)) ORDER BY config_digest, position"
        ).to_arrow_table()
        values = con.sql(
            f"SELECT v.* FROM {VALUES} v JOIN {_BATCH} b USING (instrument, exposure_id) "
            "ORDER BY instrument, exposure_id, name, element"
        ).to_arrow_table()
    return values, runs, columns
