"""Luma for the network, chroma fused by rule (../shared/spec/TITA_MODEL.md, "Colour").

YCbCr is BT.601 exactly as OpenCV's float YCrCb (offset 0.5), so results match the reference code.
Chroma is kept as (H, W, 2) float32 in the order Cb, Cr; 0.5 is neutral.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from tita_studio.pipeline.source import SourceImage

NEUTRAL = 0.5
# OpenCV's float RGB -> YCrCb coefficients (BT.601): Y = KR R + (1 - KR - KB) G + KB B,
# Cr = (R - Y) CR_SCALE + 0.5, Cb = (B - Y) CB_SCALE + 0.5.
_KR, _KB, _CR_SCALE, _CB_SCALE = 0.299, 0.114, 0.713, 0.564


@dataclass
class LumaChroma:
    """A source split for fusion: the network fuses `luma`; `chroma` is None for a grey source."""

    luma: np.ndarray  # (H, W) float32 in [0, 1]
    chroma: np.ndarray | None  # (H, W, 2) float32 Cb, Cr, 0.5 neutral


def rgb_to_ycbcr(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) RGB in [0, 1] -> luma (H, W) and chroma (H, W, 2) as Cb, Cr."""
    ycrcb = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2YCrCb)
    return np.ascontiguousarray(ycrcb[..., 0]), np.ascontiguousarray(ycrcb[..., [2, 1]])


def ycbcr_to_rgb(luma: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """Exact inverse of `rgb_to_ycbcr`, clipped to [0, 1] (a fused luma can leave the RGB gamut).

    OpenCV's own inverse uses rounded coefficients (1.403, 1.773, ...) and misses by up to 2e-4, which
    would cost a 16-bit source about 4 bits; this inverse solves OpenCV's forward equations instead.
    """
    y = luma.astype(np.float32, copy=False)
    red = y + (chroma[..., 1] - np.float32(NEUTRAL)) / np.float32(_CR_SCALE)
    blue = y + (chroma[..., 0] - np.float32(NEUTRAL)) / np.float32(_CB_SCALE)
    green = (y - np.float32(_KR) * red - np.float32(_KB) * blue) / np.float32(1.0 - _KR - _KB)
    return np.clip(np.dstack([red, green, blue]), 0.0, 1.0).astype(np.float32)


def split(source: SourceImage) -> LumaChroma:
    """Luma + chroma of a source; a multiband source gives its band intensity as luma."""
    if source.is_grey:
        return LumaChroma(luma=source.pixels, chroma=None)
    luma, chroma = rgb_to_ycbcr(source.pixels)
    if source.intensity is not None:
        luma = source.intensity
    return LumaChroma(luma=luma, chroma=chroma)


def fuse_chroma(chromas: Sequence[np.ndarray | None]) -> np.ndarray | None:
    """Per-channel mean of the sources' chroma weighted by |chroma - 0.5|; neutral where all are neutral.

    Saturated colour wins over washed-out colour, which is what keeps an over-exposed frame from
    greying the result. None entries (grey sources) are neutral and weigh nothing; all None -> None.
    The result does not depend on the order of the sources.
    """
    present = [c for c in chromas if c is not None]
    if not present:
        return None
    shape = present[0].shape
    if any(c.shape != shape for c in present):
        raise ValueError(f"chroma shapes differ: {[c.shape for c in present]}")
    numerator = np.zeros(shape, np.float32)
    denominator = np.zeros(shape, np.float32)
    for chroma in present:
        weight = np.abs(chroma - np.float32(NEUTRAL))
        numerator += weight * chroma
        denominator += weight
    fused = np.full(shape, NEUTRAL, np.float32)
    np.divide(numerator, denominator, out=fused, where=denominator > 0)
    return fused


def recombine(luma: np.ndarray, chroma: np.ndarray | None) -> np.ndarray:
    """Fused luma + fused chroma -> RGB (H, W, 3); grey (H, W) when every source was grey."""
    if chroma is None:
        return np.clip(luma, 0.0, 1.0).astype(np.float32)
    return ycbcr_to_rgb(luma, chroma)
