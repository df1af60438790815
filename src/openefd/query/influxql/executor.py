"""Executing InfluxQL text against a store, statement by statement, as InfluxDB does.

The whole text is parsed first: a syntax error anywhere raises
:class:`~openefd.errors.InfluxQLError` and nothing runs (HTTP 400). Then
each statement runs in turn; a statement that fails (unknown database,
wrong types, a limit) gets its error in its :class:`StatementResult` and
the next one still runs. The timeout covers the whole call: the statement
running when it expires, and every one after it, answer ``query timeout``.
"""

from __future__ import annotations

import time

import duckdb

from openefd.errors import OpenEfdError, TimeValueError
from openefd.query.influxql import ast
from openefd.query.influxql.limits import Budget, Watchdog
from openefd.query.influxql.parser import parse
from openefd.query.influxql.results import QueryLimits, Series, StatementResult
from openefd.query.influxql.select_exec import Context, run_select_statement
from openefd.query.influxql.show import run_show
from openefd.settings import Settings
from openefd.store.duckdb_store import Store

__all__ = ["execute"]


def _run(ctx: Context, stmt: ast.Statement, database: str | None) -> list[Series]:
    if isinstance(stmt, ast.SelectStatement):
        return run_select_statement(ctx, stmt, database)
    return run_show(ctx.store, ctx.settings, stmt, database)


def execute(
    store: Store,
    text: str,
    *,
    database: str | None,
    settings: Settings,
    limits: QueryLimits,
    now_utc_ns: int | None = None,
) -> list[StatementResult]:
    """Run every statement of ``text``; one result per statement, in order.

    Parameters
    ----------
    store
        The store to read.
    text
        InfluxQL, statements separated by ``;``.
    database
        The ``db`` of the request; a database named in a statement wins.
    settings
        Names of the one database and retention policy.
    limits
        Points, series (over the whole call) and wall time.
    now_utc_ns
        ``now()`` as UTC ns (POSIX); the wall clock when None.

    Raises
    ------
    InfluxQLError
        If any statement does not parse; nothing has run then.
    """
    statements = parse(text)
    now_ns = time.time_ns() if now_utc_ns is None else int(now_utc_ns)
    ctx = Context(store, settings, now_ns, Budget(limits))
    results: list[StatementResult] = []
    with Watchdog(store.cursor(), limits.timeout_s) as watchdog:
        for statement_id, stmt in enumerate(statements):
            if watchdog.expired:
                results.append(StatementResult(statement_id, error=watchdog.message()))
                continue
            try:
                series = _run(ctx, stmt, database)
                if watchdog.expired:  # ran past the deadline outside DuckDB
                    results.append(StatementResult(statement_id, error=watchdog.message()))
                    continue
                ctx.budget.take(series)
            except duckdb.InterruptException:
                error = watchdog.message() if watchdog.expired else "query interrupted"
                results.append(StatementResult(statement_id, error=error))
            except (OpenEfdError, TimeValueError) as exc:
                results.append(StatementResult(statement_id, error=str(exc)))
            except duckdb.Error as exc:  # e.g. a regex RE2 rejects; the cursor stays usable
                results.append(StatementResult(statement_id, error=f"query failed: {exc}"))
            else:
                results.append(StatementResult(statement_id, series=series))
    return results
