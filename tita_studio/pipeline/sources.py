"""Orders of sources (by exposure, by name) and one common size; which order applies is decided by the
classification in pipeline.kinds.

Everything here is independent of the order the files were given in: ties are broken by file name,
so the same set of files always gives the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from tita_studio.errors import InputError
from tita_studio.pipeline.exposure import light_values
from tita_studio.pipeline.source import SourceImage

_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class SourcesConfig:
    """When a resize is accepted."""

    aspect_tolerance: float = 0.01  # relative aspect-ratio difference accepted when resizing


def luminance(image: np.ndarray) -> np.ndarray:
    """BT.601 luma of RGB (or the grey values themselves), float32."""
    if image.ndim == 2:
        return image.astype(np.float32, copy=False)
    return np.tensordot(image.astype(np.float32, copy=False), _LUMA_WEIGHTS, axes=([2], [0]))


def mean_luminance(source: SourceImage) -> float:
    """Mean brightness used to order a bracket (intensity for multiband sources)."""
    values = source.intensity if source.intensity is not None else luminance(source.pixels)
    return float(values.mean(dtype=np.float64))


def exposure_order(sources: Sequence[SourceImage]) -> list[int]:
    """Indices of `sources` from darkest to brightest: by the recorded exposure (time x ISO / aperture^2,
    pipeline.exposure) when every frame records one, then by mean luma, then by file name."""
    light = light_values(sources) or [0.0] * len(sources)
    keys = [(light[i], mean_luminance(s), str(s.meta.path)) for i, s in enumerate(sources)]
    return sorted(range(len(sources)), key=lambda i: keys[i])


def middle_exposure(sources: Sequence[SourceImage]) -> int:
    """A bracket's reference: the middle exposure (the darker of the two middle ones for an even count)."""
    darkest_first = exposure_order(sources)
    return darkest_first[(len(darkest_first) - 1) // 2]


def name_order(sources: Sequence[SourceImage]) -> list[int]:
    """Indices by file name: the natural order of a focus stack, whatever order it was given in."""
    return sorted(range(len(sources)), key=lambda i: str(sources[i].meta.path))


def match_sizes(
    sources: Sequence[SourceImage], resize: bool = False, config: SourcesConfig | None = None
) -> list[SourceImage]:
    """Sources at one size: refused when sizes differ, unless `resize` (then each smaller source is
    resampled to the largest, as a multispectral image is brought to its panchromatic band)."""
    cfg = config or SourcesConfig()
    shapes = [s.shape for s in sources]
    if len(set(shapes)) <= 1:
        return list(sources)
    listing = ", ".join(f"{s.meta.path.name} {s.shape[1]}x{s.shape[0]}" for s in sources)
    if not resize:
        raise InputError(f"the sources differ in size ({listing}); ask for a resize to resample them")
    target = max(shapes, key=lambda hw: hw[0] * hw[1])
    target_aspect = target[1] / target[0]
    for source in sources:
        aspect = source.shape[1] / source.shape[0]
        if abs(aspect / target_aspect - 1.0) > cfg.aspect_tolerance:
            raise InputError(
                f"{source.meta.path.name}: aspect ratio {aspect:.4f} differs from {target_aspect:.4f} "
                f"({listing}); resizing would distort it"
            )
    return [s if s.shape == target else _resized(s, target) for s in sources]


def _resized(source: SourceImage, size: tuple[int, int]) -> SourceImage:
    height, width = size
    upscale = height * width > source.shape[0] * source.shape[1]

    def resample(array: np.ndarray | None) -> np.ndarray | None:
        if array is None:
            return None
        interpolation = cv2.INTER_CUBIC if upscale else cv2.INTER_AREA
        return np.clip(cv2.resize(array, (width, height), interpolation=interpolation), 0.0, 1.0)

    meta = replace(source.meta, width=width, height=height)
    return SourceImage(pixels=resample(source.pixels), meta=meta, alpha=resample(source.alpha),
                       intensity=resample(source.intensity))
