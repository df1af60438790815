"""Putting a run together: topic definitions, publishers, models and every stream.

Topic definitions come from the ts_xml folders of the profile's CSCs (read
once per process and folder). Every CSC instance publishes
``logevent_heartbeat`` at 1 Hz; telemetry follows the profile's rates with
the model of :func:`model_for` where there is one; events and commands come
from :mod:`openefd.sim.events` and :mod:`openefd.sim.camera`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from openefd.errors import SchemaError
from openefd.schema.model import TopicKind, TopicSchema
from openefd.schema.sal_xml import SUBSYSTEMS_FILE, load_sal_xml
from openefd.sim.builder import EventBuilder, strings
from openefd.sim.camera import camera_events
from openefd.sim.commands import CommandLog
from openefd.sim.environment import EssSensor, TemperatureModel, WeatherModel, dimm_measurements
from openefd.sim.events import error_bursts, lifecycle_events, log_messages, motion_events
from openefd.sim.m1m3 import ForceModel, InclinometerModel, is_force_topic
from openefd.sim.mount import DomeAzimuthModel, MountAxisModel
from openefd.sim.profiles import ALL, ProfileSpec
from openefd.sim.rng import generator
from openefd.sim.stamps import Publisher, publisher
from openefd.sim.streams import Gate, Model, PeriodicStream, Stream
from openefd.sim.world import World
from openefd.timescales import NS_PER_S

__all__ = ["build_streams", "load_topics", "model_for"]

ESS_SENSORS = {
    s.sal_index: s
    for s in (
        EssSensor(1, "TMA top end", "Top-end ring, M2 side", 16, 9.5),
        EssSensor(101, "M1M3 cell air", "M1M3 cell, below the mirror", 16, 10.5),
        EssSensor(102, "Dome air", "Dome interior, observing floor", 8, 10.0),
        EssSensor(104, "Camera hexapod area", "Camera rotator and hexapod", 16, 10.8),
        EssSensor(106, "Dome air, level 7", "Dome interior, level 7", 8, 9.8),
        EssSensor(301, "Weather tower", "Weather tower, 10 m", 1, 9.0),
    )
}
_WEATHER = ("airFlow", "relativeHumidity", "pressure", "dewPoint")
_INFO_MESSAGES = (
    "Heartbeat check OK",
    "Configuration unchanged",
    "Telemetry loop lag 2 ms",
    "Connected to the low-level controller",
    "Received command",
)


@lru_cache(maxsize=512)
def _csc_topics(root: str, csc: str) -> tuple[TopicSchema, ...]:
    folder = Path(root) / csc
    if not folder.is_dir():
        raise SchemaError(f"{folder}: no such CSC folder in the SAL XML definitions")
    return tuple(load_sal_xml(folder))


def load_topics(schemas: Path, cscs: set[str]) -> dict[str, TopicSchema]:
    """The definitions of every topic of ``cscs`` from a ts_xml ``sal_interfaces`` folder."""
    root = schemas.parent if schemas.is_file() else schemas
    if not (root / SUBSYSTEMS_FILE).is_file():
        raise SchemaError(
            f"{schemas}: not a ts_xml sal_interfaces folder (no {SUBSYSTEMS_FILE}); "
            "give the folder, e.g. ts_xml/python/lsst/ts/xml/data/sal_interfaces"
        )
    key = str(root.resolve())
    return {t.name: t for csc in sorted(cscs) for t in _csc_topics(key, csc)}


def model_for(world: World, topic: TopicSchema, sal_index: int | None) -> Model | None:
    """The specific model of a topic, or None for generic values."""
    csc, short = topic.csc, topic.name.rsplit(".", 1)[-1]
    if csc == "MTMount" and short in ("azimuth", "elevation"):
        return MountAxisModel(world, short)
    if csc == "MTDome" and short == "azimuth":
        return DomeAzimuthModel(world)
    if csc == "MTM1M3" and is_force_topic(topic):
        return ForceModel(world, topic)
    if csc == "MTM1M3" and short == "inclinometerData":
        return InclinometerModel(world)
    if csc == "ESS" and short == "temperature" and sal_index in ESS_SENSORS:
        return TemperatureModel(world, ESS_SENSORS[sal_index])
    if csc == "ESS" and short in _WEATHER:
        sensor = ESS_SENSORS.get(sal_index or 0, ESS_SENSORS[301])
        return WeatherModel(world, short, sensor.name, sensor.location)
    return None


def _telemetry(
    world: World, topics: dict[str, TopicSchema], spec: ProfileSpec, senders: dict[str, Publisher]
) -> list[Stream]:
    explicit = {(t.csc, t.topic) for t in spec.telemetry if t.topic != ALL}
    streams: list[Stream] = []
    for item in spec.telemetry:
        if item.topic == ALL:
            names = [
                t.name
                for t in topics.values()
                if t.csc == item.csc
                and t.kind is TopicKind.TELEMETRY
                and (item.csc, t.name.rsplit(".", 1)[-1]) not in explicit
            ]
        else:
            names = [f"lsst.sal.{item.csc}.{item.topic}"]
        for name in names:
            topic = topics.get(name)
            if topic is None:
                raise SchemaError(f"topic {name!r} is not in the SAL XML definitions")
            for index in item.indices:
                sender = senders[item.csc if index is None else f"{item.csc}:{index}"]
                streams.append(
                    PeriodicStream(
                        topic,
                        sender,
                        index,
                        world.seed,
                        world.start_ns,
                        world.end_ns,
                        item.hz,
                        model_for(world, topic, index),
                    )
                )
    return streams


def _fast_events(
    world: World, topics: dict[str, TopicSchema], spec: ProfileSpec, sender: Publisher
) -> list[Stream]:
    moves = world.plan.moves
    slews = Gate(
        moves.start_ns[moves.science],
        moves.start_ns[moves.science]
        + np.round((moves.mount_s[moves.science] + 1.0) * NS_PER_S).astype(np.int64),
    )
    streams: list[Stream] = []
    for short, hz, gated in spec.fast_events:
        topic = topics[f"lsst.sal.MTM1M3.{short}"]
        streams.append(
            PeriodicStream(
                topic,
                sender,
                None,
                world.seed,
                world.start_ns,
                world.end_ns,
                hz,
                ForceModel(world, topic),
                slews if gated else None,
            )
        )
    return streams


def _sparse_logs(b: EventBuilder, senders: list[Publisher]) -> None:
    w = b.world
    span_s = (w.end_ns - w.start_ns) / NS_PER_S
    for s in senders:
        rng = generator(w.seed, "sparse logs", s.identity)
        n = int(rng.poisson(span_s / 180.0))
        t = w.start_ns + np.sort(rng.integers(0, w.end_ns - w.start_ns, n))
        text = strings(rng.choice(_INFO_MESSAGES, n), n)
        log_messages(b, s, t, text, level=20)


def _pid(seed: int, who: str) -> int:
    return int(generator(seed, "pid", who).integers(1000, 60000))


def build_streams(
    world: World, topics: dict[str, TopicSchema], spec: ProfileSpec, exposures: pd.DataFrame
) -> list[Stream]:
    """Every stream of the run."""
    seed = world.seed
    instances = [publisher(seed, csc, index) for csc, index in spec.instances]
    senders = {p.identity: p for p in instances}
    streams: list[Stream] = [
        PeriodicStream(
            topics[f"lsst.sal.{p.csc}.logevent_heartbeat"],
            p,
            p.sal_index,
            seed,
            world.start_ns,
            world.end_ns,
            1.0,
        )
        for p in instances
    ]
    streams += _telemetry(world, topics, spec, senders)
    if spec.fast_events:
        streams += _fast_events(world, topics, spec, senders["MTM1M3"])
    b = EventBuilder(world, topics)
    commands = CommandLog(b)
    script = Publisher("Script", 100042, "Script:100042", _pid(seed, "script"))
    operator = Publisher("LOVE", None, "operator@love01", _pid(seed, "operator"))
    named = {**senders, "script": script, "DIMM": senders["DIMM:1"]}
    quiet = lifecycle_events(b, commands, instances, operator)
    t, columns = dimm_measurements(world, quiet)
    b.add("DIMM.logevent_dimmMeasurement", senders["DIMM:1"], t, columns)
    motion_events(b, commands, world.plan, named)
    camera_events(b, commands, exposures, world.plan, named)
    error_bursts(b, named, spec.m1m3_warnings)
    if spec.sparse_logs:
        _sparse_logs(b, instances)
    commands.finish()
    return streams + list(b.finish())
