"""Camera RAW through rawpy: real DNG files written by the test from a known linear scene.

A DNG is a TIFF with documented tags; each test file holds a Bayer (RGGB) mosaic of a scene known in linear
sRGB, seen through a camera matrix unlike sRGB, exposed for a set time / ISO / aperture, with black and
white levels, the camera's colour matrix (ColorMatrix1 = XYZ -> camera), its as-shot neutral and an EXIF
directory, lit by a warm light. LibRaw must undo all of it: white balance, colour, relative exposure.
"""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import ExifTags, Image

from tita_studio.cli.main import main
from tita_studio.errors import InputError
from tita_studio.pipeline import metadata as md
from tita_studio.pipeline.exposure import relative_evs
from tita_studio.pipeline.fuse import FuseOptions, fuse_files, fuse_sources
from tita_studio.pipeline.kinds import classify
from tita_studio.pipeline.reading import read_image
from tita_studio.pipeline.writing import WriteOptions

needs_rawpy = pytest.mark.skipif(importlib.util.find_spec("rawpy") is None,
                                 reason="the raw extra (rawpy) is not installed")

H, W = 64, 96
BLACK, WHITE = 512, 16383
XYZ_FROM_SRGB = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
# camera RGB from linear sRGB: other primaries and channel gains than sRGB
CAMERA = np.diag([0.6, 1.0, 0.8]) @ np.array([[0.55, 0.35, 0.10], [0.15, 0.75, 0.10], [0.05, 0.25, 0.70]])
ILLUMINANT = np.array([1.3, 1.0, 0.6])  # warm light, in camera channels: only the as-shot neutral removes it
PATCHES = {  # linear sRGB reflectances of flat patches (2 x 3 grid, 32 x 32 pixels each)
    (0, 0): (0.18, 0.18, 0.18), (0, 1): (0.40, 0.12, 0.08), (0, 2): (0.10, 0.30, 0.10),
    (1, 0): (0.08, 0.12, 0.40), (1, 1): (0.45, 0.40, 0.10), (1, 2): (0.05, 0.05, 0.05),
}
SCENE = np.zeros((H, W, 3))
for (row, col), rgb in PATCHES.items():
    SCENE[32 * row : 32 * row + 32, 32 * col : 32 * col + 32] = rgb
SCENE[28:36] = np.linspace(0.0, 0.6, W)[None, :, None]  # a smooth band: many levels


def _rational(value: float, denominator: int = 10000) -> tuple[int, int]:
    return round(value * denominator), denominator


def write_dng(path: Path, time: float, iso: int = 100, aperture: float = 8.0, bias: float = 0.0,
              orientation: int = 1, gain: float = 1.0) -> Path:
    """A real DNG: RGGB mosaic of SCENE through CAMERA, scaled by time * iso / aperture^2 (x gain)."""
    camera_rgb = SCENE @ CAMERA.T * ILLUMINANT
    neutral = CAMERA @ np.ones(3) * ILLUMINANT
    exposure = gain * time * iso / aperture**2 / (1 / 60 * 100 / 64)  # the 1/60 s, ISO 100, f/8 frame: x1
    signal = camera_rgb * exposure
    mosaic = np.empty((H, W))
    mosaic[0::2, 0::2] = signal[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = signal[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = signal[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = signal[1::2, 1::2, 2]
    data = np.clip(np.rint(BLACK + mosaic * (WHITE - BLACK)), 0, WHITE).astype(np.uint16)
    color_matrix = CAMERA @ np.linalg.inv(XYZ_FROM_SRGB)  # XYZ -> camera
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Testmaker", "Bracketcam 1"
    exif.get_ifd(ExifTags.IFD.Exif).update({
        md.EXPOSURE_TIME_TAG: time, md.F_NUMBER_TAG: aperture, md.ISO_TAG: iso, md.EXPOSURE_BIAS_TAG: bias,
        0x9003: "2024:05:01 10:00:00", 0xA434: "Test 50mm F1.8", 0x920A: 50.0,
    })
    tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, "s", 0, "Testmaker Bracketcam 1", True),  # UniqueCameraModel
        (0x0112, "H", 1, (orientation,), True),
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern: R G / G B
        (50714, "H", 1, (BLACK,), True),  # BlackLevel
        (50717, "H", 1, (WHITE,), True),  # WhiteLevel
        (50721, "2i", 9, sum((_rational(v) for v in color_matrix.ravel()), ()), True),  # ColorMatrix1
        (50778, "H", 1, (21,), True),  # CalibrationIlluminant1: D65
        (50728, "2I", 3, sum((_rational(v / neutral.max()) for v in neutral), ()), True),  # AsShotNeutral
        *md.tiff_extratags(exif, None),
    ]
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, data, photometric=32803, subfiletype=0, extratags=tags)
    path.write_bytes(md.patch_tiff_sub_ifds(buffer.getvalue(), exif))
    return path


