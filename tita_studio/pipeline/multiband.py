"""Multiband (multispectral) sources reduced to something a person can look at and the network can fuse.

The rule (docs/pipeline.md, "Multiband"):
- scale: all bands together are divided by their `percentile` (99.8 by default) and clipped to [0, 1];
  one factor for every band keeps the ratios between bands, hence the colours. Satellite data have no
  fixed white (11-bit values stored in 16-bit words), which is why the type's range is not used.
- RGB: the bands the file names (a .mat `RGB_indexes`, 1-based), else by band count: 4 bands are taken
  as Blue, Green, Red, NIR (IKONOS, QuickBird, GeoEye, Pleiades) -> bands 3, 2, 1; 8 bands as WorldView-2/3
  (Coastal, Blue, Green, Yellow, Red, Red edge, NIR1, NIR2) -> bands 5, 3, 2; any other count >= 3 -> 1, 2, 3.
- intensity: the mean of all bands after scaling, the component-substitution intensity that a
  panchromatic band is fused against. A single band is its own intensity and has no RGB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_RGB_BANDS = {4: (3, 2, 1), 8: (5, 3, 2)}


@dataclass(frozen=True)
class MultibandConfig:
    """How multiband data are scaled to [0, 1]."""

    percentile: float = 99.8


@dataclass
class ReducedBands:
    """The displayable reduction of a multiband array."""

    rgb: np.ndarray | None  # (H, W, 3) float32, None for a single band
    intensity: np.ndarray  # (H, W) float32
    rule: str  # one line saying which bands made RGB and how they were scaled


def reduce_multiband(
    bands: np.ndarray, config: MultibandConfig | None = None, rgb_bands: tuple[int, ...] | None = None
) -> ReducedBands:
    """Reduce (H, W, B) samples of any numeric type to RGB + intensity with the module's rule."""
    cfg = config or MultibandConfig()
    count = bands.shape[2]
    values = bands.astype(np.float32)
    low = float(values.min())
    if low < 0:
        raise ValueError(f"multiband samples must not be negative (minimum {low:.4g})")
    scale = float(np.percentile(values, cfg.percentile))
    if scale <= 0:
        scale = float(values.max()) or 1.0
    values = np.clip(values / np.float32(scale), 0.0, 1.0)
    intensity = values.mean(axis=2, dtype=np.float32)
    scaling = f"scaled by the {cfg.percentile:g}th percentile ({scale:.4g})"
    if count == 1:
        return ReducedBands(rgb=None, intensity=values[..., 0], rule=f"single band {scaling}")
    if count < 3:
        raise ValueError(f"{count} bands cannot make an RGB image")
    chosen = rgb_bands or DEFAULT_RGB_BANDS.get(count, (1, 2, 3))
    if len(chosen) != 3 or not all(1 <= b <= count for b in chosen):
        raise ValueError(f"RGB bands {chosen} do not exist in a {count}-band image")
    rgb = np.stack([values[..., b - 1] for b in chosen], axis=2)
    rule = f"RGB = bands {', '.join(map(str, chosen))}, intensity = mean of {count} bands, {scaling}"
    return ReducedBands(rgb=rgb, intensity=intensity, rule=rule)
