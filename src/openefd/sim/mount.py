"""Models of the telescope mount (MTMount) and dome (MTDome) axes.

``MTMount.azimuth`` and ``.elevation`` (20 Hz) follow the plan's slews and
tracking (:mod:`openefd.sim.pointing`): actual position (with 20 µdeg
encoder noise and the settling ring), velocity, acceleration, jerk, demand,
and a torque of inertia × acceleration plus friction; every
``…Timestamp`` is the sample time (TAI s) 2 ms before sending. The
elevation inclinometer reads 0.01° high with 1 mdeg noise.
``MTDome.azimuth`` (4 Hz) follows the mount's azimuth on a slower profile
and crawls 2 s behind it; its five drives share the torque, the encoder
heads read the position with small fixed offsets. Dome angles are in
[0, 360).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from openefd.sim.generic import Columns
from openefd.sim.pointing import AxisMotion, dome_azimuth, mount_axes
from openefd.sim.world import World
from openefd.timescales import NS_PER_S

__all__ = ["DomeAzimuthModel", "MountAxisModel"]

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

_JERK_STEP_NS = 25_000_000
_TIMESTAMPED = (
    "actualAcceleration",
    "actualJerk",
    "actualPosition",
    "actualTorque",
    "actualVelocity",
    "demandPosition",
    "demandVelocity",
)


class MountAxisModel:
    """``MTMount.azimuth`` or ``MTMount.elevation``."""

    noise_width = 3

    def __init__(self, world: World, axis: str) -> None:
        self.world = world
        self.axis = axis
        names = {*_TIMESTAMPED, *(f"{n}Timestamp" for n in _TIMESTAMPED), "timestamp"}
        if axis == "elevation":
            names |= {"elevationInclinometer", "elevationInclinometerTimestamp"}
        self.provides = frozenset(names)
        self.inertia = 3.0e4 if axis == "azimuth" else 1.8e4  # N m per deg/s^2

    def _motion(self, t_ns: I64) -> AxisMotion:
        az, el = mount_axes(self.world.plan.moves, t_ns)
        return az if self.axis == "azimuth" else el

    def columns(self, t_ns: I64, noise: F32) -> Columns:
        motion = self._motion(t_ns)
        before = self._motion(t_ns - _JERK_STEP_NS).acceleration
        after = self._motion(t_ns + _JERK_STEP_NS).acceleration
        velocity = motion.velocity
        friction = 2.0e3 * np.tanh(velocity / 0.01)
        sample_s = (t_ns - 2_000_000) / NS_PER_S
        out: Columns = {
            "actualPosition": motion.position + 2e-5 * noise[:, 0],
            "actualVelocity": velocity + 1e-5 * noise[:, 1],
            "actualAcceleration": motion.acceleration,
            "actualJerk": (after - before) / (2 * _JERK_STEP_NS / NS_PER_S),
            "actualTorque": self.inertia * motion.acceleration + friction + 300.0 * noise[:, 2],
            "demandPosition": motion.demand_position,
            "demandVelocity": motion.demand_velocity,
            "timestamp": (t_ns - 1_000_000) / NS_PER_S,
        }
        for name in _TIMESTAMPED:
            out[f"{name}Timestamp"] = sample_s
        if self.axis == "elevation":
            out["elevationInclinometer"] = motion.position + 0.01 + 1e-3 * noise[:, 2]
            out["elevationInclinometerTimestamp"] = sample_s
        return out


class DomeAzimuthModel:
    """``MTDome.azimuth``."""

    provides = frozenset(
        {
            "positionActual",
            "positionCommanded",
            "velocityActual",
            "velocityCommanded",
            "driveTorqueActual",
            "driveTorqueCommanded",
            "driveCurrentActual",
            "encoderHeadCalibrated",
            "barcodeHeadCalibrated",
            "barcodeHeadWeighted",
            "timestamp",
        }
    )
    noise_width = 12

    def __init__(self, world: World) -> None:
        self.world = world
        rng = world.rng("dome heads")
        self.encoder_offsets = rng.normal(0.0, 0.002, 5)
        self.barcode_offsets = rng.normal(0.0, 0.01, 3)

    def columns(self, t_ns: I64, noise: F32) -> Columns:
        position, velocity, _, commanded = dome_azimuth(self.world.plan.moves, t_ns)
        torque = 900.0 * np.tanh(velocity / 0.05) + 1500.0 * velocity
        drive_noise = noise[:, :5]
        actual_torque = torque[:, None] + 40.0 * drive_noise
        return {
            "positionActual": np.mod(position + 1e-4 * noise[:, 5], 360.0),
            "positionCommanded": np.mod(commanded, 360.0),
            "velocityActual": velocity + 1e-4 * noise[:, 6],
            "velocityCommanded": velocity,
            "driveTorqueActual": actual_torque,
            "driveTorqueCommanded": np.repeat(torque[:, None], 5, axis=1),
            "driveCurrentActual": 2.0 + np.abs(actual_torque) / 150.0,
            "encoderHeadCalibrated": np.mod(position, 360.0)[:, None]
            + self.encoder_offsets
            + 5e-4 * noise[:, 7:12],
            "barcodeHeadCalibrated": np.mod(position, 360.0)[:, None] + self.barcode_offsets,
            "barcodeHeadWeighted": np.mod(position, 360.0)[:, None] + self.barcode_offsets / 2,
            "timestamp": (t_ns - 1_000_000) / NS_PER_S,
        }
