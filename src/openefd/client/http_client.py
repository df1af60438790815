"""``RemoteEfdClientSync``: ``EfdClientSync``'s API answered by an ``openefd serve``.

``EfdClientSync("https://efd.example.org:8086")`` gives one. It keeps the
in-process client's public layer (argument checks, every time form turned
into canonical TAI ns, the same errors raised before anything is sent) and
sends the canonical layer's calls over openefd's native HTTP API
(:mod:`openefd.client.wire`): JSON requests, DataFrames back as Arrow IPC
streams, errors back as the same :mod:`openefd.errors` classes.

One ``httpx.Client`` per client: HTTP/1.1 with keep-alive, the token as
``Authorization: Bearer``. Plain ``http://`` is refused for anything but
loopback, so a token never crosses a network in clear text.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

import httpx
import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel

from openefd.analysis.latency import LatencyReport
from openefd.client import wire, wire_report
from openefd.client.arguments import DEFAULT_TIMEOUT_S, server_url
from openefd.client.sync_client import EfdClientSync
from openefd.errors import ConfigurationError, RemoteError
from openefd.ingest._lp_values import precision_multiplier
from openefd.ingest.writer import WriteResult
from openefd.settings import Settings
from openefd.store.duckdb_store import Store

__all__ = ["TOKEN_ENV", "RemoteEfdClientSync"]

TOKEN_ENV = "OPENEFD_TOKEN"
"""Environment variable holding the token when ``token=`` is not given."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _tls(verify: bool | str | Path | ssl.SSLContext) -> bool | ssl.SSLContext:
    if isinstance(verify, str | Path):
        path = Path(verify).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"verify={str(verify)!r}: no CA bundle file there")
        return ssl.create_default_context(cafile=str(path))
    return verify


def _quoted(topic: str) -> str:
    return quote(topic, safe="")


