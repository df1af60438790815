"""What every model of a run shares: its times, its plan, and slowly varying signals."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from openefd.sim.plan import NightPlan
from openefd.sim.pointing import AxisMotion, mount_axes
from openefd.sim.rng import SmoothWalk, generator
from openefd.timescales import NS_PER_S

__all__ = ["World"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class World:
    """The run ``[start_ns, end_ns)`` (TAI ns) of ``seed`` with its ``plan``."""

    def __init__(self, seed: int, start_ns: int, end_ns: int, plan: NightPlan) -> None:
        self.seed = seed
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.plan = plan
        self._walks: dict[tuple[object, float, float], SmoothWalk] = {}
        self._mount_key: tuple[int, int, int] | None = None
        self._mount: tuple[AxisMotion, AxisMotion] | None = None

    def rng(self, *parts: object) -> np.random.Generator:
        """A generator named ``parts`` in this run."""
        return generator(self.seed, *parts)

    def walk(self, key: object, t_ns: I64, step_s: float, sigma: float) -> F64:
        """A smooth random walk named ``key`` (σ per ``step_s`` step), at TAI ``t_ns``."""
        name = (key, step_s, sigma)
        walk = self._walks.get(name)
        if walk is None:
            walk = SmoothWalk(self.seed, key, self.start_ns, self.end_ns, step_s, sigma)
            self._walks[name] = walk
        return walk.at(t_ns)

    def hours(self, t_ns: I64) -> F64:
        """Hours since the start of the run."""
        return np.asarray((t_ns - self.start_ns) / (3600 * NS_PER_S), dtype=np.float64)

    def mount(self, t_ns: I64) -> tuple[AxisMotion, AxisMotion]:
        """Mount azimuth and elevation at ``t_ns`` (the last answer is reused)."""
        key = (int(t_ns[0]), int(t_ns[-1]), len(t_ns)) if len(t_ns) else (0, 0, 0)
        if key != self._mount_key or self._mount is None:
            self._mount = mount_axes(self.plan.moves, t_ns)
            self._mount_key = key
        return self._mount
