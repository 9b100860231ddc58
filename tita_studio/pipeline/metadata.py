"""EXIF and ICC carried from a source image to the fused file.

Pillow parses and serialises EXIF (it is the one well-kept library that does both); the pixels are
encoded elsewhere (OpenCV, tifffile) because Pillow cannot hold 16-bit RGB, so this module splices the
metadata into PNG chunks and TIFF directories by hand. EXIF is kept as bytes in the JPEG APP1 layout
(b"Exif\\0\\0" + a little TIFF), which every writer below accepts.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping

from PIL import ExifTags, Image, TiffImagePlugin

from tita_studio import __version__
from tita_studio.pipeline.exposure import exposure_of
from tita_studio.pipeline.source import Exposure

SOFTWARE = f"TITA Studio {__version__}"

ORIENTATION_TAG = 0x0112
SOFTWARE_TAG = 0x0131
ICC_TIFF_TAG = 34675
_EXIF_HEADER = b"Exif\x00\x00"

# IFD0 tags that describe the picture rather than its storage; anything else in a TIFF's IFD0 (strip
# offsets, sample format, ...) belongs to the file it came from and must not be copied.
_DESCRIPTIVE_TAGS = (
    0x010E,  # ImageDescription
    0x010F,  # Make
    0x0110,  # Model
    ORIENTATION_TAG,
    0x0131,  # Software
    0x0132,  # DateTime
    0x013B,  # Artist
    0x013C,  # HostComputer
    0x8298,  # Copyright
)
_SUB_IFDS = (ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo)
# tifffile refuses to write the sub-IFD pointer tags, so their entries are written under private codes and
# renamed once the directories are appended.
_PLACEHOLDERS = {int(ExifTags.IFD.Exif): 65000, int(ExifTags.IFD.GPSInfo): 65001}
# TIFF ASCII tags that tifffile writes as IFD0 entries for a TIFF output (the rest of IFD0 is its own).
_TIFF_ASCII_TAGS = (0x010F, 0x0110, 0x013B, 0x013C, 0x8298)


def clean_exif(exif: Image.Exif) -> bytes | None:
    """Keep the descriptive part of an EXIF block, as APP1-style bytes (None when nothing is left).

    Structural tags and thumbnails are dropped: the output file has its own structure, and a stale
    thumbnail would show the unfused source in file browsers.
    """
    out = Image.Exif()
    for tag in _DESCRIPTIVE_TAGS:
        if tag in exif:
            out[tag] = exif[tag]
    for tag in _SUB_IFDS:
        if tag in exif:
            sub = _plain_ifd(exif.get_ifd(tag))
            if sub:
                out[tag] = sub
    if len(out) == 0:
        return None
    return out.tobytes()


def _plain_ifd(ifd: Mapping[int, object]) -> dict[int, object]:
    """A sub-IFD without nested pointers (interoperability) whose offsets would be stale once moved."""
    return {tag: value for tag, value in ifd.items() if tag != ExifTags.IFD.Interop and value is not None}


# EXIF directory tags of an exposure
EXPOSURE_TIME_TAG = 0x829A
F_NUMBER_TAG = 0x829D
ISO_TAG = 0x8827
EXPOSURE_BIAS_TAG = 0x9204


def exposure_from_exif(exif: Image.Exif) -> Exposure | None:
    """Exposure time, aperture, ISO and compensation from an EXIF block (None when none is recorded)."""
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    iso = sub.get(ISO_TAG)
    if isinstance(iso, tuple):
        iso = iso[0] if iso else None
    return exposure_of(*(_number(v) for v in (sub.get(EXPOSURE_TIME_TAG), sub.get(F_NUMBER_TAG), iso,
                                               sub.get(EXPOSURE_BIAS_TAG))))


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if number == number else None  # a 0/0 rational is NaN: not recorded


def load_exif(data: bytes | None) -> Image.Exif:
    """Parse stored EXIF bytes (empty when None)."""
    exif = Image.Exif()
    if data:
        exif.load(data)
    return exif


def output_exif(data: bytes | None) -> Image.Exif:
    """EXIF for a written file: the source's, upright (pixels are stored rotated), with our Software tag."""
    exif = load_exif(data)
    for tag in _SUB_IFDS:
        if tag in exif:
            exif[tag] = _plain_ifd(exif.get_ifd(tag))
    exif[ORIENTATION_TAG] = 1
    exif[SOFTWARE_TAG] = SOFTWARE
    return exif


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def add_png_metadata(png: bytes, exif: Image.Exif, icc: bytes | None) -> bytes:
    """Insert iCCP, eXIf and a Software tEXt chunk right after IHDR (iCCP must precede the pixels)."""
    ihdr_end = 8 + 4 + 4 + 13 + 4
    if png[12:16] != b"IHDR":
        raise ValueError("encoder produced a PNG without IHDR first")
    chunks = b""
    if icc:
        chunks += _png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc))
    chunks += _png_chunk(b"eXIf", exif.tobytes()[len(_EXIF_HEADER) :])
    chunks += _png_chunk(b"tEXt", b"Software\x00" + SOFTWARE.encode("latin-1"))
    return png[:ihdr_end] + chunks + png[ihdr_end:]


