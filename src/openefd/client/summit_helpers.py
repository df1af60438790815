"""``summit_utils``' ``getEfdData`` and ``getMostRecentRowWithDataBefore``, one query each.

Drop-ins for the two most used functions of ``lsst.summit.utils.efdUtils``
(same arguments, windows, results, and ``ValueError`` subclasses for bad
input) on any openefd client: ``EfdClientSync`` on a store or a server URL,
or the async ``EfdClient`` (run blocking, as ``summit_utils`` runs its own)::

    df = getEfdData(efd, "lsst.sal.MTMount.azimuth", expRecord=record, prePadding=5)
    row = getMostRecentRowWithDataBefore(
        efd, "lsst.sal.DIMM.logevent_dimmMeasurement", record.timespan.begin,
        maxSearchNMinutes=10)

``getEfdData``'s window is exactly one of ``expRecord``, ``event``,
``dayObs``, ``begin`` + ``end`` or ``begin`` + ``timespan`` (negative: the
span ending at ``begin``), widened by ``prePadding`` seconds before and
``postPadding`` after; ``dayObs`` D is ``[D 12:00 UTC, D+1 12:00 UTC]``
(the date in UTC−12 h, as exposures' ``day_obs``). Both ends are included,
as ``lsst-efd-client`` selects (``time >= begin AND time <= end``). Frames
are indexed by tz-aware UTC time, as the EFD returns them.

Each helper is one call of the client's canonical layer
(``select_range_tai``, ``select_asof_tai``): no ``get_topics`` round trip,
and an as-of lookup instead of ``summit_utils``' backwards search in
15-minute chunks, so ``maxSearchNMinutes`` is the exact look-back. The other
differences (``warnStaleAfterNMinutes`` in minutes, not days; an inverted
window is an error) are listed in docs/summit-helpers.md.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from openefd.client.async_client import EfdClient
from openefd.client.sync_client import EfdClientSync
from openefd.client.wire import int64_tai_ns
from openefd.errors import (
    QueryError,
    TimeValueError,
    TopicNotInSchemaError,
    UnknownFieldError,
    UnknownTopicError,
)
from openefd.query.asof import SAMPLE_TIME
from openefd.query.fields import normalize_field_list
from openefd.schema.model import SAL_INDEX_FIELD
from openefd.store.exposures import parse_day_obs
from openefd.timeinput import duration_to_ns, tai_ns_to_index, to_tai_ns
from openefd.timescales import NS_PER_S, UTC_EARLIEST_NS, utc_to_tai_ns

__all__ = [
    "DEFAULT_STALE_MINUTES",
    "TopicNotInSchemaError",
    "day_obs_window_tai_ns",
    "efd_data_window_tai_ns",
    "getEfdData",
    "getMostRecentRowWithDataBefore",
]

_log = logging.getLogger(__name__)

DEFAULT_STALE_MINUTES = 12 * 60
"""``warnStaleAfterNMinutes``' default, ``summit_utils``' (12 hours)."""

_MINUTE_NS = 60 * NS_PER_S
_SEARCH_SPANS_NS = tuple(15 * _MINUTE_NS * 16**k for k in range(4))  # 15 min … 42.7 days
_EARLIEST_TAI_NS = int(utc_to_tai_ns(np.int64(UTC_EARLIEST_NS)))

Client: TypeAlias = EfdClientSync | EfdClient
Where: TypeAlias = Mapping[str, Any] | Callable[[pd.DataFrame], Any]


def _sync(client: Any) -> EfdClientSync:
    if isinstance(client, EfdClientSync):
        return client
    if isinstance(client, EfdClient):
        return client.sync
    raise QueryError(
        f"client must be an openefd EfdClientSync or EfdClient (e.g. EfdClientSync(store_dir) "
        f"or EfdClientSync('https://host:port')), got {type(client).__name__}"
    )


# --- windows: pure arithmetic on canonical TAI ns ------------------------------------


def _seconds_ns(value: Any, what: str) -> int:
    """Nanoseconds in a padding: seconds (a number, as ``summit_utils`` takes) or a duration."""
    if isinstance(value, bool):
        raise TimeValueError(f"{what} must be a number of seconds, got {value!r}")
    if isinstance(value, int | float | np.integer | np.floating):
        if not math.isfinite(float(value)):
            raise TimeValueError(f"{what} must be a finite number of seconds, got {value!r}")
        return round(float(value) * NS_PER_S)
    return _duration_ns(value, what)


def _duration_ns(value: Any, what: str) -> int:
    """Nanoseconds in a duration: ``TimeDelta``, ``timedelta``, ``Timedelta`` or a time
    ``Quantity`` (``15 * u.min``)."""
    from astropy import units as u

    if isinstance(value, u.Quantity):
        if not value.isscalar or value.unit.physical_type != "time":
            raise TimeValueError(f"{what} must be one duration, got {value!r}")
        seconds = float(value.to_value(u.s))
        if not math.isfinite(seconds):
            raise TimeValueError(f"{what} must be finite, got {value!r}")
        return round(seconds * NS_PER_S)
    try:
        return duration_to_ns(value, what)
    except TimeValueError:
        raise TimeValueError(
            f"{what}: {value!r} is not a duration; use astropy TimeDelta (TimeDelta(30, "
            "format='sec')), datetime.timedelta or pandas.Timedelta"
        ) from None


def day_obs_window_tai_ns(day_obs: int | str) -> tuple[int, int]:
    """``[D 12:00 UTC, D+1 12:00 UTC]`` for ``day_obs`` D, in TAI ns (both ends).

    The observing day rolls over at 12:00 UTC (the date in UTC−12 h), so a
    night keeps one ``day_obs``. A day holding a leap second lasts 86 401 s.
    """
    day = parse_day_obs(day_obs)
    date = dt.date(day // 10000, day // 100 % 100, day % 100)
    noon = [
        calendar.timegm((d.year, d.month, d.day, 12, 0, 0)) * NS_PER_S
        for d in (date, date + dt.timedelta(days=1))
    ]
    if noon[0] < UTC_EARLIEST_NS:
        raise TimeValueError(f"dayObs {day_obs!r}: days before 1972 are not supported")
    begin, end = utc_to_tai_ns(np.array(noon, dtype=np.int64))
    return int(begin), int(end)


def _span_of_record(record: Any) -> tuple[int, int]:
    """TAI ns ``(begin, end)`` of an exposure: a butler record or a registry row."""
    if isinstance(record, pd.DataFrame):
        if len(record) != 1:
            raise QueryError(
                f"expRecord: a frame of {len(record)} exposures; give one row "
                "(frame.iloc[i]) or loop over them"
            )
        record = record.iloc[0]
    if isinstance(record, pd.Series | Mapping):
        keys = ("timespan_begin_tai_ns", "timespan_end_tai_ns")
        if not all(k in record for k in keys):
            raise QueryError(
                "expRecord: a row of the exposure registry (client.get_exposures()) needs "
                f"{keys[0]} and {keys[1]}; got one with {sorted(map(str, record.keys()))}"
            )
        values = [record[k] for k in keys]
        if any(pd.isna(v) for v in values):
            raise QueryError("expRecord: the exposure's timespan is not known (<NA>)")
        bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int | np.integer)]
        if bad:
            raise QueryError(f"expRecord: timespan_*_tai_ns must be integers, got {bad[0]!r}")
        return int(values[0]), int(values[1])
    span = getattr(record, "timespan", None)
    if span is None or not hasattr(span, "begin") or not hasattr(span, "end"):
        raise QueryError(
            "expRecord must be an exposure record with a timespan (butler DimensionRecord) "
            f"or a row of client.get_exposures(), got {type(record).__name__}"
        )
    if span.begin is None or span.end is None:
        raise QueryError("expRecord: the exposure's timespan is unbounded; it needs both ends")
    return (
        to_tai_ns(span.begin, "expRecord.timespan.begin"),
        to_tai_ns(span.end, "expRecord.timespan.end"),
    )


def _span_of_event(event: Any) -> tuple[int, int]:
    if not hasattr(event, "begin") or not hasattr(event, "end"):
        raise QueryError(
            f"event must have begin and end times (a TMAEvent), got {type(event).__name__}"
        )
    return to_tai_ns(event.begin, "event.begin"), to_tai_ns(event.end, "event.end")


def _forbid(given: str, others: Mapping[str, Any]) -> None:
    extra = [name for name, value in others.items() if value is not None]
    if extra:
        raise QueryError(
            f"You can't specify both {given} and {'/'.join(extra)}: give exactly one of "
            "expRecord, event, dayObs, begin+end or begin+timespan"
        )


def _nominal_window(
    dayObs: Any,  # noqa: N803 - summit_utils' argument names
    begin: Any,
    end: Any,
    timespan: Any,
    event: Any,
    expRecord: Any,  # noqa: N803
) -> tuple[int, int]:
    if expRecord is not None:
        others = {"event": event, "begin": begin, "end": end, "timespan": timespan}
        _forbid("an expRecord", {**others, "dayObs": dayObs})
        return _span_of_record(expRecord)
    if event is not None:
        _forbid("an event", {"begin": begin, "end": end, "timespan": timespan, "dayObs": dayObs})
        return _span_of_event(event)
    if dayObs is not None:
        _forbid("a dayObs", {"begin": begin, "end": end, "timespan": timespan})
        return day_obs_window_tai_ns(dayObs)
    if begin is None:
        raise QueryError(
            "You must specify either a dayObs or a begin/end or begin/timespan "
            "(or an expRecord or an event)"
        )
    start = to_tai_ns(begin, "begin")
    if end is None and timespan is None:
        raise QueryError("If you specify a begin, you must specify either an end or a timespan")
    if end is not None and timespan is not None:
        raise QueryError("You can't specify both an end and a timespan")
    if end is not None:
        return start, to_tai_ns(end, "end")
    other = int64_tai_ns(start + _duration_ns(timespan, "timespan"), "begin + timespan")
    return min(start, other), max(start, other)


def efd_data_window_tai_ns(
    *,
    prePadding: Any = 0,  # noqa: N803 - summit_utils' argument names
    postPadding: Any = 0,  # noqa: N803
    dayObs: Any = None,  # noqa: N803
    begin: Any = None,
    end: Any = None,
    timespan: Any = None,
    event: Any = None,
    expRecord: Any = None,  # noqa: N803
) -> tuple[int, int]:
    """The window ``getEfdData`` selects: TAI ns ``(begin, end)``, both ends included.

    Raises ``QueryError`` (a ``ValueError``) for a combination ``summit_utils``
    refuses, or a window whose end precedes its begin; ``TimeValueError``
    (also a ``ValueError``) for a time or duration that cannot be read.
    """
    lo, hi = _nominal_window(dayObs, begin, end, timespan, event, expRecord)
    lo = int64_tai_ns(lo - _seconds_ns(prePadding, "prePadding"), "begin - prePadding")
    hi = int64_tai_ns(hi + _seconds_ns(postPadding, "postPadding"), "end + postPadding")
    if hi < lo:
        when = tai_ns_to_index(np.array([lo, hi], dtype=np.int64))
        raise QueryError(
            f"the window ends before it begins ({when[1].isoformat()} < {when[0].isoformat()} "
            "UTC, padding included): give the earlier time as begin, or a smaller negative "
            "padding"
        )
    return lo, hi


# --- the helpers ---------------------------------------------------------------------


def getEfdData(
    client: Client,
    topic: str,
    *,
    columns: str | list[str] | None = None,
    prePadding: Any = 0,  # noqa: N803 - summit_utils' argument names
    postPadding: Any = 0,  # noqa: N803
    dayObs: int | str | None = None,  # noqa: N803
    begin: Any = None,
    end: Any = None,
    timespan: Any = None,
    event: Any = None,
    expRecord: Any = None,  # noqa: N803
    warn: bool = True,
    raiseIfTopicNotInSchema: bool = True,  # noqa: N803
) -> pd.DataFrame:
    """A topic's rows in a window, as ``summit_utils.efdUtils.getEfdData`` gives them.

    The window (see the module docstring) is exactly one of ``expRecord`` (a
    butler exposure ``DimensionRecord``, anything whose ``timespan`` has
    ``begin``/``end`` times, or a row — Series, dict, one-row frame — of
    ``client.get_exposures()``), ``event`` (``begin``/``end`` times),
    ``dayObs`` (``20240501``, ``"2024-05-01"``), ``begin`` + ``end``, or
    ``begin`` + ``timespan``; then ``prePadding``/``postPadding`` seconds (or
    durations) are added. Times: astropy ``Time`` of any scale, aware
    ``datetime``/``Timestamp``, ISO 8601 strings (UTC). Durations:
    ``TimeDelta``, ``timedelta``, ``Timedelta``, time ``Quantity``.

    ``columns``: a field name or a list (arrays flattened as the EFD names
    them); all fields when None. ``warn``: log a warning when no row is
    found. ``raiseIfTopicNotInSchema``: raise :class:`TopicNotInSchemaError`
    for a topic the store does not know, else give an empty frame.

    Returns the rows with ``begin <= time <= end`` (padding included),
    oldest first, indexed by tz-aware UTC time.
    """
    efd = _sync(client)
    lo, hi = efd_data_window_tai_ns(
        prePadding=prePadding,
        postPadding=postPadding,
        dayObs=dayObs,
        begin=begin,
        end=end,
        timespan=timespan,
        event=event,
        expRecord=expRecord,
    )
    fields = ["*"] if columns is None else normalize_field_list(columns)
    try:
        frame = efd.select_range_tai(topic, fields, lo, hi)
    except UnknownTopicError as exc:
        if raiseIfTopicNotInSchema:
            raise TopicNotInSchemaError(str(exc)) from exc
        if warn:
            _log.warning("Topic %s is not in the schema: no data was returned", topic)
        return pd.DataFrame(index=tai_ns_to_index(np.empty(0, dtype=np.int64)))
    if frame.empty and warn:
        when = tai_ns_to_index(np.array([lo, hi], dtype=np.int64))
        _log.warning(
            "Topic %s is in the schema, but no data was returned by the query for the "
            "specified time range (%s to %s UTC)",
            topic,
            when[0].isoformat(),
            when[1].isoformat(),
        )
    return frame


def _minutes_ns(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise QueryError(f"{what} must be a number of minutes, got {value!r}")
    if not math.isfinite(float(value)) or value < 0:
        raise QueryError(f"{what} must be a finite number of minutes ≥ 0, got {value!r}")
    return round(float(value) * _MINUTE_NS)


def _read_where(where: Where | None) -> tuple[int | None, Callable[[pd.DataFrame], Any] | None]:
    """``salIndex`` to filter on in the query, and the test left for the rows found."""
    if where is None:
        return None, None
    if callable(where):
        return None, where
    if not isinstance(where, Mapping) or not all(isinstance(k, str) for k in where):
        raise QueryError(
            "where must be a callable (lambda df: df['salIndex'] == 1) or a mapping of field "
            f"to value ({{'salIndex': 1}}), got {where!r}"
        )
    rest = dict(where)
    index = rest.get(SAL_INDEX_FIELD)
    if isinstance(index, int | np.integer) and not isinstance(index, bool) and index != 0:
        del rest[SAL_INDEX_FIELD]  # 0 is "no filter" to the query: test it on the rows
    else:
        index = None
    if not rest:
        return None if index is None else int(index), None

    def equal(frame: pd.DataFrame) -> pd.Series:
        missing = [k for k in rest if k not in frame.columns]
        if missing:
            raise UnknownFieldError(f"where: the topic has no field {missing[0]!r}")
        mask = pd.Series(True, index=frame.index)
        for name, value in rest.items():
            mask &= frame[name] == value
        return mask

    return None if index is None else int(index), equal


def _mask(test: Callable[[pd.DataFrame], Any], frame: pd.DataFrame) -> np.ndarray:
    """The rows ``test`` keeps: one boolean per row (a missing value keeps none)."""
    result = test(frame)
    if isinstance(result, pd.Series | pd.Index):
        if result.dtype.kind not in "bO" and str(result.dtype) != "boolean":
            raise QueryError(f"where must give booleans, got a {result.dtype} series")
        values = np.asarray(result.astype("boolean").fillna(False), dtype=bool)
    else:
        values = np.asarray(result)
        if values.dtype.kind != "b":
            raise QueryError(f"where must give booleans, one per row, got {result!r}")
    if values.shape != (len(frame),):
        raise QueryError(f"where must give one boolean per row ({len(frame)}), got {values.shape}")
    return values


def _no_data(topic: str, t_tai_ns: int, look_back_ns: int | None, filtered: bool) -> QueryError:
    when = tai_ns_to_index(np.array([t_tai_ns], dtype=np.int64))[0].isoformat()
    span = f"within {look_back_ns / _MINUTE_NS:g} minutes " if look_back_ns is not None else ""
    match = "matching `where` " if filtered else ""
    return QueryError(f"no data {match}in {topic} {span}at or before {when} (UTC)")


def _search_where(
    efd: EfdClientSync,
    topic: str,
    t: int,
    look_back_ns: int | None,
    index: int | None,
    test: Callable[[pd.DataFrame], Any],
) -> pd.Series | None:
    """The newest row at or before ``t`` that ``test`` keeps: range queries over windows
    growing from 15 minutes (×16 each) back to the look-back or the first row."""
    floor = t - look_back_ns if look_back_ns is not None else _EARLIEST_TAI_NS
    hi = t
    for span in (*_SEARCH_SPANS_NS, None):
        lo = max(floor, t - span) if span is not None else floor
        frame = efd.select_range_tai(topic, ["*"], lo, hi, index=index)
        kept = frame[_mask(test, frame)] if len(frame) else frame
        if len(kept):
            row: pd.Series = kept.iloc[-1]
            return row
        if lo == floor:
            return None
        hi = lo - 1  # the next window ends where this one began
    return None


def getMostRecentRowWithDataBefore(
    client: Client,
    topic: str,
    timeToLookBefore: Any,  # noqa: N803 - summit_utils' argument names
    warnStaleAfterNMinutes: float = DEFAULT_STALE_MINUTES,  # noqa: N803
    maxSearchNMinutes: float | None = None,  # noqa: N803
    where: Where | None = None,
    raiseIfTopicNotInSchema: bool = True,  # noqa: N803
) -> pd.Series:
    """The newest row of ``topic`` at or before ``timeToLookBefore``, in one as-of query.

    ``timeToLookBefore``: astropy ``Time`` of any scale, aware ``datetime``,
    ISO string; rows with ``time <= timeToLookBefore`` qualify.
    ``maxSearchNMinutes``: look back at most this many minutes (rows with
    ``time >= timeToLookBefore - maxSearchNMinutes``); None: any earlier row.
    ``warnStaleAfterNMinutes``: log a warning when the row is older.
    ``where``: the rows to consider, ``{"salIndex": 1}`` (field → value;
    ``salIndex`` is filtered in the query itself) or, as in ``summit_utils``,
    a callable taking a DataFrame and giving one boolean per row. A callable
    (or a mapping's other fields) is tried on the as-of row; when it refuses
    it, range queries over windows of 15 min, 4 h, 64 h, 43 days, then the
    whole look-back find the newest row it keeps.
    ``raiseIfTopicNotInSchema``: raise :class:`TopicNotInSchemaError` for a
    topic the store does not know, else that is "no data".

    Returns every field of the row as a Series whose ``name`` is the row's
    time (tz-aware UTC ``Timestamp``), as ``df.iloc[-1]`` of a frame.
    Raises ``QueryError`` (a ``ValueError``) when there is no such row.
    """
    efd = _sync(client)
    t = to_tai_ns(timeToLookBefore, "timeToLookBefore")
    stale_ns = _minutes_ns(warnStaleAfterNMinutes, "warnStaleAfterNMinutes")
    look_back_ns = (
        None if maxSearchNMinutes is None else _minutes_ns(maxSearchNMinutes, "maxSearchNMinutes")
    )
    index, test = _read_where(where)
    try:
        frame = efd.select_asof_tai(
            topic, ["*"], np.array([t], dtype=np.int64), max_age_ns=look_back_ns, index=index
        )
    except UnknownTopicError as exc:
        if raiseIfTopicNotInSchema:
            raise TopicNotInSchemaError(str(exc)) from exc
        raise _no_data(topic, t, look_back_ns, where is not None) from exc
    sample = frame[SAMPLE_TIME].iloc[0]
    if pd.isna(sample):
        raise _no_data(topic, t, look_back_ns, where is not None)
    found = frame.drop(columns=[SAMPLE_TIME])
    found.index = pd.DatetimeIndex([sample])
    row: pd.Series = found.iloc[0]
    if test is not None and not _mask(test, found)[0]:
        older = _search_where(efd, topic, t, look_back_ns, index, test)
        if older is None:
            raise _no_data(topic, t, look_back_ns, True)
        row = older
    assert isinstance(row.name, pd.Timestamp)  # every row is named by its time
    age_ns = t - to_tai_ns(row.name, "row time")
    if age_ns > stale_ns:
        _log.warning(
            "Component %s was last set %.1f minutes before the requested time",
            topic,
            age_ns / _MINUTE_NS,
        )
    return row
