"""Writing the fused image: 8/16-bit PNG and TIFF, JPEG, with the reference source's EXIF/ICC, atomically,
never onto a source."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image

from tita_studio.atomic import atomic_write
from tita_studio.errors import InputError
from tita_studio.pipeline import metadata as md
from tita_studio.pipeline.formats import JPEG_SUFFIXES, PNG_SUFFIXES, TIFF_COMPRESSIONS, WRITE_SUFFIXES
from tita_studio.pipeline.reading import split_mat_key
from tita_studio.pipeline.source import ImageMeta

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WriteOptions:
    """How the fused file is written. bit_depth None: as the metadata source (16 if it was), else 8."""

    bit_depth: int | None = None  # 8 or 16 (PNG, TIFF); JPEG is always 8
    jpeg_quality: int = 95
    force: bool = False  # overwrite an existing output (never a source)
    keep_metadata: bool = True  # copy EXIF/ICC of the metadata source
    tiff_compression: str = "deflate"  # one of TIFF_COMPRESSIONS (all lossless)


def write_image(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    options: WriteOptions | None = None,
    *,
    meta: ImageMeta | None = None,
    sources: Sequence[str | os.PathLike[str]] = (),
) -> Path:
    """Write float pixels in [0, 1] (grey, RGB or RGBA) atomically; return the path written.

    `meta` is the source whose EXIF/ICC (and, by default, bit depth) the output keeps; `sources` are
    all input files: writing onto one of them is refused whatever `force` says.
    """
    opts = options or WriteOptions()
    out = check_output(path, opts, [*sources, *([meta.path] if meta is not None else [])])
    data = encode_image(out.suffix.lower(), pixels, opts, meta)
    atomic_write(out, data)
    log.info("wrote %s", out)
    return out


def check_output(path: str | os.PathLike[str], options: WriteOptions,
                 sources: Sequence[str | os.PathLike[str]] = ()) -> Path:
    """Refuse an output we would not write, before any work is spent on it."""
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise InputError(f"{out}: cannot write '{suffix or 'no suffix'}' (use .png, .tif, .tiff or .jpg)")
    _refuse_sources(out, sources)
    if out.exists() and not options.force:
        raise InputError(f"{out}: already exists; use --force (the overwrite option) to replace it")
    if not out.parent.is_dir():
        raise InputError(f"{out}: the folder {out.parent} does not exist")
    return out


def _refuse_sources(out: Path, sources: Sequence[str | os.PathLike[str]]) -> None:
    target = out.resolve()
    for src in sources:
        src_path, _ = split_mat_key(Path(src))
        if src_path.resolve() == target or (out.exists() and src_path.exists() and os.path.samefile(out, src_path)):
            raise InputError(f"{out}: is one of the source files; refusing to overwrite it")


def encode_image(suffix: str, pixels: np.ndarray, options: WriteOptions, meta: ImageMeta | None) -> bytes:
    """The bytes of an image file of type `suffix`, with metadata from `meta` when asked."""
    array = np.asarray(pixels, dtype=np.float32)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise InputError(f"cannot write pixels of shape {array.shape}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    keep = options.keep_metadata and meta is not None
    exif = md.output_exif(meta.exif if keep and meta else None)
    icc = meta.icc if keep and meta else None
    if suffix in JPEG_SUFFIXES:
        if options.bit_depth not in (None, 8):
            raise InputError("JPEG holds 8 bits per sample; write PNG or TIFF for 16 bits")
        if array.ndim == 3 and array.shape[2] == 4:
            raise InputError("JPEG has no alpha channel; write PNG or TIFF")
        return _encode_jpeg(_quantise(array, 8), exif, icc, options.jpeg_quality)
    depth = options.bit_depth or (16 if meta is not None and meta.bit_depth >= 16 else 8)
    if depth not in (8, 16):
        raise InputError(f"cannot write {depth}-bit samples (use 8 or 16)")
    samples = _quantise(array, depth)
    if suffix in PNG_SUFFIXES:
        return _encode_png(samples, exif, icc)
    if options.tiff_compression not in TIFF_COMPRESSIONS:
        raise InputError(f"unknown TIFF compression {options.tiff_compression!r}; "
                         f"choose one of {', '.join(TIFF_COMPRESSIONS)}")
    return _encode_tiff(samples, exif, icc, TIFF_COMPRESSIONS[options.tiff_compression])


def _quantise(array: np.ndarray, depth: int) -> np.ndarray:
    top = 255.0 if depth == 8 else 65535.0
    scaled = np.rint(np.clip(np.nan_to_num(array, nan=0.0), 0.0, 1.0) * np.float32(top))
    return scaled.astype(np.uint8 if depth == 8 else np.uint16)


def _encode_jpeg(samples: np.ndarray, exif: Image.Exif, icc: bytes | None, quality: int) -> bytes:
    buffer = io.BytesIO()
    extra = {"icc_profile": icc} if icc else {}
    Image.fromarray(samples).save(buffer, format="JPEG", quality=int(quality), exif=exif.tobytes(), **extra)
    return buffer.getvalue()


def _encode_png(samples: np.ndarray, exif: Image.Exif, icc: bytes | None) -> bytes:
    if samples.ndim == 3:
        samples = cv2.cvtColor(samples, cv2.COLOR_RGBA2BGRA if samples.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", samples)
    if not ok:
        raise InputError("the PNG encoder failed")
    return md.add_png_metadata(encoded.tobytes(), exif, icc)


def _encode_tiff(samples: np.ndarray, exif: Image.Exif, icc: bytes | None, compression: str | None) -> bytes:
    buffer = io.BytesIO()
    rgb = samples.ndim == 3
    datetime = exif.get(0x0132)
    tifffile.imwrite(
        buffer,
        samples,
        photometric="rgb" if rgb else "minisblack",
        extrasamples=("unassalpha",) if rgb and samples.shape[2] == 4 else None,
        compression=compression,
        byteorder="<",
        bigtiff=False,
        metadata=None,
        software=md.SOFTWARE,
        description=exif.get(0x010E) or None,
        datetime=datetime if isinstance(datetime, str) and datetime else None,
        extratags=md.tiff_extratags(exif, icc),
    )
    return md.patch_tiff_sub_ifds(buffer.getvalue(), exif)
