"""The operators reference page, generated from the registry."""

from __future__ import annotations

from openefd.query.downsample.reducers import PERCENTILE_DESCRIPTION, Reducer
from openefd.query.downsample.registry import (
    INFLUXQL_FUNCTIONS,
    MAX_N,
    OPERATORS,
    OperatorKind,
)

__all__ = ["operators_markdown"]

_INTRO = f"""\
# Downsampling operators

Generated from `openefd.query.downsample.OPERATORS` by
`python -m openefd.query.downsample > docs/reference/operators.md`;
do not edit by hand.

The operators are those of the EPICS Archiver Appliance, spelled as it spells
them (case matters): `mean_60` is the mean over 60-second bins. N is a whole
number from 1 to {MAX_N}. Bins are half-open, `[origin + k·N s, origin +
(k+1)·N s)`, aligned to whole multiples of N seconds since the epoch (origin
0), also before 1970. Null samples (NaN) are ignored, as InfluxDB ignores
nulls; a bin holding only nulls is empty.

Bin operators return one row per bin, timed at the bin's start (the Archiver
Appliance times them at the bin's middle). Empty bins are dropped unless a
fill is asked for: `null` (NaN; `count` gives 0), `previous`, `linear` or a
number, as InfluxQL's `fill()`; the Archiver Appliance fills with the
previous bin by default, which is `fill="previous"` here. `firstFill` and
`lastFill` always fill that way, starting from the last sample before the
range, and leave out leading bins with nothing before them. Selection
operators return samples at their own times, values unchanged.

| operator | parameters | returns | computes | InfluxQL |
| --- | --- | --- | --- | --- |
"""

_RETURNS = {
    OperatorKind.STATISTIC: "value per bin",
    OperatorKind.FILLED: "value per bin, filled",
    OperatorKind.SELECTION: "samples",
}

_INFLUXQL_INTRO = """
## InfluxQL aggregates

The same reducers answer InfluxQL's `GROUP BY time()` aggregates (names are
case-insensitive there). Standard deviations divide by n − 1 everywhere;
`stddev` of one sample is null, `std_N` of one sample is 0 (as Commons Math
computes it for the Archiver Appliance).

| function | computes |
| --- | --- |
"""


def operators_markdown() -> str:
    """The reference page of every operator and InfluxQL aggregate, as Markdown."""
    rows = []
    for spec in OPERATORS.values():
        influxql = f"`{spec.influxql}`" if spec.influxql else "—"
        rows.append(
            f"| `{spec.pattern}` | {spec.parameters} | {_RETURNS[spec.kind]} "
            f"| {spec.description} | {influxql} |"
        )
    functions = []
    for name, entry in INFLUXQL_FUNCTIONS.items():
        if isinstance(entry, Reducer):
            functions.append(f"| `{name}(field)` | {entry.description} |")
        else:
            functions.append(f"| `{name}(field, P)` | {PERCENTILE_DESCRIPTION.format(p='P')} |")
    return _INTRO + "\n".join(rows) + "\n" + _INFLUXQL_INTRO + "\n".join(functions) + "\n"
