"""Events of the CSCs' lives, of the telescope's motion, and of things going wrong.

- ``logevent_summaryState``: every simulated CSC reports ENABLED (2) in the
  first 2 s of the run. DIMM:1 faults 14 minutes in (``errorCode``, a burst
  of error ``logMessage``s, FAULT = 3); at 16 minutes an operator sends
  ``standby``, ``start`` and ``enable`` (STANDBY 5, DISABLED 1, ENABLED 2);
  no seeing is measured meanwhile.
- Mount: ``azimuth/elevationMotionState`` STOPPED (1) at the start and
  TRACKING (4) from the first slew to the sky; ``…InPosition`` false at each
  slew's start and true once settled; ``logevent_target`` per slew, after
  MTPtg's ``command_raDecTarget`` from the observing script.
- Dome: ``azTarget`` per slew, ``azMotion`` MOVING (5) while it turns and
  CRAWLING (4, in position) after.
- Error bursts: 8 minutes in and then every 15–30 minutes, one CSC sends
  the same error ``logMessage`` 50–300 times within a second (in the EFD
  profile every other burst is M1M3's ``forceActuatorWarning``, 600–1000
  times, each with one actuator's minor fault set).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from openefd.sim.builder import EventBuilder, strings
from openefd.sim.commands import CommandLog
from openefd.sim.generic import Column
from openefd.sim.plan import NightPlan
from openefd.sim.pointing import altaz_to_radec
from openefd.sim.stamps import Publisher
from openefd.timescales import NS_PER_S, tai_to_utc_ns

__all__ = ["FAULT_AT_S", "error_bursts", "lifecycle_events", "log_messages", "motion_events"]

I64 = npt.NDArray[np.int64]

ENABLED, DISABLED, FAULT, STANDBY = 2, 1, 3, 5
FAULT_AT_S = 14 * 60.0
RECOVER_AT_S = 16 * 60.0
_MESSAGES = {
    "MTMount": "Azimuth axis: following error above the warning threshold",
    "MTM1M3": "Force actuator 214: ILC response timeout",
    "MTDome": "Azimuth motor drive 3: over-current warning",
    "DIMM": "Lost connection to the DIMM controller: timed out",
}


def log_messages(
    b: EventBuilder, sender: Publisher, t: I64, text: str | Column, level: int = 40
) -> None:
    """``logMessage`` rows of ``sender`` at ``t`` (level 40 = ERROR, 20 = INFO)."""
    n = len(t)
    b.add(
        f"{sender.csc}.logevent_logMessage",
        sender,
        t,
        {
            "name": strings(sender.csc, n),
            "level": np.full(n, level, dtype=np.int64),
            "message": strings(text, n),
            "traceback": strings("", n),
            "filePath": strings(f"/opt/lsst/software/{sender.csc.lower()}/csc.py", n),
            "functionName": strings("handle_telemetry", n),
            "lineNumber": np.full(n, 412, dtype=np.int64),
            "process": np.full(n, sender.origin, dtype=np.int64),
            "timestamp": t / NS_PER_S,
        },
    )


def lifecycle_events(
    b: EventBuilder, commands: CommandLog, senders: list[Publisher], operator: Publisher
) -> list[tuple[int, int]]:
    """Summary states, and the DIMM fault; returns the intervals without DIMM measurements."""
    w = b.world
    rng = w.rng("lifecycle")
    for s in senders:
        t = w.start_ns + round(rng.uniform(0.05, 2.0) * NS_PER_S)
        if f"lsst.sal.{s.csc}.logevent_summaryState" not in b.topics:
            continue  # LOVE has no summary state
        b.add(f"{s.csc}.logevent_summaryState", s, t, {"summaryState": np.array([ENABLED])})
    dimm = next((s for s in senders if s.csc == "DIMM"), None)
    if dimm is None:
        return []
    fault = w.start_ns + round(FAULT_AT_S * NS_PER_S)
    recover = w.start_ns + round(RECOVER_AT_S * NS_PER_S)
    burst = fault + np.sort(rng.integers(0, 300_000_000, 30))
    log_messages(b, dimm, burst, _MESSAGES["DIMM"])
    b.add(
        "DIMM.logevent_errorCode",
        dimm,
        fault + 310_000_000,
        {
            "errorCode": np.array([2]),
            "errorReport": strings(_MESSAGES["DIMM"], 1),
            "traceback": strings("", 1),
        },
    )
    steps = [
        ("command_standby", STANDBY, 0.0),
        ("command_start", DISABLED, 10.0),
        ("command_enable", ENABLED, 25.0),
    ]
    states = [(fault + 320_000_000, FAULT)]
    for command, state, offset_s in steps:
        sent = recover + round(offset_s * NS_PER_S)
        took = 3.0 if command == "command_start" else 0.4
        commands.send(dimm, command, operator, sent, took)
        states.append((sent + round((took - 0.05) * NS_PER_S), state))
    t_states = np.array([t for t, _ in states], dtype=np.int64)
    b.add(
        "DIMM.logevent_summaryState",
        dimm,
        t_states,
        {"summaryState": np.array([s for _, s in states])},
    )
    return [(fault, int(t_states[-1]) + 30 * NS_PER_S)]


def motion_events(
    b: EventBuilder, commands: CommandLog, plan: NightPlan, senders: dict[str, Publisher]
) -> None:
    """Mount and dome motion events and MTPtg's target commands, from the plan's moves."""
    m = plan.moves
    mount, dome, script = senders["MTMount"], senders["MTDome"], senders["script"]
    sky = np.flatnonzero(m.science)
    start = m.start_ns[sky]
    settled = start + np.round((m.mount_s[sky] + 1.0) * NS_PER_S).astype(np.int64)
    dome_done = start + np.round(m.dome_s[sky] * NS_PER_S).astype(np.int64)
    n = len(sky)
    t0 = plan.start_ns + 300_000_000
    for axis in ("azimuth", "elevation"):
        first = [int(start[0]) + 10_000_000] if n else []
        b.add(
            f"MTMount.logevent_{axis}MotionState",
            mount,
            np.array([t0, *first]),
            {"state": np.array([1, 4][: 1 + len(first)])},
        )
        flags = np.concatenate([[t0], start + 20_000_000, settled])
        values = np.concatenate([[True], np.zeros(n, bool), np.ones(n, bool)])
        b.add(f"MTMount.logevent_{axis}InPosition", mount, flags, {"inPosition": values})
    ra, dec = altaz_to_radec(m.az1[sky], m.el1[sky], tai_to_utc_ns(start))
    track = np.arange(1, n + 1, dtype=np.int64)
    commands.send(
        senders["MTPtg"],
        "command_raDecTarget",
        script,
        start - 200_000_000,
        0.03,
        {
            "targetName": strings([f"field_{i:04d}" for i in track], n),
            "frame": np.full(n, 2),
            "epoch": np.full(n, 2000.0),
            "equinox": np.full(n, 2000.0),
            "ra": ra / 15.0,
            "declination": dec,
            "trackId": track,
            "rotAngle": np.zeros(n),
            "rotMode": np.ones(n, dtype=np.int64),
            "timeOnTarget": np.full(n, 34.0),
            "validateOnly": np.zeros(n, dtype=bool),
        },
    )
    b.add(
        "MTMount.logevent_target",
        mount,
        start,
        {
            "azimuth": m.az1[sky],
            "elevation": m.el1[sky],
            "azimuthVelocity": m.az_rate[sky],
            "elevationVelocity": m.el_rate[sky],
            "taiTime": (settled - NS_PER_S) / NS_PER_S,
            "trackId": track,
            "tracksys": strings("SIDEREAL", n),
            "radesys": strings("ICRS", n),
        },
    )
    target = np.mod(m.az1[sky] + m.az_rate[sky] * (m.dome_s[sky] - m.mount_s[sky]), 360.0)
    b.add(
        "MTDome.logevent_azTarget",
        dome,
        start + 50_000_000,
        {"position": target, "velocity": m.az_rate[sky]},
    )
    motion_t = np.concatenate([[t0], start + 100_000_000, dome_done])
    states = np.concatenate([[10], np.full(n, 5), np.full(n, 4)])
    in_position = np.concatenate([[True], np.zeros(n, bool), np.ones(n, bool)])
    b.add("MTDome.logevent_azMotion", dome, motion_t, {"state": states, "inPosition": in_position})


def error_bursts(b: EventBuilder, senders: dict[str, Publisher], m1m3_warnings: bool) -> None:
    """Bursts of one repeated error event; see the module docstring."""
    w = b.world
    rng = w.rng("bursts")
    cycle = [c for c in ("MTMount", "MTM1M3", "MTDome") if c in senders]
    t = w.start_ns + round(8 * 60 * NS_PER_S)
    i = 0
    while t < w.end_ns and cycle:
        csc = cycle[i % len(cycle)]
        span = int(rng.uniform(0.2, 1.0) * NS_PER_S)
        if m1m3_warnings and csc == "MTM1M3" and i % 2:
            count = int(rng.integers(600, 1000))
            times = t + np.sort(rng.integers(0, NS_PER_S, count))
            fault = np.zeros((count, 156), dtype=bool)
            fault[:, int(rng.integers(0, 156))] = True
            columns: dict[str, Column] = {
                "anyWarning": np.ones(count, bool),
                "anyMinorFault": np.ones(count, bool),
                "minorFault": fault,
            }
            b.add("MTM1M3.logevent_forceActuatorWarning", senders[csc], times, columns)
        else:
            count = int(rng.integers(50, 300))
            log_messages(
                b, senders[csc], t + np.sort(rng.integers(0, span, count)), _MESSAGES[csc]
            )
        t += round(rng.uniform(15, 30) * 60 * NS_PER_S)
        i += 1
