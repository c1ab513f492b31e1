"""Seeded hashing: every synthetic value is a pure function of integers (seed, profile code, rank, salt)."""

from __future__ import annotations

from statistics import NormalDist

_MASK = (1 << 64) - 1
_NORMAL = NormalDist()


def mix(*parts: int) -> int:
    """A 64-bit hash of integers (splitmix64 steps): fast, stable across runs and platforms."""
    state = 0x9E3779B97F4A7C15
    for part in parts:
        state = (state ^ (part & _MASK)) + 0x9E3779B97F4A7C15 & _MASK
        state = (state ^ (state >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
        state = (state ^ (state >> 27)) * 0x94D049BB133111EB & _MASK
        state ^= state >> 31
    return state


def unit(*parts: int) -> float:
    """Uniform in [0, 1) from a hash."""
    return mix(*parts) / 2.0**64


def normal(*parts: int) -> float:
    """Standard normal from a hash (inverse CDF, clamped away from the tails)."""
    return _NORMAL.inv_cdf(min(max(unit(*parts), 1e-9), 1 - 1e-9))
