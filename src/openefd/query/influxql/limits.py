"""The limits of one ``execute`` call: points and series budgets, and the timeout.

The budgets are shared by all statements of the call (``max_points``
values, time included, and ``max_series`` series, as the settings
describe a query's limits). The timeout interrupts the DuckDB cursor the
statements run on (:mod:`openefd.store.deadlines`); it can never fire after
:meth:`Watchdog.close`, so a later query on the same cursor is safe.
"""

from __future__ import annotations

from types import TracebackType

import duckdb

from openefd.errors import LimitExceededError
from openefd.query.influxql.results import QueryLimits, Series
from openefd.store.deadlines import watch

__all__ = ["Budget", "Watchdog"]


class Budget:
    """Points and series still allowed in this call."""

    def __init__(self, limits: QueryLimits) -> None:
        self.limits = limits
        self.points_left = limits.max_points
        self.series_left = limits.max_series

    def rows_for(self, width: int) -> int:
        """Most rows of ``width`` columns that still fit."""
        return max(self.points_left, 0) // max(width, 1)

    def points_error(self, width: int, rows: int) -> LimitExceededError:
        return LimitExceededError(
            f"max-select-point limit exceeded: the result has more than {rows} rows of "
            f"{width} columns, over the limit of {self.limits.max_points} values "
            "(rows × columns, time included; OPENEFD_QUERY_MAX_POINTS); narrow the time "
            "range, select fewer fields, add a LIMIT or aggregate with GROUP BY time()"
        )

    def take(self, series: list[Series]) -> None:
        """Count ``series`` against the budgets.

        Raises
        ------
        LimitExceededError
            Naming the limit, its value and what to do.
        """
        if len(series) > self.series_left:
            raise LimitExceededError(
                f"max-select-series limit exceeded: {len(series)} series, over the limit of "
                f"{self.limits.max_series} series (OPENEFD_QUERY_MAX_SERIES); select fewer "
                "measurements, use SLIMIT, or drop GROUP BY"
            )
        points = sum(s.row_count * len(s.columns) for s in series)
        if points > self.points_left:
            raise LimitExceededError(
                f"max-select-point limit exceeded: {points} values, over the limit of "
                f"{self.limits.max_points} values (rows × columns, time included; "
                "OPENEFD_QUERY_MAX_POINTS); narrow the time range, select fewer fields, "
                "add a LIMIT or aggregate with GROUP BY time()"
            )
        self.series_left -= len(series)
        self.points_left -= points


class Watchdog:
    """The call's deadline: the cursor is interrupted once ``timeout_s`` have passed."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._watch = watch(cursor, timeout_s)
        self._deadline = self._watch.__enter__()

    @property
    def expired(self) -> bool:
        return self._deadline.expired

    def close(self) -> None:
        self._watch.__exit__(None, None, None)

    def message(self) -> str:
        return (
            f"query timeout: the query ran longer than {self.timeout_s:g} s "
            "(OPENEFD_QUERY_TIMEOUT_S) and was cancelled; narrow the time range, select fewer "
            "fields or aggregate with GROUP BY time()"
        )

    def __enter__(self) -> Watchdog:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
