"""Exposure order and size matching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tita_studio.errors import InputError
from tita_studio.pipeline.reading import read_image
from tita_studio.pipeline.source import ImageMeta, SourceImage
from tita_studio.pipeline.sources import exposure_order, match_sizes


def source(pixels: np.ndarray, name: str) -> SourceImage:
    meta = ImageMeta(path=Path(name), format="PNG", width=pixels.shape[1], height=pixels.shape[0],
                     channels=1 if pixels.ndim == 2 else 3, bit_depth=8, dtype="uint8")
    return SourceImage(pixels=pixels.astype(np.float32), meta=meta)


def bracket(order: list[int]) -> list[SourceImage]:
    levels = [0.1, 0.3, 0.5, 0.7, 0.9]
    return [source(np.full((4, 6, 3), levels[i]), f"frame{i}.png") for i in order]


def test_exposure_order_does_not_depend_on_input_order() -> None:
    for order in ([0, 1, 2, 3, 4], [4, 2, 0, 3, 1], [3, 4, 1, 0, 2]):
        sources = bracket(order)
        assert [sources[i].meta.path.name for i in exposure_order(sources)] == [f"frame{i}.png" for i in range(5)]


def test_real_bracket_sorted_by_brightness(datasets: Path) -> None:
    folder = datasets / "mef/merianos/seq/Flowers"
    sources = [read_image(p) for p in sorted(folder.glob("*.jpg"))]
    means = [float(s.pixels.mean()) for s in sources]
    assert [means[i] for i in exposure_order(sources)] == sorted(means)


def test_different_sizes_are_refused_without_resize() -> None:
    small = source(np.zeros((10, 20)), "small.png")
    large = source(np.zeros((40, 80)), "large.png")
    with pytest.raises(InputError, match=r"small.png 20x10.*large.png 80x40"):
        match_sizes([small, large])


def test_resize_brings_the_smaller_to_the_larger() -> None:
    small = source(np.full((10, 20, 3), 0.3), "small.png")
    large = source(np.zeros((40, 80)), "large.png")
    out = match_sizes([small, large], resize=True)
    assert [s.shape for s in out] == [(40, 80), (40, 80)]
    assert np.allclose(out[0].pixels, 0.3, atol=1e-5)
    assert out[1] is large


def test_resize_refuses_other_aspect_ratios() -> None:
    with pytest.raises(InputError, match="aspect ratio"):
        match_sizes([source(np.zeros((10, 20)), "a.png"), source(np.zeros((40, 60)), "b.png")], resize=True)


def test_multispectral_is_resized_to_pan(datasets: Path) -> None:
    mat = datasets / "pan/wv2/imgWV2.mat"
    ms, pan = read_image(f"{mat}:I_MS"), read_image(f"{mat}:I_PAN")
    with pytest.raises(InputError, match="differ in size"):
        match_sizes([ms, pan])
    ms_up, _ = match_sizes([ms, pan], resize=True)
    assert ms_up.pixels.shape == (1280, 1280, 3) and ms_up.intensity.shape == (1280, 1280)
