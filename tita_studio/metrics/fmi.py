"""FMI (Haghighat and Razian's fast FMI) on edge features with 3x3 windows.

Features are MATLAB-style Sobel edge maps (binary), so each 3x3 window is one of 512 patterns and a
pair of windows one of 512^2.  The per-window score depends only on that pair, so it is computed once
per distinct pair present (vectorised over pairs) and averaged with the pair counts: no loop over
windows, and the result equals the per-window reference loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from tita_studio.metrics._filters import filter3x3

_SOBEL8 = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], np.float64) / 8
_THIN_EPS = 100 * np.finfo(np.float64).eps
# Bit k of a window code is window element k in column-major order (MATLAB's x(:)).
_BITS = (np.arange(512)[:, None] >> np.arange(9)[None, :]) & 1
_POS = np.arange(1, 10, dtype=np.float64)


def edge_map(plane: np.ndarray) -> np.ndarray:
    """Binary Sobel edges as MATLAB's edge(I): threshold 4 x mean(b), thinning across the gradient."""
    bx = np.abs(filter3x3(plane, _SOBEL8.T, cv2.BORDER_REPLICATE))
    by = np.abs(filter3x3(plane, _SOBEL8, cv2.BORDER_REPLICATE))
    b = bx * bx + by * by
    cutoff = 4 * b.mean()
    pad = np.pad(b, 1, constant_values=-np.inf)  # outside the image every comparison holds
    left, right = pad[1:-1, :-2], pad[1:-1, 2:]
    up, down = pad[:-2, 1:-1], pad[2:, 1:-1]
    horizontal = (bx >= by - _THIN_EPS) & (left <= b) & (b > right)
    vertical = (by >= bx - _THIN_EPS) & (up <= b) & (b > down)
    return (b > cutoff) & (horizontal | vertical)


def window_codes(edges: np.ndarray) -> np.ndarray:
    """Code 0..511 of every 3x3 'valid' window of a binary map (bit k = column-major element k)."""
    e = edges.astype(np.int64)
    h, w = e.shape
    code = np.zeros((h - 2, w - 2), np.int64)
    for k in range(9):
        col, row = divmod(k, 3)
        code |= e[row:row + h - 2, col:col + w - 2] << k
    return code


def _entropy_bits(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p != 0, p * np.log2(np.abs(np.where(p != 0, p, 1.0))), 0.0).sum(axis=-1)


def _pdfs(codes: np.ndarray) -> np.ndarray:
    sub = _BITS[codes].astype(np.float64)
    flat = (codes == 0) | (codes == 511)
    sub[flat] = 1.0
    return sub / sub.sum(axis=1, keepdims=True)


def pair_fmi(a_codes: np.ndarray, f_codes: np.ndarray) -> np.ndarray:
    """Normalised feature MI of window pairs given by their codes (1 for identical windows)."""
    ap, fp = _pdfs(a_codes), _pdfs(f_codes)
    ac, fc = np.cumsum(ap, axis=1), np.cumsum(fp, axis=1)
    at, ft = ap - ap.mean(axis=1, keepdims=True), fp - fp.mean(axis=1, keepdims=True)
    cov = (at * ft).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(cov == 0, 0.0, cov / np.sqrt((at * at).sum(axis=1) * (ft * ft).sum(axis=1)))
    asd = np.sqrt((_POS ** 2 * ap).sum(axis=1) - (_POS * ap).sum(axis=1) ** 2)
    fsd = np.sqrt((_POS ** 2 * fp).sum(axis=1) - (_POS * fp).sum(axis=1) ** 2)
    fi, aj = fc[:, :, None], ac[:, None, :]
    upper = np.minimum(fi, aj)
    lower = np.maximum(fi + aj - 1, 0.0)
    product = fi * aj
    bound = np.where((c >= 0)[:, None, None], upper, lower)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr_bound = (bound - product).sum(axis=(1, 2)) / (fsd * asd)
        weight = np.where((asd == 0) | (fsd == 0) | (c == 0), 0.0, c / corr_bound)
    mass = np.diff(np.pad(bound, ((0, 0), (1, 0), (1, 0))), axis=1)
    mass = np.diff(mass, axis=2)
    joint = weight[:, None, None] * mass + (1 - weight[:, None, None]) * fp[:, :, None] * ap[:, None, :]
    hj = _entropy_bits(joint.reshape(len(c), -1))
    ha, hf = _entropy_bits(ap), _entropy_bits(fp)
    mi = ha + hf - hj
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(mi == 0, 0.0, 2 * mi / (ha + hf))
    return np.where(a_codes == f_codes, 1.0, out)


def _mean_fmi(a_codes: np.ndarray, f_codes: np.ndarray) -> float:
    counts = np.bincount((a_codes * 512 + f_codes).ravel(), minlength=512 * 512)
    present = np.flatnonzero(counts)
    values = np.concatenate([pair_fmi(chunk // 512, chunk % 512)
                             for chunk in np.array_split(present, max(1, len(present) // 4096))])
    return float((values * counts[present]).sum() / counts.sum())


def fmi(sources: Sequence[np.ndarray], fused: np.ndarray) -> float:
    """FMI: mean over windows, and over sources, of the normalised feature MI with the fused image."""
    f_codes = window_codes(edge_map(fused))
    return float(np.mean([_mean_fmi(window_codes(edge_map(s)), f_codes) for s in sources]))
