"""``EfdClientSync``: the ``lsst-efd-client`` API, blocking, on an embedded store.

Construct it from a store directory, a server URL or a site alias
(``OPENEFD_SITES``)::

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

Two layers: the public methods read the users' arguments (times of every
form become canonical TAI ns, field lists are normalized, argument errors are
raised) and call the canonical layer (``select_range_tai``,
``select_asof_tai``, ``select_top_n_tai``, ``select_packed_tai``,
``schema_frame``, ``write_table``, and for the exposure registry
``exposures_frame``, ``exposures_overlapping_tai``, ``image_arrivals_frame``,
``night_latency_report``), which answers from the store. An
``http(s)://`` location gives a
:class:`~openefd.client.http_client.RemoteEfdClientSync`, which keeps the
public layer and answers the canonical one from an ``openefd serve``; the
server answers it by calling this class's canonical layer, so both give the
same DataFrames and errors by construction.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from openefd.analysis.summary_upkeep import attach_summaries
from openefd.client.arguments import (
    DEFAULT_TIMEOUT_S,
    check_top_n,
    resolve_location,
    server_url,
    time_range,
    with_astropy_units,
)
from openefd.client.asof_methods import AsOfMethods
from openefd.client.exposure_methods import ExposureMethods
from openefd.client.packed import unpack
from openefd.client.write_methods import WriteMethods
from openefd.errors import ConfigurationError, QueryError
from openefd.query.aggregated import RESOLUTIONS, run_aggregated
from openefd.query.downsampled import run_downsampled
from openefd.query.fields import flat_fields, normalize_field_list
from openefd.query.rows import Rows
from openefd.query.select import RowSelect, array_lengths, run_select, select_rows
from openefd.schema.model import SAL_INDEX_FIELD
from openefd.settings import Settings
from openefd.store.duckdb_store import DB_FILE, Store
from openefd.timeinput import INDEX_SCALES, to_tai_ns

__all__ = ["EfdClientSync", "range_rows", "resolve_location"]


class EfdClientSync(AsOfMethods, ExposureMethods, WriteMethods):
    """Blocking EFD client (``lsst_efd_client.EfdClientSync``'s API) on a store or a server.

    Parameters
    ----------
    location
        Store directory, server URL (``https://host:port``; ``http://`` on
        loopback only) or site alias. A URL gives a
        :class:`~openefd.client.http_client.RemoteEfdClientSync`, which has
        the same methods and returns the same DataFrames and errors.
    create
        Create an empty store when none exists there (default: error).
    settings
        Settings to use instead of those from the environment.
    read_only
        Open for reading only: other processes may then read the store at the
        same time (DuckDB allows one writing process, or many reading ones).
        For a server: refuse writes in this client.
    token
        Server URLs only: the token sent as ``Authorization: Bearer``
        (default: the environment variable ``OPENEFD_TOKEN``).
    verify
        Server URLs only: check the server's TLS certificate against the
        system's CAs (True), a CA bundle file, an ``ssl.SSLContext``, or not
        at all (False).
    timeout_s
        Server URLs only: longest wait for an answer, in seconds.
    """

    store: Store

    def __new__(
        cls, location: str | Path | None = None, *args: Any, **kwargs: Any
    ) -> EfdClientSync:
        if cls is EfdClientSync and location is not None:
            settings = kwargs.get("settings") or Settings()
            if server_url(location, settings) is not None:
                from openefd.client.http_client import RemoteEfdClientSync

                return object.__new__(RemoteEfdClientSync)
        return object.__new__(cls)

    def __init__(
        self,
        location: str | Path,
        *,
        create: bool = False,
        settings: Settings | None = None,
        read_only: bool = False,
        token: str | None = None,
        verify: bool | str | Path | ssl.SSLContext = True,
        timeout_s: float = DEFAULT_TIMEOUT_S,
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
        try:
            attach_summaries(self.store)  # per-exposure summaries kept up to date
        except BaseException:
            self.store.close()
            raise

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
        return with_astropy_units(self.schema_frame(topic))

    def schema_frame(self, topic: str) -> pd.DataFrame:
        """``get_schema`` without ``aunits``: name, description, units, is_array."""
        self.store.layout(topic)
        schema = self.store.registry.current(topic)
        assert schema is not None
        return pd.DataFrame(
            {
                "name": [f.name for f in schema.fields],
                "description": pd.Series([f.description for f in schema.fields], dtype=object),
                "units": pd.Series([f.units for f in schema.fields], dtype=object),
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
        begin, finish = time_range(start, end, is_window)
        return self.select_range_tai(
            topic_name,
            normalize_field_list(fields),
            begin,
            finish,
            index=index,
            use_old_csc_indexing=use_old_csc_indexing,
            time_scale=time_scale,
            resolution=resolution,
            stats=stats,
            downsample=downsample,
            fill=fill,
        )

    def select_range_tai(
        self,
        topic_name: str,
        fields: list[str],
        start_tai_ns: int,
        end_tai_ns: int,
        *,
        index: int | None = None,
        use_old_csc_indexing: bool = False,
        time_scale: str = "utc",
        resolution: str | None = None,
        stats: str | Sequence[str] = "mean",
        downsample: str | None = None,
        fill: str | float = "none",
    ) -> pd.DataFrame:
        """``select_time_series`` of ``[start_tai_ns, end_tai_ns]`` (both ends included)."""
        req = RowSelect(
            topic_name,
            fields,
            start_tai_ns,
            end_tai_ns,
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
        rows = _plain_rows(self, req, use_old_csc_indexing)
        if rows is not None:
            return rows.frame()
        return self._select(req, self._index_field(topic_name, use_old_csc_indexing))

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
        check_top_n(num)
        cut = to_tai_ns(time_cut, "time_cut") if time_cut is not None else None
        return self.select_top_n_tai(
            topic_name,
            normalize_field_list(fields),
            num,
            cut,
            index=index,
            use_old_csc_indexing=use_old_csc_indexing,
            time_scale=time_scale,
        )

    def select_top_n_tai(
        self,
        topic_name: str,
        fields: list[str],
        num: int,
        time_cut_tai_ns: int | None = None,
        *,
        index: int | None = None,
        use_old_csc_indexing: bool = False,
        time_scale: str = "utc",
    ) -> pd.DataFrame:
        """``select_top_n`` with the cut (exclusive) in TAI ns."""
        req = RowSelect(
            topic_name,
            fields,
            None,
            time_cut_tai_ns,
            end_inclusive=False,
            index=index or None,
            limit=check_top_n(num),
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
        begin, finish = time_range(start, end, is_window)
        return self.select_packed_tai(
            topic_name,
            bases,
            begin,
            finish,
            index=index,
            ref_timestamp_col=ref_timestamp_col,
            ref_timestamp_fmt=ref_timestamp_fmt,
            ref_timestamp_scale=ref_timestamp_scale,
            use_old_csc_indexing=use_old_csc_indexing,
        )

    def select_packed_tai(
        self,
        topic_name: str,
        base_fields: list[str],
        start_tai_ns: int,
        end_tai_ns: int,
        *,
        index: int | None = None,
        ref_timestamp_col: str = "cRIO_timestamp",
        ref_timestamp_fmt: str = "unix_tai",
        ref_timestamp_scale: str = "tai",
        use_old_csc_indexing: bool = False,
    ) -> pd.DataFrame:
        """``select_packed_time_series`` of ``[start_tai_ns, end_tai_ns]``."""
        every = self.get_fields(topic_name)
        wanted = [
            f for b in base_fields for f in every if f.startswith(b) and f[len(b) :].isdigit()
        ]
        frame = self.select_range_tai(
            topic_name,
            normalize_field_list([*wanted, ref_timestamp_col]),
            start_tai_ns,
            end_tai_ns,
            index=index,
            use_old_csc_indexing=use_old_csc_indexing,
        )
        return unpack(
            frame, base_fields, ref_timestamp_col, ref_timestamp_fmt, ref_timestamp_scale
        )

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


def range_rows(
    client: EfdClientSync,
    topic_name: str,
    fields: list[str],
    start_tai_ns: int,
    end_tai_ns: int,
    *,
    index: int | None = None,
    use_old_csc_indexing: bool = False,
    time_scale: str = "utc",
) -> Rows | None:
    """``client.select_range_tai``'s raw rows before they become its DataFrame
    (``.frame()``), or None where it does more than read them: old-style CSC indexing
    (a filter after the read) or a time scale it rejects. The native HTTP server
    sends these rows."""
    req = RowSelect(
        topic_name, fields, start_tai_ns, end_tai_ns, index=index or None, time_scale=time_scale
    )
    return _plain_rows(client, req, use_old_csc_indexing)


def _plain_rows(client: EfdClientSync, req: RowSelect, use_old_csc_indexing: bool) -> Rows | None:
    index_name = client._index_field(req.topic, use_old_csc_indexing)
    if (req.index is not None and index_name != SAL_INDEX_FIELD) or (
        req.time_scale not in INDEX_SCALES
    ):
        return None
    return select_rows(client.store, req)
