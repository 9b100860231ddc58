"""Whether Qt's xcb platform plugin can load, checked before a QApplication exists.

When a library the plugin needs is missing, Qt prints a generic paragraph and aborts the process; the
user cannot act on it. This check names the Debian packages instead. The list below is what
`readelf -d` reports as NEEDED by PySide6's libqxcb.so and the Qt libraries it loads, less what every
Debian has (libc, libstdc++, zlib); tests/app/test_platform_check.py keeps it in step with the installed
plugin, and the README's install line is built from it.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Mapping

XCB_LIBRARIES: dict[str, str] = {  # shared object -> Debian package
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}
# Present on every Debian, so not worth naming: the C and C++ runtimes and the compression libraries.
BASE_LIBRARIES = ("ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6", "libgcc_s.so.1", "libstdc++.so.6",
                  "libz.so.1", "libzstd.so.1")


def install_command(packages: list[str] | None = None) -> str:
    """The apt-get line that installs `packages` (default: everything the plugin needs)."""
    names = packages if packages is not None else sorted(set(XCB_LIBRARIES.values()))
    return "sudo apt-get install -y " + " ".join(names)


def uses_xcb(env: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether Qt will try the xcb plugin: asked for by name, or by default on Linux outside Wayland."""
    chosen = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen == "xcb"
    return platform.startswith("linux") and not env.get("WAYLAND_DISPLAY")


def missing_packages() -> list[str]:
    """Debian packages whose libraries the dynamic loader cannot find, sorted, without repeats."""
    missing = set()
    for library, package in XCB_LIBRARIES.items():
        try:
            ctypes.CDLL(library)
        except OSError:
            missing.add(package)
    return sorted(missing)


def platform_problem(env: Mapping[str, str] | None = None) -> str | None:
    """One line that says what to install when the window cannot open, or None when it can."""
    env = os.environ if env is None else env
    if not uses_xcb(env):
        return None
    missing = missing_packages()
    if not missing:
        return None
    return (f"the window cannot open: Qt's xcb platform plugin needs libraries this system lacks; install them "
            f"with: {install_command(missing)}")
