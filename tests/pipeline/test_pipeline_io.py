"""Reading and writing: precision, metadata, orientation, refusals and atomicity."""

from __future__ import annotations

import io
import logging
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageOps

from tita_studio import __version__
from tita_studio.errors import InputError
from tita_studio.pipeline.metadata import load_exif
from tita_studio.pipeline.reading import ReadConfig, read_image
from tita_studio.pipeline.writing import WriteOptions, write_image

ICC = b"\x00\x00\x01\x00fake-icc-profile" + bytes(range(64))


def ramp(height: int = 64, width: int = 1024, channels: int = 3) -> np.ndarray:
    """A smooth float ramp that needs far more than 8 bits to store."""
    x = np.linspace(0.0, 1.0, height * width, dtype=np.float32).reshape(height, width)
    if channels == 1:
        return x
    return np.dstack([x, x[::-1], x[:, ::-1]][:channels])


def photo_with_exif(path: Path, orientation: int = 1) -> Path:
    """A small JPEG carrying camera EXIF, an ICC profile and an orientation."""
    rng = np.random.default_rng(0)
    pixels = (rng.random((30, 40, 3)) * 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x010F] = "TestMake"
    exif[0x0110] = "TestModel"
    exif[0x0112] = orientation
    exif[0x8769] = {0x9003: "2024:01:02 03:04:05", 0x829A: 0.01}
    Image.fromarray(pixels).save(path, exif=exif.tobytes(), icc_profile=ICC, quality=95)
    return path


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("channels", [1, 3])
def test_16_bit_round_trip_keeps_more_than_8_bits(tmp_path: Path, suffix: str, channels: int) -> None:
    original = ramp(channels=channels)
    out = write_image(tmp_path / f"out{suffix}", original, WriteOptions(bit_depth=16))
    back = read_image(out)
    assert back.pixels.dtype == np.float32
    assert back.meta.bit_depth == 16
    assert np.abs(back.pixels - original).max() <= 0.5 / 65535 + 1e-7
    assert np.unique(back.pixels).size > 4096  # an 8-bit path would leave at most 256 levels


def test_16_bit_tiff_input_keeps_precision(tmp_path: Path) -> None:
    samples = (ramp() * 65535).round().astype(np.uint16)
    tifffile.imwrite(tmp_path / "in.tif", samples, photometric="rgb")
    back = read_image(tmp_path / "in.tif")
    assert np.array_equal(np.rint(back.pixels * 65535).astype(np.uint16), samples)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_rgba_and_grey_alpha_are_read_with_alpha(tmp_path: Path, suffix: str) -> None:
    rgba = np.dstack([ramp(8, 16), np.full((8, 16), 0.5, np.float32)])
    out = write_image(tmp_path / f"rgba{suffix}", rgba, WriteOptions(bit_depth=8))
    back = read_image(out)
    assert back.pixels.shape == (8, 16, 3)
    assert back.alpha is not None and np.allclose(back.alpha, 128 / 255)
    assert back.meta.has_alpha


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    path = photo_with_exif(tmp_path / "rotated.jpg", orientation=6)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)), np.float32) / 255
    source = read_image(path)
    assert source.pixels.shape == (40, 30, 3)
    assert np.allclose(source.pixels, expected, atol=1e-6)
    assert "orientation 6" in source.describe()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    path = photo_with_exif(tmp_path / "o.jpg", orientation=orientation)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)), np.float32) / 255
    assert np.allclose(read_image(path).pixels, expected, atol=1e-6)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif"])
def test_exif_and_icc_survive_a_write(tmp_path: Path, suffix: str) -> None:
    source = read_image(photo_with_exif(tmp_path / "src.jpg", orientation=6))
    out = write_image(tmp_path / f"fused{suffix}", source.pixels, meta=source.meta)
    back = read_image(out)
    assert back.meta.icc == ICC
    exif = load_exif(back.meta.exif)
    assert exif[0x010F] == "TestMake" and exif[0x0110] == "TestModel"
    assert exif[0x0131] == f"TITA Studio {__version__}"
    assert exif.get(0x0112, 1) == 1  # pixels are stored upright
    assert exif.get_ifd(0x8769)[0x9003] == "2024:01:02 03:04:05"
    assert back.pixels.shape == source.pixels.shape


def test_real_camera_exif_survives_a_tiff_write(tmp_path: Path, datasets: Path) -> None:
    source = read_image(datasets / "mff/focus_stacks/seq/chimpstackr_low_res/DSC_0356.jpg")
    out = write_image(tmp_path / "fused.tif", source.pixels, WriteOptions(bit_depth=16), meta=source.meta)
    tags = tifffile.TiffFile(out).pages.first.tags
    assert tags["Model"].value == "NIKON D3300"
    assert "ExposureTime" in tags["ExifTag"].value
    assert load_exif(read_image(out).meta.exif)[0x0110] == "NIKON D3300"


