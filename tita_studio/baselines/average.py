"""Average: the plainest fusion; every other method should beat it where it claims to."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tita_studio.baselines._common import checked_lumas, finished


def fuse_average(lumas: Sequence[np.ndarray]) -> np.ndarray:
    """Pixel-wise mean of the sources (accumulated in float64)."""
    stack = np.stack(checked_lumas(lumas)).astype(np.float64)
    return finished(stack.mean(axis=0))
