"""Guided filtering fusion (Li, Kang & Hu, "Image fusion with guided filtering", IEEE TIP 2013).

A strong classical method for infrared/visible and multi-focus pairs: a two-scale decomposition whose
base and detail layers are blended with saliency weights refined by guided filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from tita_studio.baselines._common import checked_lumas, finished

_LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float64)
_WEIGHT_FLOOR = 1e-12  # as in the authors' code: keeps the normalisation defined where all weights are 0


@dataclass(frozen=True)
class GFFConfig:
    """The paper's parameters (section IV-A), on images in [0, 1]."""

    base_radius: int = 45  # r1: guided filter of the base-layer weights
    base_eps: float = 0.3  # eps1
    detail_radius: int = 7  # r2: guided filter of the detail-layer weights
    detail_eps: float = 1e-6  # eps2
    mean_size: int = 31  # average filter of the two-scale decomposition
    saliency_size: int = 11  # Gaussian low-pass of |Laplacian|: (2 r_g + 1) with r_g = 5
    saliency_sigma: float = 5.0  # sigma_g


def box_mean(image: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the (2r+1)^2 window clipped to the image, as He's reference `boxfilter(I, r) / N`."""
    size = (2 * radius + 1, 2 * radius + 1)
    total = cv2.boxFilter(image, cv2.CV_64F, size, normalize=False, borderType=cv2.BORDER_CONSTANT)
    count = cv2.boxFilter(np.ones_like(image), cv2.CV_64F, size, normalize=False, borderType=cv2.BORDER_CONSTANT)
    return total / count


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Grey-guide guided filter (He, Sun & Tang 2010), float64: edge-aware smoothing of `src` along `guide`."""
    mean_i = box_mean(guide, radius)
    mean_p = box_mean(src, radius)
    cov_ip = box_mean(guide * src, radius) - mean_i * mean_p
    var_i = box_mean(guide * guide, radius) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box_mean(a, radius) * guide + box_mean(b, radius)


def saliency(image: np.ndarray, config: GFFConfig) -> np.ndarray:
    """Local average of |Laplacian|: high where the source has sharp detail."""
    high = np.abs(cv2.filter2D(image, cv2.CV_64F, _LAPLACIAN, borderType=cv2.BORDER_REPLICATE))
    size = (config.saliency_size, config.saliency_size)
    return cv2.GaussianBlur(high, size, config.saliency_sigma, borderType=cv2.BORDER_REPLICATE)


def initial_weights(saliencies: np.ndarray) -> np.ndarray:
    """1 where a source is the most salient, 0 elsewhere; tied sources share the pixel equally (the
    authors' argmax would favour whichever came first)."""
    winners = (saliencies == saliencies.max(axis=0)).astype(np.float64)
    return winners / winners.sum(axis=0)


def refined_weights(guides: Sequence[np.ndarray], weights: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Guided-filter each weight map by its own source, clip to [0, 1] and normalise to sum 1."""
    refined = np.stack([guided_filter(g, w, radius, eps) for g, w in zip(guides, weights, strict=True)])
    refined = np.clip(refined, 0.0, 1.0) + _WEIGHT_FLOOR
    return refined / refined.sum(axis=0)


def fuse_gff(lumas: Sequence[np.ndarray], config: GFFConfig | None = None) -> np.ndarray:
    """Base layers blended with smooth weights (r1, eps1), detail layers with sharp ones (r2, eps2)."""
    cfg = config or GFFConfig()
    sources = [s.astype(np.float64) for s in checked_lumas(lumas)]
    weights = initial_weights(np.stack([saliency(s, cfg) for s in sources]))
    base_weights = refined_weights(sources, weights, cfg.base_radius, cfg.base_eps)
    detail_weights = refined_weights(sources, weights, cfg.detail_radius, cfg.detail_eps)
    fused = np.zeros_like(sources[0])
    for source, base_weight, detail_weight in zip(sources, base_weights, detail_weights, strict=True):
        base = cv2.blur(source, (cfg.mean_size, cfg.mean_size), borderType=cv2.BORDER_REPLICATE)
        fused += base_weight * base + detail_weight * (source - base)
    return finished(fused)
