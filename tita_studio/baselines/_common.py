"""Input checks and a canonical source order shared by every baseline."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from tita_studio.errors import InputError

_RANGE_TOLERANCE = 1e-6


def checked_lumas(lumas: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The lumas as float32 (H, W) arrays in a canonical order, or an InputError saying what is wrong.

    The canonical order (by the bytes of each image) makes every method's result independent of the
    order the sources were given in, floating-point summation order included.
    """
    if isinstance(lumas, np.ndarray) or len(lumas) < 2:
        count = "an array" if isinstance(lumas, np.ndarray) else f"{len(lumas)} source(s)"
        raise InputError(f"fusion needs at least two source images (a sequence of lumas), got {count}")
    arrays = []
    for index, luma in enumerate(lumas):
        array = np.asarray(luma)
        if array.ndim != 2:
            raise InputError(f"source {index}: a luma must be a 2-D (H, W) array, got shape {array.shape}")
        if not np.issubdtype(array.dtype, np.floating):
            raise InputError(f"source {index}: a luma must be float in [0, 1], got dtype {array.dtype}")
        array = np.ascontiguousarray(array, dtype=np.float32)
        if not np.isfinite(array).all():
            raise InputError(f"source {index}: contains NaN or infinity")
        if array.size and (array.min() < -_RANGE_TOLERANCE or array.max() > 1 + _RANGE_TOLERANCE):
            raise InputError(f"source {index}: values must lie in [0, 1], got [{array.min():.4g}, {array.max():.4g}]")
        arrays.append(array)
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        listing = ", ".join(f"{a.shape[1]}x{a.shape[0]}" for a in arrays)
        raise InputError(f"the sources must be registered and the same size, got {listing}")
    if min(arrays[0].shape) < 1:
        raise InputError(f"the sources are empty ({arrays[0].shape[1]}x{arrays[0].shape[0]})")
    return sorted(arrays, key=lambda a: hashlib.blake2b(a.tobytes(), digest_size=16).digest())


def finished(fused: np.ndarray) -> np.ndarray:
    """A fused luma as every method returns it: float32, clipped to [0, 1]."""
    return np.clip(fused, 0.0, 1.0).astype(np.float32)
