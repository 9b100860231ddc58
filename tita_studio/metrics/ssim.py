"""SSIM (Wang et al. 2004): 11x11 Gaussian window (sigma 1.5), K = 0.01/0.03, L = 255, mean over the
'valid' region (no padding).  Local statistics by OpenCV's separable filter."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tita_studio.metrics._filters import filter_valid, gaussian_1d

C1 = (0.01 * 255) ** 2
C2 = (0.03 * 255) ** 2


def ssim_pair(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM(x, y) on 0-255 planes, averaged over the valid region."""
    k = gaussian_1d(11, 1.5)
    mx, my = filter_valid(x, k), filter_valid(y, k)
    sxx = filter_valid(x * x, k) - mx * mx
    syy = filter_valid(y * y, k) - my * my
    sxy = filter_valid(x * y, k) - mx * my
    ssim_map = ((2 * mx * my + C1) * (2 * sxy + C2)) / ((mx * mx + my * my + C1) * (sxx + syy + C2))
    return float(ssim_map.mean())


def ssim(sources: Sequence[np.ndarray], fused: np.ndarray, total: bool = False) -> float:
    """SSIM of the fused plane against each source: the mean (standard) or the sum (`total`, VIFB)."""
    values = [ssim_pair(s, fused) for s in sources]
    return float(np.sum(values) if total else np.mean(values))
