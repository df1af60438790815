"""Which CSCs publish what, how often, in each profile.

``DEMO`` — the main telescope's best-known topics, 12 CSC instances:
M1M3 ``forceActuatorData`` (50 Hz, 812 values a row; the bulk of the
volume), MTMount ``azimuth``/``elevation`` (20 Hz), MTDome ``azimuth``
(4 Hz), ESS temperatures of four sensors and the weather tower's wind,
humidity, pressure and dew point (1 Hz), five camera housekeeping topics
(every 10–30 s), DIMM seeing, and the events and commands of
:mod:`openefd.sim.events` and :mod:`openefd.sim.camera`.

``EFD`` — shaped like the published Rubin EFD: 65 CSC instances (main and
auxiliary telescope, camera, dome, environment, facility, scheduling and
data services), each with its heartbeat, summary state and occasional log
messages, their telemetry at plausible rates (``"*"`` = every telemetry
topic of the CSC), and M1M3 dominant: all 19 of its telemetry topics and
its eight continuously updated ``preclipped…Forces`` events at 50 Hz, two
more (velocity and acceleration forces) at 50 Hz while the telescope
slews. That makes ~1.6 MB/s on average by Avro sizing, 84 % of it M1M3.
"""

from __future__ import annotations

from dataclasses import dataclass

from openefd.sim.config import Profile

__all__ = ["ProfileSpec", "TelemetrySpec", "profile_spec"]

ALL = "*"


@dataclass(frozen=True, slots=True)
class TelemetrySpec:
    """Topic ``lsst.sal.<csc>.<topic>`` (``*``: every telemetry topic) at ``hz`` per index."""

    csc: str
    topic: str
    hz: float
    indices: tuple[int | None, ...] = (None,)


@dataclass(frozen=True, slots=True)
class ProfileSpec:
    """CSC instances, their telemetry, M1M3's fast events, and which extras are on.

    ``fast_events``: (topic, hz, only while slewing).
    """

    instances: tuple[tuple[str, int | None], ...]
    telemetry: tuple[TelemetrySpec, ...]
    fast_events: tuple[tuple[str, float, bool], ...] = ()
    m1m3_warnings: bool = False
    sparse_logs: bool = False


_DEMO_INSTANCES: tuple[tuple[str, int | None], ...] = (
    ("MTM1M3", None),
    ("MTMount", None),
    ("MTDome", None),
    ("MTPtg", None),
    ("ESS", 1),
    ("ESS", 101),
    ("ESS", 102),
    ("ESS", 301),
    ("DIMM", 1),
    ("MTCamera", None),
    ("MTHeaderService", None),
    ("MTOODS", None),
)
_DEMO_TELEMETRY = (
    TelemetrySpec("MTM1M3", "forceActuatorData", 50.0),
    TelemetrySpec("MTMount", "azimuth", 20.0),
    TelemetrySpec("MTMount", "elevation", 20.0),
    TelemetrySpec("MTDome", "azimuth", 4.0),
    TelemetrySpec("ESS", "temperature", 1.0, (1, 101, 102, 301)),
    TelemetrySpec("ESS", "airFlow", 1.0, (301,)),
    TelemetrySpec("ESS", "relativeHumidity", 1.0, (301,)),
    TelemetrySpec("ESS", "pressure", 1.0, (301,)),
    TelemetrySpec("ESS", "dewPoint", 1.0, (301,)),
    TelemetrySpec("MTCamera", "vacuum_Cryo", 0.1),
    TelemetrySpec("MTCamera", "refrig_Cryo1", 0.1),
    TelemetrySpec("MTCamera", "chiller_Chiller", 0.1),
    TelemetrySpec("MTCamera", "focal_plane_RebTotalPower", 0.1),
    TelemetrySpec("MTCamera", "focal_plane_Ccd", 1 / 30),
)

