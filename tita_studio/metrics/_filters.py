"""Small filtering helpers on float64 planes, built on OpenCV's separable filter (exact correlation)."""

from __future__ import annotations

import cv2
import numpy as np


def gaussian_1d(size: int, sigma: float) -> np.ndarray:
    """Normalised 1-D Gaussian; its outer product equals MATLAB's fspecial('gaussian', size, sigma)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def sep_filter(plane: np.ndarray, kx: np.ndarray, ky: np.ndarray | None = None,
               border: int = cv2.BORDER_CONSTANT) -> np.ndarray:
    """Correlate with the separable kernel ky (rows) x kx (columns), same size, given border."""
    ky = kx if ky is None else ky
    return cv2.sepFilter2D(np.ascontiguousarray(plane, dtype=np.float64), cv2.CV_64F,
                           np.asarray(kx, np.float64), np.asarray(ky, np.float64),
                           delta=0.0, borderType=border)


def filter_valid(plane: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Correlate with the square separable kernel outer(k, k), keeping only the 'valid' region."""
    r = (len(k) - 1) // 2
    out = sep_filter(plane, k, border=cv2.BORDER_REFLECT_101)
    return out[r:out.shape[0] - r, r:out.shape[1] - r]


def filter3x3(plane: np.ndarray, kernel: np.ndarray, border: int) -> np.ndarray:
    """Correlate with a 3x3 kernel (exact for integer data), same size, given border."""
    return cv2.filter2D(np.ascontiguousarray(plane, dtype=np.float64), cv2.CV_64F,
                        np.asarray(kernel, np.float64), borderType=border)
