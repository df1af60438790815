"""The registry of downsampling operators, and the parsers that read it.

:data:`OPERATORS` maps each EPICS Archiver Appliance operator name to its
:class:`OperatorSpec`; it is the one source for :func:`parse_operator` and for
the generated reference page. :data:`INFLUXQL_FUNCTIONS` maps InfluxQL
aggregate names to the same reducers, for ``GROUP BY time()``.
"""

from __future__ import annotations

import difflib
import enum
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from openefd.errors import QueryError
from openefd.query.downsample import reducers as r
from openefd.query.downsample.bins import FloatArray, IntArray
from openefd.query.downsample.reducers import Reducer
from openefd.query.downsample.selectors import BoolArray, every_nth, within_deviations

__all__ = [
    "DEFAULT_DEVIATIONS",
    "INFLUXQL_FUNCTIONS",
    "MAX_N",
    "OPERATORS",
    "Operator",
    "OperatorKind",
    "OperatorSpec",
    "influxql_reducer",
    "parse_operator",
]

MAX_N = 2**31 - 1  # the Archiver Appliance reads N as a Java int
DEFAULT_DEVIATIONS = 3.0  # the Archiver Appliance's default K of ignoreflyers
NS_PER_S = 1_000_000_000
_MAX_TEXT = 100
_WHOLE = re.compile(r"[0-9]+", re.ASCII)
_DECIMAL = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


class OperatorKind(enum.Enum):
    """What an operator returns."""

    STATISTIC = "statistic"
    """One value per bin, from a reducer; empty bins as the ``fill`` asks."""
    FILLED = "filled"
    """One value per bin, from a reducer; empty bins take the value before."""
    SELECTION = "selection"
    """Some of the samples, at their own times, values unchanged."""


Selector = Callable[[IntArray, FloatArray, "Operator", int], IntArray | BoolArray]
"""``(times_ns, values, operator, origin_ns) ->`` the samples kept: indices or a mask."""


@dataclass(frozen=True)
class OperatorSpec:
    """One Archiver Appliance operator: its name, what it computes, how.

    Attributes
    ----------
    name
        The operator's name as the Archiver Appliance spells it (``firstSample``).
    kind
        Bin statistic, filled bin statistic, or selection of samples.
    description
        One line for the reference table.
    reducer
        The per-bin statistic (``STATISTIC`` and ``FILLED`` operators).
    select
        The sample selection (``SELECTION`` operators).
    takes_deviations
        Whether a second parameter K (standard deviations) follows N.
    influxql
        The nearest InfluxQL aggregate, for the reference table ("" if none).
    """

    name: str
    kind: OperatorKind
    description: str
    reducer: Reducer | None = None
    select: Selector | None = None
    takes_deviations: bool = False
    influxql: str = ""

    @property
    def pattern(self) -> str:
        """The spelling with its parameters: ``mean_N``, ``ignoreflyers_N_K``."""
        return f"{self.name}_N_K" if self.takes_deviations else f"{self.name}_N"

    @property
    def parameters(self) -> str:
        """What N (and K) mean, for messages and the reference table."""
        if self.name == "nth":
            return "N: stride in samples"
        text = "N: bin size in seconds"
        if self.takes_deviations:
            text += f"; K: standard deviations > 0, default {DEFAULT_DEVIATIONS:g}"
        return text


@dataclass(frozen=True)
class Operator:
    """A parsed operator such as ``mean_60``: a spec and its parameters.

    Attributes
    ----------
    spec
        The registry entry.
    n
        Bin size in seconds; for ``nth``, the stride in samples.
    deviations
        K of ``ignoreflyers``, ``None`` for every other operator.
    """

    spec: OperatorSpec
    n: int
    deviations: float | None = None

    @property
    def text(self) -> str:
        """The canonical spelling; :func:`parse_operator` reads it back unchanged."""
        if self.deviations is None:
            return f"{self.spec.name}_{self.n}"
        return f"{self.spec.name}_{self.n}_{self.deviations!r}"

    @property
    def bin_ns(self) -> int | None:
        """Bin width in ns; ``None`` for ``nth``, which has no bins."""
        return None if self.spec.name == "nth" else self.n * NS_PER_S


