"""Keep freed tensor memory in the process instead of returning it to the kernel (Linux, glibc).

A forward pass allocates and frees hundreds of multi-megabyte activations. glibc serves each from a
fresh mmap and unmaps it on free, so every pass page-faults and zeroes its whole working set again:
measured here, a 512x512 fusion spent 25 s of system time in page faults next to 37 s of compute.
Serving large blocks from the heap and never trimming it removes that cost; the price is that the
peak working set of one tile stays resident, which the tile size bounds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4

_done = False


def keep_freed_memory() -> bool:
    """Apply once per process; returns whether the allocator was tuned (False off glibc)."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(M_MMAP_MAX, 0) == 1 and libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1) == 1
    except (OSError, AttributeError):
        ok = False
    if not ok:
        log.debug("mallopt unavailable; page-fault overhead of large tensors stays")
    _done = ok
    return ok
