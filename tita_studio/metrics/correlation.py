"""Correlation metrics: CC and SCD (Aslantas and Bendes' sum of the correlations of differences)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tita_studio.errors import InputError


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two planes; 0 when either is constant (no linear relation to measure)."""
    dx = x - x.mean()
    dy = y - y.mean()
    den = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    return float((dx * dy).sum() / den) if den > 0 else 0.0


def correlation_coefficient(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """CC: mean over sources of corr(source, fused)."""
    return float(np.mean([pearson(s, fused) for s in sources]))


def scd(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """SCD = corr(F - B, A) + corr(F - A, B): how much of each source the fused image adds (two sources)."""
    if len(sources) != 2:
        raise InputError(f"SCD is defined for exactly two sources, got {len(sources)}")
    a, b = sources
    return pearson(fused - b, a) + pearson(fused - a, b)
