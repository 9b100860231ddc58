"""Mertens exposure fusion (Mertens, Kautz & Van Reeth 2007) through OpenCV, for exposure brackets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from tita_studio.baselines._common import checked_lumas, finished


@dataclass(frozen=True)
class MertensConfig:
    """Exponents of the quality measures (OpenCV's defaults).

    There is no saturation term: on one channel OpenCV skips it, and the lumas are given as one channel
    on purpose. Replicating a luma into three equal channels would cube the well-exposedness term.
    """

    contrast_weight: float = 1.0
    exposure_weight: float = 1.0


def fuse_mertens(lumas: Sequence[np.ndarray], config: MertensConfig | None = None) -> np.ndarray:
    """Contrast and well-exposedness weights blended in a Laplacian pyramid by `cv2.MergeMertens`.

    OpenCV's threaded implementation can differ by one float32 ulp from run to run; the canonical
    source order leaves that as the only dependence on anything but the sources.
    """
    cfg = config or MertensConfig()
    merge = cv2.createMergeMertens(cfg.contrast_weight, 0.0, cfg.exposure_weight)
    # MergeMertens divides its input by 255 whatever the depth, so float lumas go in on that scale.
    return finished(merge.process([luma * np.float32(255.0) for luma in checked_lumas(lumas)]))
