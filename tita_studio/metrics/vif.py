"""VIF (Sheikh and Bovik 2006), multiscale pixel-domain version, summed over the sources.

Four scales with Gaussian windows 17/9/5/3 (sigma N/5), noise variance 2, the reference
implementation's guards against tiny variances; filtering by OpenCV's separable filter ('valid').
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tita_studio.metrics._filters import filter_valid, gaussian_1d

SIGMA_NSQ = 2.0
EPS = 1e-10


def _vif_terms(ref: np.ndarray, dist: np.ndarray) -> tuple[float, float]:
    num = den = 0.0
    for scale in range(1, 5):
        n = 2 ** (5 - scale) + 1
        k = gaussian_1d(n, n / 5.0)
        if scale > 1:
            ref = filter_valid(ref, k)[::2, ::2]
            dist = filter_valid(dist, k)[::2, ::2]
        mu1, mu2 = filter_valid(ref, k), filter_valid(dist, k)
        s1 = np.maximum(filter_valid(ref * ref, k) - mu1 * mu1, 0.0)
        s2 = np.maximum(filter_valid(dist * dist, k) - mu2 * mu2, 0.0)
        s12 = filter_valid(ref * dist, k) - mu1 * mu2
        g = s12 / (s1 + EPS)
        sv = s2 - g * s12
        low1 = s1 < EPS
        g[low1] = 0
        sv[low1] = s2[low1]
        s1[low1] = 0
        low2 = s2 < EPS
        g[low2] = 0
        sv[low2] = 0
        neg = g < 0
        sv[neg] = s2[neg]
        g[neg] = 0
        sv[sv <= EPS] = EPS
        num += float(np.log10(1 + g * g * s1 / (sv + SIGMA_NSQ)).sum())
        den += float(np.log10(1 + s1 / SIGMA_NSQ).sum())
    return num, den


def vif_pair(ref: np.ndarray, dist: np.ndarray) -> float:
    """VIF(ref, dist): information of `ref` kept in `dist` relative to what `ref` carries (0 when flat)."""
    num, den = _vif_terms(ref, dist)
    return num / den if den > 0 else 0.0


def vif(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """VIF: sum over sources of VIF(source, fused)."""
    return float(sum(vif_pair(s, fused) for s in sources))
