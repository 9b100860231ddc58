"""Reading image files: float32 pixels in [0, 1] plus the metadata worth keeping.

Decoders: Pillow for JPEG and BMP (it reports truncation, OpenCV does not), OpenCV for PNG (Pillow cannot hold
16-bit RGB), tifffile for TIFF (any bit depth, planar, multiband, striped or tiled; its compressed
variants LZW, Deflate, PackBits and JPEG through imagecodecs), scipy for MATLAB .mat arrays, rawpy (LibRaw)
for camera RAW (pipeline.raw; the raw extra).
Every failure a user can cause becomes an `InputError` naming the file and the reason; dimensions are
checked from the header before any pixel is decoded.
"""

from __future__ import annotations

import io
import logging
import os
import struct
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

from tita_studio.errors import InputError
from tita_studio.pipeline import metadata as md
from tita_studio.pipeline.formats import (
    BMP_SUFFIXES,
    JPEG_SUFFIXES,
    MAT_SUFFIXES,
    PNG_SUFFIXES,
    RAW_SUFFIXES,
    READ_SUFFIXES,
    TIFF_SUFFIXES,
)
from tita_studio.pipeline.multiband import MultibandConfig, reduce_multiband
from tita_studio.pipeline.raw import read_raw
from tita_studio.pipeline.source import ImageMeta, SourceImage

log = logging.getLogger(__name__)

# Pillow's bomb check reads a module global; the lock keeps two reader threads from racing on it.
_PIL_LIMIT_LOCK = threading.Lock()


@dataclass(frozen=True)
class ReadConfig:
    """Limits and thresholds applied while reading."""

    max_pixels: int = 200_000_000  # refuse larger images (decompression bombs) before decoding
    dark_level: float = 2 / 255  # a source whose maximum is below this is "all black"
    bright_level: float = 253 / 255  # a source whose minimum is above this is "all white"
    multiband: MultibandConfig = field(default_factory=MultibandConfig)


def read_image(path: str | os.PathLike[str], config: ReadConfig | None = None) -> SourceImage:
    """Read one source file; `file.mat:NAME` picks an array from a MATLAB file.

    Raises InputError for a missing, unreadable, corrupt, unsupported or oversized file, or for float
    samples that are not finite. Logs a warning for an all-black or all-white source.
    """
    cfg = config or ReadConfig()
    file_path, mat_key = split_mat_key(Path(path))
    if not file_path.is_file():
        raise InputError(f"{file_path}: no such file")
    suffix = file_path.suffix.lower()
    if suffix in JPEG_SUFFIXES + PNG_SUFFIXES + BMP_SUFFIXES:
        source = _read_pillow_header_first(file_path, cfg)
    elif suffix in TIFF_SUFFIXES:
        source = _read_tiff(file_path, cfg)
    elif suffix in MAT_SUFFIXES:
        source = _read_mat(file_path, mat_key, cfg)
    elif suffix in RAW_SUFFIXES:
        source = read_raw(file_path, cfg.max_pixels)
    else:
        raise InputError(
            f"{file_path}: unsupported format '{suffix or 'no suffix'}' "
            f"(supported: {', '.join(sorted(set(READ_SUFFIXES)))})"
        )
    if source.meta.exif and source.meta.exposure is None:
        source.meta.exposure = md.exposure_from_exif(md.load_exif(source.meta.exif))
    _warn_if_flat(source, cfg)
    log.info("read %s", source.describe())
    return source


def split_mat_key(path: Path) -> tuple[Path, str | None]:
    name = path.name
    lowered = name.lower()
    if ".mat:" in lowered:
        cut = lowered.index(".mat:") + len(".mat")
        return path.with_name(name[:cut]), name[cut + 1 :] or None
    return path, None


def _check_size(path: Path, width: int, height: int, cfg: ReadConfig) -> None:
    if width <= 0 or height <= 0:
        raise InputError(f"{path}: the header gives an empty image ({width}x{height})")
    if width * height > cfg.max_pixels:
        raise InputError(
            f"{path}: the header claims {width}x{height} = {width * height / 1e6:.0f} megapixels, more than "
            f"the limit of {cfg.max_pixels / 1e6:.0f}; refusing to decode (possible decompression bomb)"
        )


