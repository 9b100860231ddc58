"""MEF-SSIM (Ma, Zeng and Wang 2015) for a set of exposures and the fused image, grey 0-255.

Per 11x11 patch: each exposure's mean and contrast ||x_k - mu_k|| + 0.001, a structural consistency R
setting the exponent p = tan(pi R / 2) (at most 10) of the weights (contrast / 11)^p, the desired
structure (weighted sum of normalised patches rescaled to the largest contrast) compared with the fused
patch by a Gaussian-weighted SSIM structure term; 3 scales (2x2 mean down-sampling), weighted product.

The reference loops over patches; here every patch statistic is a linear combination of filtered
products (box and Gaussian filters by OpenCV), so the desired patch is never formed.  Exactly flat
patches are detected with an exact max/min filter so that round-off cannot give them a structure.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from tita_studio.errors import InputError
from tita_studio.metrics._filters import filter_valid, gaussian_1d

WINDOW = 11
K = 0.03
SCALE_WEIGHTS = np.array([0.0448, 0.2856, 0.3001]) / (0.0448 + 0.2856 + 0.3001)
_EPS = np.finfo(np.float64).eps


def _flat(plane: np.ndarray) -> np.ndarray:
    kernel = np.ones((WINDOW, WINDOW), np.uint8)
    hi = cv2.dilate(plane, kernel)
    lo = cv2.erode(plane, kernel)
    r = WINDOW // 2
    return (hi == lo)[r:-r, r:-r]


def _single_scale(seq: list[np.ndarray], fused: np.ndarray) -> float:
    box = np.full(WINDOW, 1.0 / WINDOW)
    gauss = gaussian_1d(WINDOW, 1.5)
    n = len(seq)
    flat = [_flat(x) for x in seq]
    mu = [filter_valid(x, box) for x in seq]
    gmu = [filter_valid(x, gauss) for x in seq]
    box_cov = np.empty((n, n, *mu[0].shape))
    g_cov = np.empty_like(box_cov)
    for k in range(n):
        for m in range(k, n):
            bc = filter_valid(seq[k] * seq[m], box) - mu[k] * mu[m]
            gc = filter_valid(seq[k] * seq[m], gauss) - gmu[k] * gmu[m]
            zero = flat[k] | flat[m]
            bc[zero] = 0.0
            gc[zero] = 0.0
            box_cov[k, m] = box_cov[m, k] = bc
            g_cov[k, m] = g_cov[m, k] = gc
    norms = np.sqrt(np.maximum(WINDOW * WINDOW * np.einsum("kkhw->khw", box_cov), 0.0))
    ed = norms + 0.001
    total = np.sqrt(np.maximum(WINDOW * WINDOW * box_cov.sum(axis=(0, 1)), 0.0))
    total[np.logical_and.reduce(flat)] = 0.0
    consistency = (total + _EPS) / (norms.sum(axis=0) + _EPS)
    consistency[consistency > 1] = 1 - _EPS
    consistency[consistency < 0] = _EPS
    p = np.minimum(np.tan(np.pi / 2 * consistency), 10.0)
    weights = (ed / WINDOW) ** p + _EPS
    weights /= weights.sum(axis=0)
    coef = weights / ed
    r_norm_sq = WINDOW * WINDOW * np.einsum("khw,mhw,kmhw->hw", coef, coef, box_cov)
    r_norm = np.sqrt(np.maximum(r_norm_sq, 0.0))
    scale = np.where(r_norm > 0, ed.max(axis=0) / np.where(r_norm > 0, r_norm, 1.0), 1.0)
    var_r = scale * scale * np.einsum("khw,mhw,kmhw->hw", coef, coef, g_cov)
    fmu = filter_valid(fused, gauss)
    var_f = filter_valid(fused * fused, gauss) - fmu * fmu
    cov_rf = scale * sum(coef[k] * (filter_valid(seq[k] * fused, gauss) - gmu[k] * fmu) for k in range(n))
    c = (K * 255) ** 2
    return float(((2 * cov_rf + c) / (var_r + var_f + c)).mean())


def _downsample(plane: np.ndarray) -> np.ndarray:
    """2x2 mean then every second pixel, symmetric border (MATLAB imfilter(ones(2)/4, 'symmetric'))."""
    p = np.pad(plane, ((0, 1), (0, 1)), mode="symmetric")
    return ((p[:-1, :-1] + p[1:, :-1] + p[:-1, 1:] + p[1:, 1:]) / 4)[::2, ::2]


def mef_ssim(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """MEF-SSIM of the fused plane against a sequence of exposures (0..1, higher is better)."""
    if len(sources) < 2:
        raise InputError("MEF-SSIM needs at least two exposures")
    if min(fused.shape) / 4 < WINDOW:
        raise InputError(f"MEF-SSIM needs images of at least {4 * WINDOW} pixels on each side")
    seq = [np.asarray(s, np.float64) for s in sources]
    f = np.asarray(fused, np.float64)
    scores = []
    for level in range(3):
        if level:
            seq = [_downsample(s) for s in seq]
            f = _downsample(f)
        scores.append(_single_scale(seq, f))
    return float(np.prod(np.asarray(scores) ** SCALE_WEIGHTS))
