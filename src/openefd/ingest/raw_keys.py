"""Object keys of raw images in the camera's S3 bucket: what a key says about its image.

LSSTCam (and LATISS, LSSTComCam) raws are written one object per detector
under a folder per observing night and exposure::

    {instrument}/{day_obs}/{obs_id}/{obs_id}_{detector}.fits
    LSSTCam/20240501/MC_O_20240501_000123/MC_O_20240501_000123_R22_S11.fits

``obs_id`` is ``{camera code}_{controller}_{YYYYMMDD}_{seq_num:06d}``; the
exposure id follows the butler's rule ``day_obs × 100000 + seq_num``, with
the date and sequence number of the ``obs_id`` (for the rare image taken
just after the day_obs roll-over the folder's day_obs and the obs_id's date
differ; the id follows the ``obs_id``). ``detector`` is the full name,
``R22_S11``; its id is LSSTCam's numbering (:mod:`openefd.sim.detectors`,
``R22_S11`` → 94). Keys of any other shape (sidecar JSON, headers) are
not images and are left out.

Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from openefd.sim.detectors import lsstcam_detectors

__all__ = ["RAW_KEY_PATTERN", "RawKey", "detector_id", "parse_raw_key"]

RAW_KEY_PATTERN = re.compile(
    r"^(?P<instrument>[A-Za-z0-9]+)/(?P<folder_day>\d{8})/"
    r"(?P<obs_id>[A-Z]{2}_[A-Z]_(?P<date>\d{8})_(?P<seq>\d{6}))/"
    r"(?P=obs_id)_(?P<detector>R\d\d_S[A-Z0-9]\d)\.fits$"
)


@dataclass(frozen=True, slots=True)
class RawKey:
    """What a raw image's object key names: instrument, night, exposure and detector."""

    instrument: str
    day_obs: int
    obs_id: str
    exposure_id: int
    detector: int
    detector_name: str


@cache
def _detector_ids() -> dict[str, int]:
    return {d.name: d.id for d in lsstcam_detectors()}


def detector_id(name: str) -> int | None:
    """LSSTCam's id of a detector named like ``R22_S11``; None for an unknown name."""
    return _detector_ids().get(name)


def parse_raw_key(key: str) -> RawKey | None:
    """The image a key names, or None when the key is not a raw image's."""
    match = RAW_KEY_PATTERN.match(key)
    if match is None:
        return None
    detector = _detector_ids().get(match["detector"])
    if detector is None:
        return None
    return RawKey(
        instrument=match["instrument"],
        day_obs=int(match["folder_day"]),
        obs_id=match["obs_id"],
        exposure_id=int(match["date"]) * 100_000 + int(match["seq"]),
        detector=detector,
        detector_name=match["detector"],
    )
