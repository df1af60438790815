"""Importing a night's exposures and raw ingest times from a butler repository.

:func:`import_butler` opens the repository read-only (``lsst.daf.butler``,
SQLite or PostgreSQL registry alike) and asks three registry queries per
call, however many images the night holds: the ``exposure`` dimension
records, the ``physical_filter`` records (for each filter's band), and the
``raw`` datasets of the collections with their ``ingest_date``.

Exposure records → the exposure registry (:mod:`openefd.store.exposure_tables`):
every field of the table that the repository's dimension universe has
(``id``, ``obs_id``, ``day_obs``, ``seq_num``, ``group``,
``physical_filter`` and its ``band``, ``observation_type``,
``observation_reason``, ``science_program``, ``exposure_time``,
``dark_time``, ``can_see_sky``, ``tracking_ra``/``tracking_dec``,
``azimuth``, ``zenith_angle``) and the ``timespan``, whose integer TAI
nanoseconds are taken as the butler holds them (no float round trip). The
butler stores a zero-length exposure (a bias) as ``[begin, begin + 1 ns)``;
it is imported as the butler holds it.

Raw datasets → one image per (exposure, detector): ``ingest`` is the
earliest ``ingest_date`` of its datasets in the collections (a raw found in
several runs was first ingested then), stored as the image's first
delivery. ``ingest_date`` is an astropy ``Time`` in TAI in the 2.0.0
dataset schema (integer TAI ns in the database), converted exactly with
the butler's own converter; repositories of the older schema hold a UTC
``TIMESTAMP``, converted leap-second-correctly.

Importing is idempotent; columns the butler does not know (S3 arrival) are
left as stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from openefd.errors import ConfigurationError
from openefd.ingest.exposure_loader import LoadResult, load_exposures
from openefd.store.exposures import parse_day_obs
from openefd.timescales import utc_to_tai_ns

if TYPE_CHECKING:
    from openefd.store.duckdb_store import Store

__all__ = ["EXPOSURE_FIELDS", "import_butler", "read_butler_night"]

EXPOSURE_FIELDS = (
    "id",
    "obs_id",
    "day_obs",
    "seq_num",
    "group",
    "physical_filter",
    "observation_type",
    "observation_reason",
    "science_program",
    "exposure_time",
    "dark_time",
    "can_see_sky",
    "tracking_ra",
    "tracking_dec",
    "azimuth",
    "zenith_angle",
)
ProgressCallback = Callable[[int], None]
"""Called as raw datasets are read, with the number read so far."""
_PROGRESS_EVERY = 5_000


def _open(repo: str | Path) -> Any:
    from lsst.daf.butler import Butler

    where = str(repo)
    if "://" not in where and not Path(where).exists():
        raise ConfigurationError(f"no butler repository at {where}: no such file or folder")
    try:
        return Butler.from_config(where, writeable=False)
    except (FileNotFoundError, ValueError, RuntimeError, KeyError) as exc:
        raise ConfigurationError(f"cannot open the butler repository {where}: {exc}") from exc


def _nsec(time: Any) -> int | None:
    """TAI ns of an astropy Time (exact, the butler's own conversion) or an aware datetime."""
    if time is None:
        return None
    if isinstance(time, dt.datetime):
        stamp = pd.Timestamp(time)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return int(utc_to_tai_ns(np.int64(stamp.as_unit("ns").value)))
    from lsst.daf.butler.time_utils import TimeConverter

    return int(TimeConverter().astropy_to_nsec(time))


def _exposure_frame(records: Sequence[Any], bands: dict[str, str]) -> pd.DataFrame:
    rows = []
    for rec in records:
        values = rec.toDict()
        row = {f: values[f] for f in EXPOSURE_FIELDS if f in values}
        if "physical_filter" in row:
            row["band"] = bands.get(row["physical_filter"])
        span = values.get("timespan")
        begin = end = None
        if span is not None and not span.isEmpty():
            begin, end = (int(n) for n in span.nsec)
        row["timespan_begin_tai_ns"] = begin
        row["timespan_end_tai_ns"] = end
        rows.append(row)
    frame = pd.DataFrame.from_records(rows)
    for col in ("timespan_begin_tai_ns", "timespan_end_tai_ns"):
        if col in frame.columns:
            frame[col] = frame[col].astype("Int64")
    return frame


def read_butler_night(
    butler: Any,
    *,
    instrument: str,
    day_obs: int | None,
    collections: Sequence[str],
    progress: ProgressCallback | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Exposures (butler field names) and images (exposure_id, detector, ingest_tai_ns)."""
    from lsst.daf.butler import MissingCollectionError, MissingDatasetTypeError

    where: dict[str, Any] = {"instrument": instrument}
    if day_obs is not None:
        where["day_obs"] = day_obs
    try:
        with butler.query() as q:
            records = list(q.dimension_records("exposure").where(**where))
            filters = list(q.dimension_records("physical_filter").where(instrument=instrument))
        rows: list[tuple[int, int, str, int | None]] = []
        with butler.query() as q:
            q = q.join_dataset_search("raw", list(collections)).where(**where)
            result = q.general(
                ["exposure", "detector"], "raw.ingest_date", "detector.full_name", find_first=False
            )
            for row in result:
                rows.append(
                    (
                        int(row["exposure"]),
                        int(row["detector"]),
                        row["detector.full_name"],
                        _nsec(row["raw.ingest_date"]),
                    )
                )
                if progress is not None and len(rows) % _PROGRESS_EVERY == 0:
                    progress(len(rows))
    except MissingCollectionError as exc:
        raise ConfigurationError(
            f"collection not found in the butler repository: {exc}; list them with "
            "'butler query-collections REPO' and pass --collections"
        ) from exc
    except MissingDatasetTypeError as exc:
        raise ConfigurationError(
            f"the butler repository has no 'raw' dataset type: {exc}"
        ) from exc
    except LookupError as exc:  # an unknown instrument in a data ID constraint
        raise ConfigurationError(f"butler query failed: {exc}") from exc
    if progress is not None:
        progress(len(rows))
    bands = {rec.name: rec.band for rec in filters}
    exposures = _exposure_frame(records, bands)
    images = pd.DataFrame.from_records(
        rows, columns=["exposure_id", "detector", "detector_name", "ingest_tai_ns"]
    )
    images["ingest_tai_ns"] = images["ingest_tai_ns"].astype("Int64")
    if len(images):
        # A raw in several runs: its first ingest.
        images = (
            images.sort_values("ingest_tai_ns", kind="stable", na_position="last")
            .drop_duplicates(["exposure_id", "detector"], keep="first")
            .sort_values(["exposure_id", "detector"])
            .reset_index(drop=True)
        )
    return exposures, images


def import_butler(
    store: Store,
    repo: str | Path,
    *,
    instrument: str = "LSSTCam",
    day_obs: int | str | None = None,
    collections: Sequence[str] | str | None = None,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Store the exposures and raw ingest times of a night (all nights: ``day_obs=None``).

    ``collections``: where to search for ``raw`` (default ``<instrument>/raw/all``).
    """
    day = parse_day_obs(day_obs) if day_obs is not None else None
    if collections is None:
        collections = [f"{instrument}/raw/all"]
    elif isinstance(collections, str):
        collections = [collections]
    butler = _open(repo)
    try:
        exposures, images = read_butler_night(
            butler,
            instrument=instrument,
            day_obs=day,
            collections=collections,
            progress=progress,
        )
    finally:
        butler.close()
    images = images.assign(delivery=0)
    return load_exposures(
        store,
        exposures if len(exposures) else None,
        images if len(images) else None,
        instrument=instrument,
    )
