"""Exposures and image arrivals derived from the camera's own events in the store.

When neither the butler nor the bucket can be read, the stages of each image
still show in the EFD: the camera names every image and times its exposure,
and the OODS announces every detector's file once it has ingested it. This
module reads one night of those events and loads what they say into the
exposure registry (:func:`openefd.ingest.exposure_loader.load_exposures`):

============================================  =================================
event (``lsst.sal.…``)                        registry
============================================  =================================
``MTCamera.logevent_endOfImageTelemetry``     one exposure per image: obs_id,
                                              day_obs, seq_num, exposure and
                                              dark time, type, group, reason,
                                              program; timespan from
                                              ``timestampDateObs`` and
                                              ``timestampDateEnd`` (TAI)
``MTOODS.logevent_imageInOODS``               one arrival per detector:
                                              ``ingest_tai_ns`` = the event's
                                              time (the OODS's ingest into the
                                              summit butler); ``statusCode``
                                              ≠ 0 is a failed ingest: counted,
                                              not loaded
============================================  =================================

The exposure id follows the butler's rule, ``day_obs × 100000 + seq_num``,
with the date and number of the ``obs_id``. Events are the fallback source:
an exposure the registry already holds (from the butler, say) is left as it
is, and so is an image whose ingest time is already known — the import only
fills what is missing. It is idempotent, as every load into the registry is;
columns the events do not give (S3 arrival, tracking position, filter) are
left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from openefd.errors import QueryError
from openefd.ingest.exposure_loader import LoadResult, load_exposures
from openefd.ingest.raw_keys import detector_id
from openefd.query.select import RowSelect, run_select
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures as stored_exposures
from openefd.store.exposures import image_arrivals
from openefd.timeinput import to_tai_ns
from openefd.timescales import NS_PER_S

__all__ = ["CameraEventsImport", "import_camera_events"]

END_OF_IMAGE = "lsst.sal.MTCamera.logevent_endOfImageTelemetry"
IN_OODS = "lsst.sal.MTOODS.logevent_imageInOODS"
_IMAGE_FIELDS = [
    "imageName",
    "imageDate",
    "imageNumber",
    "exposureTime",
    "darkTime",
    "timestampDateObs",
    "timestampDateEnd",
    "additionalKeys",
    "additionalValues",
]
_OODS_FIELDS = ["camera", "obsid", "raft", "sensor", "statusCode"]
_KEY_NAMES = {
    "imageType": "observation_type",
    "groupId": "group",
    "reason": "observation_reason",
    "program": "science_program",
}


@dataclass(frozen=True, slots=True)
class CameraEventsImport:
    """What an import found in the events (``images``, ``detector_files``) and loaded."""

    load: LoadResult
    images: int
    detector_files: int
    failed_ingests: int
    unknown_detectors: int


def _night_window(day_obs: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The UTC span of a day_obs (it starts at 12:00 UTC of its date), with an hour spare."""
    start = pd.Timestamp(str(day_obs), tz="UTC") + pd.Timedelta(hours=12)
    return start - pd.Timedelta(hours=1), start + pd.Timedelta(hours=25)


def _events(store: Store, topic: str, fields: list[str], day_obs: int) -> pd.DataFrame:
    if not store.registry.has_table(topic) and store.pending.snapshot(topic) is None:
        return pd.DataFrame(columns=fields)
    start, end = _night_window(day_obs)

    req = RowSelect(
        topic, fields, to_tai_ns(start, "start"), to_tai_ns(end, "end"), time_scale="tai"
    )
    frame = run_select(store, req)  # index: naive TAI, whose int64 value is TAI ns
    return frame.assign(time_tai_ns=pd.DatetimeIndex(frame.index).as_unit("ns").asi8)


def _key_values(keys: str, values: str) -> dict[str, str]:
    names, items = keys.split(":"), values.split(":")
    return dict(zip(names, items, strict=False))


