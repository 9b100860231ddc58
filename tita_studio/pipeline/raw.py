"""Camera RAW files (DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2) through rawpy (LibRaw).

Rendering, the same for every frame so a bracket keeps its relative exposures (docs/pipeline.md, "RAW"):
LibRaw demosaics (AHD), applies the camera's as-shot white balance and its colour matrix to linear sRGB
primaries, 16 bits, with every per-image adjustment off (no auto-brightening, no white-level guess from
the data: `adjust_maximum_thr=0`). The sensor's white level maps to 1.0; the linear values are then encoded
with the sRGB curve. One fixed curve for every file, never a per-frame or per-bracket gain: a frame one stop
darker stays exactly one stop darker (in linear light), and the result does not depend on which frames
were given.

Metadata: exposure time, aperture, ISO, lens and date from LibRaw; for TIFF-based RAW (DNG, CR2, NEF, ARW,
ORF, and RW2 through LibRaw) the EXIF directory and the camera's make and model are read with tifffile and
take precedence, since they hold what LibRaw does not expose (exposure compensation, make, model). The
result becomes the source's EXIF, so a fused file keeps it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from PIL import ExifTags, Image

from tita_studio.errors import InputError
from tita_studio.pipeline import metadata as md
from tita_studio.pipeline.formats import RAW_SUFFIXES
from tita_studio.pipeline.source import ImageMeta, SourceImage

log = logging.getLogger(__name__)

INSTALL_HINT = "install the raw extra: pip install 'tita-studio[raw]'"
# LibRaw's flip (sizes.flip) as the EXIF orientation it applies
_FLIP_TO_ORIENTATION = {0: 1, 3: 3, 5: 8, 6: 6}
# IFD0 tags copied from a TIFF-based RAW, and the EXIF directory tags worth keeping
_IFD0_TAGS = {"Make": 0x010F, "Model": 0x0110, "DateTime": 0x0132, "Artist": 0x013B, "Copyright": 0x8298}
_EXIF_TAGS = {
    "ExposureTime": md.EXPOSURE_TIME_TAG, "FNumber": md.F_NUMBER_TAG, "ISOSpeedRatings": md.ISO_TAG,
    "ExposureBiasValue": md.EXPOSURE_BIAS_TAG, "DateTimeOriginal": 0x9003, "DateTimeDigitized": 0x9004,
    "FocalLength": 0x920A, "LensMake": 0xA433, "LensModel": 0xA434, "ExposureProgram": 0x8822,
    "MeteringMode": 0x9207, "Flash": 0x9209, "FocalLengthIn35mmFilm": 0xA405,
}


def read_raw(path: Path, max_pixels: int) -> SourceImage:
    """Decode a RAW file to float32 sRGB-encoded RGB in [0, 1] with its exposure metadata.

    Raises InputError when rawpy is not installed, when LibRaw cannot read the file (not RAW, an unsupported
    camera, corrupt or truncated), or when the image is larger than `max_pixels`.
    """
    try:
        import rawpy
    except ImportError:
        raise InputError(f"{path}: reading camera RAW files ({', '.join(RAW_SUFFIXES)}) needs rawpy; "
                         f"{INSTALL_HINT}") from None
    try:
        with rawpy.imread(str(path)) as raw:
            sizes = raw.sizes
            if sizes.width * sizes.height > max_pixels:
                raise InputError(f"{path}: the header claims {sizes.width}x{sizes.height} pixels, more than the "
                                 f"limit of {max_pixels / 1e6:.0f} megapixels; refusing to decode")
            linear = raw.postprocess(use_camera_wb=True, output_color=rawpy.ColorSpace.sRGB, output_bps=16,
                                     gamma=(1.0, 1.0), no_auto_bright=True, adjust_maximum_thr=0.0,
                                     highlight_mode=rawpy.HighlightMode.Clip)
            camera = _libraw_metadata(raw)
            orientation = _FLIP_TO_ORIENTATION.get(int(sizes.flip), 1)
    except InputError:
        raise
    except rawpy.LibRawFileUnsupportedError as exc:
        raise InputError(f"{path}: LibRaw cannot read this file as camera RAW ({exc}): not a RAW file, or a "
                         "camera this LibRaw does not know; convert it to DNG (Adobe DNG Converter)") from exc
    except (rawpy.LibRawIOError, rawpy.LibRawDataError) as exc:
        raise InputError(f"{path}: corrupt or truncated RAW file ({exc})") from exc
    except (rawpy.LibRawError, OSError, ValueError) as exc:
        raise InputError(f"{path}: LibRaw could not decode this RAW file ({type(exc).__name__}: {exc})") from exc
    exif = _exif(path, camera)
    meta = ImageMeta(path=path, format=path.suffix[1:].upper(), width=int(linear.shape[1]),
                     height=int(linear.shape[0]), channels=3, bit_depth=16, dtype="uint16",
                     orientation=orientation, exif=exif.tobytes() if len(exif) else None,
                     exposure=md.exposure_from_exif(exif))
    pixels = srgb_encode(linear.astype(np.float32) / np.float32(65535.0))
    return SourceImage(pixels=np.ascontiguousarray(pixels), meta=meta)


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """The sRGB transfer curve (IEC 61966-2-1) on linear values in [0, 1], float32."""
    x = np.clip(linear, 0.0, 1.0).astype(np.float32, copy=False)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def _libraw_metadata(raw: Any) -> dict[int, object]:
    """What LibRaw knows, as EXIF directory values (zeros are LibRaw's 'not recorded')."""
    other, lens = raw.other, raw.lens
    values: dict[int, object] = {}
    for tag, value in ((md.EXPOSURE_TIME_TAG, other.shutter_speed), (md.F_NUMBER_TAG, other.aperture),
                       (md.ISO_TAG, int(other.iso_speed)), (0x920A, other.focal_length)):
        if value and value > 0:
            values[tag] = value
    if isinstance(other.timestamp, datetime) and other.timestamp.year > 1970:
        values[0x9003] = other.timestamp.strftime("%Y:%m:%d %H:%M:%S")
    if lens.model:
        values[0xA434] = lens.model
    if lens.make:
        values[0xA433] = lens.make
    return values


def _exif(path: Path, camera: dict[int, object]) -> Image.Exif:
    """EXIF for the source: the file's own tags where it is TIFF-based, LibRaw's values for what is missing."""
    ifd0, sub = _tiff_tags(path)
    exif = Image.Exif()
    for tag, value in ifd0.items():
        exif[tag] = value
    directory = exif.get_ifd(ExifTags.IFD.Exif)
    directory.update({tag: value for tag, value in camera.items() if tag not in sub})
    directory.update(sub)
    if not directory:
        del exif[ExifTags.IFD.Exif]
    return exif


def _tiff_tags(path: Path) -> tuple[dict[int, object], dict[int, object]]:
    """Descriptive IFD0 tags and EXIF directory tags of a TIFF-structured RAW; empty for other layouts."""
    try:
        with tifffile.TiffFile(path) as tif:
            tags = tif.pages.first.tags
            ifd0 = {code: tags[name].value for name, code in _IFD0_TAGS.items()
                    if name in tags and isinstance(tags[name].value, str) and tags[name].value.strip()}
            found = tags.get("ExifTag")
            exif_dir = found.value if found is not None and isinstance(found.value, dict) else {}
    except (tifffile.TiffFileError, OSError, ValueError, KeyError, IndexError) as exc:
        log.debug("%s: no TIFF structure to read EXIF from (%s)", path, exc)
        return {}, {}
    sub = {}
    for name, code in _EXIF_TAGS.items():
        value = exif_dir.get(name)
        if isinstance(value, tuple) and len(value) == 1:
            value = value[0]
        if isinstance(value, (int, float, str)) and value != "":
            sub[code] = value
    return ifd0, sub

