"""Choose-max: the brightest source at each pixel, the usual naive rule for infrared targets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tita_studio.baselines._common import checked_lumas, finished


def fuse_max(lumas: Sequence[np.ndarray]) -> np.ndarray:
    """Pixel-wise maximum of the sources."""
    return finished(np.max(np.stack(checked_lumas(lumas)), axis=0))
