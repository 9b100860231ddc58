"""The window's start-up check names the Debian packages Qt's xcb plugin needs (no Qt involved)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tita_studio.app import platform_check
from tita_studio.app.platform_check import BASE_LIBRARIES, XCB_LIBRARIES, install_command, platform_problem, uses_xcb

README = Path(__file__).resolve().parents[2] / "README.md"


def test_xcb_is_used_by_default_on_linux_and_when_named() -> None:
    assert uses_xcb({}, "linux")
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not uses_xcb({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not uses_xcb({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not uses_xcb({}, "darwin")


def test_a_missing_library_gives_one_line_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform_check, "XCB_LIBRARIES", {"libtita-no-such.so.9": "libtita-no-such9",
                                                          "libc.so.6": "libc6"})
    message = platform_problem({"QT_QPA_PLATFORM": "xcb"})
    assert message is not None and "\n" not in message
    assert message.endswith("sudo apt-get install -y libtita-no-such9")
    assert platform_problem({"QT_QPA_PLATFORM": "offscreen"}) is None


def _needed(library: Path) -> set[str]:
    out = subprocess.run(["readelf", "-d", str(library)], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out))


@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf (binutils)")
def test_the_list_covers_what_the_installed_plugin_needs() -> None:
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    plugin = qt / "plugins" / "platforms" / "libqxcb.so"
    needed = _needed(plugin)
    for name in sorted(needed):  # the Qt libraries it loads, and theirs
        if name.startswith("libQt6") and (qt / "lib" / name).exists():
            needed |= _needed(qt / "lib" / name)
    system = {n for n in needed if not n.startswith(("libQt6", "libicu"))}
    assert system - set(XCB_LIBRARIES) - set(BASE_LIBRARIES) == set()


def test_the_readme_install_line_is_the_full_list() -> None:
    assert install_command() in README.read_text(encoding="utf-8")
