"""Deghosting on real brackets with a moving object inserted (known motion), and its wiring."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tita_studio.baselines import BASELINES
from tita_studio.cli.main import main
from tita_studio.errors import InputError
from tita_studio.pipeline.align import AlignmentResult, FrameAlignment
from tita_studio.pipeline.deghost import deghost_default, deghost_sources, imf
from tita_studio.pipeline.fuse import FuseOptions, fuse_sources
from tita_studio.pipeline.kinds import SourceKind, classify
from tita_studio.pipeline.reading import read_image
from tita_studio.pipeline.source import SourceImage
from tita_studio.pipeline.writing import WriteOptions, write_image

SIDE = 384  # frames are reduced to this longest side


def _srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def _bracket(datasets, scene: str) -> list[SourceImage]:
    folder = datasets / "mef" / "merianos" / "seq" / scene
    out = []
    for path in sorted(folder.iterdir()):
        source = read_image(path)
        h, w = source.shape
        size = (round(w * SIDE / max(h, w)), round(h * SIDE / max(h, w)))
        out.append(SourceImage(cv2.resize(source.pixels, size, interpolation=cv2.INTER_AREA), source.meta))
    return out


def _with_object(frames: list[SourceImage], donor: np.ndarray, places: list[tuple[int, int]],
                 side: int) -> list[SourceImage]:
    """A disc of the donor's texture in every frame at that frame's place, exposed like the frame (its
    sRGB-linear brightness ratio to the reference frame)."""
    ref = frames[classify(frames, "bracket").reference].pixels
    alpha = np.zeros((side, side), np.float32)
    cv2.circle(alpha, (side // 2, side // 2), side // 2 - 1, 1.0, -1)
    patch = donor[:side, :side]
    out = []
    for frame, (x, y) in zip(frames, places, strict=True):
        well = (ref > 0.1) & (ref < 0.9) & (frame.pixels > 0.1) & (frame.pixels < 0.9)
        gain = float(np.median(_srgb_to_linear(frame.pixels[well]) / _srgb_to_linear(ref[well])))
        pixels = frame.pixels.copy()
        region = pixels[y : y + side, x : x + side]
        exposed = _linear_to_srgb(_srgb_to_linear(patch) * gain)
        region[:] = region * (1 - alpha[..., None]) + exposed * alpha[..., None]
        out.append(SourceImage(pixels.astype(np.float32), frame.meta))
    return out


@pytest.fixture(scope="module")
def moving(datasets):
    """OldHouse (static, registered) with an object at three places, and the same with it at the
    reference frame's place in every frame."""
    frames = _bracket(datasets, "OldHouse")
    donor = _bracket(datasets, "Flowers")[1].pixels[60:, 40:]
    ref = classify(frames, "bracket").reference
    h, w = frames[0].shape
    side = h // 4
    places = [(int(x), (h - side) // 2) for x in np.linspace(10, w - side - 10, len(frames))]
    moved = _with_object(frames, donor, places, side)
    still = _with_object(frames, donor, [places[ref]] * len(frames), side)
    ghost_boxes = np.zeros((h, w), bool)
    for i, (x, y) in enumerate(places):
        if i != ref:
            ghost_boxes[y : y + side, x : x + side] = True
    return frames, moved, still, ghost_boxes


def test_imf_follows_a_monotone_exposure_change_despite_moving_pixels():
    rng = np.random.default_rng(0)
    source = rng.random((200, 200)).astype(np.float32)
    target = np.clip(source * 1.8, 0, 1) ** 0.8 + rng.normal(0, 0.01, source.shape)
    target[:30, :30] = rng.random((30, 30))  # 2% of the pixels moved: they follow no mapping
    curve = imf(source, target.astype(np.float32))
    assert np.all(np.diff(curve.median) >= 0)
    truth = np.clip(curve.centres * 1.8, 0, 1) ** 0.8
    assert np.abs(curve.median - truth)[2:-2].max() < 0.02


def test_a_static_real_bracket_gives_an_empty_mask(datasets):
    frames = _bracket(datasets, "Flowers")
    kind = classify(frames)
    result = deghost_sources([frames[i] for i in kind.order], kind.order.index(kind.reference))
    assert float(result.ghost_mask.mean()) < 0.005
    assert result.ghost_mask.shape == frames[0].shape


@pytest.mark.parametrize("method", ["mertens", "average"])
def test_deghosting_removes_an_inserted_moving_object(moving, method):
    frames, moved, still, ghost_boxes = moving
    off = FuseOptions(method=method, kind="bracket", align="none")
    on = FuseOptions(method=method, kind="bracket", align="none", deghost=True)
    ideal = fuse_sources(still, off).image
    before = fuse_sources(moved, off).image
    result = fuse_sources(moved, on)
    ghosts_before = int(((np.abs(before - ideal).max(axis=-1) > 0.05) & ghost_boxes).sum())
    ghosts_after = int(((np.abs(result.image - ideal).max(axis=-1) > 0.05) & ghost_boxes).sum())
    assert ghosts_before > 0.5 * ghost_boxes.sum() / 2  # the object shows at the other places without it
    assert ghosts_after < 0.1 * ghosts_before  # measured: 3708 -> 140 px for average at 512 px
    # away from the objects the deghosted result is the static bracket's fusion
    away = cv2.dilate((ghost_boxes | (np.abs(still[0].pixels - frames[0].pixels).max(axis=-1) > 0)).astype(np.uint8),
                      np.ones((25, 25), np.uint8)) == 0
    static = fuse_sources(frames, off).image
    mse = float(((result.image - static) ** 2)[away].mean())
    assert 10 * np.log10(1 / max(mse, 1e-12)) > 40
    assert result.ghost_mask is not None and result.ghost_mask.shape == result.image.shape[:2]
    assert float(result.ghost_mask[ghost_boxes].mean()) > 0.5


@pytest.mark.parametrize("method", sorted(BASELINES))
def test_every_method_fuses_deghosted_frames(moving, method):
    _, moved, _, _ = moving
    result = fuse_sources(moved, FuseOptions(method=method, kind="bracket", align="none", deghost=True))
    assert result.ghost_mask is not None and result.ghost_mask.max() == pytest.approx(1.0)
    assert any("taken from the reference" in note for note in result.notes)


def test_reference_choice_and_its_refusal(moving):
    _, moved, _, _ = moving
    result = fuse_sources(moved, FuseOptions(method="average", kind="bracket", align="none", reference=0))
    assert result.sources[result.reference].meta.path == moved[0].meta.path
    with pytest.raises(InputError, match="reference frame 5 does not exist"):
        fuse_sources(moved, FuseOptions(method="average", align="none", reference=5))


def test_only_brackets_are_deghosted(moving):
    _, moved, _, _ = moving
    result = fuse_sources(moved, FuseOptions(method="average", kind="focus-stack", align="none", deghost=True))
    assert result.ghost_mask is None
    assert any("only exposure brackets are deghosted" in note for note in result.notes)


def test_deghost_is_on_by_default_for_hand_held_brackets_only():
    def alignment(shift: float) -> AlignmentResult:
        moved = np.eye(3)
        moved[0, 2] = shift
        frames = [FrameAlignment(0, np.eye(3), 1, 1), FrameAlignment(1, moved, 0.9, 0.95)]
        return AlignmentResult([], "translation", 0, frames, (0, 0, 100, 80))

    assert deghost_default(SourceKind.BRACKET, alignment(2.0))
    assert not deghost_default(SourceKind.BRACKET, alignment(0.0))  # on a tripod: nothing moved
    assert not deghost_default(SourceKind.BRACKET, None)
    assert not deghost_default(SourceKind.FOCUS_STACK, alignment(2.0))


def test_cli_deghost_writes_the_ghost_mask(moving, tmp_path, capsys):
    _, moved, _, ghost_boxes = moving
    paths = []
    for i, source in enumerate(moved):
        paths.append(tmp_path / f"frame{i}.png")
        write_image(paths[-1], source.pixels, WriteOptions(bit_depth=16))
    out, mask = tmp_path / "fused.png", tmp_path / "mask.png"
    code = main(["fuse", *map(str, paths), "-o", str(out), "--method", "mertens", "--align", "none", "--deghost",
                 "--ghost-mask", str(mask), "--reference", "frame1.png"])
    assert code == 0 and out.is_file()
    written = read_image(mask).pixels
    assert written.shape == ghost_boxes.shape and float(written[ghost_boxes].mean()) > 0.5
    assert "taken from the reference" in capsys.readouterr().out
    assert main(["fuse", *map(str, paths), "-o", str(tmp_path / "x.png"), "--method", "average",
                 "--reference", "nope.png"]) == 2
