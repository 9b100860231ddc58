"""Settings remembered between runs: an INI file under platformdirs' user_config_dir.

QSettings returns strings from an INI file in a new process, so every read passes `type=` and a default.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import platformdirs
from PySide6.QtCore import QSettings

from tita_studio.app.config import FusionSettings


def default_settings_path() -> Path:
    return Path(platformdirs.user_config_dir("tita-studio", appauthor=False)) / "tita-studio.ini"


class SettingsStore:
    """Reads and writes FusionSettings in section [fusion] of one INI file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_settings_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def load(self) -> FusionSettings:
        defaults = FusionSettings()
        values = {}
        for f in fields(FusionSettings):
            default = getattr(defaults, f.name)
            values[f.name] = self._qs.value(f"fusion/{f.name}", default, type=type(default))
        return FusionSettings(**values)

    def save(self, settings: FusionSettings) -> None:
        for f in fields(FusionSettings):
            self._qs.setValue(f"fusion/{f.name}", getattr(settings, f.name))
        self._qs.sync()
