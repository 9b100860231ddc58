"""A decoded source image and the metadata kept from its file: what every pipeline stage passes on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Exposure:
    """How a frame was exposed, from its metadata (None: not recorded). Orders a bracket and says how
    many stops apart its frames are."""

    time: float | None = None  # seconds
    aperture: float | None = None  # f-number
    iso: float | None = None
    bias: float | None = None  # the exposure compensation the camera was set to, EV (shown, not used)
    ev: float | None = None  # stops brighter than the reference frame; set once the reference is known

    def describe(self) -> str:
        """E.g. "1/60 s f/8 ISO 200 -0.3 EV" (what is known)."""
        parts = []
        if self.time:
            parts.append(f"1/{1 / self.time:.0f} s" if self.time < 0.5 else f"{self.time:g} s")
        if self.aperture:
            parts.append(f"f/{self.aperture:g}")
        if self.iso:
            parts.append(f"ISO {self.iso:.0f}")
        if self.ev is not None:
            parts.append(f"{self.ev:+.1f} EV")
        return " ".join(parts)


@dataclass
class ImageMeta:
    """What a file was, kept so the output can be written like it (depth, EXIF, ICC)."""

    path: Path
    format: str  # "JPEG", "PNG", "TIFF" or "MAT"
    width: int
    height: int
    channels: int  # samples per pixel in the file (bands for multiband)
    bit_depth: int  # bits per sample in the file
    dtype: str  # numpy dtype name of the decoded samples
    has_alpha: bool = False
    orientation: int = 1  # EXIF orientation that was applied (1: none)
    exif: bytes | None = None  # descriptive EXIF, APP1 layout; see metadata.clean_exif
    icc: bytes | None = None
    band_rule: str | None = None  # for multiband sources: how RGB and intensity were made
    exposure: Exposure | None = None  # from EXIF / RAW metadata, when the file records an exposure time


@dataclass
class SourceImage:
    """Decoded pixels: grey (H, W) or RGB (H, W, 3), float32 in [0, 1], upright."""

    pixels: np.ndarray
    meta: ImageMeta
    alpha: np.ndarray | None = None  # (H, W) float32, when the file had one
    intensity: np.ndarray | None = None  # (H, W) float32 for multiband sources: mean of all bands

    @property
    def is_grey(self) -> bool:
        return self.pixels.ndim == 2

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.pixels.shape[0]), int(self.pixels.shape[1])

    def describe(self) -> str:
        """One line for logs and the window: what was read and how it was interpreted."""
        m = self.meta
        if m.band_rule:
            kind = f"{m.channels}-band"
        else:
            kind = ("grey" if self.is_grey else "RGB") + ("A" if m.has_alpha else "")
        parts = [f"{m.path.name}: {m.format} {m.width}x{m.height} {kind} {m.bit_depth}-bit"]
        if m.dtype.startswith("float"):
            parts.append("float")
        if m.orientation != 1:
            parts.append(f"rotated (EXIF orientation {m.orientation})")
        if m.exif:
            parts.append("EXIF")
        if m.icc:
            parts.append("ICC")
        if m.band_rule:
            parts.append(m.band_rule)
        if m.exposure is not None and m.exposure.describe():
            parts.append(m.exposure.describe())
        return ", ".join(parts)
