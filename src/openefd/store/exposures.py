"""Reading the exposure registry: exposures, image arrivals, and exposures by time.

The tables are described in :mod:`openefd.store.exposure_tables`. Every
function here asks one query and returns a DataFrame with a default index:
times are TAI ns in ``…_tai_ns`` columns (nullable ``Int64``: ``<NA>`` is
unknown), durations in seconds (``…_s``), angles in degrees (``…_deg``).
A store that never held exposures answers with empty frames of the same
columns.

Exposures match a time range when their shutter-open timespan overlaps it:
both are half-open, ``[begin, end)``; an empty timespan (a bias: begin =
end) counts as the instant ``begin``. That is the join with telemetry: the
rows of a topic taken during an exposure are those with
``timespan_begin_tai_ns <= time_tai_ns < timespan_end_tai_ns``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from openefd.errors import QueryError
from openefd.store.exposure_tables import ARRIVALS, EXPOSURES, RegistryTable, table_exists
from openefd.store.registry import quote_ident
from openefd.timeinput import to_tai_ns

if TYPE_CHECKING:
    from openefd.store.duckdb_store import Store

__all__ = [
    "exposures",
    "exposures_overlapping",
    "frame_from_arrow",
    "image_arrivals",
    "observing_days",
    "parse_day_obs",
]

_DAY_OBS_RE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")


def parse_day_obs(value: int | str) -> int:
    """``day_obs`` as the integer YYYYMMDD, from ``20240501``, ``"20240501"``, ``"2024-05-01"``."""
    text = str(value).strip()
    match = _DAY_OBS_RE.match(text)
    if match is None:
        raise QueryError(f"day_obs {value!r} is not a date: give YYYYMMDD or YYYY-MM-DD")
    year, month, day = (int(g) for g in match.groups())
    try:
        pd.Timestamp(year=year, month=month, day=day)
    except ValueError as exc:
        raise QueryError(f"day_obs {value!r} is not a valid date: {exc}") from exc
    return year * 10000 + month * 100 + day


def frame_from_arrow(table: pa.Table) -> pd.DataFrame:
    """A DataFrame whose integer and boolean columns stay exact when they hold nulls."""

    def mapper(t: pa.DataType) -> Any:
        if pa.types.is_integer(t):
            return pd.Int64Dtype()
        if pa.types.is_boolean(t):
            return pd.BooleanDtype()
        return None

    frame: pd.DataFrame = table.to_pandas(types_mapper=mapper)
    return frame


def _empty(table: RegistryTable, extra: Sequence[tuple[str, pa.DataType]] = ()) -> pd.DataFrame:
    schema = table.arrow_schema
    for name, typ in extra:
        schema = schema.append(pa.field(name, typ))
    return frame_from_arrow(schema.empty_table())


def _select(table: RegistryTable, where: list[str], tail: str = "") -> str:
    cols = ", ".join(quote_ident(c) for c in table.columns)
    sql = f"SELECT {cols}{tail} FROM {table.name}"
    return sql + (" WHERE " + " AND ".join(where) if where else "")


def _filters(
    instrument: str | None, day_obs: int | str | None, exposure_ids: Iterable[int] | None
) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if instrument is not None:
        where.append("instrument = ?")
        params.append(instrument)
    if day_obs is not None:
        where.append("day_obs = ?")
        params.append(parse_day_obs(day_obs))
    if exposure_ids is not None:
        where.append("list_contains(?::BIGINT[], exposure_id)")
        params.append([int(i) for i in exposure_ids])
    return where, params


def exposures(
    store: Store,
    *,
    instrument: str | None = None,
    day_obs: int | str | None = None,
    begin: Any = None,
    end: Any = None,
    exposure_ids: Iterable[int] | None = None,
    observation_types: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Exposures matching every filter given, by instrument and exposure id.

    ``begin``/``end``: any time :func:`openefd.timeinput.to_tai_ns` takes
    (astropy ``Time``, aware ``datetime``, ISO 8601 UTC string); exposures
    whose timespan overlaps ``[begin, end)`` (either may be omitted).
    ``observation_types``: e.g. ``["science"]``.
    """
    if not table_exists(store.cursor(), EXPOSURES):
        return _empty(EXPOSURES)
    where, params = _filters(instrument, day_obs, exposure_ids)
    if begin is not None:
        where.append("greatest(timespan_end_tai_ns, timespan_begin_tai_ns + 1) > ?")
        params.append(to_tai_ns(begin, "begin"))
    if end is not None:
        where.append("timespan_begin_tai_ns < ?")
        params.append(to_tai_ns(end, "end"))
    if observation_types is not None:
        where.append("list_contains(?::VARCHAR[], observation_type)")
        params.append(list(observation_types))
    sql = _select(EXPOSURES, where) + " ORDER BY instrument, exposure_id"
    return frame_from_arrow(store.cursor().sql(sql, params=params).to_arrow_table())


