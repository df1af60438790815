"""Running statements on DuckDB and always draining their results.

DuckDB refuses new work on a connection whose last result was not read to
the end, so every statement goes through these helpers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

__all__ = ["run", "run_one"]


def run(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] | None = None
) -> list[tuple[Any, ...]]:
    """Execute ``sql`` and return all its rows."""
    return (
        con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    )


def run_one(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] | None = None
) -> tuple[Any, ...] | None:
    """Execute ``sql`` and return its first row (None when it returns none)."""
    rows = run(con, sql, params)
    return rows[0] if rows else None