def _linear(pixels: np.ndarray) -> np.ndarray:
    return np.where(pixels <= 0.04045, pixels / 12.92, ((pixels + 0.055) / 1.055) ** 2.4)


def _patch(pixels: np.ndarray, row: int, col: int) -> np.ndarray:
    """Mean linear RGB of a patch's centre (away from demosaicing edges)."""
    return _linear(pixels[32 * row + 8 : 32 * row + 24, 32 * col + 8 : 32 * col + 24]).reshape(-1, 3).mean(axis=0)


@pytest.fixture
def bracket(tmp_path) -> list[Path]:
    """-2, 0, +2 EV by exposure time, written in a scrambled name order."""
    return [write_dng(tmp_path / "b.dng", 1 / 240), write_dng(tmp_path / "c.dng", 1 / 60, bias=0.0),
            write_dng(tmp_path / "a.dng", 1 / 15, bias=2.0)]


@needs_rawpy
def test_white_balance_and_colour_come_out_as_the_scene(bracket):
    source = read_image(bracket[1])
    assert source.pixels.shape == (H, W, 3)
    grey = _patch(source.pixels, 0, 0)
    assert np.ptp(grey) / grey.mean() < 0.02  # the neutral patch is neutral: the camera's white balance
    scale = grey.mean() / 0.18
    for (row, col), rgb in PATCHES.items():  # chromaticity through the camera matrix and back
        np.testing.assert_allclose(_patch(source.pixels, row, col) / scale, rgb, rtol=0.05, atol=0.004)


@needs_rawpy
def test_bracket_order_relative_ev_and_preserved_exposure_ratios(bracket):
    sources = [read_image(p) for p in bracket]
    kind = classify(sources)
    names = [sources[i].meta.path.name for i in kind.order]
    assert names == ["a.dng", "c.dng", "b.dng"]  # brightest first, by exposure time
    assert sources[kind.reference].meta.path.name == "c.dng"
    assert relative_evs(sources, kind.reference) == pytest.approx([-2.0, 0.0, 2.0])
    dark, mid = (_patch(s.pixels, 0, 0) for s in sources[:2])
    np.testing.assert_allclose(mid / dark, 4.0, rtol=0.03)  # one fixed curve: linear ratios survive
    result = fuse_sources(sources, FuseOptions(method="average", align="none"))
    assert [s.meta.exposure.ev for s in result.sources] == pytest.approx([2.0, 0.0, -2.0])
    assert result.sources[0].meta.exposure.bias == pytest.approx(2.0)


@needs_rawpy
def test_relative_ev_counts_iso_and_aperture(tmp_path):
    base = read_image(write_dng(tmp_path / "x.dng", 1 / 60, iso=400, aperture=8.0))
    same = read_image(write_dng(tmp_path / "y.dng", 1 / 60, iso=100, aperture=4.0))  # -2 EV ISO, +2 EV aperture
    longer = read_image(write_dng(tmp_path / "z.dng", 1 / 30, iso=400, aperture=8.0))
    assert relative_evs([base, same, longer], 0) == pytest.approx([0.0, 0.0, 1.0])


