"""What each source is for: exposure order, the reference frame, and one common size.

Everything here is independent of the order the files were given in: ties are broken by file name,
so the same set of files always gives the same order and the same reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from tita_studio.errors import InputError
from tita_studio.pipeline.io import SourceImage

_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class SourcesConfig:
    """Thresholds for telling a bracket from a stack and for accepting a resize."""

    bracket_ratio: float = 1.5  # brightest / darkest mean luminance above this: an exposure bracket
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
    """Indices of `sources` from darkest to brightest (ties: by file name)."""
    keys = [(mean_luminance(s), str(s.meta.path)) for s in sources]
    return sorted(range(len(sources)), key=lambda i: keys[i])


def is_bracket(sources: Sequence[SourceImage], config: SourcesConfig | None = None) -> bool:
    """True when the sources differ in exposure enough to be a bracket rather than a stack."""
    cfg = config or SourcesConfig()
    means = [max(mean_luminance(s), 1e-4) for s in sources]
    return len(means) >= 2 and max(means) / min(means) > cfg.bracket_ratio


def bracket_reference(sources: Sequence[SourceImage]) -> int:
    """The middle exposure (the darker middle one for an even count): EXIF and alignment follow it."""
    order = exposure_order(sources)
    return order[(len(order) - 1) // 2]


def name_order(sources: Sequence[SourceImage]) -> list[int]:
    """Indices by file name: the natural order of a focus stack, whatever order it was given in."""
    return sorted(range(len(sources)), key=lambda i: str(sources[i].meta.path))


def stack_reference(sources: Sequence[SourceImage]) -> int:
    """The middle frame of a focus stack by name: the least breathing away from every other frame."""
    order = name_order(sources)
    return order[(len(order) - 1) // 2]


def visible_reference(sources: Sequence[SourceImage]) -> int:
    """The visible frame of an infrared/visible pair: the colour one (the first by name when both or
    neither are)."""
    colour = [i for i in name_order(sources) if not sources[i].is_grey]
    return colour[0] if colour else name_order(sources)[0]


def reference_index(sources: Sequence[SourceImage], config: SourcesConfig | None = None) -> int:
    """Default reference: a colour frame paired with a grey one (IR/visible), else the middle exposure of
    a bracket, else the middle frame of a stack."""
    greys = [s.is_grey for s in sources]
    if any(greys) and not all(greys):
        return visible_reference(sources)
    if is_bracket(sources, config):
        return bracket_reference(sources)
    return stack_reference(sources)


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
