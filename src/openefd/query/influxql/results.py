"""What an InfluxQL statement answers, before it is encoded for HTTP.

Pure data: the executor fills these, the server encodes them as InfluxDB 1.x
JSON (``results`` → ``statement_id``, ``series`` → ``name``, ``tags``,
``columns``, ``values``). Values are held by column so large results are not
turned into Python rows until the encoder needs them.

Time: a series with ``time_column`` has ``columns[0] == "time"`` and
``values[0]`` an int64 numpy array of **UTC** nanoseconds since 1970 (the
EFD's time; the server formats it per ``epoch``). Every other column is a
numpy array (float64, int64, bool; object for strings or values with nulls,
``None`` meaning null) or a list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["QueryLimits", "Series", "StatementResult"]


@dataclass(slots=True)
class Series:
    """One InfluxDB series: a measurement (and tag set) with its rows, by column."""

    name: str
    columns: list[str]
    values: list[np.ndarray[Any, Any] | Sequence[Any]]
    tags: dict[str, str] | None = None
    time_column: bool = True

    @property
    def row_count(self) -> int:
        return len(self.values[0]) if self.values else 0


@dataclass(slots=True)
class StatementResult:
    """The answer to one statement: its series, or the error that stopped it."""

    statement_id: int
    series: list[Series] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """Limits one query must stay within (from the server's settings).

    ``max_points`` counts values (rows × columns, time included) over all
    series; ``timeout_s`` is wall time for the whole request.
    """

    max_points: int = 50_000_000
    max_series: int = 10_000
    timeout_s: float = 60.0
