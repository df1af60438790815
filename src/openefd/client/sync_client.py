"""``EfdClientSync``: the ``lsst-efd-client`` API, blocking, on an embedded store.

Construct it from a store directory or a site alias (``OPENEFD_SITES``)::

    efd = EfdClientSync("/data/efd")
    df = efd.select_time_series(
        "lsst.sal.MTMount.azimuth", ["actualPosition"],
        Time("2024-05-01T03:00", scale="utc"), TimeDelta(600, format="sec"))

Semantics follow ``lsst-efd-client``: ranges include both ends
(``time >= start AND time <= end``), ``select_top_n`` cuts with
``time < time_cut`` and returns newest first, and ``index`` filters on
``salIndex`` when it is truthy. Times in may be astropy ``Time`` of any
scale, aware ``datetime``/``Timestamp`` or ISO strings (UTC); naive datetimes
are rejected. Every DataFrame index is tz-aware UTC unless
``time_scale="tai"`` asks for naive TAI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from openefd.client.packed import unpack
from openefd.errors import ConfigurationError, QueryError
from openefd.ingest.lp_batches import write_line_protocol
from openefd.ingest.writer import TableData, Writer, WriteResult
from openefd.query.aggregated import RESOLUTIONS, run_aggregated
from openefd.query.asof import SAMPLE_TIME, run_asof
from openefd.query.downsampled import run_downsampled
from openefd.query.fields import flat_fields, normalize_field_list
from openefd.query.select import RowSelect, array_lengths, run_select
from openefd.schema.model import SAL_INDEX_FIELD
from openefd.schema.units import parse_units
from openefd.settings import Settings
from openefd.store.duckdb_store import DB_FILE, Store
from openefd.timeinput import duration_to_ns, tai_ns_to_index, to_tai_ns, to_tai_ns_array

__all__ = ["EfdClientSync", "resolve_location"]


def resolve_location(location: str | Path, settings: Settings) -> Path:
    """The store directory for a path or a site alias; URLs are not embedded stores."""
    text = str(location)
    if text in settings.sites:
        text = settings.sites[text]
    if text.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"{text} is a server URL; this openefd version opens embedded stores only "
            "(a path to a store directory or a site alias from OPENEFD_SITES)"
        )
    return Path(text).expanduser()


def _is_single_time(value: Any) -> bool:
    from astropy.time import Time

    if isinstance(value, Time):
        return bool(value.isscalar)
    return isinstance(value, str | dt.datetime | pd.Timestamp)


def _no_data_message(
    client: EfdClientSync,
    topic: str,
    names: list[str],
    asked: np.ndarray,
    index: int | None,
    age: int | None,
) -> str:
    when = tai_ns_to_index(asked, "utc")[0].isoformat()
    newest = run_asof(client.store, topic, names, asked, index=index or None)
    if newest[SAMPLE_TIME].isna().all():
        return f"no data for {topic} at or before {when} (UTC): the topic has no earlier row"
    since = newest[SAMPLE_TIME].iloc[0].isoformat()
    limit = f" within max_age {age / 1e9:g} s" if age is not None else ""
    return f"no data for {topic} at {when} (UTC){limit}: no data since {since}"


def _time_range(start: Any, end: Any, is_window: bool) -> tuple[int, int]:
    from astropy.time import TimeDelta

    begin = to_tai_ns(start, "start")
    if isinstance(end, TimeDelta | dt.timedelta | pd.Timedelta):
        span = duration_to_ns(end, "end")
        if is_window:
            return begin - span // 2, begin + span // 2
        return begin, begin + span
    return begin, to_tai_ns(end, "end")


class EfdClientSync:
    """Blocking EFD client on an embedded store (``lsst_efd_client.EfdClientSync``'s API).

    Parameters
    ----------
    location
        Store directory or site alias.
    create
        Create an empty store when none exists there (default: error).
    settings
        Settings to use instead of those from the environment.
    read_only
        Open for reading only: other processes may then read the store at the
        same time (DuckDB allows one writing process, or many reading ones).
    """

    def __init__(
        self,
        location: str | Path,
        *,
        create: bool = False,
        settings: Settings | None = None,
        read_only: bool = False,
    ) -> None:
        self.settings = settings or Settings()
        path = resolve_location(location, self.settings)
        if not create and not (path / DB_FILE).exists():
            raise ConfigurationError(
                f"no openefd store at {path}; create one with 'openefd init --store {path}' "
                "(from Python: EfdClientSync(path, create=True))"
            )
        self.store = Store(path, settings=self.settings, read_only=read_only)
        self._owns_store = True

    @classmethod
    def from_store(cls, store: Store) -> EfdClientSync:
        """A client on an already open store (sharing it, and its live writer's rows)."""
        client = cls.__new__(cls)
        client.settings = store.settings
        client.store = store
        client._owns_store = False
        return client

    def close(self) -> None:
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> EfdClientSync:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _check_writable(self) -> None:
        if self.store.read_only:
            raise ConfigurationError(f"{self.store.path} was opened read-only; cannot write")

    def get_topics(self) -> list[str]:
        """Topics that hold data, sorted (as SHOW MEASUREMENTS lists them)."""
        return self.store.registry.tables()

    def get_fields(self, topic_name: str) -> list[str]:
        """Every field of a topic as the EFD names them (arrays flattened), sorted."""
        layout = self.store.layout(topic_name)
        if not self.store.registry.has_table(topic_name):
            return flat_fields(layout)
        return flat_fields(layout, array_lengths(self.store, layout))

    def get_schema(self, topic: str) -> pd.DataFrame:
        """name, description, units, aunits (astropy unit or None), is_array per field."""
        self.store.layout(topic)
        schema = self.store.registry.current(topic)
        assert schema is not None
        return pd.DataFrame(
            {
                "name": [f.name for f in schema.fields],
                "description": pd.Series([f.description for f in schema.fields], dtype=object),
                "units": pd.Series([f.units for f in schema.fields], dtype=object),
                "aunits": [parse_units(f.units) for f in schema.fields],
                "is_array": [f.is_array for f in schema.fields],
            }
        )

    def _index_field(self, topic: str, use_old_csc_indexing: bool) -> str:
        if not use_old_csc_indexing:
            return SAL_INDEX_FIELD
        return f"{topic.split('.')[-2]}ID"

    def _select(self, req: RowSelect, index_name: str) -> pd.DataFrame:
        if req.index is not None and index_name != SAL_INDEX_FIELD:
            # Old-style CSC indexing: filter the named field after selecting it.
            wide = RowSelect(
                req.topic,
                [*req.fields, index_name],
                req.start_tai_ns,
                req.end_tai_ns,
                req.end_inclusive,
                None,
                None,
                req.descending,
                req.time_scale,
            )
            frame = run_select(self.store, wide)
            frame = frame[frame[index_name] == req.index]
            if index_name not in req.fields:
                frame = frame.drop(columns=[index_name])
            return frame.head(req.limit) if req.limit is not None else frame
        return run_select(self.store, req)

    def select_time_series(
        self,
        topic_name: str,
        fields: str | Sequence[str],
        start: Any,
        end: Any,
        is_window: bool = False,
        index: int | None = None,
        convert_influx_index: bool = False,
        use_old_csc_indexing: bool = False,
        *,
        time_scale: str = "utc",
        resolution: str | None = None,
        stats: str | Sequence[str] = "mean",
        downsample: str | None = None,
        fill: str | float = "none",
    ) -> pd.DataFrame:
        """Rows with ``start <= time <= end``, or a window of width ``end`` centred on ``start``.

        ``end`` may be a time or a duration (astropy ``TimeDelta``, ``timedelta``).
        ``convert_influx_index`` is accepted for compatibility and has no effect:
        the index is always computed from the canonical TAI time.

        ``resolution="1s"`` reads the 1-second aggregates instead of the raw rows:
        for telemetry the statistic(s) ``stats`` of each field per second (one of
        mean, min, max, median, std, count keeps the field names; a list gives
        ``<field>_<stat>`` columns); for events each message once per second with
        its ``repeats``. ``downsample`` applies an operator such as ``"mean_10"``
        or ``"lastFill_60"`` (see docs/reference/operators.md) with empty bins
        filled per ``fill`` (none, null, previous, linear or a number).
        """
        begin, finish = _time_range(start, end, is_window)
        req = RowSelect(
            topic_name,
            normalize_field_list(fields),
            begin,
            finish,
            index=index or None,
            time_scale=time_scale,
        )
        if resolution is not None and downsample is not None:
            raise QueryError("give resolution= or downsample=, not both")
        if resolution is not None:
            if resolution not in RESOLUTIONS:
                raise QueryError(
                    f"resolution {resolution!r} is not kept; choose from {', '.join(RESOLUTIONS)}"
                    " (coarser bins: downsample='mean_60' and the like)"
                )
            return run_aggregated(self.store, req, stats)
        if downsample is not None:
            return run_downsampled(self.store, req, downsample, fill)
        return self._select(req, self._index_field(topic_name, use_old_csc_indexing))

    def select_asof(
        self,
        topic_name: str,
        fields: str | Sequence[str],
        times: Any,
        *,
        max_age: Any = None,
        index: int | None = None,
        time_scale: str = "utc",
    ) -> pd.DataFrame:
        """The fields' values as of each time: the newest row at or before it.

        ``times`` is one time or many (astropy ``Time`` array, tz-aware
        ``DatetimeIndex``, a list); one query answers them all. The frame has a
        row per time, in the order given, and ``sample_time``, when the value
        was recorded. A time with no row at or before it, or only rows older
        than ``max_age`` (a duration), gets nulls; for a single time that is an
        error saying since when there has been no data.
        """
        single = _is_single_time(times)
        asked = (
            np.array([to_tai_ns(times, "time")], dtype=np.int64)
            if single
            else to_tai_ns_array(times, "times")
        )
        age = duration_to_ns(max_age, "max_age") if max_age is not None else None
        names = normalize_field_list(fields)
        frame = run_asof(
            self.store,
            topic_name,
            names,
            asked,
            max_age_ns=age,
            index=index or None,
            time_scale=time_scale,
        )
        if single and frame[SAMPLE_TIME].isna().all():
            raise QueryError(_no_data_message(self, topic_name, names, asked, index, age))
        return frame

    def select_top_n(
        self,
        topic_name: str,
        fields: str | Sequence[str],
        num: int,
        time_cut: Any = None,
        index: int | None = None,
        convert_influx_index: bool = False,
        use_old_csc_indexing: bool = False,
        *,
        time_scale: str = "utc",
    ) -> pd.DataFrame:
        """The ``num`` most recent rows (before ``time_cut`` if given), newest first."""
        if not isinstance(num, int) or num < 0:
            raise QueryError(f"num must be a whole number ≥ 0, got {num!r}")
        cut = to_tai_ns(time_cut, "time_cut") if time_cut is not None else None
        req = RowSelect(
            topic_name,
            normalize_field_list(fields),
            None,
            cut,
            end_inclusive=False,
            index=index or None,
            limit=num,
            descending=True,
            time_scale=time_scale,
        )
        return self._select(req, self._index_field(topic_name, use_old_csc_indexing))

    def select_packed_time_series(
        self,
        topic_name: str,
        base_fields: str | Sequence[str],
        start: Any,
        end: Any,
        is_window: bool = False,
        index: int | None = None,
        ref_timestamp_col: str = "cRIO_timestamp",
        ref_timestamp_fmt: str = "unix_tai",
        ref_timestamp_scale: str = "tai",
        convert_influx_index: bool = False,
        use_old_csc_indexing: bool = False,
    ) -> pd.DataFrame:
        """Packed array samples unpacked to one row each, with a ``times`` column."""
        bases = normalize_field_list(base_fields)
        every = self.get_fields(topic_name)
        wanted = [f for b in bases for f in every if f.startswith(b) and f[len(b) :].isdigit()]
        frame = self.select_time_series(
            topic_name,
            [*wanted, ref_timestamp_col],
            start,
            end,
            is_window,
            index,
            convert_influx_index,
            use_old_csc_indexing,
        )
        return unpack(frame, bases, ref_timestamp_col, ref_timestamp_fmt, ref_timestamp_scale)

    def get(
        self, name: str, start: Any, end: Any, *, index: int | None = None, time_scale: str = "utc"
    ) -> pd.DataFrame:
        """``get("MTM1M3.forceActuatorData.zForce", start, end)``: an array gives all elements."""
        parts = name.split(".")
        if len(parts) < 3:
            raise QueryError(
                f"{name!r} is not CSC.topic.field (e.g. 'MTMount.azimuth.actualPosition')"
            )
        topic = ".".join(parts[:-1])
        if not topic.startswith("lsst.sal."):
            topic = f"lsst.sal.{topic}"
        return self.select_time_series(
            topic, parts[-1], start, end, index=index, time_scale=time_scale
        )

    def write(self, topic: str, data: TableData) -> WriteResult:
        """Write rows (DataFrame, Arrow table, records); all-or-nothing, idempotent."""
        self._check_writable()
        return Writer(self.store).write(topic, data)

    def write_line_protocol(self, text: str, precision: str = "ns") -> WriteResult:
        """Write InfluxDB line protocol text (the EFD's layout); all-or-nothing, idempotent."""
        self._check_writable()
        return write_line_protocol(Writer(self.store), text, precision=precision)