_EFD_MORE_INSTANCES: tuple[tuple[str, int | None], ...] = (
    ("MTM2", None),
    ("MTRotator", None),
    ("MTHexapod", 1),
    ("MTHexapod", 2),
    ("MTVMS", 1),
    ("MTVMS", 2),
    ("MTM1M3TS", None),
    ("MTAOS", None),
    ("MTDomeTrajectory", None),
    ("MTAirCompressor", 1),
    ("MTAirCompressor", 2),
    ("ESS", 104),
    ("ESS", 106),
    ("ESS", 201),
    ("ESS", 203),
    ("ESS", 302),
    ("DIMM", 2),
    ("DSM", 1),
    ("DREAM", 1),
    ("WeatherForecast", None),
    ("HVAC", None),
    ("ATMCS", None),
    ("ATPtg", None),
    ("ATDome", None),
    ("ATDomeTrajectory", None),
    ("ATAOS", None),
    ("ATHexapod", None),
    ("ATPneumatics", None),
    ("ATCamera", None),
    ("ATSpectrograph", None),
    ("ATHeaderService", None),
    ("ATOODS", None),
    ("ATBuilding", None),
    ("ATMonochromator", None),
    ("ATWhiteLight", None),
    ("CBP", None),
    ("TunableLaser", None),
    ("LaserTracker", 1),
    ("FiberSpectrograph", 3),
    ("Electrometer", 101),
    ("PMD", 1),
    ("GenericCamera", 1),
    ("GCHeaderService", 1),
    ("Scheduler", 1),
    ("Scheduler", 2),
    ("ScriptQueue", 1),
    ("ScriptQueue", 2),
    ("Watcher", None),
    ("EAS", None),
    ("SummitFacility", None),
    ("GIS", None),
    ("LOVE", None),
    ("OCPS", 1),
)
_EFD_MORE_TELEMETRY = (
    TelemetrySpec("MTM1M3", ALL, 50.0),
    TelemetrySpec("MTMount", ALL, 1.0),
    TelemetrySpec("MTDome", ALL, 1.0),
    TelemetrySpec("MTPtg", ALL, 1.0),
    TelemetrySpec("MTCamera", ALL, 1 / 60),
    TelemetrySpec("MTM2", ALL, 20.0),
    TelemetrySpec("MTRotator", ALL, 20.0),
    TelemetrySpec("MTHexapod", ALL, 10.0, (1, 2)),
    TelemetrySpec("MTVMS", "data", 20.0, (1, 2)),
    TelemetrySpec("MTVMS", "psd", 0.1, (1, 2)),
    TelemetrySpec("MTVMS", "miscellaneous", 1.0, (1, 2)),
    TelemetrySpec("MTM1M3TS", ALL, 1.0),
    TelemetrySpec("MTAOS", ALL, 1 / 34),
    TelemetrySpec("MTAirCompressor", ALL, 1.0, (1, 2)),
    TelemetrySpec("ESS", "temperature", 1.0, (104, 106)),
    TelemetrySpec("ESS", "relativeHumidity", 1.0, (104, 106)),
    TelemetrySpec("ESS", "accelerometer", 1.0, (201,)),
    TelemetrySpec("ESS", "accelerometerPSD", 0.2, (201,)),
    TelemetrySpec("ESS", "airTurbulence", 1.0, (203,)),
    TelemetrySpec("ESS", "electricFieldStrength", 1.0, (302,)),
    TelemetrySpec("ESS", "lightningStrikeStatus", 1.0, (302,)),
    TelemetrySpec("ESS", "rainRate", 1.0, (301,)),
    TelemetrySpec("ESS", "solarRadiation", 1.0, (301,)),
    TelemetrySpec("DIMM", ALL, 0.2, (1, 2)),
    TelemetrySpec("DSM", ALL, 1.0, (1,)),
    TelemetrySpec("DREAM", ALL, 0.1, (1,)),
    TelemetrySpec("WeatherForecast", ALL, 1 / 3600),
    TelemetrySpec("HVAC", ALL, 0.2),
    TelemetrySpec("ATMCS", ALL, 1.0),
    TelemetrySpec("ATPtg", ALL, 1.0),
    TelemetrySpec("ATDome", ALL, 1.0),
    TelemetrySpec("ATAOS", ALL, 1.0),
    TelemetrySpec("ATHexapod", ALL, 1.0),
    TelemetrySpec("ATPneumatics", ALL, 1.0),
    TelemetrySpec("ATCamera", ALL, 1 / 30),
    TelemetrySpec("ATBuilding", ALL, 1.0),
    TelemetrySpec("ATMonochromator", ALL, 1.0),
    TelemetrySpec("ATWhiteLight", ALL, 1.0),
    TelemetrySpec("CBP", ALL, 1.0),
    TelemetrySpec("TunableLaser", ALL, 1.0),
    TelemetrySpec("LaserTracker", ALL, 0.1, (1,)),
    TelemetrySpec("FiberSpectrograph", ALL, 1.0, (3,)),
    TelemetrySpec("PMD", ALL, 1.0, (1,)),
    TelemetrySpec("GenericCamera", ALL, 1.0, (1,)),
    TelemetrySpec("Scheduler", ALL, 1.0, (1, 2)),
    TelemetrySpec("EAS", ALL, 1.0),
    TelemetrySpec("SummitFacility", ALL, 1.0),
)
_M1M3_FAST_EVENTS = (
    ("logevent_preclippedForces", 50.0, False),
    ("logevent_preclippedElevationForces", 50.0, False),
    ("logevent_preclippedAzimuthForces", 50.0, False),
    ("logevent_preclippedBalanceForces", 50.0, False),
    ("logevent_preclippedCylinderForces", 50.0, False),
    ("logevent_preclippedThermalForces", 50.0, False),
    ("logevent_preclippedActiveOpticForces", 50.0, False),
    ("logevent_preclippedOffsetForces", 50.0, False),
    ("logevent_preclippedVelocityForces", 50.0, True),
    ("logevent_preclippedAccelerationForces", 50.0, True),
)


def profile_spec(profile: Profile) -> ProfileSpec:
    """The CSCs and rates of ``profile``."""
    if profile is Profile.DEMO:
        return ProfileSpec(_DEMO_INSTANCES, _DEMO_TELEMETRY)
    return ProfileSpec(
        _DEMO_INSTANCES + _EFD_MORE_INSTANCES,
        _DEMO_TELEMETRY + _EFD_MORE_TELEMETRY,
        fast_events=_M1M3_FAST_EVENTS,
        m1m3_warnings=True,
        sparse_logs=True,
    )