def _read_pillow_header_first(path: Path, cfg: ReadConfig) -> SourceImage:
    """JPEG, PNG and BMP: Pillow reads the header (size, EXIF, ICC) lazily, then the pixels are decoded."""
    data = path.read_bytes()
    try:
        im = _open_pillow(data, cfg.max_pixels)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: not a readable image ({exc})") from exc
    if im is None:
        raise InputError(f"{path}: the header claims more than {cfg.max_pixels / 1e6:.0f} megapixels; "
                         "refusing to decode (possible decompression bomb)")
    _check_size(path, im.width, im.height, cfg)
    if im.format not in ("JPEG", "PNG", "BMP"):
        raise InputError(f"{path}: the suffix says {path.suffix[1:].upper()} but the content is {im.format}, "
                         "which is read only from .tif/.tiff files")
    if path.suffix.lower() not in {"JPEG": JPEG_SUFFIXES, "PNG": PNG_SUFFIXES, "BMP": BMP_SUFFIXES}[im.format]:
        log.warning("%s: the content is %s, not what the suffix says; read as %s", path, im.format, im.format)
    try:
        exif = im.getexif()  # for a PNG this reads up to the eXIf chunk, which may follow the pixels
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: corrupt or truncated {im.format} ({exc})") from exc
    orientation = int(exif.get(md.ORIENTATION_TAG, 1) or 1)
    icc = im.info.get("icc_profile") or None
    meta = ImageMeta(path=path, format=im.format, width=im.width, height=im.height, channels=0, bit_depth=8,
                     dtype="uint8", orientation=orientation, exif=md.clean_exif(exif), icc=icc,
                     exposure=md.exposure_from_exif(exif))
    array = _decode_png(path, data, cfg.max_pixels) if im.format == "PNG" else _decode_pillow(path, im)
    return _to_source(array, meta, alpha_last=array.ndim == 3 and array.shape[2] in (2, 4))


def _open_pillow(data: bytes, max_pixels: int) -> Image.Image | None:
    """Pillow's lazy open with our pixel limit (None when the header is over it)."""
    with _PIL_LIMIT_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            return Image.open(io.BytesIO(data))
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            return None
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def _decode_pillow(path: Path, im: Image.Image) -> np.ndarray:
    """JPEG and BMP pixels, 8-bit grey or RGB."""
    try:
        im.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: corrupt or truncated {im.format} ({exc})") from exc
    if im.mode in ("CMYK", "P", "1"):
        im = im.convert("RGB" if im.mode != "1" else "L")
    if im.mode not in ("L", "RGB", "RGBA"):
        raise InputError(f"{path}: unsupported {im.format} colour mode {im.mode}")
    return np.asarray(im)


def _decode_png(path: Path, data: bytes, max_pixels: int) -> np.ndarray:
    try:
        fresh = _open_pillow(data, max_pixels)
        if fresh is not None:
            fresh.verify()  # walks every chunk and checks its CRC: catches truncation OpenCV would skip past
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: corrupt or truncated PNG ({exc})") from exc
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise InputError(f"{path}: corrupt PNG (the decoder gave no pixels)")
    if array.ndim == 3:
        code = cv2.COLOR_BGRA2RGBA if array.shape[2] == 4 else cv2.COLOR_BGR2RGB
        array = cv2.cvtColor(array, code)
    return array


