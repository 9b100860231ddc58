"""YCbCr conversion and the chroma fusion rule of the spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tita_studio.pipeline.colour import fuse_chroma, recombine, rgb_to_ycbcr, split, ycbcr_to_rgb
from tita_studio.pipeline.source import ImageMeta, SourceImage


def source(pixels: np.ndarray, name: str = "s.png") -> SourceImage:
    meta = ImageMeta(path=Path(name), format="PNG", width=pixels.shape[1], height=pixels.shape[0],
                     channels=1 if pixels.ndim == 2 else 3, bit_depth=8, dtype="uint8")
    return SourceImage(pixels=pixels.astype(np.float32), meta=meta)


def colours(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((16, 16, 3)).astype(np.float32)


def test_bt601_values_match_opencv_convention() -> None:
    luma, chroma = rgb_to_ycbcr(np.array([[[1.0, 0.0, 0.0]]], np.float32))
    assert np.isclose(luma[0, 0], 0.299, atol=1e-4)
    assert np.isclose(chroma[0, 0, 0], 0.5 + 0.564 * (0 - 0.299), atol=1e-3)  # Cb
    assert np.isclose(chroma[0, 0, 1], 0.5 + 0.713 * (1 - 0.299), atol=1e-3)  # Cr


def test_round_trip_is_identity() -> None:
    rgb = colours()
    assert np.allclose(ycbcr_to_rgb(*rgb_to_ycbcr(rgb)), rgb, atol=1e-5)


def test_grey_sources_give_neutral_chroma_and_a_grey_result() -> None:
    greys = [split(source(np.full((4, 4), v))) for v in (0.2, 0.7)]
    assert all(part.chroma is None for part in greys)
    fused = fuse_chroma([part.chroma for part in greys])
    assert fused is None
    assert recombine(np.full((4, 4), 0.4, np.float32), fused).shape == (4, 4)


def test_grey_rgb_sources_fuse_to_neutral() -> None:
    parts = [split(source(np.full((4, 4, 3), v))) for v in (0.1, 0.9)]
    fused = fuse_chroma([p.chroma for p in parts])
    assert np.allclose(fused, 0.5, atol=1e-6)


def test_identical_sources_give_the_same_colour_back() -> None:
    rgb = colours(1)
    parts = [split(source(rgb)) for _ in range(3)]
    fused = fuse_chroma([p.chroma for p in parts])
    assert np.allclose(recombine(parts[0].luma, fused), rgb, atol=1e-5)


def test_a_grey_source_does_not_desaturate_the_colour_one() -> None:
    rgb = colours(2)
    visible = split(source(rgb))
    infrared = split(source(rgb.mean(axis=2)))
    fused = fuse_chroma([visible.chroma, infrared.chroma])
    assert np.allclose(fused, visible.chroma, atol=1e-6)


def test_rule_on_the_8_bit_scale() -> None:
    """Spec: (c1 |c1 - 128| + c2 |c2 - 128|) / (|c1 - 128| + |c2 - 128|), 128 when both are neutral."""
    c1 = np.array([[[200 / 255, 128 / 255]]], np.float32)
    c2 = np.array([[[100 / 255, 128 / 255]]], np.float32)
    fused = fuse_chroma([c1, c2]) * 255
    w1, w2 = abs(200 - 127.5), abs(100 - 127.5)
    assert np.isclose(fused[0, 0, 0], (200 * w1 + 100 * w2) / (w1 + w2), atol=1e-3)
    assert np.isclose(fused[0, 0, 1], 128, atol=1e-3)


def test_fusion_is_order_invariant() -> None:
    chromas = [rgb_to_ycbcr(colours(seed))[1] for seed in range(4)]
    assert np.allclose(fuse_chroma(chromas), fuse_chroma(chromas[::-1]), atol=1e-6)


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        fuse_chroma([np.zeros((2, 2, 2), np.float32), np.zeros((3, 2, 2), np.float32)])


def test_multiband_luma_is_the_band_intensity() -> None:
    multiband = source(colours(3))
    multiband.intensity = np.full((16, 16), 0.25, np.float32)
    assert np.allclose(split(multiband).luma, 0.25)


def test_split_and_recombine_keep_16_bit_precision() -> None:
    rgb = np.round(colours(4) * 65535) / 65535
    part = split(source(rgb))
    assert np.abs(recombine(part.luma, fuse_chroma([part.chroma])) - rgb).max() < 1 / 4096
