"""Histogram metrics: entropy (EN), mutual information (MI) and cross entropy (CE).

Planes are float64 on the 0-255 scale; non-integer values (from uint16 or float inputs) are quantised
to 256 levels by rounding half up.  Histograms use numpy's bincount (exact counts).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tita_studio.metrics.conventions import round_half_up


def quantise(plane: np.ndarray) -> np.ndarray:
    """Integer grey levels 0..255 of a 0-255 plane."""
    return np.clip(round_half_up(plane), 0, 255).astype(np.int64)


def _entropy_of_counts(counts: np.ndarray, log: np.ufunc) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * log(p)).sum())


def entropy(fused: np.ndarray) -> float:
    """EN: Shannon entropy in bits of the 256-bin histogram of the fused plane (0 for a flat image)."""
    return _entropy_of_counts(np.bincount(quantise(fused).ravel(), minlength=256), np.log2)


def _minmax_levels(plane: np.ndarray) -> np.ndarray:
    """VIFB's MI levels: min-max normalise to [0, 1], then int16(x*255) (rounds halves away from 0)."""
    lo, hi = plane.min(), plane.max()
    if hi == lo:
        return np.zeros(plane.shape, np.int64)
    return round_half_up((plane - lo) / (hi - lo) * 255.0).astype(np.int64)


def mutual_information_pair(a: np.ndarray, f: np.ndarray, base: float = 2.0, minmax: bool = False) -> float:
    """MI(A, F) = H(A) + H(F) - H(A, F) from the 256x256 joint histogram, in log `base`."""
    qa, qf = (_minmax_levels(a), _minmax_levels(f)) if minmax else (quantise(a), quantise(f))
    joint = np.bincount((qa * 256 + qf).ravel(), minlength=256 * 256)
    log = np.log
    ha = _entropy_of_counts(np.bincount(qa.ravel(), minlength=256), log)
    hf = _entropy_of_counts(np.bincount(qf.ravel(), minlength=256), log)
    hj = _entropy_of_counts(joint, log)
    return (ha + hf - hj) / np.log(base)


def mutual_information(sources: Sequence[np.ndarray], fused: np.ndarray, base: float = 2.0,
                       minmax: bool = False) -> float:
    """MI: sum over sources of MI(source, fused) (a sum, not a mean, as in the published tables).

    Standard: log2 on the grey levels.  VIFB: natural log (base e) on min-max normalised images.
    """
    return float(sum(mutual_information_pair(s, fused, base, minmax) for s in sources))


def cross_entropy_pair(a: np.ndarray, f: np.ndarray) -> float:
    """CE(A, F) = sum p_A log2(p_A / p_F) over levels where both histograms are non-zero (as VIFB)."""
    pa = np.bincount(quantise(a).ravel(), minlength=256) / a.size
    pf = np.bincount(quantise(f).ravel(), minlength=256) / f.size
    both = (pa > 0) & (pf > 0)
    return float((pa[both] * np.log2(pa[both] / pf[both])).sum())


def cross_entropy(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """CE: mean over sources of the cross entropy between source and fused histograms (lower is better)."""
    return float(np.mean([cross_entropy_pair(s, fused) for s in sources]))