def _read_tiff(path: Path, cfg: ReadConfig) -> SourceImage:
    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            _check_size(path, int(page.imagewidth), int(page.imagelength), cfg)
            if page.photometric == tifffile.PHOTOMETRIC.PALETTE:
                raise InputError(f"{path}: palette TIFF is not supported; save it as RGB")
            if page.photometric == tifffile.PHOTOMETRIC.SEPARATED:
                raise InputError(f"{path}: CMYK TIFF is not supported; save it as RGB")
            _check_tiff_codec(path, page.compression)
            array = page.asarray()
            axes = page.axes
            icc_tag = page.tags.get(md.ICC_TIFF_TAG)
            icc = bytes(icc_tag.value) if icc_tag is not None else None
            extrasamples = tuple(page.extrasamples or ())
            photometric = page.photometric
    except InputError:
        raise
    except (tifffile.TiffFileError, ValueError, OSError, KeyError, IndexError, struct.error) as exc:
        # tifffile lets struct.error and IndexError escape on some malformed headers
        raise InputError(f"{path}: corrupt or truncated TIFF ({exc})") from exc
    if "S" in axes and axes.index("S") < axes.index("Y"):
        array = np.moveaxis(array, axes.index("S"), -1)
    array = np.squeeze(array) if array.ndim > 3 else array
    if array.ndim not in (2, 3):
        raise InputError(f"{path}: TIFF with axes {axes} is not a single image")
    exif_bytes, orientation = _tiff_exif(path)
    channels = 1 if array.ndim == 2 else array.shape[2]
    meta = ImageMeta(path=path, format="TIFF", width=array.shape[1], height=array.shape[0], channels=channels,
                     bit_depth=array.dtype.itemsize * 8 if array.dtype != bool else 1, dtype=array.dtype.name,
                     orientation=orientation, exif=exif_bytes, icc=icc)
    if photometric == tifffile.PHOTOMETRIC.MINISWHITE and channels == 1:
        array = _invert(array)
    alpha_last = channels in (2, 4) and bool(extrasamples) and extrasamples[-1] in (1, 2)
    if channels > 3 and not (channels == 4 and alpha_last):
        return _multiband_source(path, array, meta, cfg)
    return _to_source(array, meta, alpha_last=alpha_last)


def _check_tiff_codec(path: Path, compression: int) -> None:
    """A valid file whose codec we lack is unsupported, not corrupt: say which codec and what to install."""
    if compression in tifffile.TIFF.DECOMPRESSORS:
        return
    try:
        name = tifffile.COMPRESSION(compression).name
    except ValueError:
        name = f"code {compression}"
    raise InputError(f"{path}: this TIFF uses {name} compression, which this installation cannot decode "
                     "(the imagecodecs package decodes LZW, Deflate, PackBits, JPEG and more: "
                     "pip install imagecodecs); save it uncompressed or with LZW/Deflate")


def _invert(array: np.ndarray) -> np.ndarray:
    if np.issubdtype(array.dtype, np.integer):
        return np.iinfo(array.dtype).max - array
    return 1.0 - array


def _tiff_exif(path: Path) -> tuple[bytes | None, int]:
    """EXIF of a TIFF through Pillow; a TIFF Pillow cannot open (multiband, float) just has none."""
    try:
        with Image.open(path) as im:
            exif = im.getexif()
            return md.clean_exif(exif), int(exif.get(md.ORIENTATION_TAG, 1) or 1)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        log.debug("%s: no EXIF read (%s)", path, exc)
        return None, 1


def _read_mat(path: Path, key: str | None, cfg: ReadConfig) -> SourceImage:
    """A 2-D or 3-D numeric array from a MATLAB file, scaled with the multiband rule (no fixed range)."""
    import scipy.io

    try:
        content = scipy.io.loadmat(path)
    except (ValueError, OSError, NotImplementedError, TypeError) as exc:
        raise InputError(f"{path}: not a readable MATLAB file ({exc})") from exc
    arrays = {k: v for k, v in content.items() if not k.startswith("__") and isinstance(v, np.ndarray)
              and v.ndim in (2, 3) and min(v.shape[:2]) > 1 and np.issubdtype(v.dtype, np.number)}
    if key is None:
        if len(arrays) != 1:
            raise InputError(f"{path}: holds several images ({', '.join(sorted(arrays))}); "
                             f"name one as {path.name}:NAME")
        key = next(iter(arrays))
    if key not in arrays:
        raise InputError(f"{path}: no image array named '{key}' (found: {', '.join(sorted(arrays)) or 'none'})")
    array = arrays[key]
    _check_size(path, array.shape[1], array.shape[0], cfg)
    rgb_hint = content.get("RGB_indexes")
    channels = 1 if array.ndim == 2 else array.shape[2]
    meta = ImageMeta(path=path.with_name(f"{path.name}:{key}"), format="MAT", width=array.shape[1],
                     height=array.shape[0], channels=channels, bit_depth=array.dtype.itemsize * 8,
                     dtype=array.dtype.name)
    _check_finite(path, array)
    hint = tuple(int(i) for i in np.ravel(rgb_hint)) if rgb_hint is not None else None
    return _multiband_source(path, array, meta, cfg, rgb_bands=hint)


