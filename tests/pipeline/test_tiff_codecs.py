"""Compressed TIFF as photographers' tools write it: read exactly, written losslessly, never called corrupt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile

from tita_studio.errors import InputError
from tita_studio.pipeline.formats import TIFF_COMPRESSIONS
from tita_studio.pipeline.reading import read_image
from tita_studio.pipeline.writing import WriteOptions, write_image


def _samples(dtype: type, channels: int, seed: int = 0) -> np.ndarray:
    """A smooth gradient with noise: compresses like a photograph, not like a flat test card."""
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    y, x = np.mgrid[0:70, 0:90].astype(np.float64)
    base = (x / 89 * 0.7 + y / 69 * 0.3)[..., None] * np.linspace(0.6, 1.0, channels)
    noisy = np.clip(base + rng.normal(0, 0.02, base.shape), 0, 1)
    out = np.rint(noisy * top).astype(dtype)
    return out[..., 0] if channels == 1 else out


def _expected(samples: np.ndarray) -> np.ndarray:
    return samples.astype(np.float32) / np.float32(np.iinfo(samples.dtype).max)


@pytest.mark.parametrize("compression", ["lzw", "zlib", "packbits", "none"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("tiled", [False, True])
def test_lossless_tiff_reads_bit_exactly(tmp_path: Path, compression: str, dtype: type, channels: int,
                                         tiled: bool) -> None:
    samples = _samples(dtype, channels)
    path = tmp_path / "in.tif"
    photometric = "minisblack" if channels == 1 else "rgb"
    tifffile.imwrite(path, samples, photometric=photometric, compression=None if compression == "none" else compression,
                     tile=(32, 32) if tiled else None, extrasamples=("unassalpha",) if channels == 4 else None)
    source = read_image(path)
    colour = samples[..., :3] if channels == 4 else samples
    np.testing.assert_array_equal(source.pixels, _expected(colour))
    if channels == 4:
        np.testing.assert_array_equal(source.alpha, _expected(samples[..., 3]))
    assert source.meta.bit_depth == np.dtype(dtype).itemsize * 8


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_opencv_default_lzw_tiff_is_read(tmp_path: Path, dtype: type) -> None:
    """OpenCV writes LZW by default, as Lightroom and Photoshop do: the reported 'corrupt' file."""
    samples = _samples(dtype, 3)
    path = tmp_path / "opencv.tif"
    assert cv2.imwrite(str(path), cv2.cvtColor(samples, cv2.COLOR_RGB2BGR))
    with tifffile.TiffFile(path) as tif:
        assert tif.pages.first.compression == tifffile.COMPRESSION.LZW
    np.testing.assert_array_equal(read_image(path).pixels, _expected(samples))


def test_jpeg_in_tiff_is_read_like_the_jpeg_it_holds(tmp_path: Path, datasets: Path) -> None:
    first = sorted((datasets / "mef/merianos/seq/Flowers").glob("*.jpg"))[0]
    photo = np.rint(read_image(first).pixels * 255).astype(np.uint8)
    path = tmp_path / "jpeg.tif"
    tifffile.imwrite(path, photo[:256, :320], photometric="rgb", compression="jpeg", compressionargs={"level": 95})
    pixels = read_image(path).pixels
    error = np.abs(pixels - photo[:256, :320].astype(np.float32) / 255)
    assert pixels.shape == (256, 320, 3) and error.mean() < 0.02  # lossy, but the same picture


@pytest.mark.parametrize("compression", sorted(TIFF_COMPRESSIONS))
@pytest.mark.parametrize("channels", [1, 3])
def test_16_bit_tiff_round_trips_bit_exactly(tmp_path: Path, compression: str, channels: int) -> None:
    samples = _samples(np.uint16, channels, seed=3)
    options = WriteOptions(bit_depth=16, tiff_compression=compression)
    out = write_image(tmp_path / "out.tif", _expected(samples), options)
    with tifffile.TiffFile(out) as tif:
        written = tif.pages.first
        assert written.compression == {"deflate": 8, "lzw": 5, "packbits": 32773, "none": 1}[compression]
        np.testing.assert_array_equal(written.asarray(), samples)
    np.testing.assert_array_equal(read_image(out).pixels, _expected(samples))


def test_unknown_tiff_compression_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown TIFF compression"):
        write_image(tmp_path / "o.tif", np.zeros((4, 4), np.float32), WriteOptions(tiff_compression="zip9"))
    assert not (tmp_path / "o.tif").exists()


def test_without_imagecodecs_a_valid_lzw_tiff_is_unsupported_not_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "lzw.tif"
    tifffile.imwrite(path, _samples(np.uint16, 3), photometric="rgb", compression="lzw")
    probe = ("import sys; sys.modules['imagecodecs'] = None\n"
             "from tita_studio.errors import InputError\nfrom tita_studio.pipeline.reading import read_image\n"
             f"try:\n    read_image({str(path)!r})\nexcept InputError as exc:\n    print(exc)\n")
    message = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "LZW compression" in message and "imagecodecs" in message and "corrupt" not in message
