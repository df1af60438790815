"""Excursions: the time intervals where a condition on telemetry holds, and the exposures
whose timespans overlap them (DMTN-082 §4: "the dome pointing east", "a temperature
above a limit").

:func:`excursions` reads one field of one topic over ``[begin, end)`` (TAI;
one SQL query: the raw rows, or the 1-second means with ``resolution="1s"``),
evaluates the condition on every sample, finds the intervals with the rule of
:mod:`.excursion_intervals` (vectorised run lengths), and joins the exposure
registry (one query for the range) to them with numpy. Samples whose value is
null or NaN are left out, as if missing: they count towards gaps.

Intervals are half-open ``[begin, end)``, TAI ns, with UTC columns beside
them. An exposure overlaps an interval when ``exposure begin < interval end``
and ``interval begin < exposure end``; an empty timespan (a bias) or an
instant interval (``begin = end``) counts as its instant, as in
:func:`openefd.store.exposures.exposures_overlapping`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from openefd.analysis.investigations.excursion_condition import (
    AngularRange,
    Condition,
    FieldCondition,
    Threshold,
    parse_condition,
    parse_field,
    parse_field_condition,
)
from openefd.analysis.investigations.excursion_intervals import (
    BEGIN_REASONS,
    END_REASONS,
    Intervals,
    find_intervals,
)
from openefd.errors import QueryError, TimeValueError, UnknownFieldError
from openefd.query.aggregated import run_aggregated
from openefd.query.fields import resolve_fields
from openefd.query.select import RowSelect, array_lengths, run_select
from openefd.schema.model import SAL_INDEX_FIELD, FieldType, TopicSchema
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures_overlapping, parse_day_obs
from openefd.timeinput import tai_ns_to_index, to_tai_ns
from openefd.timescales import NS_PER_S, UTC_EARLIEST_NS, utc_to_tai_ns

__all__ = [
    "AUTO_GAP_SAMPLES",
    "ExcursionReport",
    "day_obs_span",
    "excursions",
    "excursions_where",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Resolution = Literal["raw", "1s"]

AUTO_GAP_SAMPLES = 10  # max_gap_s=None: a gap is this many median sample spacings (≥ 1 s)
_OVERLAP_CELLS = 4_000_000  # intervals × exposures compared at once


@dataclass(frozen=True)
class ExcursionReport:
    """Where ``condition`` held on ``topic``.``field`` in ``[begin_tai_ns, end_tai_ns)``.

    - ``intervals``: one row per interval — ``interval`` (0, 1, …),
      ``begin_tai_ns``, ``end_tai_ns`` (half-open, TAI ns), ``begin_utc``,
      ``end_utc``, ``duration_s``, ``samples`` (of the run), ``value_min``,
      ``value_max`` (for an angular range: the arc, increasing and wrapping at
      360, that the run's values cover), ``begin_reason`` and ``end_reason``
      (see :mod:`.excursion_intervals`);
    - ``exposures``: one row per (interval, overlapping exposure) — ``interval``,
      ``instrument``, ``exposure_id``, ``obs_id``, ``day_obs``,
      ``observation_type``, ``timespan_begin_tai_ns``/``…_end_tai_ns`` and their
      ``…_utc``, ``overlap_s`` and ``overlap_fraction`` (of the exposure's
      timespan; 1 for an empty timespan inside the interval);
    - ``samples``: the samples read — ``time_tai_ns``, ``value``, ``holds``;
    - ``range_exposures``: every exposure overlapping the range (for the plot).

    ``max_gap_s`` is the gap actually used (``None``: no gap breaks an interval).
    """

    topic: str
    field: str
    condition: Condition
    sal_index: int | None
    begin_tai_ns: int
    end_tai_ns: int
    resolution: Resolution
    max_gap_s: float | None
    min_duration_s: float
    units: str | None
    intervals: pd.DataFrame
    exposures: pd.DataFrame
    samples: pd.DataFrame
    range_exposures: pd.DataFrame

    @property
    def description(self) -> str:
        """``lsst.sal.ESS.temperature[101] temperatureItem3 > 12``."""
        index = "" if self.sal_index is None else f"[{self.sal_index}]"
        return f"{self.topic}{index} {self.field} {self.condition}"

    @property
    def total_s(self) -> float:
        """Seconds for which the condition held (sum of the intervals)."""
        return float(self.intervals["duration_s"].sum()) if len(self.intervals) else 0.0

    @property
    def exposure_ids(self) -> list[int]:
        """The overlapping exposures, each once, sorted."""
        return sorted({int(i) for i in self.exposures["exposure_id"]})

    def png(self) -> bytes:
        """The field against time, the intervals shaded, the exposures as spans (PNG)."""
        from openefd.analysis.investigations.excursion_plot import excursion_png

        return excursion_png(self)


def day_obs_span(day_obs: int | str) -> tuple[int, int]:
    """``[begin, end)`` TAI ns of an observing day: 12:00 UTC of its date to 12:00 the next."""
    day = parse_day_obs(day_obs)
    start = pd.Timestamp(str(day), tz="UTC") + pd.Timedelta(hours=12)
    return to_tai_ns(start, "day_obs"), to_tai_ns(start + pd.Timedelta(days=1), "day_obs")


def _time(value: Any, what: str) -> int:
    """TAI ns from a time value :func:`to_tai_ns` takes, or an integer already in TAI ns."""
    if isinstance(value, bool):
        raise TimeValueError(f"{what}: {value!r} is not a time")
    if isinstance(value, int | np.integer):
        if int(value) < int(utc_to_tai_ns(np.int64(UTC_EARLIEST_NS))):
            raise TimeValueError(
                f"{what}: the integer {value} is read as TAI ns and lies before 1972; "
                "give TAI nanoseconds or an ISO 8601 UTC string"
            )
        return int(value)
    return to_tai_ns(value, what)


def _range(begin: Any, end: Any, day_obs: int | str | None) -> tuple[int, int]:
    if day_obs is not None:
        if begin is not None or end is not None:
            raise QueryError("give day_obs, or begin and end, not both")
        return day_obs_span(day_obs)
    if begin is None or end is None:
        raise QueryError("give begin and end (or day_obs) to choose the time range")
    lo, hi = _time(begin, "begin"), _time(end, "end")
    if lo >= hi:
        raise QueryError(f"begin must be before end; got an empty range ({begin!r} → {end!r})")
    return lo, hi


def _field(store: Store, layout: TopicSchema, field: str) -> tuple[str, str | None]:
    """The EFD name of the one numeric column ``field`` names (``x[3]``, ``x3``, ``x``)."""
    base_name, element = parse_field(field)
    name = base_name if element is None else f"{base_name}{element}"
    if element is not None:
        base = layout.field(base_name)
        if base is None:
            raise UnknownFieldError(f"topic {layout.name!r} has no field {base_name!r}")
        if not base.is_array:
            raise QueryError(f"field {base_name!r} of {layout.name} is not an array; drop [...]")
        length = base.count or array_lengths(store, layout).get(base.name, 0)
        if element >= length:
            raise QueryError(
                f"{base_name} has {length} elements (0 … {length - 1}); element {element} "
                "does not exist"
            )
    refs = resolve_fields(layout, [name], array_lengths(store, layout))
    if len(refs) != 1:
        raise QueryError(
            f"{name!r} of {layout.name} is an array of {len(refs)}; name one element, "
            f"e.g. {name}[0]"
        )
    spec = refs[0].field
    if spec.type is FieldType.STRING:
        raise QueryError(f"field {name!r} of {layout.name} holds text; a condition needs numbers")
    return refs[0].name, spec.units


def _read(
    store: Store,
    layout: TopicSchema,
    name: str,
    lo: int,
    hi: int,
    sal_index: int | None,
    resolution: Resolution,
) -> tuple[IntArray, FloatArray]:
    indexed = layout.field(SAL_INDEX_FIELD) is not None
    if sal_index is not None and not indexed:
        raise QueryError(f"topic {layout.name} has no {SAL_INDEX_FIELD}; drop sal_index")
    check = indexed and sal_index is None
    fields = [name, SAL_INDEX_FIELD] if check else [name]
    req = RowSelect(
        layout.name, fields, lo, hi, end_inclusive=False, index=sal_index, time_scale="tai"
    )
    frame = run_select(store, req) if resolution == "raw" else run_aggregated(store, req, "mean")
    if check and len(frame):
        indices = sorted({int(i) for i in pd.unique(frame[SAL_INDEX_FIELD].dropna())})
        if len(indices) > 1:
            raise QueryError(
                f"{layout.name} holds rows of several {SAL_INDEX_FIELD} values in the range "
                f"({', '.join(map(str, indices))}); choose one with sal_index"
            )
    times = np.asarray(pd.DatetimeIndex(frame.index).asi8, dtype=np.int64)
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    ok = np.isfinite(values)
    return times[ok], values[ok]


def _gap_ns(times: IntArray, max_gap_s: float | None) -> int | None:
    if max_gap_s is not None:
        if not max_gap_s >= 0:
            raise QueryError(f"max_gap_s must be a number ≥ 0 (inf: no gap), got {max_gap_s!r}")
        return None if math.isinf(max_gap_s) else round(max_gap_s * NS_PER_S)
    if len(times) < 2:
        return None
    return max(AUTO_GAP_SAMPLES * int(np.median(np.diff(times))), NS_PER_S)


def _run_extremes(
    values: FloatArray, found: Intervals, condition: Condition
) -> tuple[FloatArray, FloatArray]:
    """Per run: the smallest and largest value (angles: the ends of the arc covered)."""
    if not len(found):
        return np.empty(0), np.empty(0)
    data = condition.offset_deg(values) if isinstance(condition, AngularRange) else values
    padded = np.append(data, np.nan)
    cuts = np.empty(2 * len(found), dtype=np.int64)
    cuts[0::2], cuts[1::2] = found.first, found.last + 1
    lo = np.minimum.reduceat(padded, cuts)[0::2]
    hi = np.maximum.reduceat(padded, cuts)[0::2]
    if isinstance(condition, AngularRange):
        center = condition.center_deg
        lo, hi = np.mod(center + lo, 360.0), np.mod(center + hi, 360.0)
    return lo, hi


def _utc(tai_ns: IntArray) -> pd.DatetimeIndex:
    return tai_ns_to_index(np.asarray(tai_ns, dtype=np.int64), "utc")


def _interval_frame(
    times: IntArray, values: FloatArray, found: Intervals, condition: Condition
) -> pd.DataFrame:
    lo, hi = _run_extremes(values, found, condition)
    return pd.DataFrame(
        {
            "interval": np.arange(len(found), dtype=np.int64),
            "begin_tai_ns": found.begin_tai_ns,
            "end_tai_ns": found.end_tai_ns,
            "begin_utc": _utc(found.begin_tai_ns),
            "end_utc": _utc(found.end_tai_ns),
            "duration_s": (found.end_tai_ns - found.begin_tai_ns) / NS_PER_S,
            "samples": found.last - found.first + 1,
            "value_min": lo,
            "value_max": hi,
            "begin_reason": np.asarray(BEGIN_REASONS, dtype=object)[found.begin_reason],
            "end_reason": np.asarray(END_REASONS, dtype=object)[found.end_reason],
        }
    )


_EXPOSURE_COLUMNS = (
    "instrument",
    "exposure_id",
    "obs_id",
    "day_obs",
    "observation_type",
    "timespan_begin_tai_ns",
    "timespan_end_tai_ns",
)


def _overlaps(intervals: pd.DataFrame, registry: pd.DataFrame) -> pd.DataFrame:
    """(interval, exposure) pairs that overlap, with the overlap in seconds."""
    known = registry["timespan_begin_tai_ns"].notna() & registry["timespan_end_tai_ns"].notna()
    reg = registry[known.to_numpy(dtype=bool)].reset_index(drop=True)
    eb = reg["timespan_begin_tai_ns"].to_numpy(dtype=np.int64)
    ee = reg["timespan_end_tai_ns"].to_numpy(dtype=np.int64)
    ib = intervals["begin_tai_ns"].to_numpy(dtype=np.int64)
    ie = intervals["end_tai_ns"].to_numpy(dtype=np.int64)
    e_hi, i_hi = np.maximum(ee, eb + 1), np.maximum(ie, ib + 1)  # instants count as [t, t+1)
    pairs_i: list[IntArray] = []
    pairs_e: list[IntArray] = []
    step = max(1, _OVERLAP_CELLS // max(len(eb), 1))
    for s in range(0, len(ib), step):
        hit = (ib[s : s + step, None] < e_hi[None, :]) & (eb[None, :] < i_hi[s : s + step, None])
        i, e = np.nonzero(hit)
        pairs_i.append(i.astype(np.int64) + s)
        pairs_e.append(e.astype(np.int64))
    i = np.concatenate(pairs_i) if pairs_i else np.empty(0, np.int64)
    e = np.concatenate(pairs_e) if pairs_e else np.empty(0, np.int64)
    overlap = np.maximum(np.minimum(ie[i], ee[e]) - np.maximum(ib[i], eb[e]), 0)
    span = ee[e] - eb[e]
    fraction = np.where(span > 0, overlap / np.maximum(span, 1), 1.0)
    out = pd.DataFrame({"interval": intervals["interval"].to_numpy()[i]})
    for col in _EXPOSURE_COLUMNS:
        out[col] = reg[col].to_numpy()[e] if col in reg.columns else None
    out["timespan_begin_utc"] = _utc(eb[e])
    out["timespan_end_utc"] = _utc(ee[e])
    out["overlap_s"] = overlap / NS_PER_S
    out["overlap_fraction"] = fraction
    return out.sort_values(["interval", "timespan_begin_tai_ns", "exposure_id"]).reset_index(
        drop=True
    )


def _no_values(topic: str, name: str, sal_index: int | None, lo: int, hi: int) -> str:
    span = _utc(np.array([lo, hi], dtype=np.int64))
    index = "" if sal_index is None else f" (salIndex {sal_index})"
    return (
        f"{topic}{index} has no value of {name} in [{span[0].isoformat()}, "
        f"{span[1].isoformat()}) UTC; check the range ('openefd info' shows each topic's span)"
    )


def excursions(
    store: Store,
    topic: str,
    field: str,
    condition: str | Condition,
    begin: Any = None,
    end: Any = None,
    *,
    day_obs: int | str | None = None,
    sal_index: int | None = None,
    min_duration_s: float = 0.0,
    max_gap_s: float | None = None,
    resolution: Resolution = "raw",
    instrument: str | None = None,
) -> ExcursionReport:
    """Where ``condition`` holds on ``topic``.``field`` in ``[begin, end)``, and the
    exposures overlapping those intervals.

    ``field``: a scalar (``positionActual``) or one array element
    (``temperatureItem[3]`` or ``temperatureItem3``). ``condition``: text
    (``"> 25"``, ``"within 90±45"``; :func:`.excursion_condition.parse_condition`)
    or a :class:`Threshold` / :class:`AngularRange`. ``begin``/``end``: any
    time :func:`openefd.timeinput.to_tai_ns` takes, or integers in TAI ns; or
    ``day_obs`` (12:00 UTC of that date to 12:00 UTC the next day).
    ``sal_index``: the rows of that ``salIndex`` only (needed when the range
    holds several). ``min_duration_s``: shorter intervals are left out.
    ``max_gap_s``: consecutive samples further apart than this break an
    interval (None: :data:`AUTO_GAP_SAMPLES` times the median spacing of the
    samples, at least 1 s; ``math.inf``: never). ``resolution="1s"``: the
    condition is applied to each second's mean (faster over long ranges; not
    for angles, whose mean across north is wrong). ``instrument``: only its
    exposures.
    """
    cond = parse_condition(condition) if isinstance(condition, str) else condition
    if not isinstance(cond, Threshold | AngularRange):
        raise QueryError(
            f"condition must be text ('> 25', 'within 90±45'), a Threshold or an AngularRange; "
            f"got {type(condition).__name__}"
        )
    if resolution not in ("raw", "1s"):
        raise QueryError(f"resolution must be 'raw' or '1s', got {resolution!r}")
    if resolution == "1s" and cond.angular:
        raise QueryError(
            "an angular condition needs the raw samples (a 1-second mean across north is "
            "meaningless); drop resolution='1s'"
        )
    if not (min_duration_s >= 0 and math.isfinite(min_duration_s)):
        raise QueryError(f"min_duration_s must be a finite number ≥ 0, got {min_duration_s!r}")
    lo, hi = _range(begin, end, day_obs)
    layout = store.layout(topic)
    name, units = _field(store, layout, field)
    times, values = _read(store, layout, name, lo, hi, sal_index, resolution)
    if not len(times):
        raise QueryError(_no_values(topic, name, sal_index, lo, hi))
    gap = _gap_ns(times, max_gap_s)
    holds = cond.holds(values)
    found = find_intervals(
        times, holds, max_gap_ns=gap, min_duration_ns=round(min_duration_s * NS_PER_S)
    )
    intervals = _interval_frame(times, values, found, cond)
    registry = exposures_overlapping(store, lo, hi, instrument=instrument)
    return ExcursionReport(
        topic=topic,
        field=name,
        condition=cond,
        sal_index=sal_index,
        begin_tai_ns=lo,
        end_tai_ns=hi,
        resolution=resolution,
        max_gap_s=None if gap is None else gap / NS_PER_S,
        min_duration_s=float(min_duration_s),
        units=units,
        intervals=intervals,
        exposures=_overlaps(intervals, registry),
        samples=pd.DataFrame({"time_tai_ns": times, "value": values, "holds": holds}),
        range_exposures=registry,
    )


def excursions_where(
    store: Store,
    topic: str,
    condition: str | FieldCondition,
    begin: Any = None,
    end: Any = None,
    **options: Any,
) -> ExcursionReport:
    """:func:`excursions` with the field written in the condition: ``"temperatureItem[3] > 12"``,
    ``"positionActual within 90±45"``."""
    fc = parse_field_condition(condition) if isinstance(condition, str) else condition
    if not isinstance(fc, FieldCondition):
        raise QueryError(f"condition must be text or a FieldCondition, got {type(fc).__name__}")
    return excursions(store, topic, fc.field_name, fc.condition, begin, end, **options)
