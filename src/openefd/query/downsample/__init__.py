"""Query-time downsampling: the Archiver Appliance operators and InfluxQL aggregates.

One registry (:data:`OPERATORS`) of operators such as ``mean_60``, each a
vectorised numpy reducer over time bins, or a selection of samples.
:func:`parse_operator` reads an operator name, :func:`influxql_reducer` an
InfluxQL aggregate, :func:`downsample` and :func:`aggregate` apply them to one
field's samples, and :func:`operators_markdown` writes the reference page
(``python -m openefd.query.downsample > docs/reference/operators.md``).

Modules, lowest first: ``bins`` (grouping samples into bins), ``reducers``
(per-bin statistics), ``selectors`` (sample selections), ``fill`` (empty
bins), ``registry`` (operators and parsers), ``apply`` (the entry points),
``docs`` (the reference page).
"""

from __future__ import annotations

from openefd.query.downsample.apply import MAX_FILLED_BINS, aggregate, downsample
from openefd.query.downsample.docs import operators_markdown
from openefd.query.downsample.fill import FILL_MODES
from openefd.query.downsample.reducers import Reducer, percentile
from openefd.query.downsample.registry import (
    INFLUXQL_FUNCTIONS,
    OPERATORS,
    Operator,
    OperatorKind,
    OperatorSpec,
    influxql_reducer,
    parse_operator,
)

__all__ = [
    "FILL_MODES",
    "INFLUXQL_FUNCTIONS",
    "MAX_FILLED_BINS",
    "OPERATORS",
    "Operator",
    "OperatorKind",
    "OperatorSpec",
    "Reducer",
    "aggregate",
    "downsample",
    "influxql_reducer",
    "operators_markdown",
    "parse_operator",
    "percentile",
]
