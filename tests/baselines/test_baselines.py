"""Classical baselines: contracts (shapes, errors, order), properties, and behaviour on real data."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from tita_studio.baselines import BASELINES, DESCRIPTIONS, PARAMETERS
from tita_studio.baselines.laplacian import detail_levels
from tita_studio.errors import InputError
from tita_studio.metrics import score
from tita_studio.pipeline.colour import split
from tita_studio.pipeline.reading import read_image

METHODS = sorted(BASELINES)


def texture(seed: int, shape: tuple[int, int] = (96, 128)) -> np.ndarray:
    """A reproducible image with detail at several scales, in [0, 1]."""
    rng = np.random.default_rng(seed)
    fine = rng.random(shape)
    coarse = cv2.resize(rng.random((shape[0] // 16, shape[1] // 16)), shape[::-1], interpolation=cv2.INTER_CUBIC)
    return np.clip(0.5 * coarse + 0.5 * cv2.GaussianBlur(fine, (0, 0), 1.0), 0, 1).astype(np.float32)


def luma(path: Path) -> np.ndarray:
    return split(read_image(path)).luma


def gradient_energy(image: np.ndarray) -> float:
    gx = cv2.Sobel(image, cv2.CV_64F, 1, 0)
    gy = cv2.Sobel(image, cv2.CV_64F, 0, 1)
    return float(np.mean(gx * gx + gy * gy))


def test_registry_describes_every_method() -> None:
    assert set(BASELINES) == {"average", "max", "laplacian", "mertens", "gff"}
    assert set(DESCRIPTIONS) == set(BASELINES) == set(PARAMETERS)
    assert PARAMETERS["gff"]["base_radius"] == 45 and PARAMETERS["gff"]["detail_eps"] == 1e-6


@pytest.mark.parametrize("method", METHODS)
def test_output_contract(method: str) -> None:
    sources = [texture(1), texture(2) * 0.5, np.clip(texture(3) * 1.5, 0, 1)]
    fused = BASELINES[method](sources)
    assert fused.dtype == np.float32 and fused.shape == sources[0].shape
    assert fused.min() >= 0.0 and fused.max() <= 1.0


@pytest.mark.parametrize("method", METHODS)
def test_order_of_the_sources_does_not_matter(method: str) -> None:
    sources = [texture(4), texture(5) * 0.7, np.clip(texture(6) + 0.3, 0, 1)]
    results = [BASELINES[method](list(p)) for p in itertools.permutations(sources)]
    # OpenCV's threaded MergeMertens differs by an ulp from run to run even for the same input order.
    tolerance = 1e-6 if method == "mertens" else 0.0
    for result in results[1:]:
        np.testing.assert_allclose(result, results[0], rtol=0, atol=tolerance)


@pytest.mark.parametrize("method", METHODS)
def test_identical_sources_give_the_source(method: str) -> None:
    image = texture(7)
    fused = BASELINES[method]([image, image.copy()])
    tolerance = 2e-2 if method == "mertens" else 1e-5  # Mertens renormalises its pyramid blend
    np.testing.assert_allclose(fused, image, atol=tolerance)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ([np.zeros((32, 32), np.float32)], "at least two"),
        (np.zeros((2, 32, 32), np.float32), "at least two"),
        ([np.zeros((32, 32), np.float32), np.zeros((32, 33), np.float32)], "same size"),
        ([np.zeros((32, 32, 3), np.float32)] * 2, "2-D"),
        ([np.zeros((32, 32), np.uint8)] * 2, "float"),
        ([np.full((32, 32), 2.0, np.float32)] * 2, r"\[0, 1\]"),
        ([np.full((32, 32), np.nan, np.float32)] * 2, "NaN"),
    ],
)
def test_bad_sources_are_refused(method: str, sources: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        BASELINES[method](sources)


def test_average_and_max_are_what_they_say() -> None:
    a, b, c = texture(8), texture(9), texture(10)
    np.testing.assert_allclose(BASELINES["average"]([a, b, c]), (a.astype(np.float64) + b + c) / 3, atol=1e-6)
    np.testing.assert_array_equal(BASELINES["max"]([a, b, c]), np.maximum(np.maximum(a, b), c))


def test_pyramid_depth_follows_the_size() -> None:
    assert detail_levels((8, 8)) == 0
    assert detail_levels((16, 300)) == 1
    assert detail_levels((256, 256)) == 5
    assert detail_levels((4000, 6000)) == 6


def test_laplacian_keeps_detail_that_only_one_source_has() -> None:
    flat = np.full((64, 64), 0.5, np.float32)
    detailed = flat.copy()
    detailed[30:34, 30:34] = 0.9
    fused = BASELINES["laplacian"]([flat, detailed])
    average = BASELINES["average"]([flat, detailed])
    assert fused[31, 31] - fused[5, 5] > 0.3 > average[31, 31] - average[5, 5]


def multi_focus_pair(sharp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two complementary defocused versions: the left half sharp in one, the right half in the other."""
    blurred = cv2.GaussianBlur(sharp, (0, 0), 3.0)
    half = sharp.shape[1] // 2
    left_sharp, right_sharp = blurred.copy(), blurred.copy()
    left_sharp[:, :half] = sharp[:, :half]
    right_sharp[:, half:] = sharp[:, half:]
    return left_sharp, right_sharp


