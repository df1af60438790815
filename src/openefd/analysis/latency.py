"""Image latency over one observing night: shutter close → S3 arrival → butler ingest.

:func:`night_latency` reads a night's exposures and image arrivals from the
exposure registry (one query per table) and returns a :class:`LatencyReport`
of DataFrames; :func:`analyse_latency` does the same from frames in hand.

Definitions (seconds, from TAI ns differences, exact to the nanosecond):

- *shutter close* is the end of the exposure's timespan;
- an *image* is one detector of one exposure; its latencies are those of
  its first delivery: ``transfer_s`` = S3 arrival − shutter close,
  ``ingest_s`` = butler ingest − shutter close, ``s3_to_ingest_s`` = ingest
  − S3 arrival. Re-sends (later deliveries of the same object) are listed in
  ``late_resends`` and never counted as latencies;
- a latency is *measured* only when both times are known and it makes
  sense: an S3 arrival before shutter close (a clock problem), or after the
  butler ingest (the S3 time is that of a later overwrite, not of the first
  arrival) leaves ``transfer_s`` NaN, with its reason in ``transfer_status``
  (``ok``, ``no_shutter_close``, ``no_s3_arrival``, ``before_shutter_close``,
  ``after_ingest``, exclusive, in this order); likewise ``ingest_status``;
- per exposure: the fastest and slowest image (and which detector), and the
  median; the slowest image is when the whole exposure is available;
- *cadence*: shutter open to shutter open of consecutive selected exposures
  (``interval_s``), and the dead time from the previous shutter close;
- *expected detectors*: ``expected_detectors`` when given, else every
  detector seen in the night's images; an exposure with at least one image
  misses the others (``missing_images``); an exposure with none is counted
  in ``exposures_without_images``;
- a *systematically slow detector*: the median over the night of how much
  later than its exposure's median image it arrives (``median_transfer_
  excess_s``, or the same for ingest) exceeds ``slow_detector_margin_s``.
  Computed over all detectors of the selected exposures, whatever
  ``detectors`` selects;
- images whose exposure has no record are listed in
  ``images_without_exposure`` (no shutter close, so no latency), whatever
  ``science_only`` says.

Statistics: see :mod:`openefd.analysis.distributions`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from openefd.analysis import latency_frames as frames
from openefd.errors import QueryError
from openefd.store.exposures import exposures as stored_exposures
from openefd.store.exposures import image_arrivals, parse_day_obs

if TYPE_CHECKING:
    from openefd.store.duckdb_store import Store

__all__ = [
    "DEFAULT_CADENCE_TARGET_S",
    "DEFAULT_CAP_S",
    "DEFAULT_PERCENTILES",
    "DEFAULT_SLOW_DETECTOR_MARGIN_S",
    "DEFAULT_TRANSFER_TARGET_S",
    "LatencyOptions",
    "LatencyReport",
    "analyse_latency",
    "night_latency",
]

DEFAULT_TRANSFER_TARGET_S = 7.0
DEFAULT_CADENCE_TARGET_S = 34.0
DEFAULT_CAP_S = 300.0
DEFAULT_PERCENTILES = (5.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0)
DEFAULT_SLOW_DETECTOR_MARGIN_S = 5.0


@dataclass(frozen=True, slots=True)
class LatencyOptions:
    """What to measure against and which part of the night (see the module docstring)."""

    transfer_target_s: float = DEFAULT_TRANSFER_TARGET_S
    cadence_target_s: float = DEFAULT_CADENCE_TARGET_S
    cap_s: float = DEFAULT_CAP_S
    percentiles: tuple[float, ...] = DEFAULT_PERCENTILES
    slow_detector_margin_s: float = DEFAULT_SLOW_DETECTOR_MARGIN_S
    science_only: bool = False
    exposure_ids: tuple[int, ...] | None = None
    detectors: tuple[int | str, ...] | None = None
    expected_detectors: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("transfer_target_s", "cadence_target_s", "cap_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise QueryError(f"{name} must be a positive number of seconds, got {value!r}")
        if not self.slow_detector_margin_s >= 0:
            raise QueryError("slow_detector_margin_s must be ≥ 0")
        bad = [q for q in self.percentiles if not 0 <= q <= 100]
        if bad:
            raise QueryError(f"percentiles must lie in [0, 100], got {bad}")

    def to_json(self) -> dict[str, Any]:
        return {
            "transfer_target_s": self.transfer_target_s,
            "cadence_target_s": self.cadence_target_s,
            "cap_s": self.cap_s,
            "percentiles": list(self.percentiles),
            "slow_detector_margin_s": self.slow_detector_margin_s,
            "science_only": self.science_only,
            "exposure_ids": None if self.exposure_ids is None else list(self.exposure_ids),
            "detectors": None if self.detectors is None else list(self.detectors),
            "expected_detectors": (
                None if self.expected_detectors is None else list(self.expected_detectors)
            ),
        }


@dataclass(frozen=True)
class LatencyReport:
    """The latency of one night's images; every frame has a default index.

    ``per_image``: one row per image (first delivery) with its times (TAI
    ns), latencies (s) and statuses. ``per_exposure``: one row per selected
    exposure. ``summary``: one row per metric (index), columns count, mean,
    std, min, percentiles, median, max, ``within_transfer_target``,
    ``within_cadence_target`` (fractions of the measured values),
    ``over_cap``. ``cadence``: one row per pair of consecutive exposures.
    ``detectors``: one row per detector, ``slow`` flags the systematically
    slow. ``late_resends``, ``missing_images``, ``images_without_exposure``:
    what their names say. ``counts``: explicit counts of everything left out
    of the statistics and why.
    """

    day_obs: int
    instrument: str | None
    options: LatencyOptions
    per_image: pd.DataFrame
    per_exposure: pd.DataFrame
    summary: pd.DataFrame
    cadence: pd.DataFrame
    detectors: pd.DataFrame
    late_resends: pd.DataFrame
    missing_images: pd.DataFrame
    images_without_exposure: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def slow_detectors(self) -> list[str]:
        """Labels (full names where known) of the systematically slow detectors."""
        return [str(x) for x in self.detectors.loc[self.detectors["slow"], "label"]]


def night_latency(
    store: Store,
    day_obs: int | str,
    *,
    instrument: str | None = None,
    transfer_target_s: float = DEFAULT_TRANSFER_TARGET_S,
    cadence_target_s: float = DEFAULT_CADENCE_TARGET_S,
    cap_s: float = DEFAULT_CAP_S,
    science_only: bool = False,
    exposure_ids: Iterable[int] | None = None,
    detectors: Iterable[int | str] | None = None,
    expected_detectors: Iterable[int] | None = None,
    percentiles: Sequence[float] = DEFAULT_PERCENTILES,
    slow_detector_margin_s: float = DEFAULT_SLOW_DETECTOR_MARGIN_S,
) -> LatencyReport:
    """The latency report of ``day_obs`` (YYYYMMDD) from the store's exposure registry.

    ``instrument`` may be omitted when the night holds one. ``detectors``:
    ids or full names (``"R22_S11"``).
    """
    day = parse_day_obs(day_obs)
    options = LatencyOptions(
        transfer_target_s=transfer_target_s,
        cadence_target_s=cadence_target_s,
        cap_s=cap_s,
        percentiles=tuple(float(q) for q in percentiles),
        slow_detector_margin_s=slow_detector_margin_s,
        science_only=science_only,
        exposure_ids=None if exposure_ids is None else tuple(int(i) for i in exposure_ids),
        detectors=None if detectors is None else tuple(detectors),
        expected_detectors=(
            None if expected_detectors is None else tuple(int(d) for d in expected_detectors)
        ),
    )
    exposures = stored_exposures(store, instrument=instrument, day_obs=day)
    arrivals = image_arrivals(store, instrument=instrument, day_obs=day)
    return analyse_latency(
        exposures, arrivals, day_obs=day, options=options, instrument=instrument
    )


def analyse_latency(
    exposures: pd.DataFrame,
    arrivals: pd.DataFrame,
    *,
    day_obs: int,
    options: LatencyOptions | None = None,
    instrument: str | None = None,
) -> LatencyReport:
    """The report for frames shaped as :func:`openefd.store.exposures.exposures` and
    :func:`~openefd.store.exposures.image_arrivals` return them (one night)."""
    options = options or LatencyOptions()
    held = frames.instruments(exposures, arrivals)
    if instrument is None and len(held) > 1:
        raise QueryError(
            f"the night holds exposures of several instruments ({', '.join(held)}): "
            "give instrument="
        )
    if instrument is None and held:
        instrument = held[0]
    if held != [instrument]:  # other instruments' rows, or none at all
        exposures = exposures[exposures["instrument"] == instrument]
        arrivals = arrivals[arrivals["instrument"] == instrument]
    night = exposures.sort_values("exposure_id", kind="stable", ignore_index=True)
    arrivals = arrivals.sort_values(
        ["exposure_id", "detector", "delivery"], kind="stable", ignore_index=True
    )
    selected = night
    if options.science_only:
        selected = selected[selected["observation_type"] == "science"]
    if options.exposure_ids is not None:
        selected = selected[selected["exposure_id"].isin(options.exposure_ids)]
    selected = selected.reset_index(drop=True)

    arrival_ids = arrivals["exposure_id"].to_numpy(dtype=np.int64)
    recorded = np.isin(arrival_ids, night["exposure_id"].to_numpy(dtype=np.int64))
    orphans = arrivals[~recorded]
    if options.exposure_ids is not None:
        orphans = orphans[orphans["exposure_id"].isin(options.exposure_ids)]
    rows = arrivals[np.isin(arrival_ids, selected["exposure_id"].to_numpy(dtype=np.int64))]

    all_images = frames.image_frame(rows, selected)
    detector_table = frames.detector_stats(all_images, options.slow_detector_margin_s)
    names = frames.detector_names(arrivals)
    wanted = frames.detector_filter(options.detectors, names)
    images = all_images if wanted is None else all_images[all_images["detector"].isin(wanted)]
    images = images.reset_index(drop=True)
    if wanted is not None:
        rows = rows[rows["detector"].isin(wanted)]
        orphans = orphans[orphans["detector"].isin(wanted)]
    expected = frames.expected_detectors(options.expected_detectors, all_images, wanted)
    with_images = np.unique(all_images["exposure_id"].to_numpy(dtype=np.int64))
    missing = frames.missing_images(images, with_images, expected, names)
    resends = frames.late_resends(rows, images)
    per_exposure = frames.per_exposure_frame(selected, images, missing, resends)
    cadence = frames.cadence_frame(selected, options.cadence_target_s)
    orphan_images = frames.orphan_images(orphans)
    summary = frames.summary_frame(
        images,
        per_exposure,
        cadence,
        percentiles=options.percentiles,
        transfer_target_s=options.transfer_target_s,
        cadence_target_s=options.cadence_target_s,
        cap_s=options.cap_s,
    )
    counts = frames.counts(
        selected,
        images,
        rows,
        with_images,
        expected,
        missing,
        resends,
        orphan_images,
        options.cap_s,
    )
    if options.exposure_ids is not None:
        known = set(night["exposure_id"].tolist()) | set(arrivals["exposure_id"].tolist())
        counts["requested_exposures_not_found"] = len(set(options.exposure_ids) - known)
    if wanted is not None and options.detectors is not None:
        seen = set(arrivals["detector"].dropna().astype(int).tolist())
        unnamed = sum(
            1 for d in options.detectors if isinstance(d, str) and not d.strip().isdigit()
        ) - sum(1 for d in options.detectors if isinstance(d, str) and d in names.values())
        counts["requested_detectors_not_found"] = unnamed + len(set(wanted) - seen)
    return LatencyReport(
        day_obs=day_obs,
        instrument=instrument,
        options=options,
        per_image=images,
        per_exposure=per_exposure,
        summary=summary,
        cadence=cadence,
        detectors=detector_table,
        late_resends=resends,
        missing_images=missing,
        images_without_exposure=orphan_images,
        counts=counts,
    )
