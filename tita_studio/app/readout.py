"""Pixel values as the status bar shows them: in each file's own bit depth (16-bit shown as such)."""

from __future__ import annotations

import numpy as np


def sample_text(pixels: np.ndarray, row: int, col: int, bit_depth: int) -> str:
    """Value(s) at (row, col) of a float [0, 1] image, as integers of `bit_depth` bits (floats for 32)."""
    h, w = pixels.shape[:2]
    if not (0 <= row < h and 0 <= col < w):
        return "-"
    v = np.atleast_1d(pixels[row, col])
    if bit_depth >= 32:
        return ",".join(f"{x:.4f}" for x in v)
    top = (1 << bit_depth) - 1
    return ",".join(str(round(float(x) * top)) for x in v)


def to_display(pixels: np.ndarray) -> np.ndarray:
    """float [0, 1] grey or RGB -> C-contiguous uint8 for the screen (done off the GUI thread)."""
    return np.ascontiguousarray(np.round(np.clip(pixels, 0.0, 1.0) * 255).astype(np.uint8))
