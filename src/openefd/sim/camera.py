"""What the camera and its services publish for every exposure and filter change.

Per exposure (shutter open ``[begin, end)``, TAI):

- ``MTCamera.command_takeImages`` from the observing script 0.3 s before
  ``begin``; ``ackcmd`` in progress, then complete after the readout;
- ``MTCamera.logevent_startIntegration`` at ``begin`` − 0.1 s;
  ``startShutterOpen`` at ``begin`` and ``endShutterClose`` at ``end`` (not
  for biases and darks, which keep the shutter closed); ``startReadout``
  at ``end``, ``endReadout`` 2 s later, ``endOfImageTelemetry`` 0.25 s after
  that. They name the image by ``obs_id`` and ``day_obs``.
- ``MTHeaderService.logevent_largeFileObjectAvailable`` 3–5 s after ``end``
  (the header's URL in the Large File Annex);
- ``MTOODS.logevent_imageInOODS`` for each of the 205 detectors ~3 s
  (log-normal) after ``end``.

Per filter change: ``command_setFilter``, ``logevent_startSetFilter`` and,
~2 minutes later, ``logevent_endSetFilter``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from openefd.sim.builder import EventBuilder, strings
from openefd.sim.commands import CommandLog
from openefd.sim.detectors import lsstcam_detectors
from openefd.sim.plan import FILTERS, NightPlan
from openefd.sim.rng import generator, stable_key
from openefd.sim.stamps import Publisher
from openefd.timescales import NS_PER_S

__all__ = ["camera_events"]

READOUT_NS = 2 * NS_PER_S
_SLOTS = {name: i for i, name in enumerate(FILTERS)}


def _image_columns(ex: pd.DataFrame) -> dict[str, np.ndarray]:
    n = len(ex)
    kinds = ex["observation_type"].str.upper()
    values = (
        kinds + ":" + ex["group"] + ":" + ex["observation_reason"] + ":" + ex["science_program"]
    )
    return {
        "additionalKeys": strings("imageType:groupId:reason:program", n),
        "additionalValues": strings(values, n),
        "imagesInSequence": np.ones(n, dtype=np.int64),
        "imageName": strings(ex["obs_id"], n),
        "imageIndex": np.ones(n, dtype=np.int64),
        "imageSource": strings("MC", n),
        "imageController": strings("O", n),
        "imageDate": strings(ex["day_obs"].astype(str), n),
        "imageNumber": ex["seq_num"].to_numpy(dtype=np.int64),
        "timestampAcquisitionStart": ex["timespan_begin_tai_ns"].to_numpy() / NS_PER_S,
    }


def camera_events(
    b: EventBuilder,
    commands: CommandLog,
    exposures: pd.DataFrame,
    plan: NightPlan,
    senders: dict[str, Publisher],
) -> None:
    """Add the camera's events and commands; ``senders`` by CSC name and ``"script"``."""
    if len(exposures):
        _exposure_events(b, commands, exposures, senders)
    _filter_changes(b, commands, plan, senders)


