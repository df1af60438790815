"""InfluxQL (InfluxDB 1.x's query language) against the openefd store.

:func:`parse` turns text into statements (:mod:`.ast`); :func:`execute`
parses and runs them, answering with :class:`StatementResult` objects that
the HTTP server encodes as InfluxDB's JSON. Supported: ``SELECT`` with
fields, ``*``, ``/regex/`` and the aggregates ``mean, median, min, max,
stddev, count, sum, first, last, spread, percentile`` (``AS`` renames),
``FROM`` measurements (``"db"."rp"."name"``, ``db..name``, ``/regex/``),
``WHERE`` on time and fields, ``GROUP BY time(interval[, offset])``, tags
and ``*``, ``fill()``, ``ORDER BY time [ASC|DESC]``, ``LIMIT``, ``OFFSET``,
``SLIMIT``, ``SOFFSET``; ``SHOW DATABASES``, ``RETENTION POLICIES``,
``MEASUREMENTS``, ``FIELD KEYS``, ``TAG KEYS``, ``TAG VALUES``, ``SERIES``.

Modules, lowest first: ``ast`` (the tree), ``literals`` (durations,
quoted text, time strings), ``render`` (tree → text), ``grammar``,
``expressions``, ``transform``, ``parser`` (text → tree), ``timerange``
(time values, UTC → TAI), ``selection`` (output columns), ``conditions``
(WHERE → SQL), ``catalog`` (databases, measurements), ``fetch`` (rows from
DuckDB), ``fieldset`` (field keys), ``aggregate`` (functions, GROUP BY
time), ``limits`` (budgets, timeout), ``select_exec``, ``show``,
``executor``.
"""

from __future__ import annotations

from openefd.query.influxql.ast import Statement
from openefd.query.influxql.executor import execute
from openefd.query.influxql.parser import parse
from openefd.query.influxql.render import format_statement
from openefd.query.influxql.results import QueryLimits, Series, StatementResult

__all__ = [
    "QueryLimits",
    "Series",
    "Statement",
    "StatementResult",
    "execute",
    "format_statement",
    "parse",
]