def tiff_extratags(exif: Image.Exif, icc: bytes | None) -> list[tuple[int, int | str, int, object, bool]]:
    """tifffile `extratags` for a TIFF output: ICC, descriptive ASCII tags, placeholders for sub-IFDs.

    The placeholders (private codes, LONG 0) are renamed and filled in by `patch_tiff_sub_ifds`
    once the file size is known.
    """
    tags: list[tuple[int, int | str, int, object, bool]] = []
    if icc:
        tags.append((ICC_TIFF_TAG, "B", len(icc), icc, True))
    for tag in _TIFF_ASCII_TAGS:
        value = exif.get(tag)
        if isinstance(value, str) and value:
            tags.append((tag, "s", 0, value, True))
    for tag in _SUB_IFDS:
        if exif.get_ifd(tag):
            tags.append((_PLACEHOLDERS[int(tag)], "I", 1, 0, True))
    return tags


def patch_tiff_sub_ifds(tiff: bytes, exif: Image.Exif) -> bytes:
    """Append the EXIF and GPS directories to a classic little-endian TIFF and point IFD0 at them.

    tifffile cannot write an EXIF directory, Pillow can serialise one at a given offset; the file
    written by tifffile gets the directories appended at its end and the placeholder entries patched.
    """
    subs = {int(tag): exif.get_ifd(tag) for tag in _SUB_IFDS if exif.get_ifd(tag)}
    if not subs:
        return tiff
    if tiff[:4] != b"II*\x00":
        raise ValueError("expected a classic little-endian TIFF")
    start = len(tiff) + (len(tiff) % 2)
    wrapper = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    for tag, values in subs.items():
        wrapper[tag] = values
    blob = wrapper.tobytes(start)
    pointers = dict(_ifd_entries(blob))
    out = bytearray(tiff + b"\x00" * (start - len(tiff)) + blob)
    (ifd0,) = struct.unpack_from("<I", out, 4)
    (count,) = struct.unpack_from("<H", out, ifd0)
    entries = [bytearray(out[ifd0 + 2 + 12 * i : ifd0 + 14 + 12 * i]) for i in range(count)]
    for entry in entries:
        (code,) = struct.unpack_from("<H", entry, 0)
        for tag, placeholder in _PLACEHOLDERS.items():
            if code == placeholder and tag in subs:
                struct.pack_into("<HHII", entry, 0, tag, 4, 1, pointers[tag])
    entries.sort(key=lambda entry: struct.unpack_from("<H", entry, 0)[0])  # TIFF wants ascending tags
    out[ifd0 + 2 : ifd0 + 2 + 12 * count] = b"".join(entries)
    return bytes(out)


def _ifd_entries(data: bytes) -> list[tuple[int, int]]:
    """(tag, LONG value) of the entries of the IFD at the start of `data`."""
    (count,) = struct.unpack_from("<H", data, 0)
    return [struct.unpack_from("<HxxxxxxI", data, 2 + 12 * i) for i in range(count)]

