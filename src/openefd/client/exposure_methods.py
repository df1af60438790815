"""The exposure registry's methods of ``EfdClientSync`` (a mixin), and their argument checks.

Public methods (``get_exposures``, ``get_exposures_overlapping``,
``get_image_arrivals``, ``night_latency``) read and check the users'
arguments, then call the canonical layer (``exposures_frame``,
``exposures_overlapping_tai``, ``image_arrivals_frame``,
``night_latency_report``), which answers from the store; the HTTP client
overrides only the canonical layer (see :mod:`openefd.client.sync_client`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from openefd.analysis.latency import LatencyReport, night_latency
from openefd.client.wire import int64_tai_ns
from openefd.errors import QueryError
from openefd.settings import Settings
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures as stored_exposures
from openefd.store.exposures import exposures_overlapping, image_arrivals, parse_day_obs
from openefd.timeinput import duration_to_ns, to_tai_ns

__all__ = ["ExposureMethods"]


def _day_obs(value: Any) -> int | None:
    return None if value is None else parse_day_obs(value)


def _instrument(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise QueryError(f"instrument must be a name such as 'LSSTCam', got {value!r}")
    return value


def _tai_ns(value: Any, what: str) -> int:
    return int64_tai_ns(to_tai_ns(value, what), what)


def _many(values: Any, what: str, one: tuple[type, ...]) -> list[Any] | None:
    """``values`` as a list (one value alone is a list of one); None stays None."""
    if values is None:
        return None
    if isinstance(values, one):
        return [values]
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise QueryError(f"{what} must be a list, got {values!r}")
    return list(values)


def _exposure_ids(values: Any) -> list[int] | None:
    ids = _many(values, "exposure_ids", (int, np.integer))
    if ids is None:
        return None
    bad = [
        i
        for i in ids
        if isinstance(i, bool) or not isinstance(i, int | np.integer) or not 0 <= i < 2**63
    ]
    if bad:
        raise QueryError(
            f"exposure_ids must be whole numbers (such as 2024050100011), got {bad[0]!r}"
        )
    return [int(i) for i in ids]


def _detectors(values: Any) -> list[int | str] | None:
    """Detector ids or full names (``"R22_S11"``); a string of digits is an id."""
    wanted = _many(values, "detectors", (int, np.integer, str))
    if wanted is None:
        return None
    out: list[int | str] = []
    for d in wanted:
        if isinstance(d, str):
            out.append(int(d) if d.strip().isdigit() else d)
        elif isinstance(d, int | np.integer) and not isinstance(d, bool) and 0 <= d < 2**31:
            out.append(int(d))
        else:
            raise QueryError(f"detectors must be ids (94) or names ('R22_S11'), got {d!r}")
    return out


def _observation_types(values: Any) -> list[str] | None:
    types = _many(values, "observation_types", (str,))
    if types is not None and not all(isinstance(t, str) for t in types):
        raise QueryError(f"observation_types must be names such as 'science', got {types!r}")
    return types


def _seconds(value: Any, what: str) -> float | None:
    """A positive number of seconds (as ``LatencyOptions`` checks it), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not (
        isinstance(value, int | float) and math.isfinite(value) and value > 0
    ):
        raise QueryError(f"{what} must be a positive number of seconds, got {value!r}")
    return float(value)


def _overlap(
    frame: pd.DataFrame, begin_tai_ns: int | None, end_tai_ns: int | None
) -> pd.DataFrame:
    """Exposures whose timespan overlaps ``[begin, end)``, as the store's SQL says it:
    an empty timespan counts as its instant, ``greatest`` ignores an unknown end."""
    if begin_tai_ns is None and end_tai_ns is None:
        return frame
    begin = frame["timespan_begin_tai_ns"]
    keep = pd.Series(True, index=frame.index)
    if begin_tai_ns is not None:
        floor = begin + 1
        end = frame["timespan_end_tai_ns"]
        last = end.where((end > floor).fillna(False).astype(bool), floor)
        keep &= (last > begin_tai_ns).fillna(False).astype(bool)
    if end_tai_ns is not None:
        keep &= (begin < end_tai_ns).fillna(False).astype(bool)
    return frame[keep].reset_index(drop=True)