def _multiband_source(path: Path, array: np.ndarray, meta: ImageMeta, cfg: ReadConfig,
                      rgb_bands: tuple[int, ...] | None = None) -> SourceImage:
    _check_finite(path, array)
    bands = array[..., None] if array.ndim == 2 else array
    try:
        reduced = reduce_multiband(bands, cfg.multiband, rgb_bands=rgb_bands)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from exc
    meta.band_rule = reduced.rule
    pixels = reduced.rgb if reduced.rgb is not None else reduced.intensity
    pixels = _apply_orientation(pixels, meta.orientation)
    intensity = _apply_orientation(reduced.intensity, meta.orientation)
    meta.height, meta.width = pixels.shape[:2]
    return SourceImage(pixels=np.ascontiguousarray(pixels), meta=meta,
                       intensity=np.ascontiguousarray(intensity) if reduced.rgb is not None else None)


def _check_finite(path: Path, array: np.ndarray) -> None:
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        raise InputError(f"{path}: {bad} sample(s) are NaN or infinite")


def to_float(path: Path, array: np.ndarray) -> np.ndarray:
    """Samples as float32 in [0, 1]: integers over their type's full range, floats as they are."""
    if array.dtype == bool:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.unsignedinteger):
        return array.astype(np.float32) / np.float32(np.iinfo(array.dtype).max)
    if np.issubdtype(array.dtype, np.floating):
        _check_finite(path, array)
        out = array.astype(np.float32)
        low, high = float(out.min()), float(out.max())
        if low < 0.0 or high > 1.0:
            log.warning("%s: float samples span [%.3g, %.3g]; clipped to [0, 1]", path, low, high)
            out = np.clip(out, 0.0, 1.0)
        return out
    raise InputError(f"{path}: unsupported sample type {array.dtype} (use unsigned integers or floats)")


def _to_source(array: np.ndarray, meta: ImageMeta, *, alpha_last: bool) -> SourceImage:
    values = to_float(meta.path, array)
    meta.dtype = array.dtype.name
    meta.bit_depth = 1 if array.dtype == bool else array.dtype.itemsize * 8
    meta.channels = 1 if array.ndim == 2 else array.shape[2]
    meta.has_alpha = alpha_last
    alpha = None
    if alpha_last:
        alpha = values[..., -1]
        values = values[..., :-1]
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[..., 0]
    if values.ndim == 3 and values.shape[2] != 3:
        raise InputError(f"{meta.path}: unsupported channel layout ({array.shape[2]} channels)")
    values = _apply_orientation(values, meta.orientation)
    if alpha is not None:
        alpha = np.ascontiguousarray(_apply_orientation(alpha, meta.orientation))
    meta.height, meta.width = values.shape[:2]
    return SourceImage(pixels=np.ascontiguousarray(values), meta=meta, alpha=alpha)


def _apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip stored pixels upright according to EXIF orientation 1..8."""
    transposed = np.swapaxes(array, 0, 1)
    return {
        2: lambda: array[:, ::-1],
        3: lambda: array[::-1, ::-1],
        4: lambda: array[::-1],
        5: lambda: transposed,
        6: lambda: transposed[:, ::-1],
        7: lambda: transposed[::-1, ::-1],
        8: lambda: transposed[::-1],
    }.get(orientation, lambda: array)()


def _warn_if_flat(source: SourceImage, cfg: ReadConfig) -> None:
    values = source.intensity if source.intensity is not None else source.pixels
    if float(values.max()) <= cfg.dark_level:
        log.warning("%s: the image is all black; the fusion will get nothing from it", source.meta.path)
    elif float(values.min()) >= cfg.bright_level:
        log.warning("%s: the image is all white; the fusion will get nothing from it", source.meta.path)
