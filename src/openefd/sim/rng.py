"""Deterministic randomness, addressed by name and row so chunking cannot change it.

Every random quantity of the simulator comes from the run's seed and a
name (``stable_key``: a hash that, unlike Python's ``hash``, is the same in
every process). Per-row noise is addressed by the row's index in its stream,
so the rows of 12:00:00–12:01:00 are the same whether they are generated in
one chunk or sixty: :class:`BlockNoise` draws fixed blocks of rows,
:func:`hash_uniform` hashes (key, row) directly, and :func:`weyl_uniform`
spreads rows evenly for cheap per-row jitter.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["BlockNoise", "SmoothWalk", "generator", "hash_uniform", "stable_key", "weyl_uniform"]

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def stable_key(*parts: object) -> int:
    """A 63-bit integer naming ``parts``, identical in every process and platform."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def generator(seed: int, *parts: object) -> np.random.Generator:
    """A generator for the stream of random numbers called ``parts`` in run ``seed``."""
    key = stable_key(*parts)
    return np.random.default_rng(np.random.SeedSequence([seed & 0xFFFFFFFF, seed >> 32, key]))


def hash_uniform(key: int, rows: npt.ArrayLike) -> F64:
    """Uniform [0, 1) values for ``rows`` of the stream ``key`` (SplitMix64 of key + row)."""
    with np.errstate(over="ignore"):
        z = np.asarray(rows, dtype=np.int64).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z + np.uint64(key & 0xFFFFFFFFFFFFFFFF)) & _MASK64
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def weyl_uniform(key: int, rows: npt.ArrayLike) -> F64:
    """Cheap, evenly spread [0, 1) values for ``rows`` (a Weyl sequence), for time jitter."""
    with np.errstate(over="ignore"):
        z = np.asarray(rows, dtype=np.int64).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z += np.uint64(key & 0xFFFFFFFFFFFFFFFF)
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


class BlockNoise:
    """Standard normal float32 rows of a fixed width, addressed by row index.

    Rows are drawn in blocks of ``block_rows`` from a generator named by
    ``(seed, key, block)``; the last block is kept, so consecutive chunks
    that share a block draw it once.
    """

    def __init__(self, seed: int, key: object, width: int, block_rows: int) -> None:
        self.seed = seed
        self.key = key
        self.width = width
        self.block_rows = max(1, block_rows)
        self._cache: dict[int, F32] = {}

    def _block(self, b: int) -> F32:
        block = self._cache.get(b)
        if block is None:
            rng = generator(self.seed, "noise", self.key, b)
            block = rng.standard_normal((self.block_rows, self.width), dtype=np.float32)
            self._cache = {b: block}
        return block

    def rows(self, k0: int, k1: int) -> F32:
        """Rows ``k0 … k1-1`` (``k1 - k0`` × ``width``)."""
        if k1 <= k0 or self.width == 0:
            return np.zeros((max(k1 - k0, 0), self.width), dtype=np.float32)
        b0, b1 = k0 // self.block_rows, (k1 - 1) // self.block_rows
        if b0 == b1:
            start = k0 - b0 * self.block_rows
            return self._block(b0)[start : start + (k1 - k0)]
        parts = [self._block(b) for b in range(b0, b1 + 1)]
        start = k0 - b0 * self.block_rows
        return np.concatenate(parts)[start : start + (k1 - k0)]


class SmoothWalk:
    """A slowly varying random signal: a Gaussian random walk on a grid, interpolated.

    ``step_s`` is the grid spacing and ``sigma`` the standard deviation of
    one step; ``at(t_ns)`` is defined over ``[start_ns, end_ns]`` (held
    constant beyond it) and starts at 0.
    """

    def __init__(
        self, seed: int, key: Any, start_ns: int, end_ns: int, step_s: float, sigma: float
    ) -> None:
        n = int((end_ns - start_ns) / (step_s * 1e9)) + 3
        steps = generator(seed, "walk", key).normal(0.0, sigma, n)
        steps[0] = 0.0
        self.start_ns = start_ns
        self.step_ns = step_s * 1e9
        self.values: F64 = np.cumsum(steps)

    def at(self, t_ns: npt.ArrayLike) -> F64:
        x = (np.asarray(t_ns, dtype=np.int64) - self.start_ns) / self.step_ns
        grid = np.arange(len(self.values), dtype=np.float64)
        return np.asarray(np.interp(x, grid, self.values), dtype=np.float64)
