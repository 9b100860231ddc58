"""Writing a file so that a reader never sees half of it: the one atomic write every module uses.

A temporary file in the target's folder is written, flushed and fsynced, given the permissions a normal
file would get, and renamed over the target (`os.replace`, atomic on POSIX and Windows). A crash or
Ctrl-C leaves the old file or the new one, never a mix, and never the temporary file. Only a process
killed outright (SIGKILL, a cluster worker lost) leaves its temporary file behind: the one writer of a
target clears those with `remove_leftovers` before it writes again.
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def _read_umask() -> int:
    """The process umask (read once at import: os.umask can only be read by setting it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _temporary_prefix(out: Path) -> str:
    return f".{out.name}."


def remove_leftovers(out: str | os.PathLike[str]) -> None:
    """Delete the temporary files that killed writers of `out` left beside it.

    Only the one writer of `out` may call this (a batch task, whose earlier attempt is dead): a writer
    that is still running would lose its temporary file.
    """
    out = Path(out)
    prefix = _temporary_prefix(out)
    pattern = glob.escape(str(out.parent / prefix)) + "*.part"
    # mkstemp's random part has no dot: ".a.png.x.<random>.part" belongs to "a.png.x", not to "a.png"
    for path in map(Path, glob.glob(pattern)):
        if "." not in path.name[len(prefix):-len(".part")]:
            path.unlink(missing_ok=True)


def atomic_save(out: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> Path:
    """Let `write` fill a temporary file beside `out`, fsync it and rename it over `out`."""
    out = Path(out)
    fd, tmp_name = tempfile.mkstemp(prefix=_temporary_prefix(out), suffix=".part", dir=out.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; an output gets the usual permissions
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return out


def atomic_write(out: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `out` atomically (see the module docstring)."""
    return atomic_save(out, lambda handle: handle.write(data))