def _nth(times_ns: IntArray, values: FloatArray, op: Operator, origin_ns: int) -> IntArray:
    return every_nth(len(values), op.n)


def _ignoreflyers(
    times_ns: IntArray, values: FloatArray, op: Operator, origin_ns: int
) -> BoolArray:
    assert op.bin_ns is not None
    assert op.deviations is not None
    return within_deviations(times_ns, values, op.bin_ns, origin_ns, op.deviations)


_S, _F, _SEL = OperatorKind.STATISTIC, OperatorKind.FILLED, OperatorKind.SELECTION

OPERATORS: dict[str, OperatorSpec] = {
    spec.name: spec
    for spec in (
        OperatorSpec("firstSample", _S, "the bin's earliest sample", r.FIRST, influxql="first()"),
        OperatorSpec("lastSample", _S, "the bin's latest sample", r.LAST, influxql="last()"),
        OperatorSpec(
            "firstFill",
            _F,
            "the bin's earliest sample; an empty bin repeats the value before it",
            r.FIRST,
            influxql="first() … fill(previous)",
        ),
        OperatorSpec(
            "lastFill",
            _F,
            "the bin's latest sample; an empty bin repeats the value before it",
            r.LAST,
            influxql="last() … fill(previous)",
        ),
        OperatorSpec("mean", _S, "arithmetic mean of the bin", r.MEAN, influxql="mean()"),
        OperatorSpec("min", _S, "smallest sample of the bin", r.MIN, influxql="min()"),
        OperatorSpec("max", _S, "largest sample of the bin", r.MAX, influxql="max()"),
        OperatorSpec("count", _S, "number of samples in the bin", r.COUNT, influxql="count()"),
        OperatorSpec(
            "median",
            _S,
            "middle sample of the bin; mean of the two middle ones for an even count",
            r.MEDIAN,
            influxql="median()",
        ),
        OperatorSpec(
            "std",
            _S,
            "sample standard deviation (divides by n − 1); 0 for a one-sample bin",
            r.STD_ARCHIVER,
            influxql="stddev()",
        ),
        OperatorSpec(
            "jitter",
            _S,
            "std (as std_N) divided by the mean; ±inf or NaN when the mean is 0",
            r.JITTER,
        ),
        OperatorSpec(
            "ignoreflyers",
            _SEL,
            "the samples with abs(value − bin mean) ≤ K·std (as std_N), at their own times",
            select=_ignoreflyers,
            takes_deviations=True,
        ),
        OperatorSpec(
            "nth",
            _SEL,
            "samples 1, N+1, 2N+1, … of the range, at their own times",
            select=_nth,
        ),
    )
}

INFLUXQL_FUNCTIONS: dict[str, Reducer | Callable[[float], Reducer]] = {
    "mean": r.MEAN,
    "median": r.MEDIAN,
    "min": r.MIN,
    "max": r.MAX,
    "stddev": r.STDDEV,
    "count": r.COUNT,
    "sum": r.SUM,
    "first": r.FIRST,
    "last": r.LAST,
    "spread": r.SPREAD,
    "percentile": r.percentile,
}
"""InfluxQL aggregate name → reducer, or → reducer factory taking its one number."""


