"""The presenter against a fake view: no widgets, no display. The view only emits intents (the same
ViewIntents the window uses) and records what the presenter tells it."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tifffile

from tita_studio.app.config import FusionSettings
from tita_studio.app.geometry import SceneMap
from tita_studio.app.intents import ViewIntents
from tita_studio.app.presenter import StudioPresenter
from tita_studio.app.records import Outcome
from tita_studio.app.settings_store import SettingsStore
from tita_studio.app.state import StudioModel
from tita_studio.pipeline.kinds import SourceKind
from tita_studio.pipeline.reading import read_image

TIMEOUT = 60_000


class FakeView:
    """Emits intents like the window; records errors and status lines instead of showing them."""

    def __init__(self) -> None:
        self.intents = ViewIntents()
        self.errors: list[tuple[str, str]] = []
        self.statuses: list[str] = []

    def show_error(self, message: str, details: str) -> None:
        self.errors.append((message, details))

    def show_status(self, message: str) -> None:
        self.statuses.append(message)


@pytest.fixture
def setup(qapp, tiny_model: Path, tmp_path: Path) -> Iterator[tuple[StudioPresenter, FakeView, StudioModel]]:
    store = SettingsStore(tmp_path / "settings.ini")
    model = StudioModel(FusionSettings(model=str(tiny_model), preview_side=0, precision="float32", backend="torch"))
    presenter = StudioPresenter(model, store)
    view = FakeView()
    presenter.attach(view)
    yield presenter, view, model
    presenter.shutdown()


def fused(qtbot, presenter: StudioPresenter, view: FakeView, paths: list[Path]) -> Outcome:
    with qtbot.waitSignal(presenter.result_ready, timeout=TIMEOUT) as blocker:
        view.intents.open_requested.emit(paths, False)
    return blocker.args[0]


def test_open_intent_fuses_and_says_what_the_input_is(qtbot, setup, pair):
    presenter, view, model = setup
    outcome = fused(qtbot, presenter, view, pair)
    assert model.result is outcome.result and outcome.is_full
    assert model.result.classification.kind is SourceKind.IR_VISIBLE
    assert presenter.input_text().startswith("Taken as: infrared/visible pair")
    assert not view.errors and not model.busy


def test_exports_run_off_the_gui_thread_atomically_and_report_back(qtbot, setup, pair, tmp_path):
    presenter, view, _ = setup
    view.intents.export_image_requested.emit(str(tmp_path / "early.png"), None)
    assert view.statuses[-1].startswith("Nothing to export yet") and not (tmp_path / "early.png").exists()
    fused(qtbot, presenter, view, pair)
    out = tmp_path / "fused.tif"
    with qtbot.waitSignal(presenter.exported, timeout=TIMEOUT) as blocker:
        view.intents.export_image_requested.emit(str(out), 16)
    assert blocker.args[0] == out and read_image(out).meta.bit_depth == 16
    assert view.statuses[-1] == f"Written: {out}"
    with qtbot.waitSignal(presenter.exported, timeout=TIMEOUT) as blocker:
        view.intents.export_maps_requested.emit(str(tmp_path / "maps"))
    assert len(blocker.args[0]) == 4 and all(p.exists() for p in blocker.args[0])
    assert not list(tmp_path.rglob("*.part"))  # no temporary file left behind


def test_a_failed_export_is_shown_as_an_error(qtbot, setup, pair, tmp_path):
    presenter, view, _ = setup
    fused(qtbot, presenter, view, pair)
    with qtbot.waitSignal(presenter.error, timeout=TIMEOUT):
        view.intents.export_image_requested.emit(str(tmp_path / "no-such-folder" / "x.png"), None)
    assert "does not exist" in view.errors[-1][0]


def test_unreadable_file_reaches_the_view_and_keeps_the_sources(qtbot, setup, pair, tmp_path):
    presenter, view, model = setup
    fused(qtbot, presenter, view, pair)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with qtbot.waitSignal(presenter.error, timeout=TIMEOUT):
        view.intents.open_requested.emit([bad], True)
    assert "bad.png" in view.errors[-1][0] and len(model.sources) == 2


def test_settings_intent_saves_and_refuses_stale_outcomes(qtbot, setup, pair, tmp_path):
    presenter, view, model = setup
    first = fused(qtbot, presenter, view, pair)
    with qtbot.waitSignal(presenter.result_ready, timeout=TIMEOUT):
        view.intents.settings_requested.emit({"method": "average"})
    assert model.settings.method == "average" and model.result.method == "average"
    assert SettingsStore(tmp_path / "settings.ini").load().method == "average"
    presenter.controller.outcome.emit(first)  # a result of an earlier job arriving late
    assert model.result.method == "average"


def test_overlay_and_inspect_intents(qtbot, setup, pair):
    presenter, view, model = setup
    view.intents.inspect_requested.emit(1.0, 1.0)
    assert view.statuses[-1] == "Inspect needs a result."
    fused(qtbot, presenter, view, pair)
    view.intents.overlay_named.emit("ipa")
    assert model.overlay_spec.kind == "ipa" and presenter.overlay() is not None
    w, h = presenter.scene_size()
    with qtbot.waitSignal(model.probe_changed, timeout=TIMEOUT):
        view.intents.inspect_requested.emit(w / 2, h / 2)
    assert model.probe is not None and model.probe_pixel == (h // 2, w // 2)
    window, pixel = presenter.probe_marks()
    assert pixel == (w // 2, h // 2, 1.0, 1.0) and window[2] >= 1 and window[3] >= 1


def test_one_scene_mapping_both_ways():
    mapping = SceneMap(width=200, height=100, rows=50, cols=100)  # a half-size image over the scene
    assert mapping.to_pixel(199.9, 99.9) == (49, 99) and mapping.to_pixel(200, 0) is None
    assert mapping.to_scene(10, 20) == (40.0, 20.0)
    assert mapping.to_pixel(*mapping.to_scene(10.5, 20.5)) == (10, 20)
    assert mapping.pixel_box(0, 0, 0, 0) == (0.0, 0.0, 2.0, 2.0)


@pytest.mark.skipif(importlib.util.find_spec("rawpy") is None, reason="the raw extra (rawpy) is not installed")
def test_a_dng_bracket_fuses_in_the_window_and_exports_16_bit_with_its_metadata(qtbot, setup, tmp_path):
    from tests.pipeline.test_raw import write_dng

    presenter, view, model = setup
    bracket = [write_dng(tmp_path / "b.dng", 1 / 240), write_dng(tmp_path / "c.dng", 1 / 60),
               write_dng(tmp_path / "a.dng", 1 / 15, bias=2.0)]
    view.intents.settings_requested.emit({"method": "mertens"})
    fused(qtbot, presenter, view, bracket)
    assert [s.name for s in model.sources] == ["a.dng", "c.dng", "b.dng"]  # brightest first, by exposure time
    assert [label.split("\n")[1] for label in presenter.thumbnail_labels()] == ["+2.0 EV", "+0.0 EV (ref)",
                                                                                "-2.0 EV"]
    out = tmp_path / "fused.tif"
    with qtbot.waitSignal(presenter.exported, timeout=TIMEOUT):
        view.intents.export_image_requested.emit(str(out), 16)
    with tifffile.TiffFile(out) as tif:
        page = tif.pages.first
        assert page.dtype == np.uint16 and page.tags["Make"].value == "Testmaker"
        assert page.tags["ExifTag"].value["ExposureTime"] == pytest.approx(1 / 60)  # the reference frame's