def _exposures(images: pd.DataFrame, instrument: str, day_obs: int) -> pd.DataFrame:
    images = images[images["imageDate"].astype(str) == str(day_obs)]
    if images.empty:
        return pd.DataFrame()
    images = images.drop_duplicates("imageName", keep="last")
    extra = pd.DataFrame(
        [
            {_KEY_NAMES[k]: v for k, v in _key_values(a, b).items() if k in _KEY_NAMES}
            for a, b in zip(images["additionalKeys"], images["additionalValues"], strict=True)
        ],
        index=images.index,
    )
    if "observation_type" in extra:
        extra["observation_type"] = extra["observation_type"].str.lower()
    seq = images["imageNumber"].astype(np.int64)
    out = pd.DataFrame(
        {
            "instrument": instrument,
            "exposure_id": day_obs * 100_000 + seq,
            "obs_id": images["imageName"].astype(str),
            "day_obs": day_obs,
            "seq_num": seq,
            "exposure_time_s": images["exposureTime"].astype(float),
            "dark_time_s": images["darkTime"].astype(float),
            "timespan_begin_tai_ns": _seconds_to_ns(images["timestampDateObs"]),
            "timespan_end_tai_ns": _seconds_to_ns(images["timestampDateEnd"]),
        }
    )
    return pd.concat([out, extra], axis=1).reset_index(drop=True)


def _seconds_to_ns(seconds: pd.Series) -> np.ndarray:
    """SAL's TAI unix seconds to TAI ns, rounded to the microsecond as SAL stamps are."""
    return np.round(seconds.to_numpy(dtype=np.float64) * 1e6).astype(np.int64) * (
        NS_PER_S // 1_000_000
    )


def _obs_id_parts(obs_ids: pd.Series) -> pd.DataFrame:
    parts = obs_ids.str.extract(r"^[A-Z]{2}_[A-Z]_(?P<date>\d{8})_(?P<seq>\d{6})$")
    return parts


def import_camera_events(
    store: Store, day_obs: int, *, instrument: str = "LSSTCam"
) -> CameraEventsImport:
    """Load the exposures and per-detector ingests that night ``day_obs``'s events give."""
    if store.read_only:
        raise QueryError(f"{store.path} is open read-only; importing writes the registry")
    images = _events(store, END_OF_IMAGE, _IMAGE_FIELDS, day_obs)
    exposures = _exposures(images, instrument, day_obs)
    oods = _events(store, IN_OODS, _OODS_FIELDS, day_obs)
    parts = _obs_id_parts(oods["obsid"].astype(str)) if len(oods) else pd.DataFrame()
    failed = unknown = 0
    arrivals = pd.DataFrame()
    if len(oods):
        mine = (parts["date"] == str(day_obs)) & (oods["camera"].astype(str) == instrument)
        oods, parts = oods[mine.to_numpy()], parts[mine.to_numpy()]
        ok = oods["statusCode"].to_numpy() == 0
        failed = int((~ok).sum())
        oods, parts = oods[ok], parts[ok]
        names = oods["raft"].astype(str) + "_" + oods["sensor"].astype(str)
        ids = names.map(detector_id)
        known = ids.notna().to_numpy()
        unknown = int((~known).sum())
        oods, parts, ids = oods[known], parts[known], ids[known]
        arrivals = pd.DataFrame(
            {
                "instrument": instrument,
                "exposure_id": parts["date"].astype(np.int64).to_numpy() * 100_000
                + parts["seq"].astype(np.int64).to_numpy(),
                "detector": ids.astype(np.int64).to_numpy(),
                "day_obs": day_obs,
                "ingest_tai_ns": oods["time_tai_ns"].to_numpy(),
            }
        )
        # One ingest per image: the first one (a re-ingest keeps the first time).
        arrivals = arrivals.sort_values("ingest_tai_ns").drop_duplicates(
            ["exposure_id", "detector"], keep="first"
        )
        arrivals["delivery"] = 0
    found = (len(exposures), len(arrivals))
    exposures, arrivals = _missing_only(store, day_obs, instrument, exposures, arrivals)
    result = load_exposures(
        store,
        exposures if len(exposures) else None,
        arrivals if len(arrivals) else None,
        instrument=instrument,
    )
    return CameraEventsImport(result, found[0], found[1], failed, unknown)


def _missing_only(
    store: Store, day_obs: int, instrument: str, exposures: pd.DataFrame, arrivals: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the registry does not know yet: new exposures, images without an ingest time."""
    if len(exposures):
        known = stored_exposures(store, instrument=instrument, day_obs=day_obs)
        exposures = exposures[~exposures["exposure_id"].isin(known["exposure_id"])]
    if len(arrivals):
        stored = image_arrivals(
            store, instrument=instrument, day_obs=day_obs, first_delivery_only=True
        )
        stored = stored[stored["ingest_tai_ns"].notna()]
        keys = pd.MultiIndex.from_frame(stored[["exposure_id", "detector"]].astype(np.int64))
        mine = pd.MultiIndex.from_frame(arrivals[["exposure_id", "detector"]].astype(np.int64))
        arrivals = arrivals[~mine.isin(keys)]
    return exposures, arrivals
