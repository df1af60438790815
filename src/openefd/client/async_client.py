"""``EfdClient``: the ``lsst-efd-client`` async API on an embedded store or a server.

Every call runs :class:`~openefd.client.sync_client.EfdClientSync`'s method
in a worker thread, so the event loop stays free; arguments and results are
the same. For a server URL that client is a
:class:`~openefd.client.http_client.RemoteEfdClientSync`, whose connection
pool the worker threads share.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from openefd.analysis.latency import LatencyReport
from openefd.client.arguments import DEFAULT_TIMEOUT_S
from openefd.client.sync_client import EfdClientSync
from openefd.ingest.writer import TableData, WriteResult
from openefd.settings import Settings
from openefd.store.duckdb_store import Store

__all__ = ["EfdClient"]


class EfdClient:
    """Async EFD client on a store or a server (``lsst_efd_client.EfdClient``'s API).

    The parameters are :class:`~openefd.client.sync_client.EfdClientSync`'s.
    Every query runs in a worker thread, so the event loop stays free.
    """

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
        self._sync = EfdClientSync(
            location,
            create=create,
            settings=settings,
            read_only=read_only,
            token=token,
            verify=verify,
            timeout_s=timeout_s,
        )

    @classmethod
    def from_store(cls, store: Store) -> EfdClient:
        """An async client on an already open store (sharing it)."""
        client = cls.__new__(cls)
        client._sync = EfdClientSync.from_store(store)
        return client

    @property
    def sync(self) -> EfdClientSync:
        """The blocking client this one delegates to."""
        return self._sync

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
        resolution: str | None = None,
        stats: str | Sequence[str] = "mean",
        downsample: str | None = None,
        fill: str | float = "none",
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
            resolution=resolution,
            stats=stats,
            downsample=downsample,
            fill=fill,
        )

    async def select_asof(
        self,
        topic_name: str,
        fields: str | Sequence[str],
        times: Any,
        *,
        max_age: Any = None,
        index: int | None = None,
        time_scale: str = "utc",
    ) -> pd.DataFrame:
        return await asyncio.to_thread(
            self._sync.select_asof,
            topic_name,
            fields,
            times,
            max_age=max_age,
            index=index,
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

    async def get_exposures(
        self,
        day_obs: int | str | None = None,
        *,
        begin: Any = None,
        end: Any = None,
        instrument: str | None = None,
        exposure_ids: Iterable[int] | None = None,
        observation_types: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        return await asyncio.to_thread(
            self._sync.get_exposures,
            day_obs,
            begin=begin,
            end=end,
            instrument=instrument,
            exposure_ids=exposure_ids,
            observation_types=observation_types,
        )

    async def get_exposures_overlapping(
        self, begin: Any, end: Any, *, instrument: str | None = None
    ) -> pd.DataFrame:
        return await asyncio.to_thread(
            self._sync.get_exposures_overlapping, begin, end, instrument=instrument
        )

    async def get_image_arrivals(
        self,
        day_obs: int | str | None = None,
        *,
        instrument: str | None = None,
        exposure_ids: Iterable[int] | None = None,
        detectors: Iterable[int | str] | None = None,
        first_delivery_only: bool = False,
    ) -> pd.DataFrame:
        return await asyncio.to_thread(
            self._sync.get_image_arrivals,
            day_obs,
            instrument=instrument,
            exposure_ids=exposure_ids,
            detectors=detectors,
            first_delivery_only=first_delivery_only,
        )

    async def night_latency(
        self,
        day_obs: int | str,
        *,
        instrument: str | None = None,
        transfer_target_s: float | None = None,
        cadence_target_s: float | None = None,
        science_only: bool = False,
        exposure_ids: Iterable[int] | None = None,
        detectors: Iterable[int | str] | None = None,
    ) -> LatencyReport:
        return await asyncio.to_thread(
            self._sync.night_latency,
            day_obs,
            instrument=instrument,
            transfer_target_s=transfer_target_s,
            cadence_target_s=cadence_target_s,
            science_only=science_only,
            exposure_ids=exposure_ids,
            detectors=detectors,
        )
