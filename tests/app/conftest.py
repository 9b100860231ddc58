"""Window tests: offscreen Qt, a tiny UNTRAINED studio model, small crops of the demo images."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_DRIVER", "PySide6")

from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from tita_studio.model.config import TITAConfig
from tita_studio.model.tita import TITA
from tita_studio.model.weights import save_weights
from tita_studio.paths import RESOURCES_DIR

DEMO = RESOURCES_DIR / "demo"
TINY = TITAConfig(embed_dim=12, shallow_dim=6, extract_depth=1, fusion_depth=4, recon_depth=1)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small UNTRAINED studio model (6 heads, 8 ISF blocks like the real one) so overlays exist."""
    path = tmp_path_factory.mktemp("model") / "tiny-untrained.safetensors"
    save_weights(TITA(TITAConfig(**TINY.to_dict())), path, trained=False)
    return path


@pytest.fixture(scope="session")
def pair(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A 96x72 crop of the demo IR/visible pair (the pedestrians)."""
    folder = tmp_path_factory.mktemp("pair")
    out = []
    for name in ("irvis_visible.png", "irvis_infrared.png"):
        image = cv2.imread(str(DEMO / name), cv2.IMREAD_UNCHANGED)
        path = folder / name
        cv2.imwrite(str(path), image[80:152, 320:416])
        out.append(path)
    return out


@pytest.fixture(scope="session")
def full_pair() -> list[Path]:
    return [DEMO / "irvis_visible.png", DEMO / "irvis_infrared.png"]


@pytest.fixture(autouse=True)
def no_leaked_windows(qapp: QApplication) -> Iterator[None]:
    """Fail a test that leaves extra top-level widgets behind."""
    before = {id(w) for w in qapp.topLevelWidgets()}
    yield
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qapp.processEvents()
    extra = [w for w in qapp.topLevelWidgets() if id(w) not in before]
    assert not extra, f"test left top-level widgets: {extra}"


@pytest.fixture
def make_window(qapp: QApplication, tiny_model: Path, tmp_path: Path) -> Iterator:
    """Build MainWindows on the tiny model with a private settings file; closes and deletes them after."""
    from tita_studio.app.window import MainWindow

    made = []

    def make(**overrides: object) -> MainWindow:
        settings = {"model": str(tiny_model), "preview_side": 0, "precision": "float32", "backend": "torch",
                    **overrides}
        window = MainWindow(settings_path=tmp_path / "settings.ini", overrides=settings)
        window.resize(1000, 600)
        window.show()
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()
        window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qapp.processEvents()
