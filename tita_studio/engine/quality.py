"""Which path fuses an image: "full" (the network at full resolution) or "fast" (engine/fast.py).

Qt-free so that the window, the command line and the library pick the same default.
"""

from __future__ import annotations

from tita_studio.errors import InputError

QUALITIES = ("auto", "fast", "full")
# Above this many pixels "auto" means "fast". See docs/model.md ("Fast full resolution") for the measurement.
FAST_ABOVE_PIXELS = 2_000_000


def check_quality(name: str) -> str:
    """The quality name, lower-cased; an unknown name is an InputError."""
    key = str(name).strip().lower()
    if key not in QUALITIES:
        raise InputError(f"unknown quality {name!r}; choose one of {', '.join(QUALITIES)}")
    return key


def default_quality(height: int, width: int) -> str:
    """"fast" or "full" for an image of this size: the default the window and `--quality auto` use."""
    return "fast" if height * width > FAST_ABOVE_PIXELS else "full"


def resolve_quality(quality: str, height: int, width: int) -> str:
    """"fast" or "full": `quality` itself, or the size's default for "auto"."""
    name = check_quality(quality)
    return default_quality(height, width) if name == "auto" else name