def parse_operator(text: str) -> Operator:
    """The operator an Archiver Appliance name such as ``mean_60`` stands for.

    Names are case-sensitive, as in the Archiver Appliance. N is a whole
    number 1 … 2³¹−1 (seconds; samples for ``nth``); ``ignoreflyers`` takes an
    optional K > 0 (default 3). The bare names the Archiver Appliance also
    accepts (``mean``, meaning ``mean_900``) are refused: say the bin size.

    Raises
    ------
    QueryError
        Naming what is wrong: unknown operator (with the closest known one),
        missing, malformed, zero or too large N, bad K, extra parameters.
    """
    if not isinstance(text, str):
        raise QueryError(f"an operator is a string such as 'mean_60', not {type(text).__name__}")
    if len(text) > _MAX_TEXT:
        raise QueryError(f"operator {text[:40]!r}… is too long ({len(text)} characters)")
    name, *params = text.split("_")
    spec = OPERATORS.get(name)
    if spec is None:
        raise QueryError(_unknown_operator(text, name))
    if not params:
        raise QueryError(
            f"operator {text!r} needs its parameters: {spec.pattern} ({spec.parameters}), "
            f"e.g. {name}_60"
        )
    if len(params) > (2 if spec.takes_deviations else 1):
        raise QueryError(
            f"operator {text!r} has too many parameters: write {spec.pattern} ({spec.parameters})"
        )
    n = _whole_number(params[0], text, spec)
    deviations = None
    if spec.takes_deviations:
        deviations = _deviations(params[1], text) if len(params) == 2 else DEFAULT_DEVIATIONS
    return Operator(spec, n, deviations)


def influxql_reducer(name: str, args: Sequence[float] = ()) -> Reducer:
    """The reducer of an InfluxQL aggregate: ``mean``, ``percentile`` with ``[90]``, ….

    Names are case-insensitive, as in InfluxQL; ``args`` are the numbers that
    follow the field (only ``percentile`` takes one).

    Raises
    ------
    QueryError
        For an unknown function or the wrong number or kind of arguments.
    """
    entry = INFLUXQL_FUNCTIONS.get(name.lower()) if isinstance(name, str) else None
    if entry is None:
        known = ", ".join(INFLUXQL_FUNCTIONS)
        raise QueryError(f"unsupported aggregate {name!r} in GROUP BY time(); use one of {known}")
    if isinstance(entry, Reducer):
        if len(args):
            raise QueryError(f"{name}() takes only a field, e.g. {name}(value); got {list(args)}")
        return entry
    if len(args) != 1:
        raise QueryError(f"{name}() takes a field and one number, e.g. {name}(value, 90)")
    return entry(args[0])


def _unknown_operator(text: str, name: str) -> str:
    by_lower = {known.lower(): known for known in OPERATORS}
    close = by_lower.get(name.strip().lower()) or next(
        iter(difflib.get_close_matches(name, list(OPERATORS), n=1)), None
    )
    hint = f" (did you mean {OPERATORS[close].pattern}?)" if close else ""
    patterns = ", ".join(spec.pattern for spec in OPERATORS.values())
    return f"unknown operator {text!r}{hint}; the operators are {patterns}"


def _whole_number(param: str, text: str, spec: OperatorSpec) -> int:
    what = "the stride N" if spec.name == "nth" else "the bin size N (seconds)"
    if not _WHOLE.fullmatch(param):
        raise QueryError(
            f"{what} in {text!r} must be a whole number from 1 to {MAX_N}; got {param!r}"
        )
    value = int(param)
    if value == 0:
        raise QueryError(f"{what} in {text!r} must be at least 1; got 0")
    if value > MAX_N:
        raise QueryError(f"{what} in {text!r} must be at most {MAX_N}; got {value}")
    return value


def _deviations(param: str, text: str) -> float:
    what = f"the number of standard deviations K in {text!r}"
    if not _DECIMAL.fullmatch(param):
        raise QueryError(f"{what} must be a positive number such as 3 or 2.5; got {param!r}")
    value = float(param)
    if not math.isfinite(value):
        raise QueryError(f"{what} must be finite; got {param!r}")
    if value <= 0:
        raise QueryError(f"{what} must be greater than 0; got {param!r}")
    return value
