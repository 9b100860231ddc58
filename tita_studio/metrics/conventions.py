"""Input checking, scale and colour handling, and the two scoring conventions.

Every metric works on float64 planes on the 0-255 scale.  How an input reaches that scale:

* uint8: as is;
* uint16: divided by 257, so 65535 maps to 255 (the same map as 16-bit to 8-bit PNG conversion);
* float (float16/32/64): taken to be on [0, 1] and multiplied by 255; values outside [0, 1] (beyond a
  1e-6 tolerance) or non-finite values are refused, because silently clipping would hide a bug.

Images are H x W (grey), H x W x 1 (grey) or H x W x 3 (RGB order; the command line converts OpenCV's
BGR).  Conventions decide how colour is handled:

* ``"standard"``: one grey plane per image, RGB converted with BT.601 luma 0.2989/0.5870/0.1140 and
  rounded half up (as MATLAB's rgb2gray does for uint8);
* ``"vifb"``: VIFB's MATLAB evaluation: when the fused image is RGB every metric is computed per colour
  channel and the channel values averaged (a grey source is used for all three channels); when the
  fused image is grey, RGB sources are converted to luma as in "standard".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tita_studio.errors import InputError

CONVENTIONS = ("standard", "vifb")
LUMA = (0.2989, 0.5870, 0.1140)
MIN_SIDE = 48
"""Smallest image side accepted: VIF's fourth scale and MEF-SSIM's third scale need this much."""


def check_convention(convention: str) -> str:
    """Return the convention name, or raise InputError naming the valid ones."""
    if convention not in CONVENTIONS:
        raise InputError(f"unknown metric convention {convention!r}; use one of {', '.join(CONVENTIONS)}")
    return convention


def to_unit255(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Return `image` as float64 on the 0-255 scale, H x W or H x W x 3; InputError when unusable."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"{name}: expected a numpy array, got {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise InputError(f"{name}: expected H x W (grey) or H x W x 3 (RGB), got shape {image.shape}"
                         + ("; drop the alpha channel first" if image.ndim == 3 and image.shape[2] == 4
                            else ""))
    if image.dtype == np.uint8:
        return image.astype(np.float64)
    if image.dtype == np.uint16:
        return image.astype(np.float64) / 257.0
    if np.issubdtype(image.dtype, np.floating):
        data = image.astype(np.float64)
        if not np.all(np.isfinite(data)):
            raise InputError(f"{name}: contains NaN or infinite values")
        lo, hi = float(data.min()), float(data.max())
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise InputError(f"{name}: float images must lie in [0, 1], found values in [{lo:g}, {hi:g}]")
        return np.clip(data, 0.0, 1.0) * 255.0
    raise InputError(f"{name}: unsupported dtype {image.dtype}; use uint8, uint16 or float in [0, 1]")


def round_half_up(x: np.ndarray) -> np.ndarray:
    """Round to the nearest integer, halves upwards (MATLAB's round for non-negative data)."""
    return np.floor(x + 0.5)


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of an H x W x 3 array on the 0-255 scale, rounded half up; grey passes through."""
    if rgb.ndim == 2:
        return rgb
    r, g, b = LUMA
    return round_half_up(r * rgb[:, :, 0] + g * rgb[:, :, 1] + b * rgb[:, :, 2])


def prepare(sources: Sequence[np.ndarray], fused: np.ndarray,
            min_sources: int = 2) -> tuple[list[np.ndarray], np.ndarray]:
    """Validate and scale the inputs; return them on the 0-255 scale (grey or RGB as given)."""
    if isinstance(sources, np.ndarray) or not isinstance(sources, Sequence):
        raise InputError("sources must be a list of images (one array per source)")
    if len(sources) < min_sources:
        raise InputError(f"need at least {min_sources} source images, got {len(sources)}")
    src = [to_unit255(s, f"source {i + 1}") for i, s in enumerate(sources)]
    fus = to_unit255(fused, "fused image")
    h, w = fus.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise InputError(f"fused image is {w}x{h}; metrics need at least {MIN_SIDE} pixels on each side")
    for i, s in enumerate(src):
        if s.shape[:2] != (h, w):
            raise InputError(f"source {i + 1} is {s.shape[1]}x{s.shape[0]} but the fused image is {w}x{h}; "
                             "sources and fused image must have the same size")
    return src, fus


def planes(sources: Sequence[np.ndarray], fused: np.ndarray,
           convention: str) -> list[tuple[list[np.ndarray], np.ndarray]]:
    """Split prepared images into the (source planes, fused plane) groups a convention scores.

    "standard" gives one grey group; "vifb" gives one group per channel of an RGB fused image.
    """
    check_convention(convention)
    if convention == "standard" or fused.ndim == 2:
        return [([luma(s) for s in sources], luma(fused))]
    return [([s if s.ndim == 2 else s[:, :, k] for s in sources], fused[:, :, k]) for k in range(3)]
