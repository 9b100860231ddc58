"""Intensity statistics: SD, and the reference-based RMSE and PSNR.

VIFB's RMSE/PSNR use sqrt(sum of squared differences) / (M*N) as their "mse" (not a mean squared
error); the "vifb" convention reproduces that, "standard" uses the usual mean squared error.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def standard_deviation(fused: np.ndarray) -> float:
    """SD: population standard deviation of the fused plane (contrast)."""
    return float(np.sqrt(np.mean((fused - fused.mean()) ** 2)))


def _vifb_mse(a: np.ndarray, f: np.ndarray) -> float:
    return float(np.sqrt(((a - f) ** 2).sum()) / a.size)


def rmse(sources: Sequence[np.ndarray], fused: np.ndarray, vifb: bool = False) -> float:
    """RMSE: mean over sources of the root mean squared difference to the fused plane (lower is better)."""
    if vifb:
        return float(np.mean([_vifb_mse(s, fused) for s in sources]))
    return float(np.mean([np.sqrt(np.mean((s - fused) ** 2)) for s in sources]))


def psnr(sources: Sequence[np.ndarray], fused: np.ndarray, vifb: bool = False) -> float:
    """PSNR in dB with peak 255 from the mean over sources of the squared error (inf when identical)."""
    if vifb:
        mse = float(np.mean([_vifb_mse(s, fused) for s in sources]))
    else:
        mse = float(np.mean([np.mean((s - fused) ** 2) for s in sources]))
    with np.errstate(divide="ignore"):
        return float(20 * np.log10(255.0 / np.sqrt(mse)))
