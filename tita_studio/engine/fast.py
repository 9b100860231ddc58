"""Fast full resolution: the network decides at about one megapixel, the sources give the finer detail.

The fused luma of TITA is, locally, close to a linear combination of its two sources plus an offset
(a weighting of A and B, a brightness lift). `fuse_fast` runs the network on copies of the sources
reduced to `network_pixels`, fits that local model to the network's output there (a guided filter with
the two sources as guides, solved in closed form per pixel), carries the model's coefficients to full
resolution by bilinear interpolation and applies them to the full-resolution sources, so detail finer
than the network's scale comes from the sources with the network's local weights.

What the model misses at the reduced scale (its residual) is not added back: measured on real pairs,
that residual is mostly the network's response to the reduced scale itself, which the full-resolution
network does not share, and adding it lowered the agreement with the exact path by 0.2-0.9 dB
(docs/model.md, "Fast full resolution").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch.nn.functional as F
from torch import Tensor

from tita_studio.model.maps import FusionMaps


@dataclass(frozen=True)
class FastConfig:
    """network_pixels: the network runs on the sources reduced to at most this many pixels.

    radius: half-side, in reduced pixels, of the windows the local linear model is fitted over.
    eps: ridge regularisation of that fit (on values in [0, 1]): larger gives smoother coefficients.
    """

    network_pixels: int = 1_000_000
    radius: int = 8
    eps: float = 1e-5

    def __post_init__(self) -> None:
        if self.network_pixels < 64 * 64:
            raise ValueError(f"network_pixels must be at least {64 * 64}; got {self.network_pixels}")
        if self.radius < 1 or self.eps <= 0:
            raise ValueError(f"radius must be >= 1 and eps > 0; got {self.radius}, {self.eps}")


def reduced_size(height: int, width: int, network_pixels: int) -> tuple[int, int]:
    """(h, w) of the network's input: the aspect ratio kept, at most `network_pixels`, at least 8 px a side."""
    scale = min(1.0, math.sqrt(network_pixels / (height * width)))
    return max(8, math.floor(height * scale)), max(8, math.floor(width * scale))


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, borders reflected."""
    size = 2 * radius + 1
    return cv2.blur(x, (size, size), borderType=cv2.BORDER_REFLECT)


def linear_model(a: np.ndarray, b: np.ndarray, f: np.ndarray, radius: int, eps: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel (pa, pb, q) with f ~ pa*a + pb*b + q, fitted over windows and averaged (guided filter).

    A two-guide ridge regression per window, solved as a 2x2 system in closed form.
    """
    ma, mb, mf = _box(a, radius), _box(b, radius), _box(f, radius)
    vaa = _box(a * a, radius) - ma * ma + eps
    vbb = _box(b * b, radius) - mb * mb + eps
    vab = _box(a * b, radius) - ma * mb
    caf = _box(a * f, radius) - ma * mf
    cbf = _box(b * f, radius) - mb * mf
    det = vaa * vbb - vab * vab
    pa = (vbb * caf - vab * cbf) / det
    pb = (vaa * cbf - vab * caf) / det
    q = mf - pa * ma - pb * mb
    return _box(pa, radius), _box(pb, radius), _box(q, radius)


def _resize(x: np.ndarray, height: int, width: int, interpolation: int) -> np.ndarray:
    return cv2.resize(x, (width, height), interpolation=interpolation)


def reduce(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-averaged reduction (anti-aliased), the network's view of a full-resolution source."""
    return _resize(np.ascontiguousarray(x, dtype=np.float32), height, width, cv2.INTER_AREA)


def _axis(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear taps along one axis with half-pixel centres (as cv2.resize): lower index and weight of the upper."""
    pos = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
    lower = np.minimum(np.floor(pos).astype(np.intp), max(0, n_in - 2))
    return lower, (pos - lower).astype(np.float32)


def upsample_fusion(a: np.ndarray, b: np.ndarray, a_low: np.ndarray, b_low: np.ndarray, fused_low: np.ndarray,
                    config: FastConfig) -> np.ndarray:
    """The full-resolution fusion from the network's reduced one (see the module docstring)."""
    h, w = a.shape
    lh = a_low.shape[0]
    coefficients = linear_model(a_low, b_low, fused_low, config.radius, config.eps)
    # Interpolate along rows of the reduced maps first (lh x w), then full rows in bands, so the
    # full-resolution temporaries stay a few megabytes each.
    wide = [_resize(t, lh, w, cv2.INTER_LINEAR) for t in coefficients]
    lower, frac = _axis(h, lh)
    upper = np.minimum(lower + 1, lh - 1)
    out = np.empty((h, w), np.float32)
    band = max(1, (1 << 20) // w)
    for y0 in range(0, h, band):
        y1 = min(h, y0 + band)
        f = frac[y0:y1, None]
        lo, hi = lower[y0:y1], upper[y0:y1]
        ca, cb, co = ((t[lo] * (1 - f) + t[hi] * f) for t in wide)
        out[y0:y1] = ca * a[y0:y1] + cb * b[y0:y1] + co
    return out



def resize_maps(maps: FusionMaps, height: int, width: int) -> FusionMaps:
    """The network's maps from its reduced run, interpolated to (height, width)."""

    def resize(t: Tensor) -> Tensor:
        flat = t.reshape(-1, 1, *t.shape[-2:])
        out = F.interpolate(flat, size=(height, width), mode="bilinear", align_corners=False)
        return out.reshape(*t.shape[:-2], height, width)

    return maps.map(resize)


def describe(network_size: tuple[int, int], height: int, width: int) -> str:
    """The note that says how a fast result was made."""
    nh, nw = network_size
    return (f"fast (network at {nw} x {nh} px = {nh * nw / 1e6:.2g} MP, guided upsampling to {width} x {height} px "
            f"= {height * width / 1e6:.3g} MP)")
