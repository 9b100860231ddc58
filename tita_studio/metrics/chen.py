"""Human-perception metrics by Chen: Qcb (Chen and Blum 2009) and Qcv (Chen and Varshney 2007).

As in Z. Liu's reference code (used by VIFB): inputs min-max normalised to 0-255 and rounded; contrast
sensitivity filtering in the frequency domain (numpy FFT); Qcv over zero-padded 16x16 blocks.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from tita_studio.metrics._filters import filter3x3, sep_filter
from tita_studio.metrics.conventions import round_half_up
from tita_studio.metrics.gradient import SOBEL_X

BLOCK = 16


def normalise(plane: np.ndarray) -> np.ndarray:
    """Min-max normalise to 0-255 and round (a flat plane becomes zeros instead of NaN)."""
    lo, hi = plane.min(), plane.max()
    if hi == lo:
        return np.zeros_like(plane)
    return round_half_up((plane - lo) / (hi - lo) * 255.0)


def _radius(shape: tuple[int, int], divisor: float) -> np.ndarray:
    """Radial frequency grid as MATLAB's freqspace(shape, 'meshgrid') scaled by size/divisor."""
    h, w = shape
    fy = (np.arange(h) - h // 2) * (2.0 / h) * (h / divisor)
    fx = (np.arange(w) - w // 2) * (2.0 / w) * (w / divisor)
    return np.sqrt(fx[None, :] ** 2 + fy[:, None] ** 2)


def _csf_filter(plane: np.ndarray, response: np.ndarray) -> np.ndarray:
    """Filter with a centred frequency response (the response is even, so the result is real)."""
    return np.real(np.fft.ifft2(np.fft.fft2(plane) * np.fft.ifftshift(response)))


def _gaussian_same(plane: np.ndarray, sigma: float) -> np.ndarray:
    """filter2 with the reference's unnormalised 31x31 Gaussian, zero padding, same size."""
    x = np.arange(-15, 16, dtype=np.float64)
    g = np.exp(-(x * x) / (2 * sigma * sigma))
    return sep_filter(plane, g, g, border=cv2.BORDER_CONSTANT) / (2 * np.pi * sigma * sigma)


def _masked_contrast(plane: np.ndarray) -> np.ndarray:
    c = np.abs(_gaussian_same(plane, 2.0) / _gaussian_same(plane, 4.0) - 1)
    return c ** 3 / (c ** 2 + 0.0001)


def qcb(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """Qcb: saliency-weighted preservation of masked local contrast after CSF filtering (0..1)."""
    h, w = fused.shape
    r = _radius((h, w), 30.0)
    csf = np.exp(-(r / 15.3870) ** 2) - 0.7622 * np.exp(-(r / 1.3456) ** 2)
    cf = _masked_contrast(_csf_filter(normalise(fused), csf))
    cs = [_masked_contrast(_csf_filter(normalise(s), csf)) for s in sources]
    saliency = sum(c * c for c in cs)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = sum((c * c / saliency) * np.where(c < cf, c / cf, cf / c) for c in cs)
    return float(np.mean(q))


def _blocks(plane: np.ndarray) -> np.ndarray:
    """Zero-pad to whole 16x16 blocks and return them as (rows, cols, 16, 16)."""
    h, w = plane.shape
    ph, pw = -h % BLOCK, -w % BLOCK
    padded = np.pad(plane, ((0, ph), (0, pw)))
    return padded.reshape((h + ph) // BLOCK, BLOCK, (w + pw) // BLOCK, BLOCK).swapaxes(1, 2)


def qcv(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """Qcv: edge-saliency-weighted CSF-filtered squared difference per 16x16 block (lower is better)."""
    f = normalise(fused)
    h, w = f.shape
    r = _radius((h, w), 8.0)
    csf = 2.6 * (0.0192 + 0.144 * r) * np.exp(-((0.144 * r) ** 1.1))
    num = den = 0.0
    for s in sources:
        s = normalise(s)
        gx = filter3x3(s, SOBEL_X, cv2.BORDER_CONSTANT)
        gy = filter3x3(s, SOBEL_X.T, cv2.BORDER_CONSTANT)
        saliency = _blocks(np.sqrt(gx * gx + gy * gy) ** 5).sum(axis=(2, 3))
        diff = _blocks(_csf_filter(s - f, csf) ** 2).mean(axis=(2, 3))
        num += float((saliency * diff).sum())
        den += float(saliency.sum())
    return num / den