def test_gff_picks_the_sharp_halves_of_a_multi_focus_pair() -> None:
    sharp = texture(11, (128, 192))
    near, far = multi_focus_pair(sharp)
    fused = BASELINES["gff"]([near, far])
    average = BASELINES["average"]([near, far])
    assert gradient_energy(fused) > 1.5 * gradient_energy(average)
    assert gradient_energy(fused) > 0.8 * gradient_energy(sharp)
    inner = np.s_[8:-8, 8:88], np.s_[8:-8, 104:-8]  # away from the border and the seam
    for region in inner:
        assert np.abs(fused[region] - sharp[region]).mean() < 0.25 * np.abs(average[region] - sharp[region]).mean()


def test_gff_on_a_real_multi_focus_pair(datasets: Path) -> None:
    sharp = luma(datasets / "ivf" / "vifb" / "A" / "kettle.jpg")
    near, far = multi_focus_pair(sharp)
    fused = BASELINES["gff"]([near, far])
    assert gradient_energy(fused) > 1.5 * gradient_energy(BASELINES["average"]([near, far]))


@pytest.mark.parametrize("name", ["fight", "kettle", "carLight"])
def test_gff_matches_vifbs_gff_output(datasets: Path, name: str) -> None:
    """VIFB stores the authors' MATLAB GFF results; ours differs by JPEG and colour handling only."""
    vifb = datasets / "ivf" / "vifb"
    fused = BASELINES["gff"]([luma(vifb / "A" / f"{name}.jpg"), luma(vifb / "B" / f"{name}.jpg")])
    reference = luma(vifb / "results" / "GFF" / f"{name}.jpg")
    assert np.abs(fused - reference).mean() < 0.006


def test_real_infrared_visible_pair(datasets: Path) -> None:
    vifb = datasets / "ivf" / "vifb"
    sources = [luma(vifb / "A" / "fight.jpg"), luma(vifb / "B" / "fight.jpg")]
    qabf = {m: score(sources, BASELINES[m](sources), ["Qabf"])["Qabf"] for m in ("average", "laplacian", "gff")}
    assert qabf["gff"] > qabf["average"] + 0.1 and qabf["laplacian"] > qabf["average"] + 0.1
    for method in METHODS:
        np.testing.assert_allclose(BASELINES[method](sources), BASELINES[method](sources[::-1]), rtol=0, atol=1e-6)


def test_mertens_beats_average_on_a_real_bracket(datasets: Path) -> None:
    frames = sorted((datasets / "mef" / "merianos" / "seq" / "Flowers").iterdir())
    sources = [cv2.resize(luma(f), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA) for f in frames]
    mertens = score(sources, BASELINES["mertens"](sources), ["MEF-SSIM"])["MEF-SSIM"]
    average = score(sources, BASELINES["average"](sources), ["MEF-SSIM"])["MEF-SSIM"]
    assert mertens > average + 0.02