def exposures_overlapping(
    store: Store, begin_tai_ns: int, end_tai_ns: int, *, instrument: str | None = None
) -> pd.DataFrame:
    """Exposures whose shutter-open timespan overlaps ``[begin_tai_ns, end_tai_ns)`` (TAI ns)."""
    if not table_exists(store.cursor(), EXPOSURES):
        return _empty(EXPOSURES)
    where, params = _filters(instrument, None, None)
    where += [
        "timespan_begin_tai_ns < ?",
        "greatest(timespan_end_tai_ns, timespan_begin_tai_ns + 1) > ?",
    ]
    params += [int(end_tai_ns), int(begin_tai_ns)]
    sql = _select(EXPOSURES, where) + " ORDER BY instrument, exposure_id"
    return frame_from_arrow(store.cursor().sql(sql, params=params).to_arrow_table())


def image_arrivals(
    store: Store,
    *,
    instrument: str | None = None,
    day_obs: int | str | None = None,
    exposure_ids: Iterable[int] | None = None,
    detectors: Iterable[int | str] | None = None,
    first_delivery_only: bool = False,
) -> pd.DataFrame:
    """Image deliveries matching every filter, by instrument, exposure, detector, delivery.

    ``detectors``: ids (``94``) or full names (``"R22_S11"``). A column
    ``resend`` (bool) says whether a row is a re-send (``delivery`` > 0);
    ``first_delivery_only`` leaves re-sends out.
    """
    extra = [("resend", pa.bool_())]
    if not table_exists(store.cursor(), ARRIVALS):
        return _empty(ARRIVALS, extra)
    where, params = _filters(instrument, day_obs, exposure_ids)
    if detectors is not None:
        wanted = list(detectors)
        ids = [int(d) for d in wanted if not isinstance(d, str)]
        names = [d for d in wanted if isinstance(d, str)]
        where.append(
            "(list_contains(?::INTEGER[], detector) OR list_contains(?::VARCHAR[], detector_name))"
        )
        params += [ids, names]
    if first_delivery_only:
        where.append("delivery = 0")
    sql = _select(ARRIVALS, where, ", delivery > 0 AS resend")
    order = " ORDER BY instrument, exposure_id, detector, delivery"
    return frame_from_arrow(store.cursor().sql(sql + order, params=params).to_arrow_table())


def observing_days(store: Store) -> pd.DataFrame:
    """Per instrument and ``day_obs``: exposures and image deliveries held."""
    columns = {"instrument": "str", "day_obs": "Int64", "exposures": "Int64", "images": "Int64"}
    cur = store.cursor()
    if not table_exists(cur, EXPOSURES):
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
    sql = (
        "WITH e AS (SELECT instrument, day_obs, count(*) AS exposures "
        f"FROM {EXPOSURES.name} GROUP BY ALL), "
        "a AS (SELECT instrument, day_obs, count(*) AS images "
        f"FROM {ARRIVALS.name} GROUP BY ALL) "
        "SELECT instrument, day_obs, coalesce(e.exposures, 0) AS exposures, "
        "coalesce(a.images, 0) AS images FROM e FULL OUTER JOIN a USING (instrument, day_obs) "
        "ORDER BY instrument, day_obs"
    )
    return frame_from_arrow(cur.sql(sql).to_arrow_table())