@needs_rawpy
def test_recorded_exposure_orders_the_bracket_over_brightness(tmp_path):
    """A frame recorded as longer but darker in its pixels (say, a cloud passed) still counts as brighter."""
    recorded_longer = read_image(write_dng(tmp_path / "a.dng", 1 / 30, gain=0.2))
    brighter_pixels = read_image(write_dng(tmp_path / "b.dng", 1 / 60))
    assert recorded_longer.pixels.mean() < brighter_pixels.pixels.mean()
    order = classify([recorded_longer, brighter_pixels], "bracket").order
    assert order == (0, 1)  # brightest first: the longer exposure


@needs_rawpy
def test_sixteen_bits_and_metadata_reach_the_output(bracket, tmp_path):
    source = read_image(bracket[1])
    assert (source.meta.format, source.meta.bit_depth) == ("DNG", 16)
    assert len(np.unique(source.pixels[28:36])) > 512  # more levels than 8 bits hold (one row of a band)
    assert "1/60 s f/8 ISO 100" in source.describe()
    out = tmp_path / "fused.tif"
    result, written = fuse_files(bracket, out, FuseOptions(method="mertens", align="none"), WriteOptions())
    with tifffile.TiffFile(written) as tif:
        assert tif.pages.first.dtype == np.uint16
        exif = tif.pages.first.tags["ExifTag"].value
        assert tif.pages.first.tags["Make"].value == "Testmaker"
    assert exif["ExposureTime"] == pytest.approx(1 / 60) and exif["FNumber"] == pytest.approx(8.0)
    assert exif["ISOSpeedRatings"] == 100 and exif["LensModel"] == "Test 50mm F1.8"
    assert exif["DateTimeOriginal"] == "2024:05:01 10:00:00"
    assert result.sources[result.reference].meta.path.name == "c.dng"


@needs_rawpy
def test_cli_fuses_a_dng_bracket_to_16_bit_png(bracket, tmp_path, capsys):
    out = tmp_path / "fused.png"
    assert main(["fuse", *map(str, bracket), "-o", str(out), "--method", "mertens", "--deghost"]) == 0
    fused = read_image(out)
    assert fused.meta.bit_depth == 16 and fused.shape == (H, W)
    exposure = md.exposure_from_exif(md.load_exif(fused.meta.exif))
    assert exposure is not None and exposure.time == pytest.approx(1 / 60)
    assert "exposure bracket" in capsys.readouterr().out


@needs_rawpy
def test_orientation_is_applied(tmp_path):
    source = read_image(write_dng(tmp_path / "r.dng", 1 / 60, orientation=6))
    assert source.shape == (W, H) and source.meta.orientation == 6


@needs_rawpy
def test_bad_raw_files_are_refused_naming_the_file(tmp_path, bracket):
    garbage = tmp_path / "noise.cr2"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 255, 5000, np.uint8).tobytes())
    with pytest.raises(InputError, match=r"noise\.cr2: LibRaw cannot read this file as camera RAW"):
        read_image(garbage)
    empty = tmp_path / "empty.nef"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.nef"):
        read_image(empty)
    truncated = tmp_path / "cut.dng"
    truncated.write_bytes(bracket[0].read_bytes()[:600])
    with pytest.raises(InputError, match=r"cut\.dng"):
        read_image(truncated)
    assert main(["fuse", str(garbage), str(bracket[0]), "-o", str(tmp_path / "o.png")]) == 2


def test_without_the_extra_a_raw_suffix_says_what_to_install(bracket, monkeypatch):
    monkeypatch.setitem(sys.modules, "rawpy", None)  # import rawpy now raises ImportError
    with pytest.raises(InputError, match=r"c\.dng: .*pip install 'tita-studio\[raw\]'"):
        read_image(bracket[1])
