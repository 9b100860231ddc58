"""The file types the pipeline reads and writes, by suffix, and the TIFF compressions it writes."""

from __future__ import annotations

JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe")
PNG_SUFFIXES = (".png",)
TIFF_SUFFIXES = (".tif", ".tiff")
MAT_SUFFIXES = (".mat",)
BMP_SUFFIXES = (".bmp",)
# Camera RAW, read through rawpy (LibRaw) when the raw extra is installed
RAW_SUFFIXES = (".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2")
READ_SUFFIXES = JPEG_SUFFIXES + PNG_SUFFIXES + BMP_SUFFIXES + TIFF_SUFFIXES + MAT_SUFFIXES + RAW_SUFFIXES
WRITE_SUFFIXES = JPEG_SUFFIXES + PNG_SUFFIXES + TIFF_SUFFIXES
# Lossless TIFF compressions we write, by the names users know, with tifffile's name for each.
TIFF_COMPRESSIONS = {"deflate": "zlib", "lzw": "lzw", "packbits": "packbits", "none": None}
