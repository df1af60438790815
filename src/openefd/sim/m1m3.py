"""M1M3 support forces: every force array of every M1M3 force topic, vectorised.

The mirror (17 t, 166.8 kN) rests on 156 axial actuators (``z``, with a
primary cylinder each) and 112 lateral cylinders (100 along ``y``, 12 along
``x``: the secondary cylinders). Each force array element is a linear
function of the mount's state, plus noise:

    F = c0 + c1·sin(el) + c2·cos(el) + c3·a_az + c4·a_el + c5·v_az² + σ·N(0, 1)

computed for a whole chunk as one matrix product (rows × 6 by 6 × elements).
The coefficients depend on the topic: measured and commanded totals
(``forceActuatorData``, ``appliedForces``, ``…ElevationForces``,
``…CylinderForces``) carry the weight — ``z`` shares of W·sin(el), ``y``
of W·cos(el); ``…AccelerationForces`` respond to the slews' accelerations
(up to ~100 N), ``…VelocityForces`` to the azimuth speed; balance,
thermal, offset, static and active-optics forces are small constants. The
measured forces (``forceActuatorData``) have 2.5 N of noise, the commanded
ones 0.3 N; following errors are noise of 1 N around zero. ``fx … mz`` and
``forceMagnitude`` are the sums and moments of the arrays; a ``mN``
integer array holds the same forces in millinewtons.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from openefd.schema.model import FieldSchema, TopicSchema
from openefd.sim.generic import Columns
from openefd.sim.rng import generator
from openefd.sim.world import World

__all__ = ["ForceModel", "InclinometerModel", "is_force_topic"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

WEIGHT_N = 17_000 * 9.81
_SUMS = ("fx", "fy", "fz", "mx", "my", "mz", "forceMagnitude")
_CARRYING = (
    "forceActuatorData",
    "appliedForces",
    "ElevationForces",
    "CylinderForces",
    "preclippedForces",
)


@dataclass(frozen=True, slots=True)
class _Layout:
    z_xy: F64  # (156, 2) positions, m
    y_x: F64  # (100,) lateral actuators' x positions, m
    z_share: F64  # (156,) fraction of the weight, sums to 1
    y_share: F64  # (100,)


@cache
def _layout() -> _Layout:
    """The actuator geometry: fixed, the same in every run."""
    rng = generator(0, "m1m3 layout")
    r = np.sqrt(rng.uniform(0.8**2, 4.1**2, 156))
    phi = rng.uniform(0, 2 * np.pi, 156)
    z_share = rng.uniform(0.85, 1.15, 156)
    y_share = rng.uniform(0.8, 1.2, 100)
    return _Layout(
        z_xy=np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1),
        y_x=rng.uniform(-4.0, 4.0, 100),
        z_share=z_share / z_share.sum(),
        y_share=y_share / y_share.sum(),
    )


def _role(f: FieldSchema) -> str | None:
    if f.private or f.count not in (12, 100, 112, 156) or f.units not in ("N", "mN"):
        return None
    if "FollowingError" in f.name:
        return "error"
    if f.name.startswith("primary"):
        return "z"
    if f.name.startswith("secondary"):
        return "secondary"
    return {12: "x", 100: "y", 156: "z"}.get(f.count)


def is_force_topic(topic: TopicSchema) -> bool:
    """Whether ``topic`` has M1M3 force arrays this model computes."""
    return any(_role(f) is not None for f in topic.fields)


class ForceModel:
    """Force arrays (and their sums) of one M1M3 topic; see the module docstring."""

    def __init__(self, world: World, topic: TopicSchema) -> None:
        self.world = world
        short = topic.name.rsplit(".", 1)[-1]
        rng = generator(world.seed, "m1m3 coefficients", short)
        lay = _layout()
        carrying = any(key in short for key in _CARRYING)
        measured = short == "forceActuatorData"
        self.fields: list[tuple[FieldSchema, str, int]] = []
        coeffs: list[F64] = []
        sigmas: list[F64] = []
        width = 0
        for f in topic.fields:
            role = _role(f)
            if role is None:
                continue
            c = np.zeros((6, f.count))
            if role != "error":
                c[0] = rng.uniform(-5.0, 5.0, f.count)
                if carrying and role == "z":
                    c[1] = WEIGHT_N * lay.z_share
                elif carrying and role in ("y", "secondary"):
                    c[2, :100] = (
                        WEIGHT_N * lay.y_share * (np.sqrt(2) if role == "secondary" else 1)
                    )
                elif "Acceleration" in short:
                    c[3] = rng.uniform(-10.0, 10.0, f.count)
                    c[4] = rng.uniform(-10.0, 10.0, f.count)
                elif "Velocity" in short:
                    c[5] = rng.uniform(-2.0, 2.0, f.count)
                elif "Azimuth" not in short:
                    c[0] = rng.uniform(-30.0, 30.0, f.count)
            sigma = 1.0 if role == "error" else (2.5 if measured else 0.3)
            coeffs.append(c)
            sigmas.append(np.full(f.count, sigma))
            self.fields.append((f, role, width))
            width += f.count
        self.coefficients: F32 = np.concatenate(coeffs, axis=1).astype(np.float32)
        self.sigma: F32 = np.concatenate(sigmas).astype(np.float32)
        self.noise_width = width
        axes = {f.name[0] for f, role, _ in self.fields if role == f.name[0]}
        present = {f.name for f in topic.fields}
        sums = {"x", "y", "z"} <= axes
        self.sums = [s for s in _SUMS if s in present] if sums else []
        self.provides = frozenset([f.name for f, _, _ in self.fields] + self.sums)

    def columns(self, t_ns: I64, noise: F32) -> Columns:
        az, el = self.world.mount(t_ns)
        rad = np.radians(el.position)
        state = np.empty((len(t_ns), 6), dtype=np.float32)
        state[:, 0] = 1.0
        state[:, 1] = np.sin(rad)
        state[:, 2] = np.cos(rad)
        state[:, 3] = az.acceleration
        state[:, 4] = el.acceleration
        state[:, 5] = az.velocity**2
        values = state @ self.coefficients
        values += noise * self.sigma
        out: Columns = {}
        arrays: dict[str, F32] = {}
        for f, role, offset in self.fields:
            part = values[:, offset : offset + f.count]
            if role == f.name[0]:
                arrays[role] = part
            out[f.name] = np.round(part * 1000).astype(np.int64) if f.units == "mN" else part
        if self.sums:
            lay = _layout()
            x, y, z = (arrays[r].astype(np.float64) for r in ("x", "y", "z"))
            fx, fy, fz = x.sum(axis=1), y.sum(axis=1), z.sum(axis=1)
            sums = {
                "fx": fx,
                "fy": fy,
                "fz": fz,
                "mx": z @ lay.z_xy[:, 1],
                "my": -(z @ lay.z_xy[:, 0]),
                "mz": y @ lay.y_x,
                "forceMagnitude": np.sqrt(fx**2 + fy**2 + fz**2),
            }
            out.update({name: sums[name] for name in self.sums})
        return out


class InclinometerModel:
    """``MTM1M3.inclinometerData``: the mirror's elevation, 5 mdeg of noise."""

    provides = frozenset({"inclinometerAngle"})
    noise_width = 1

    def __init__(self, world: World) -> None:
        self.world = world

    def columns(self, t_ns: I64, noise: F32) -> Columns:
        _, el = self.world.mount(t_ns)
        return {"inclinometerAngle": el.position + 0.005 * noise[:, 0]}
