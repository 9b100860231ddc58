"""Gradient metrics: Qabf (Xydeas-Petrovic), Nabf (Kumar), SF, AG and edge intensity (EI).

Sobel responses come from OpenCV's filter2D (exact on integer data); borders as each reference
implementation has them (zero padding for Qabf, reflection for Nabf, replication for EI).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from tita_studio.metrics._filters import filter3x3

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float64)
SOBEL_Y = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], np.float64)


def _qabf_gradients(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gx = filter3x3(plane, SOBEL_X, cv2.BORDER_CONSTANT)
    gy = filter3x3(plane, SOBEL_Y, cv2.BORDER_CONSTANT)
    g = np.sqrt(gx * gx + gy * gy)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(gx == 0, np.pi / 2, np.arctan(gy / np.where(gx == 0, 1.0, gx)))
    return g, alpha


def _qabf_edge_preservation(ga: np.ndarray, aa: np.ndarray, gf: np.ndarray, af: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ga > gf, gf / ga, np.where(ga == gf, gf, ga / gf))
    orient = 1 - np.abs(aa - af) / (np.pi / 2)
    qg = 0.9994 / (1 + np.exp(-15 * (ratio - 0.5)))
    qa = 0.9879 / (1 + np.exp(-22 * (orient - 0.8)))
    return qg * qa


def qabf(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """Qabf: gradient-weighted edge preservation from the sources into the fused plane (0..1).

    Follows the reference MATLAB exactly, including atan (not atan2), pi/2 where gx = 0 and the ratio
    quirk where gA == gF; it is invariant to the data scale.
    """
    gf, af = _qabf_gradients(fused)
    num = den = 0.0
    for s in sources:
        gs, as_ = _qabf_gradients(s)
        num += float((_qabf_edge_preservation(gs, as_, gf, af) * gs).sum())
        den += float(gs.sum())
    return num / den if den > 0 else 0.0


def _kumar_gradients(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gv = filter3x3(plane, SOBEL_X / 8, cv2.BORDER_REFLECT_101)
    gh = filter3x3(plane, -SOBEL_Y / 8, cv2.BORDER_REFLECT_101)
    g = np.sqrt(gv * gv + gh * gh)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where((gv == 0) & (gh == 0), 0.0, np.arctan(gv / gh))
    return g, alpha


def nabf(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """Nabf: Kumar's modified fusion-artefact measure (lower is better), fused image as F.

    Artefacts are counted where the fused gradient exceeds every source gradient.
    """
    gf, af = _kumar_gradients(fused)
    grads = [_kumar_gradients(s) for s in sources]
    artefact = np.ones(gf.shape, bool)
    for gs, _ in grads:
        artefact &= gf > gs
    num = den = 0.0
    for gs, as_ in grads:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where((gs == 0) | (gf == 0), 0.0, np.minimum(gs, gf) / np.maximum(gs, gf))
        orient = np.abs(np.abs(as_ - af) - np.pi / 2) * 2 / np.pi
        qg = 0.9999 / (1 + np.exp(-19 * (ratio - 0.5)))
        qa = 0.9995 / (1 + np.exp(-22 * (orient - 0.5)))
        q = np.sqrt(qg * qa)
        w = np.where(gs >= 2, gs ** 1.5, 0.001)
        num += float((artefact * (1 - q) * w).sum())
        den += float(w.sum())
    return num / den


def spatial_frequency(fused: np.ndarray, divide_by_pixels: bool = False) -> float:
    """SF = sqrt(RF^2 + CF^2) from squared horizontal and vertical neighbour differences.

    Standard: each mean over its own difference array.  VIFB (`divide_by_pixels`): both sums divided by
    the number of pixels M*N.
    """
    rows = np.diff(fused, axis=1)
    cols = np.diff(fused, axis=0)
    if divide_by_pixels:
        return float(np.sqrt(((rows * rows).sum() + (cols * cols).sum()) / fused.size))
    return float(np.sqrt(np.mean(rows * rows) + np.mean(cols * cols)))


def average_gradient(fused: np.ndarray) -> float:
    """AG: sum of sqrt((gx^2 + gy^2)/2) over pixels, divided by (M-1)(N-1).

    Gradients by numpy.gradient: central differences, one-sided at the borders, as MATLAB's gradient().
    """
    gy, gx = np.gradient(fused)
    m, n = fused.shape
    return float(np.sqrt((gx * gx + gy * gy) / 2).sum() / ((m - 1) * (n - 1)))


def edge_intensity(fused: np.ndarray) -> float:
    """EI: mean Sobel gradient magnitude of the fused plane (replicated borders)."""
    gx = filter3x3(fused, SOBEL_Y, cv2.BORDER_REPLICATE)
    gy = filter3x3(fused, SOBEL_Y.T, cv2.BORDER_REPLICATE)
    return float(np.sqrt(gx * gx + gy * gy).mean())