def _exposure_events(
    b: EventBuilder, commands: CommandLog, ex: pd.DataFrame, senders: dict[str, Publisher]
) -> None:
    cam, script = senders["MTCamera"], senders["script"]
    rng = generator(b.world.seed, "camera events")
    n = len(ex)
    begin = ex["timespan_begin_tai_ns"].to_numpy(dtype=np.int64)
    end = ex["timespan_end_tai_ns"].to_numpy(dtype=np.int64)
    exptime = ex["exposure_time"].to_numpy(dtype=np.float64)
    image = _image_columns(ex)
    commands.send(
        cam,
        "command_takeImages",
        script,
        begin - 300_000_000,
        exptime + 2.35,
        {
            "numImages": np.ones(n, dtype=np.int64),
            "expTime": exptime,
            "shutter": ex["can_see_sky"].to_numpy() | (ex["observation_type"] == "flat"),
            "keyValueMap": strings("imageType: " + ex["observation_type"].str.upper(), n),
        },
    )
    b.add(
        "MTCamera.logevent_startIntegration",
        cam,
        begin - 100_000_000,
        {
            **image,
            "exposureTime": exptime,
            "mode": strings("NORMAL", n),
            "timeout": exptime + 10.0,
        },
    )
    shutter = ex["observation_type"].isin(["science", "flat"]).to_numpy()
    b.add(
        "MTCamera.logevent_startShutterOpen",
        cam,
        begin[shutter],
        {"timestampTransition": begin[shutter] / NS_PER_S},
    )
    b.add(
        "MTCamera.logevent_endShutterClose",
        cam,
        end[shutter] + 1_000_000,
        {"timestampTransition": end[shutter] / NS_PER_S},
    )
    b.add(
        "MTCamera.logevent_startReadout",
        cam,
        end + 2_000_000,
        {**image, "exposureTime": exptime, "timestampStartOfReadout": end / NS_PER_S},
    )
    b.add(
        "MTCamera.logevent_endReadout",
        cam,
        end + READOUT_NS,
        {
            **image,
            "requestedExposureTime": exptime,
            "timestampEndOfReadout": (end + READOUT_NS) / NS_PER_S,
        },
    )
    tags = strings([f"{stable_key(o) & 0xFFFFFFFFFFFF:012x}" for o in ex["obs_id"]], n)
    b.add(
        "MTCamera.logevent_endOfImageTelemetry",
        cam,
        end + READOUT_NS + 250_000_000,
        {
            **image,
            "exposureTime": exptime,
            "imageTag": tags,
            "timestampDateObs": begin / NS_PER_S,
            "timestampDateEnd": end / NS_PER_S,
            "measuredShutterOpenTime": np.where(shutter, exptime + rng.normal(0, 3e-3, n), 0),
            "darkTime": ex["dark_time"].to_numpy(),
            "emulatedImage": strings("", n),
        },
    )
    header_t = end + np.round(rng.uniform(3.0, 5.0, n) * NS_PER_S).astype(np.int64)
    dates = pd.to_datetime(ex["day_obs"].astype(str)).dt.strftime("%Y-%m-%d")
    b.add(
        "MTHeaderService.logevent_largeFileObjectAvailable",
        senders["MTHeaderService"],
        header_t,
        {
            "url": strings(
                [
                    f"s3://rubinobs-lfa-cp/MTHeaderService/header/{d}/"
                    f"MTHeaderService_header_{o}.yaml"
                    for d, o in zip(dates, ex["obs_id"], strict=True)
                ],
                n,
            ),
            "generator": strings("MTHeaderService", n),
            "version": np.ones(n),
            "byteSize": rng.integers(85_000, 95_000, n),
            "checkSum": strings([f"{stable_key(o, 'md5'):016x}" * 2 for o in ex["obs_id"]], n),
            "mimeType": strings("YAML", n),
            "id": strings(ex["obs_id"], n),
        },
    )
    _oods(b, senders["MTOODS"], ex, end)


def _filter_changes(
    b: EventBuilder, commands: CommandLog, plan: NightPlan, senders: dict[str, Publisher]
) -> None:
    cam, script = senders["MTCamera"], senders["script"]
    for change in plan.filter_changes:
        duration = (change.end_ns - change.start_ns) / NS_PER_S
        commands.send(
            cam,
            "command_setFilter",
            script,
            change.start_ns,
            duration,
            {"name": strings(change.new_filter, 1)},
        )
        band = FILTERS[change.new_filter]
        b.add(
            "MTCamera.logevent_startSetFilter",
            cam,
            change.start_ns + 50_000_000,
            {"filterName": strings(change.new_filter, 1), "filterType": strings(band, 1)},
        )
        b.add(
            "MTCamera.logevent_endSetFilter",
            cam,
            change.end_ns - 20_000_000,
            {
                "filterName": strings(change.new_filter, 1),
                "filterType": strings(band, 1),
                "filterSlot": np.array([_SLOTS[change.new_filter]]),
                "filterPosition": np.array([0.0]),
            },
        )


def _oods(b: EventBuilder, oods: Publisher, ex: pd.DataFrame, end: np.ndarray) -> None:
    rng = generator(b.world.seed, "oods")
    dets = lsstcam_detectors()
    n_exp, n_det = len(ex), len(dets)
    latency = rng.lognormal(np.log(3.0), 0.2, (n_exp, n_det))
    t = (end[:, None] + np.round(latency * NS_PER_S).astype(np.int64)).ravel()
    total = n_exp * n_det
    b.add(
        "MTOODS.logevent_imageInOODS",
        oods,
        t,
        {
            "camera": strings("LSSTCam", total),
            "obsid": strings(np.repeat(ex["obs_id"].to_numpy(dtype=object), n_det), total),
            "raft": strings(np.tile(np.array([d.raft for d in dets], dtype=object), n_exp), total),
            "sensor": strings(
                np.tile(np.array([d.sensor for d in dets], dtype=object), n_exp), total
            ),
            "statusCode": np.zeros(total, dtype=np.int64),
            "description": strings("file ingested", total),
        },
    )
