"""``EfdClient`` (async) and ``EfdClientSync`` (blocking): the ``lsst-efd-client`` API.

Construct either from a store directory or a site alias (``OPENEFD_SITES``)::

    client = EfdClientSync("/data/efd")
    df = client.select_time_series(
        "lsst.sal.MTMount.azimuth", ["actualPosition"],
        Time("2024-05-01T03:00", scale="utc"), TimeDelta(600, format="sec"))

Times in may be astropy ``Time`` of any scale, aware ``datetime``/``Timestamp``
or ISO strings (UTC); naive datetimes are rejected. The index of every
DataFrame is tz-aware UTC unless ``time_scale="tai"`` asks for naive TAI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from openefd.client.embedded import EmbeddedClient, resolve_location
from openefd.ingest.writer import TableData, WriteResult
from openefd.settings import Settings

__all__ = ["EfdClient", "EfdClientSync"]


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
    """

    def __init__(
        self, location: str | Path, *, create: bool = False, settings: Settings | None = None
    ) -> None:
        self.settings = settings or Settings()
        self._impl = EmbeddedClient(
            resolve_location(location, self.settings), self.settings, create=create
        )

    @property
    def store(self) -> Any:
        """The underlying :class:`openefd.store.Store`."""
        return self._impl.store

    def close(self) -> None:
        self._impl.close()

    def __enter__(self) -> EfdClientSync:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def get_topics(self) -> list[str]:
        """Every topic in the store, sorted."""
        return self._impl.get_topics()

    def get_fields(self, topic_name: str) -> list[str]:
        """Every field of a topic as the EFD names them (arrays flattened), sorted."""
        return self._impl.get_fields(topic_name)

    def get_schema(self, topic: str) -> pd.DataFrame:
        """name, description, units, aunits (astropy unit or None), is_array per field."""
        return self._impl.get_schema(topic)

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
    ) -> pd.DataFrame:
        """Rows with ``start <= time <= end`` (or a window centred on ``start``)."""
        return self._impl.select_time_series(
            topic_name,
            fields,
            start,
            end,
            is_window,
            index,
            convert_influx_index,
            use_old_csc_indexing,
            time_scale=time_scale,
        )

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
        return self._impl.select_top_n(
            topic_name,
            fields,
            num,
            time_cut,
            index,
            convert_influx_index,
            use_old_csc_indexing,
            time_scale=time_scale,
        )

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
        return self._impl.select_packed_time_series(
            topic_name,
            base_fields,
            start,
            end,
            is_window,
            index,
            ref_timestamp_col,
            ref_timestamp_fmt,
            ref_timestamp_scale,
            convert_influx_index,
            use_old_csc_indexing,
        )

    def get(
        self, name: str, start: Any, end: Any, *, index: int | None = None, time_scale: str = "utc"
    ) -> pd.DataFrame:
        """``get("MTM1M3.forceActuatorData.zForce", start, end)``: an array gives all elements."""
        return self._impl.get(name, start, end, index=index, time_scale=time_scale)

    def write(self, topic: str, data: TableData) -> WriteResult:
        """Write rows (DataFrame, Arrow table, records); all-or-nothing, idempotent."""
        return self._impl.write(topic, data)

    def write_line_protocol(self, text: str, precision: str = "ns") -> WriteResult:
        """Write InfluxDB line protocol text (the EFD's layout); all-or-nothing, idempotent."""
        return self._impl.write_line_protocol(text, precision)


class EfdClient:
    """Async EFD client on an embedded store (``lsst_efd_client.EfdClient``'s API).

    Every query runs in a worker thread, so the event loop stays free.
    """

    def __init__(
        self, location: str | Path, *, create: bool = False, settings: Settings | None = None
    ) -> None:
        self._sync = EfdClientSync(location, create=create, settings=settings)

    @property
    def store(self) -> Any:
        return self._sync.store

    def close(self) -> None:
        self._sync.close()

    async def __aenter__(self) -> EfdClient:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def get_topics(self) -> list[str]:
        return await asyncio.to_thread(self._sync.get_topics)

    async def get_fields(self, topic_name: str) -> list[str]:
        return await asyncio.to_thread(self._sync.get_fields, topic_name)

    async def get_schema(self, topic: str) -> pd.DataFrame:
        return await asyncio.to_thread(self._sync.get_schema, topic)

    async def select_time_series(
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
    ) -> pd.DataFrame:
        return await asyncio.to_thread(
            self._sync.select_time_series,
            topic_name,
            fields,
            start,
            end,
            is_window,
            index,
            convert_influx_index,
            use_old_csc_indexing,
            time_scale=time_scale,
        )

    async def select_top_n(
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
        return await asyncio.to_thread(
            self._sync.select_top_n,
            topic_name,
            fields,
            num,
            time_cut,
            index,
            convert_influx_index,
            use_old_csc_indexing,
            time_scale=time_scale,
        )

    async def select_packed_time_series(
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
        return await asyncio.to_thread(
            self._sync.select_packed_time_series,
            topic_name,
            base_fields,
            start,
            end,
            is_window,
            index,
            ref_timestamp_col,
            ref_timestamp_fmt,
            ref_timestamp_scale,
            convert_influx_index,
            use_old_csc_indexing,
        )

    async def get(
        self, name: str, start: Any, end: Any, *, index: int | None = None, time_scale: str = "utc"
    ) -> pd.DataFrame:
        return await asyncio.to_thread(
            self._sync.get, name, start, end, index=index, time_scale=time_scale
        )

    async def write(self, topic: str, data: TableData) -> WriteResult:
        return await asyncio.to_thread(self._sync.write, topic, data)

    async def write_line_protocol(self, text: str, precision: str = "ns") -> WriteResult:
        return await asyncio.to_thread(self._sync.write_line_protocol, text, precision)