class ExposureMethods:
    """Exposures, image arrivals and the night latency report, for ``EfdClientSync``."""

    store: Store
    settings: Settings

    def get_exposures(
        self,
        day_obs: int | str | None = None,
        *,
        begin: Any = None,
        end: Any = None,
        instrument: str | None = None,
        exposure_ids: Iterable[int] | None = None,
        observation_types: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Exposures matching every filter given, by instrument and exposure id.

        ``day_obs``: ``20240501``, ``"20240501"`` or ``"2024-05-01"``.
        ``begin``/``end``: any time the client takes; exposures whose
        shutter-open timespan overlaps ``[begin, end)`` (either may be
        omitted; an empty timespan, a bias, counts as its instant).
        ``observation_types``: e.g. ``["science"]``. Columns as
        :func:`openefd.store.exposures.exposures` gives them: times in TAI ns
        (nullable ``Int64``), durations in s, angles in degrees.
        """
        return self.exposures_frame(
            day_obs=_day_obs(day_obs),
            begin_tai_ns=None if begin is None else _tai_ns(begin, "begin"),
            end_tai_ns=None if end is None else _tai_ns(end, "end"),
            instrument=_instrument(instrument),
            exposure_ids=_exposure_ids(exposure_ids),
            observation_types=_observation_types(observation_types),
        )

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
        """``get_exposures`` with the range ``[begin_tai_ns, end_tai_ns)`` in TAI ns."""
        frame = stored_exposures(
            self.store,
            instrument=instrument,
            day_obs=day_obs,
            exposure_ids=exposure_ids,
            observation_types=observation_types,
        )
        return _overlap(frame, begin_tai_ns, end_tai_ns)

    def get_exposures_overlapping(
        self, begin: Any, end: Any, *, instrument: str | None = None
    ) -> pd.DataFrame:
        """Exposures whose shutter-open timespan overlaps ``[begin, end)`` (half-open).

        ``end`` may be a time or a duration after ``begin`` (astropy
        ``TimeDelta``, ``timedelta``). The telemetry of an exposure is that
        with ``timespan_begin_tai_ns <= time < timespan_end_tai_ns``.
        """
        from astropy.time import TimeDelta

        start = _tai_ns(begin, "begin")
        if isinstance(end, TimeDelta | dt.timedelta | pd.Timedelta):
            finish = int64_tai_ns(start + duration_to_ns(end, "end"), "end")
        else:
            finish = _tai_ns(end, "end")
        if finish < start:
            raise QueryError("end is before begin: give the earlier time first")
        return self.exposures_overlapping_tai(start, finish, instrument=_instrument(instrument))

    def exposures_overlapping_tai(
        self, begin_tai_ns: int, end_tai_ns: int, *, instrument: str | None = None
    ) -> pd.DataFrame:
        """``get_exposures_overlapping`` of ``[begin_tai_ns, end_tai_ns)`` (TAI ns)."""
        return exposures_overlapping(self.store, begin_tai_ns, end_tai_ns, instrument=instrument)

    def get_image_arrivals(
        self,
        day_obs: int | str | None = None,
        *,
        instrument: str | None = None,
        exposure_ids: Iterable[int] | None = None,
        detectors: Iterable[int | str] | None = None,
        first_delivery_only: bool = False,
    ) -> pd.DataFrame:
        """Image deliveries (S3 arrival, notification, butler ingest; TAI ns) matching
        every filter, by instrument, exposure, detector and delivery.

        ``detectors``: ids (``94``, ``"94"``) or full names (``"R22_S11"``).
        ``resend`` says whether a row is a re-send (``delivery`` > 0);
        ``first_delivery_only`` leaves re-sends out.
        """
        return self.image_arrivals_frame(
            day_obs=_day_obs(day_obs),
            instrument=_instrument(instrument),
            exposure_ids=_exposure_ids(exposure_ids),
            detectors=_detectors(detectors),
            first_delivery_only=bool(first_delivery_only),
        )

    def image_arrivals_frame(
        self,
        *,
        day_obs: int | None = None,
        instrument: str | None = None,
        exposure_ids: list[int] | None = None,
        detectors: list[int | str] | None = None,
        first_delivery_only: bool = False,
    ) -> pd.DataFrame:
        """``get_image_arrivals`` with arguments already read."""
        return image_arrivals(
            self.store,
            instrument=instrument,
            day_obs=day_obs,
            exposure_ids=exposure_ids,
            detectors=detectors,
            first_delivery_only=first_delivery_only,
        )

    def night_latency(
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
        """The image latency report of one night (see docs/latency.md).

        Targets left as None are the settings ``latency_transfer_target_s``
        and ``latency_cadence_target_s`` of the store (of the server, for a
        server URL), as are the cap and the slow-detector margin.
        ``detectors`` selects images, not which detectors are judged slow.
        """
        day = _day_obs(day_obs)
        assert day is not None
        return self.night_latency_report(
            day,
            instrument=_instrument(instrument),
            transfer_target_s=_seconds(transfer_target_s, "transfer_target_s"),
            cadence_target_s=_seconds(cadence_target_s, "cadence_target_s"),
            science_only=bool(science_only),
            exposure_ids=_exposure_ids(exposure_ids),
            detectors=_detectors(detectors),
        )

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
        """``night_latency`` with arguments already read; None targets from the settings."""
        conf = self.settings
        return night_latency(
            self.store,
            day_obs,
            instrument=instrument,
            transfer_target_s=(
                conf.latency_transfer_target_s if transfer_target_s is None else transfer_target_s
            ),
            cadence_target_s=(
                conf.latency_cadence_target_s if cadence_target_s is None else cadence_target_s
            ),
            cap_s=conf.latency_cap_s,
            slow_detector_margin_s=conf.latency_slow_detector_margin_s,
            science_only=science_only,
            exposure_ids=exposure_ids,
            detectors=detectors,
        )