class RemoteEfdClientSync(EfdClientSync):
    """``EfdClientSync`` on an openefd server: the same methods, DataFrames and errors.

    Construct it as ``EfdClientSync(url, token=..., verify=..., timeout_s=...)``
    (see :class:`~openefd.client.sync_client.EfdClientSync` for the
    parameters). ``from_store`` and ``store`` need an embedded store and raise
    ``ConfigurationError`` here.
    """

    url: str
    read_only: bool

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
        url = server_url(location, self.settings)
        if url is None:
            raise ConfigurationError(f"{location} is not a server URL (http:// or https://)")
        if create:
            raise ConfigurationError(
                f"create=True makes embedded stores; {url} is a server (its store is made "
                "with 'openefd init' where the server runs)"
            )
        parts = urlsplit(url)
        if not parts.hostname:
            raise ConfigurationError(f"{url}: no host name in the server URL")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ConfigurationError(
                f"{url}: plain http:// is for loopback only; use https:// "
                "(an openefd server off loopback serves TLS)"
            )
        self.url = url.rstrip("/")
        self.read_only = read_only
        self._owns_store = False
        secret = token if token is not None else os.environ.get(TOKEN_ENV, "")
        headers = {"User-Agent": "openefd-client"}
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        self._http = httpx.Client(
            base_url=self.url + wire.API_PREFIX,
            headers=headers,
            timeout=timeout_s,
            verify=_tls(verify),
            http1=True,
            http2=False,
        )
        self._timeout_s = timeout_s

    @classmethod
    def from_store(cls, store: Store) -> EfdClientSync:
        raise ConfigurationError(
            "from_store() wraps an open embedded store; RemoteEfdClientSync talks to a server"
        )

    @property
    def store(self) -> Store:
        raise ConfigurationError(f"{self.url} is a server: there is no embedded store here")

    @store.setter
    def store(self, value: Store) -> None:
        raise ConfigurationError(f"{self.url} is a server: it cannot take an embedded store")

    def __repr__(self) -> str:
        return f"RemoteEfdClientSync({self.url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RemoteEfdClientSync:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _check_writable(self) -> None:
        if self.read_only:
            raise ConfigurationError(f"{self.url} was opened read-only; cannot write")

    # --- transport ---------------------------------------------------------

    def _fail(self, exc: httpx.TransportError) -> NoReturn:
        if isinstance(exc, httpx.TimeoutException):
            raise RemoteError(
                f"no answer from {self.url} within {self._timeout_s:g} s "
                "(timeout_s= sets how long to wait)",
                status=0,
            ) from exc
        raise ConfigurationError(f"cannot reach the openefd server at {self.url}: {exc}") from exc

    @contextmanager
    def _response(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
        accept: str = wire.JSON,
        params: dict[str, str] | None = None,
    ) -> Iterator[httpx.Response]:
        """A successful response whose body is still to be read (an error raises)."""
        if self._http.is_closed:
            raise ConfigurationError(f"this client of {self.url} was closed; open a new one")
        headers = {"Accept": accept}
        if content_type is not None:
            headers["Content-Type"] = content_type
        request = self._http.build_request(
            method, path, content=content, headers=headers, params=params
        )
        try:
            response = self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            self._fail(exc)
        try:
            if response.status_code >= 400:
                raise wire.error_from_response(
                    response.status_code,
                    self._read(response),
                    response.headers.get("content-type"),
                )
            yield response
        finally:
            response.close()

    def _read(self, response: httpx.Response) -> bytes:
        try:
            return response.read()
        except httpx.TransportError as exc:
            self._fail(exc)

    def _request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
        accept: str = wire.JSON,
        params: dict[str, str] | None = None,
    ) -> bytes:
        with self._response(
            method, path, content=content, content_type=content_type, accept=accept, params=params
        ) as response:
            return self._read(response)

    def _read_arrow(self, response: httpx.Response) -> bytes | pa.Buffer:
        """The body, in Arrow's memory pool when its length is known.

        Arrow's pool keeps freed memory for the next answer; a body joined into
        bytes came from memory the C allocator had returned to the system, faulted
        back in page by page each time (on the benchmark machine that cost as
        much as reading the body).
        """
        length = response.headers.get("content-length")
        if length is None or not length.isdigit() or "content-encoding" in response.headers:
            return self._read(response)
        buffer = pa.allocate_buffer(int(length))
        view = memoryview(buffer).cast("B")
        filled = 0
        try:
            for chunk in response.iter_raw():
                view[filled : filled + len(chunk)] = chunk  # h11 holds it to the length
                filled += len(chunk)
        except httpx.TransportError as exc:
            self._fail(exc)
        return buffer

    def _frame(self, path: str, body: BaseModel | None = None) -> pd.DataFrame:
        content = None if body is None else body.model_dump_json().encode()
        with self._response(
            "GET" if body is None else "POST",
            path,
            content=content,
            content_type=None if body is None else wire.JSON,
            accept=wire.ARROW_STREAM,
        ) as response:
            data = self._read_arrow(response)
        return wire.frame_from_arrow(data)

    def _names(self, path: str) -> list[str]:
        names: list[str] = orjson.loads(self._request("GET", path))
        return names

    # --- the canonical layer, over HTTP ------------------------------------

    def get_topics(self) -> list[str]:
        return self._names("/topics")

    def get_fields(self, topic_name: str) -> list[str]:
        return self._names(f"/topics/{_quoted(topic_name)}/fields")

    def schema_frame(self, topic: str) -> pd.DataFrame:
        return self._frame(f"/topics/{_quoted(topic)}/schema")

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
        body = wire.RangeBody(
            fields=fields,
            start=start_tai_ns,
            end=end_tai_ns,
            index=_wire_index(index),
            use_old_csc_indexing=use_old_csc_indexing,
            time_scale=time_scale,
            resolution=resolution,
            stats=stats if isinstance(stats, str) else list(stats),
            downsample=downsample,
            fill=fill,
        )
        return self._frame(f"/topics/{_quoted(topic_name)}/select", body)

    def select_asof_tai(
        self,
        topic_name: str,
        fields: list[str],
        times_tai_ns: npt.NDArray[np.int64],
        *,
        single: bool = False,
        max_age_ns: int | None = None,
        index: int | None = None,
        time_scale: str = "utc",
    ) -> pd.DataFrame:
        body = wire.AsofBody(
            fields=fields,
            times=np.asarray(times_tai_ns, dtype=np.int64).tolist(),
            single=single,
            max_age_ns=max_age_ns,
            index=_wire_index(index),
            time_scale=time_scale,
        )
        return self._frame(f"/topics/{_quoted(topic_name)}/asof", body)

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
        body = wire.TopNBody(
            fields=fields,
            num=num,
            time_cut=time_cut_tai_ns,
            index=_wire_index(index),
            use_old_csc_indexing=use_old_csc_indexing,
            time_scale=time_scale,
        )
        return self._frame(f"/topics/{_quoted(topic_name)}/top", body)

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
        body = wire.PackedBody(
            base_fields=base_fields,
            start=start_tai_ns,
            end=end_tai_ns,
            index=_wire_index(index),
            ref_timestamp_col=ref_timestamp_col,
            ref_timestamp_fmt=ref_timestamp_fmt,
            ref_timestamp_scale=ref_timestamp_scale,
            use_old_csc_indexing=use_old_csc_indexing,
        )
        return self._frame(f"/topics/{_quoted(topic_name)}/packed", body)

    def exposures_frame(
        self,
        *,
        day_obs: int | None = None,
        begin_tai_ns: int | None = None,
        end_tai_ns: int | None = None,
        instrument: str | None = None,
        exposure_ids: list[int] | None = None,
        observation_types: list[str] | None = None,
    ) -> pd.DataFrame:
        body = wire.ExposuresBody(
            day_obs=day_obs,
            begin=begin_tai_ns,
            end=end_tai_ns,
            instrument=instrument,
            exposure_ids=exposure_ids,
            observation_types=observation_types,
        )
        return self._frame("/exposures", body)

    def exposures_overlapping_tai(
        self, begin_tai_ns: int, end_tai_ns: int, *, instrument: str | None = None
    ) -> pd.DataFrame:
        body = wire.OverlapBody(begin=begin_tai_ns, end=end_tai_ns, instrument=instrument)
        return self._frame("/exposures/overlapping", body)

    def image_arrivals_frame(
        self,
        *,
        day_obs: int | None = None,
        instrument: str | None = None,
        exposure_ids: list[int] | None = None,
        detectors: list[int | str] | None = None,
        first_delivery_only: bool = False,
    ) -> pd.DataFrame:
        body = wire.ArrivalsBody(
            day_obs=day_obs,
            instrument=instrument,
            exposure_ids=exposure_ids,
            detectors=detectors,
            first_delivery_only=first_delivery_only,
        )
        return self._frame("/arrivals", body)

    def night_latency_report(
        self,
        day_obs: int,
        *,
        instrument: str | None = None,
        transfer_target_s: float | None = None,
        cadence_target_s: float | None = None,
        science_only: bool = False,
        exposure_ids: list[int] | None = None,
        detectors: list[int | str] | None = None,
    ) -> LatencyReport:
        body = wire.LatencyBody(
            day_obs=day_obs,
            instrument=instrument,
            transfer_target_s=transfer_target_s,
            cadence_target_s=cadence_target_s,
            science_only=science_only,
            exposure_ids=exposure_ids,
            detectors=detectors,
        )
        data = self._request(
            "POST",
            "/latency",
            content=body.model_dump_json().encode(),
            content_type=wire.JSON,
            accept=wire.ARROW_STREAM,
        )
        return wire_report.report_from_arrow(data)

    def write_table(
        self, topic: str, table: pa.Table, utc_ns: npt.NDArray[np.int64] | None = None
    ) -> WriteResult:
        self._check_writable()
        if utc_ns is not None:
            table = table.append_column(wire.INDEX_UTC_NS, pa.array(utc_ns, type=pa.int64()))
        data = self._request(
            "POST",
            f"/topics/{_quoted(topic)}/rows",
            content=wire.table_to_arrow(table),
            content_type=wire.ARROW_STREAM,
        )
        return wire.write_result_from_json(data)

    def write_line_protocol(self, text: str, precision: str = "ns") -> WriteResult:
        self._check_writable()
        precision_multiplier(precision)  # ValueError as in-process, before sending
        data = self._request(
            "POST",
            "/write/line-protocol",
            content=text.encode(),
            content_type="text/plain; charset=utf-8",
            params={"precision": precision},
        )
        return wire.write_result_from_json(data)


def _wire_index(index: Any) -> int | None:
    """``index`` as the in-process client reads it: falsy is no filter."""
    return int(index) if index else None
