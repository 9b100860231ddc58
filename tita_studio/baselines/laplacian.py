"""Laplacian pyramid fusion (Burt & Adelson): the strongest detail wins at every scale."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from tita_studio.baselines._common import checked_lumas, finished


@dataclass(frozen=True)
class LaplacianConfig:
    """How deep the pyramid goes: as deep as the size allows, within these bounds."""

    top_side: int = 8  # the coarsest level keeps at least this many pixels on its shorter side
    max_levels: int = 6  # detail levels at most; deeper, the max-abs rule makes large areas patchy


def detail_levels(shape: tuple[int, int], config: LaplacianConfig | None = None) -> int:
    """Number of detail levels for an image of `shape`: halvings until the shorter side nears `top_side`."""
    cfg = config or LaplacianConfig()
    halvings = (min(shape) // cfg.top_side).bit_length() - 1
    return max(0, min(cfg.max_levels, halvings))


def laplacian_pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    """Detail levels (fine to coarse) followed by the Gaussian top level."""
    pyramid = []
    current = image
    for _ in range(levels):
        smaller = cv2.pyrDown(current)
        pyramid.append(current - cv2.pyrUp(smaller, dstsize=(current.shape[1], current.shape[0])))
        current = smaller
    pyramid.append(current)
    return pyramid


def collapse(pyramid: Sequence[np.ndarray]) -> np.ndarray:
    """Inverse of `laplacian_pyramid`."""
    image = pyramid[-1]
    for detail in reversed(pyramid[:-1]):
        image = detail + cv2.pyrUp(image, dstsize=(detail.shape[1], detail.shape[0]))
    return image


def max_abs(coefficients: np.ndarray) -> np.ndarray:
    """Per pixel, the coefficient of largest magnitude; on a tie of magnitudes the larger signed value,
    so that the choice never depends on the order of the sources."""
    magnitude = np.abs(coefficients)
    strongest = magnitude.max(axis=0)
    return np.where(magnitude == strongest, coefficients, -np.inf).max(axis=0)


def fuse_laplacian(lumas: Sequence[np.ndarray], config: LaplacianConfig | None = None) -> np.ndarray:
    """Max-abs detail at every level, averaged coarsest level."""
    sources = checked_lumas(lumas)
    levels = detail_levels(sources[0].shape, config)
    pyramids = [laplacian_pyramid(s, levels) for s in sources]
    fused = [max_abs(np.stack([p[k] for p in pyramids])) for k in range(levels)]
    fused.append(np.stack([p[-1] for p in pyramids]).astype(np.float64).mean(axis=0).astype(np.float32))
    return finished(collapse(fused))
