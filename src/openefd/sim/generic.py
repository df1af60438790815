"""Plausible values for fields nobody models specifically, chosen by type and units.

Each float field element gets a fixed level from its units (temperatures
around 10 °C, pressures around 743 hPa, voltages 5–48 V, forces a few hundred
N, …; anything else 0–10) drawn once per (run, topic, field), plus, for
telemetry, Gaussian noise of 0.2 % of the level (at least 0.001). Integers
are small constants (0–3), booleans false, strings empty. Fields that hold a
time (a double named ``timestamp`` or ``…Timestamp``) get the row's TAI
time in seconds, 1 ms before it was sent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from openefd.schema.model import FieldSchema, FieldType, TopicSchema
from openefd.sim.rng import generator
from openefd.timescales import NS_PER_S

__all__ = ["Column", "Columns", "TopicFiller", "is_time_field"]

Column = npt.NDArray[np.generic]
Columns = dict[str, Column]
F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

# (lowest, highest) level by units, lower-cased.
_LEVELS: dict[str, tuple[float, float]] = {
    "deg_c": (6.0, 14.0),
    "c": (6.0, 14.0),
    "celsius": (6.0, 14.0),
    "deg c": (6.0, 14.0),
    "degc": (6.0, 14.0),
    "k": (270.0, 290.0),
    "%": (20.0, 60.0),
    "pa": (74000.0, 74600.0),
    "kpa": (50.0, 400.0),
    "hpa": (740.0, 746.0),
    "mbar": (740.0, 746.0),
    "bar": (3.0, 8.0),
    "psi": (20.0, 90.0),
    "psig": (20.0, 90.0),
    "psia": (40.0, 110.0),
    "torr": (1e-7, 1e-5),
    "deg": (0.0, 90.0),
    "degree": (0.0, 90.0),
    "degrees": (0.0, 90.0),
    "rad": (-0.1, 0.1),
    "arcsec": (0.5, 1.5),
    "m/s": (0.0, 5.0),
    "m": (-0.001, 0.001),
    "mm": (-1.0, 1.0),
    "um": (-50.0, 50.0),
    "micron": (-50.0, 50.0),
    "n": (-300.0, 300.0),
    "n m": (-2000.0, 2000.0),
    "n*m": (-2000.0, 2000.0),
    "v": (5.0, 48.0),
    "volt": (5.0, 48.0),
    "volts": (5.0, 48.0),
    "a": (0.1, 5.0),
    "amp": (0.1, 5.0),
    "ma": (10.0, 500.0),
    "w": (10.0, 500.0),
    "watt": (10.0, 500.0),
    "va": (10.0, 500.0),
    "hz": (49.9, 50.1),
    "rpm": (500.0, 3000.0),
    "l/min": (5.0, 20.0),
    "gallon/min": (2.0, 8.0),
    "hour": (100.0, 10000.0),
    "h": (100.0, 10000.0),
    "unitless": (0.0, 1.0),
}
_DEFAULT_LEVEL = (0.0, 10.0)


def is_time_field(f: FieldSchema) -> bool:
    """A double that holds a time in seconds (``timestamp``, ``actualPositionTimestamp``)."""
    return f.type is FieldType.DOUBLE and (
        f.name == "timestamp" or f.name.endswith("Timestamp") or f.name.startswith("timestamp")
    )


@dataclass(frozen=True, slots=True)
class _FloatBlock:
    name: str
    count: int
    offset: int


class TopicFiller:
    """Generic columns for the user fields of ``topic`` not in ``provided``.

    Float fields share one noise matrix of ``noise_width`` columns (arrays
    flattened), so a caller draws noise once per batch of rows.
    """

    def __init__(
        self, topic: TopicSchema, seed: int, provided: frozenset[str], noisy: bool
    ) -> None:
        rng = generator(seed, "levels", topic.name)
        self.time_fields: list[tuple[str, int]] = []
        self.floats: list[_FloatBlock] = []
        self.constants: dict[str, tuple[Column, int]] = {}
        bases: list[F64] = []
        for f in topic.fields:
            if f.private or f.name in provided:
                continue
            count = max(f.count, 1)
            if is_time_field(f):
                self.time_fields.append((f.name, f.count))
            elif f.type.is_float:
                lo, hi = _LEVELS.get((f.units or "").strip().lower(), _DEFAULT_LEVEL)
                self.floats.append(_FloatBlock(f.name, f.count, sum(len(b) for b in bases)))
                bases.append(rng.uniform(lo, hi, count))
            elif f.type is FieldType.STRING:
                self.constants[f.name] = (np.array([""], dtype=object), 1)
            elif f.type is FieldType.BOOLEAN:
                self.constants[f.name] = (np.zeros(count, dtype=bool), f.count)
            else:
                self.constants[f.name] = (rng.integers(0, 4, count).astype(np.int64), f.count)
        self.base: F64 = np.concatenate(bases) if bases else np.zeros(0)
        sigma = np.maximum(0.002 * np.abs(self.base), 0.001) if noisy else np.zeros(0)
        self.sigma: F32 = sigma.astype(np.float32)
        self.noise_width = len(self.base) if noisy else 0

    def columns(self, t_ns: I64, noise: F32 | None) -> Columns:
        """Columns for rows at TAI ``t_ns``; ``noise`` is n × ``noise_width`` normals (or None)."""
        n = len(t_ns)
        out: Columns = {}
        if self.time_fields:
            seconds = (t_ns - 1_000_000) / NS_PER_S
            for name, count in self.time_fields:
                out[name] = seconds if count == 1 else np.repeat(seconds[:, None], count, axis=1)
        if self.floats:
            if noise is not None and self.noise_width:
                values: npt.NDArray[np.floating] = noise * self.sigma
                values = values + self.base
            else:
                values = np.broadcast_to(self.base, (n, len(self.base)))
            for block in self.floats:
                part = values[:, block.offset : block.offset + max(block.count, 1)]
                out[block.name] = part if block.count != 1 else part[:, 0]
        for name, (value, count) in self.constants.items():
            if count == 1:
                out[name] = np.broadcast_to(value[:1], (n,))
            else:
                out[name] = np.broadcast_to(value, (n, count))
        return out
