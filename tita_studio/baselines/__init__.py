"""Classical fusion methods with the network's interface: N >= 2 registered lumas in, one fused luma out.

Each method takes float32 (H, W) lumas in [0, 1] and returns a float32 (H, W) luma clipped to [0, 1];
the pipeline fuses chroma by the same rule as for TITA, so every method colours the same way. Results do
not depend on the order of the sources. No Qt and no torch here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict

import numpy as np

from tita_studio.baselines.average import fuse_average
from tita_studio.baselines.choose_max import fuse_max
from tita_studio.baselines.gff import GFFConfig, fuse_gff
from tita_studio.baselines.laplacian import LaplacianConfig, fuse_laplacian
from tita_studio.baselines.mertens import MertensConfig, fuse_mertens

BASELINES: dict[str, Callable[[Sequence[np.ndarray]], np.ndarray]] = {
    "average": fuse_average,
    "max": fuse_max,
    "laplacian": fuse_laplacian,
    "mertens": fuse_mertens,
    "gff": fuse_gff,
}

DESCRIPTIONS: dict[str, str] = {
    "average": "pixel-wise mean of the sources",
    "max": "choose-max: the brightest source at each pixel",
    "laplacian": "Laplacian pyramid: strongest detail per level, averaged base",
    "mertens": "Mertens exposure fusion (OpenCV), for exposure brackets",
    "gff": "guided filtering fusion (Li, Kang & Hu 2013), for infrared/visible and focus",
}

# The parameters each method runs with (its config's defaults), for result caches and reports.
PARAMETERS: dict[str, dict[str, object]] = {
    "average": {},
    "max": {},
    "laplacian": asdict(LaplacianConfig()),
    "mertens": asdict(MertensConfig()),
    "gff": asdict(GFFConfig()),
}

__all__ = ["BASELINES", "DESCRIPTIONS", "PARAMETERS", "fuse_average", "fuse_gff", "fuse_laplacian", "fuse_max",
           "fuse_mertens"]