def test_real_files_of_each_kind_are_read(datasets: Path) -> None:
    png = read_image(next((datasets / "mef/hdrps/seq").glob("*/*.png")))
    jpg = read_image(datasets / "mff/focus_stacks/seq/pcb/pcb_001.jpg")
    for source in (png, jpg):
        assert source.pixels.dtype == np.float32 and source.pixels.ndim == 3
        assert source.pixels.min() >= 0.0 and source.pixels.max() <= 1.0
    assert "JPEG 2048x1536 RGB 8-bit" in jpg.describe()


# ------------------------------------------------------------------------------------------- multiband


def test_mat_multiband_and_pan(datasets: Path) -> None:
    mat = datasets / "pan/wv2/imgWV2.mat"
    ms = read_image(f"{mat}:I_MS")
    pan = read_image(f"{mat}:I_PAN")
    assert ms.pixels.shape == (320, 320, 3) and ms.intensity is not None and ms.intensity.shape == (320, 320)
    assert "RGB = bands 5, 3, 2" in ms.describe()
    assert pan.is_grey and pan.pixels.shape == (1280, 1280)
    with pytest.raises(InputError, match="I_MS, I_PAN"):
        read_image(mat)
    with pytest.raises(InputError, match="no image array named 'NOPE'"):
        read_image(f"{mat}:NOPE")


@pytest.mark.parametrize(("bands", "rgb"), [(4, (2, 1, 0)), (8, (4, 2, 1)), (5, (0, 1, 2))])
def test_multiband_tiff_rule(tmp_path: Path, bands: int, rgb: tuple[int, int, int]) -> None:
    values = np.arange(1, bands + 1, dtype=np.uint16) * 100
    cube = np.broadcast_to(values, (6, 7, bands)).copy()
    tifffile.imwrite(tmp_path / "ms.tif", cube, photometric="minisblack", planarconfig="contig")
    source = read_image(tmp_path / "ms.tif")
    scale = float(np.percentile(cube.astype(np.float32), 99.8))
    assert np.allclose(source.pixels[0, 0], [values[i] / scale for i in rgb], atol=1e-6)
    assert np.isclose(source.intensity[0, 0], values.mean() / scale, atol=1e-6)


# ----------------------------------------------------------------------------------------- bad inputs


def tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def bomb_png() -> bytes:
    """A PNG whose IHDR claims 100000 x 100000 pixels (CRC fixed so only the size is wrong)."""
    import zlib

    data = bytearray(tiny_png())
    struct.pack_into(">II", data, 16, 100_000, 100_000)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def bomb_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(buffer, format="JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 60_000, 60_000)
    return bytes(data)


def bomb_tiff(path: Path) -> None:
    tifffile.imwrite(path, np.zeros((2, 2), np.uint8))
    with tifffile.TiffFile(path) as tif:
        offsets = [tif.pages.first.tags[name].valueoffset for name in ("ImageWidth", "ImageLength")]
    data = bytearray(path.read_bytes())
    for offset in offsets:
        struct.pack_into("<I", data, offset, 50_000)
    path.write_bytes(bytes(data))


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def make_bad(kind: str, folder: Path) -> Path:
    if kind == "missing":
        return folder / "nothing.png"
    if kind == "corrupt":
        path = folder / "garbage.png"
        path.write_bytes(b"not an image at all" * 10)
    elif kind == "truncated-jpeg":
        path = folder / "cut.jpg"
        photo = photo_with_exif(folder / "whole.jpg")
        path.write_bytes(truncated(photo.read_bytes()))
        photo.unlink()
    elif kind == "truncated-png":
        path = folder / "cut.png"
        buffer = io.BytesIO()
        Image.fromarray((np.random.default_rng(1).random((64, 64)) * 255).astype(np.uint8)).save(buffer, "PNG")
        path.write_bytes(truncated(buffer.getvalue()))
    elif kind == "truncated-tiff":
        path = folder / "cut.tif"
        tifffile.imwrite(path, (ramp(64, 64) * 65535).astype(np.uint16), photometric="rgb")
        path.write_bytes(truncated(path.read_bytes()))
    elif kind == "unsupported":
        path = folder / "picture.gif"
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(path)
    elif kind == "bomb-png":
        path = folder / "bomb.png"
        path.write_bytes(bomb_png())
    elif kind == "bomb-jpeg":
        path = folder / "bomb.jpg"
        path.write_bytes(bomb_jpeg())
    elif kind == "bomb-tiff":
        path = folder / "bomb.tif"
        bomb_tiff(path)
    elif kind == "nan-tiff":
        path = folder / "nan.tif"
        values = np.full((4, 4), 0.5, np.float32)
        values[1, 2] = np.nan
        tifffile.imwrite(path, values)
    elif kind == "inf-tiff":
        path = folder / "inf.tif"
        tifffile.imwrite(path, np.array([[0.1, np.inf]], np.float32))
    else:
        raise AssertionError(kind)
    return path


BAD = ["missing", "corrupt", "truncated-jpeg", "truncated-png", "truncated-tiff", "unsupported",
       "bomb-png", "bomb-jpeg", "bomb-tiff", "nan-tiff", "inf-tiff"]
REASONS = {"missing": "no such file", "unsupported": "unsupported format", "bomb": "megapixels",
           "nan": "NaN or infinite", "inf": "NaN or infinite", "truncated": "truncated", "corrupt": "not a readable"}


@pytest.mark.parametrize("kind", BAD)
def test_bad_input_is_refused_and_nothing_is_written(tmp_path: Path, kind: str) -> None:
    path = make_bad(kind, tmp_path)
    before = listing(tmp_path)
    with pytest.raises(InputError) as error:
        read_image(path, ReadConfig(max_pixels=200_000_000))
    message = str(error.value)
    assert path.name in message
    assert REASONS[kind.split("-")[0]] in message
    assert listing(tmp_path) == before


def test_pixel_limit_is_configurable(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    path.write_bytes(tiny_png())
    with pytest.raises(InputError, match="megapixels"):
        read_image(path, ReadConfig(max_pixels=15))
    assert read_image(path, ReadConfig(max_pixels=16)).shape == (4, 4)


@pytest.mark.parametrize(("value", "word"), [(0.0, "black"), (1.0, "white")])
def test_flat_sources_warn_but_read(tmp_path: Path, caplog: pytest.LogCaptureFixture, value: float, word: str) -> None:
    out = write_image(tmp_path / "flat.png", np.full((8, 8, 3), value, np.float32))
    with caplog.at_level(logging.WARNING, logger="tita_studio.pipeline.reading"):
        read_image(out)
    assert f"all {word}" in caplog.text


# -------------------------------------------------------------------------------------------- writing


def test_a_source_is_never_overwritten(tmp_path: Path) -> None:
    path = photo_with_exif(tmp_path / "src.jpg")
    original = path.read_bytes()
    source = read_image(path)
    with pytest.raises(InputError, match="source"):
        write_image(path, source.pixels, WriteOptions(force=True), meta=source.meta)
    with pytest.raises(InputError, match="source"):
        write_image(tmp_path / "." / "src.jpg", source.pixels, WriteOptions(force=True), sources=[path])
    assert path.read_bytes() == original
    assert listing(tmp_path) == ["src.jpg"]


def test_existing_output_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    write_image(out, np.zeros((4, 4), np.float32))
    with pytest.raises(InputError, match="already exists"):
        write_image(out, np.ones((4, 4), np.float32))
    assert read_image(out).pixels.max() == 0.0
    write_image(out, np.ones((4, 4), np.float32), WriteOptions(force=True))
    assert read_image(out).pixels.min() == 1.0


def test_atomic_write_leaves_no_temp_file_on_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.tif"
    write_image(out, np.zeros((4, 4), np.float32))
    original = out.read_bytes()

    def failing_replace(src: str, dst: str) -> None:
        raise OSError("disk went away")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk went away"):
        write_image(out, np.ones((4, 4), np.float32), WriteOptions(force=True))
    assert listing(tmp_path) == ["out.tif"]
    assert out.read_bytes() == original


@pytest.mark.parametrize(
    ("name", "pixels", "options", "reason"),
    [
        ("out.bmp", np.zeros((4, 4), np.float32), WriteOptions(), "cannot write"),
        ("out.jpg", np.zeros((4, 4), np.float32), WriteOptions(bit_depth=16), "8 bits"),
        ("out.jpg", np.zeros((4, 4, 4), np.float32), WriteOptions(), "no alpha"),
        ("out.png", np.zeros((4, 4, 5), np.float32), WriteOptions(), "shape"),
        ("missing/out.png", np.zeros((4, 4), np.float32), WriteOptions(), "does not exist"),
    ],
)
def test_bad_writes_write_nothing(tmp_path: Path, name: str, pixels: np.ndarray, options: WriteOptions,
                                  reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        write_image(tmp_path / name, pixels, options)
    assert listing(tmp_path) == []


def test_jpeg_quality_option(tmp_path: Path) -> None:
    noisy = np.random.default_rng(2).random((64, 64, 3)).astype(np.float32)
    low = write_image(tmp_path / "low.jpg", noisy, WriteOptions(jpeg_quality=30))
    high = write_image(tmp_path / "high.jpg", noisy, WriteOptions(jpeg_quality=98))
    assert low.stat().st_size < high.stat().st_size
