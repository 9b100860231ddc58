"""Alignment recovers known motions within half a pixel and refuses what it cannot register."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tita_studio.errors import InputError
from tita_studio.pipeline.align import AlignConfig, align_images, align_sources
from tita_studio.pipeline.kinds import SourceKind
from tita_studio.pipeline.reading import read_image
from tita_studio.pipeline.source import ImageMeta, SourceImage

SHIFT = (6.4, -3.7)
HOMOGRAPHY = np.array([[1.02, 0.012, -6.0], [-0.008, 0.985, 4.0], [2e-5, -1.5e-5, 1.0]])


def texture(height: int = 240, width: int = 320, seed: int = 0) -> np.ndarray:
    """Smooth random texture with detail at several scales, RGB in [0, 1]."""
    rng = np.random.default_rng(seed)
    layers = [cv2.GaussianBlur(rng.random((height, width)).astype(np.float32), (0, 0), s) for s in (1.5, 4, 10)]
    grey = sum(cv2.normalize(layer, None, 0, 1, cv2.NORM_MINMAX) for layer in layers) / 3
    return np.dstack([grey, grey ** 1.2, grey ** 0.8]).astype(np.float32)


def shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    h, w = image.shape[:2]
    matrix = np.array([[1, 0, dx], [0, 1, dy]], np.float64)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def corner_error(found: np.ndarray, true: np.ndarray, shape: tuple[int, int]) -> float:
    h, w = shape
    corners = np.array([[[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]], np.float64)
    return float(np.abs(cv2.perspectiveTransform(corners, found) - cv2.perspectiveTransform(corners, true)).max())


def shift_of(result_transform: np.ndarray) -> np.ndarray:
    """The frame was made by moving the reference by +SHIFT; reference -> frame is that same +SHIFT."""
    return result_transform[:2, 2]


def focus_frame(datasets: Path) -> np.ndarray:
    return read_image(datasets / "mff/focus_stacks/seq/chimpstackr_low_res/DSC_0360.jpg").pixels


def test_translation_recovers_a_synthetic_shift() -> None:
    reference = texture()
    frame = shifted(reference, *SHIFT)
    result = align_images([reference, frame], 0, AlignConfig(method="translation"))
    assert np.abs(shift_of(result.alignments[1].transform) - SHIFT).max() < 0.5
    x, y, w, h = result.crop
    assert x == 0 and 4 <= y <= 5 and w <= 320 - 7 and h <= 240 - 4
    assert np.abs(result.frames[1] - result.frames[0])[10:-10, 10:-10].mean() < 0.01


def test_translation_recovers_a_shift_on_a_real_frame(datasets: Path) -> None:
    reference = focus_frame(datasets)
    result = align_images([reference, shifted(reference, *SHIFT)], 0, AlignConfig(method="translation"))
    assert np.abs(shift_of(result.alignments[1].transform) - SHIFT).max() < 0.5
    assert result.alignments[1].correlation_after > result.alignments[1].correlation_before


def test_homography_recovers_a_known_warp_on_a_real_frame(datasets: Path) -> None:
    reference = focus_frame(datasets)
    h, w = reference.shape[:2]
    frame = cv2.warpPerspective(reference, HOMOGRAPHY, (w, h), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_REFLECT)
    result = align_images([frame, reference], 1, AlignConfig(method="homography"))
    assert result.method == "homography"
    # frame(x) = reference(H x): reference -> frame is the inverse of H
    assert corner_error(result.alignments[0].transform, np.linalg.inv(HOMOGRAPHY), (h, w)) < 0.5
    assert "frame 0" in result.report()


def test_auto_picks_homography_for_a_real_focus_stack(datasets: Path) -> None:
    folder = datasets / "mff/focus_stacks/seq/chimpstackr_low_res"
    frames = [read_image(p).pixels for p in sorted(folder.glob("*.jpg"))[:3]]
    result = align_images(frames, 1, kind=SourceKind.FOCUS_STACK)
    assert result.method == "homography"
    assert all(a.residual < 0.1 for a in result.alignments)


def bracket_frames(datasets: Path) -> list[np.ndarray]:
    folder = datasets / "mef/merianos/seq/Flowers"
    return [read_image(p).pixels for p in sorted(folder.glob("*.jpg"))]


def test_mtb_aligns_a_real_bracket(datasets: Path) -> None:
    frames = bracket_frames(datasets)
    result = align_images(frames, 1, kind=SourceKind.BRACKET)
    assert result.method == "translation"
    for alignment in result.alignments:
        assert np.abs(alignment.transform[:2, 2]).max() < 2  # this bracket was shot registered
    h, w = frames[0].shape[:2]
    assert result.crop[2] * result.crop[3] > 0.95 * w * h


def test_mtb_recovers_a_shift_across_exposures(datasets: Path) -> None:
    frames = bracket_frames(datasets)
    frames[0] = shifted(frames[0], 9.0, -5.0)  # the darkest exposure, moved by a hand-held camera
    result = align_images(frames, 1, AlignConfig(method="translation"))
    found = result.alignments[0].transform[:2, 2] - result.alignments[1].transform[:2, 2]
    assert np.abs(found - (9.0, -5.0)).max() < 0.5


@pytest.mark.parametrize("method", ["translation", "homography"])
def test_unrelated_frames_are_refused(method: str) -> None:
    with pytest.raises(InputError, match="alignment"):
        align_images([texture(seed=1), texture(seed=2)], 0, AlignConfig(method=method))


def test_a_huge_motion_is_refused() -> None:
    reference = texture()
    with pytest.raises(InputError, match="alignment"):
        align_images([reference, shifted(reference, 90, 70)], 0, AlignConfig(method="homography"))


def test_none_keeps_frames_and_unknown_method_is_refused() -> None:
    frames = [texture(seed=3), texture(seed=4)]
    result = align_images(frames, 0, AlignConfig(method="none"))
    assert result.frames[1] is frames[1] and result.crop == (0, 0, 320, 240)
    with pytest.raises(InputError, match="unknown alignment"):
        align_images(frames, 0, AlignConfig(method="sideways"))


def test_align_sources_warps_alpha_and_updates_sizes() -> None:
    reference = texture()
    sources = []
    for name, pixels in (("a.png", reference), ("b.png", shifted(reference, *SHIFT))):
        meta = ImageMeta(path=Path(name), format="PNG", width=320, height=240, channels=3, bit_depth=8,
                         dtype="uint8")
        sources.append(SourceImage(pixels=pixels, meta=meta, alpha=np.ones((240, 320), np.float32)))
    aligned, result = align_sources(sources, 0, AlignConfig(method="translation"))
    _, _, w, h = result.crop
    for source in aligned:
        assert source.shape == (h, w) and source.alpha.shape == (h, w)
        assert (source.meta.width, source.meta.height) == (w, h)


def test_auto_recovers_a_hand_held_shift_in_a_real_bracket(datasets: Path) -> None:
    frames = bracket_frames(datasets)
    frames[0] = shifted(frames[0], -7.0, 4.0)
    result = align_images(frames, 1, kind=SourceKind.BRACKET)
    found = result.alignments[0].transform[:2, 2] - result.alignments[1].transform[:2, 2]
    assert np.abs(found - (-7.0, 4.0)).max() < 0.5
    assert not result.notes


def test_auto_keeps_frames_when_a_big_move_gains_little() -> None:
    """A large shift that barely raises the correlation is noise (seen on registered LLVIP pairs): under
    auto the frame stays where it is and the note says why; asked for explicitly, the shift is applied."""
    reference = texture()
    # a frame whose best match is 30 px away but only slightly better than in place: the same texture
    # shifted, averaged with the reference itself
    frame = 0.8 * reference + 0.2 * shifted(reference, 30, 0)
    explicit = align_images([reference, frame], 0, AlignConfig(method="translation"))
    moved = explicit.alignments[1]
    auto = align_images([reference, frame], 0, kind=SourceKind.BRACKET)
    kept = auto.alignments[1]
    assert np.allclose(kept.transform, np.eye(3)) and auto.crop == (0, 0, 320, 240)
    assert "kept as it is" in auto.notes[0] and "frame 1" in auto.report()
    if not np.allclose(moved.transform, np.eye(3)):  # the estimate moved it: then the gain was marginal
        needed = 0.10 * 100 * 30 / np.hypot(320, 240) * (1 - moved.correlation_before)
        assert moved.correlation_after - moved.correlation_before < needed


def test_auto_never_aligns_an_ir_visible_pair(datasets: Path) -> None:
    pair = [read_image(datasets / "ivf/llvip_train" / d / "train_010001.jpg").pixels for d in ("A", "B")]
    result = align_images(pair, 0, kind=SourceKind.IR_VISIBLE)
    assert result.method == "none" and result.frames[1] is pair[1]
