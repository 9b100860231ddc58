"""The real window, driven offscreen: drop, fuse, sync, overlays, inspect, cancel, close, errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QScrollArea

from tita_studio.app import jobs
from tita_studio.app.records import BASELINE
from tita_studio.model import loader
from tita_studio.pipeline.map_render import BRANCH_COLOURS, MAP_NAMES

RESULT_TIMEOUT = 90_000
pytestmark = pytest.mark.filterwarnings("ignore:Function.*QDrag:DeprecationWarning")


def pixmap_array(pixmap) -> np.ndarray:
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    ptr = image.constBits()
    return np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())[:, : image.width() * 4] \
        .reshape(image.height(), image.width(), 4).copy()


def as_rgba(display: np.ndarray) -> np.ndarray:
    rgb = np.repeat(display[..., None], 3, axis=2) if display.ndim == 2 else display
    return np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])


def drop(widget, paths: list[Path]) -> None:
    """A drag move (which a QGraphicsView must accept itself) then a drop, as a file manager sends them."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    for kind in (QDragEnterEvent, QDragMoveEvent):
        event = kind(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, event)
        assert event.isAccepted(), kind.__name__
    event = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def fused_window(make_window, qtbot, paths, **settings):
    window = make_window(**settings)
    with qtbot.waitSignal(window.presenter.result_ready, timeout=RESULT_TIMEOUT):
        window.open_paths(paths)
    return window


def test_drop_files_then_panes_show_sources_and_result(make_window, qtbot, pair):
    window = make_window()
    with qtbot.waitSignal(window.presenter.result_ready, timeout=RESULT_TIMEOUT) as blocker:
        drop(window, pair)
    outcome = blocker.args[0]
    panes = window.grid.panes
    assert len(panes) == 3
    assert window.thumbs.count() == 2
    for pane, display in zip(panes[:2], outcome.source_displays, strict=True):
        np.testing.assert_array_equal(pixmap_array(pane.image_item.pixmap()), as_rgba(display))
    np.testing.assert_array_equal(pixmap_array(panes[2].image_item.pixmap()), as_rgba(outcome.display))
    assert window.model.result.maps is not None
    assert "UNTRAINED" in window.banner.text()
    # a second drop, onto a pane this time (QGraphicsView must accept the drag move itself)
    with qtbot.waitSignal(window.presenter.result_ready, timeout=RESULT_TIMEOUT):
        drop(panes[0].viewport(), pair[::-1])
    assert window.thumbs.count() == 2


def test_zoom_in_one_pane_and_the_others_follow(make_window, qtbot, pair):
    window = fused_window(make_window, qtbot, pair)
    panes = window.grid.panes
    first = panes[0]
    zoom_before = window.model.view.zoom
    pos = QPointF(first.viewport().width() / 3, first.viewport().height() / 3)
    anchor = first.mapToScene(pos.toPoint())
    wheel = QWheelEvent(pos, first.viewport().mapToGlobal(pos), QPoint(), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(first.viewport(), wheel)
    zoom = window.model.view.zoom
    assert zoom == pytest.approx(zoom_before * 1.25**2)
    after = first.mapToScene(pos.toPoint())
    assert abs(after.x() - anchor.x()) <= 1 and abs(after.y() - anchor.y()) <= 1  # zoomed at the cursor
    centres = []
    for pane in panes:
        assert pane.transform().m11() == pytest.approx(zoom)
        c = pane.mapToScene(pane.viewport().rect().center())
        centres.append((c.x(), c.y()))
    assert np.ptp(np.array(centres), axis=0).max() <= 2  # same centre (panes differ by a pixel in size at most)
    qtbot.keyClick(window, Qt.Key.Key_1)
    assert window.model.view.zoom == pytest.approx(1 / window.devicePixelRatioF())
    qtbot.keyClick(window, Qt.Key.Key_F)
    assert window.model.view.fitted


@pytest.mark.parametrize("name", MAP_NAMES)
def test_each_overlay_draws_its_map(make_window, qtbot, pair, name):
    window = fused_window(make_window, qtbot, pair)
    window.set_overlay(name)
    overlay = window.presenter.overlay()
    assert overlay is not None and "UNTRAINED" in overlay.map.title
    item = window.grid.result_pane.overlay_item
    assert item.isVisible()
    drawn = pixmap_array(item.pixmap())
    assert np.abs(drawn.astype(int) - overlay.rgba).max() <= 1  # the pixmap stores premultiplied alpha
    assert overlay.rgba.shape[:2] == overlay.values.shape
    if name == "oaf":
        colours = {tuple(c) for c in overlay.rgba[..., :3].reshape(-1, 3)}
        assert colours <= {tuple(c) for c in BRANCH_COLOURS}
    else:
        assert overlay.map.lo <= overlay.map.hi
    assert not window.grid.panes[0].overlay_item.isVisible()
    assert "map " in window.presenter.readout(10, 10)
    window.set_overlay("none")
    assert not item.isVisible()


def test_ctrl_click_inspects_the_pixel(make_window, qtbot, pair):
    window = fused_window(make_window, qtbot, pair)
    pane = window.grid.result_pane
    target = pane.mapFromScene(QPointF(40.5, 30.5))
    with qtbot.waitSignal(window.model.probe_changed, timeout=RESULT_TIMEOUT):
        qtbot.mouseClick(pane.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, target)
    probe = window.model.probe
    assert probe is not None and tuple(probe.weights.shape) == (6, 8, 8)
    assert window.model.probe_pixel == (30, 40)
    assert len(window.inspector.head_labels) == 6
    for p in window.grid.panes:
        assert p.window_mark.isVisible()
        rect = p.window_mark.rect()
        assert rect.width() == pytest.approx(8) and rect.height() == pytest.approx(8)


def test_dock_panels_are_neither_clipped_nor_squeezed(make_window, qtbot, pair):
    """The attention heads that appear after a click widen the Inspect panel, and its dock follows; a dock
    shorter than its panel scrolls, so no word-wrapped label loses its last line."""
    window = fused_window(make_window, qtbot, pair)
    pane = window.grid.result_pane
    with qtbot.waitSignal(window.model.probe_changed, timeout=RESULT_TIMEOUT):
        qtbot.mouseClick(pane.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                         pane.mapFromScene(QPointF(40.5, 30.5)))
    for title in ("Inspect", "Settings", "Overlay"):
        window.docks[title].raise_()
        qtbot.wait(50)
        area = window.docks[title].widget()
        panel = area.widget() if isinstance(area, QScrollArea) else area
        shown = area.viewport().width() if isinstance(area, QScrollArea) else window.docks[title].width()
        assert panel.width() <= shown, f"{title}: the panel is cut on the right"
        labels = [w for w in panel.findChildren(QLabel) if w.wordWrap() and w.isVisible() and w.text()]
        assert labels, title
        for label in labels:
            assert label.height() >= label.heightForWidth(label.width()), f"{title}: {label.text()[:40]!r}"


def test_cancel_mid_run_keeps_the_window_usable(make_window, qtbot, full_pair):
    window = make_window(preview_side=0)
    with qtbot.waitSignal(window.presenter.controller.progress, timeout=RESULT_TIMEOUT):
        window.open_paths(full_pair)
    with qtbot.waitSignal(window.presenter.controller.cancelled, timeout=RESULT_TIMEOUT):
        qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    assert not window.model.busy
    assert window.model.outcome is None


def test_changing_settings_cancels_and_restarts(make_window, qtbot, full_pair):
    window = make_window(preview_side=0)
    with qtbot.waitSignal(window.presenter.controller.progress, timeout=RESULT_TIMEOUT):
        window.open_paths(full_pair)
    first = window.presenter.controller.current_job
    with qtbot.waitSignal(window.presenter.result_ready, timeout=RESULT_TIMEOUT) as blocker:
        window.method_box.setCurrentText("average")
    assert blocker.args[0].job_id > first
    assert window.model.result.method == "average"


def test_close_mid_run_stops_the_thread(make_window, qtbot, full_pair):
    window = make_window(preview_side=0)
    with qtbot.waitSignal(window.presenter.controller.progress, timeout=RESULT_TIMEOUT):
        window.open_paths(full_pair)
    thread = window.presenter.controller._thread
    window.close()
    assert not thread.isRunning()


def test_bad_file_shows_the_error_dialog_and_keeps_the_result(make_window, qtbot, pair, tmp_path, monkeypatch):
    shown = []

    def fake_exec(box: QMessageBox) -> int:
        shown.append((box.text(), box.detailedText()))
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    window = fused_window(make_window, qtbot, pair)
    before = window.model.outcome
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a PNG at all")
    with qtbot.waitSignal(window.presenter.error, timeout=RESULT_TIMEOUT):
        window.open_paths([bad])
    assert shown and "broken.png" in shown[0][0]
    assert "Traceback" in shown[0][1]
    assert window.model.outcome is before


def test_no_model_falls_back_to_laplacian_and_says_so(make_window, qtbot, pair, tmp_path):
    window = fused_window(make_window, qtbot, pair, model=str(tmp_path / "missing.safetensors"))
    assert window.model.result.method == "laplacian"
    assert "No TITA weights could be loaded" in window.banner.text()
    window.set_overlay("oaf")
    assert window.presenter.overlay() is None
    assert "needs a TITA result" in window.overlay_panel.text.text()


def test_swipe_and_flicker(make_window, qtbot, pair):
    window = fused_window(make_window, qtbot, pair)
    pane = window.grid.result_pane
    window.swipe_action.setChecked(True)
    assert pane.swipe_clip.isVisible()
    window.model.set_compare(swipe_x=0.25)
    assert pane.swipe_clip.rect().width() == pytest.approx(0.25 * pane.scene_w)
    qtbot.keyClick(window, Qt.Key.Key_B)
    shown = pixmap_array(pane.image_item.pixmap())
    np.testing.assert_array_equal(shown, as_rgba(window.model.outcome.source_displays[0]))


def test_metrics_panel_scores_the_result(make_window, qtbot, pair):
    window = fused_window(make_window, qtbot, pair)
    with qtbot.waitSignal(window.model.metrics_changed, timeout=RESULT_TIMEOUT):
        window.metrics_panel.compute_requested.emit(False)
    row = window.model.metrics["tita"]
    assert {"MI", "FMI", "Qabf", "VIF", "SSIM"} <= set(row)
    assert window.metrics_panel.table.rowCount() == 1
    assert "MEF-SSIM" not in row  # an IR/visible pair is no exposure bracket


@pytest.fixture
def trio(pair, tmp_path) -> list[Path]:
    """The pair crop and a darker copy of its visible image: three sources of one size."""
    third = tmp_path / "irvis_visible_dark.png"
    cv2.imwrite(str(third), cv2.imread(str(pair[0])) // 2)
    return [*pair, third]


def test_previews_come_first_and_say_what_they_are(make_window, qtbot, pair):
    window = make_window(preview_side=48)
    seen = []
    window.presenter.preview_ready.connect(lambda o: seen.append(
        (o.stage, window.grid.titles[-1].text(), o.result.image.shape[:2], window.presenter.can_inspect())))
    with qtbot.waitSignal(window.presenter.result_ready, timeout=RESULT_TIMEOUT):
        window.open_paths(pair)
    assert [s[0] for s in seen] == [BASELINE, "preview"]
    assert seen[0][1] == "preview: Laplacian baseline — TITA running"
    assert seen[0][2] == seen[1][2] == (36, 48)
    assert "waits for the TITA result" in seen[0][3]
    assert seen[1][1].startswith("preview: tita at 48 x 36") and seen[1][3] == ""
    assert window.grid.titles[-1].text().startswith("result: tita (")
    assert window.model.result.image.shape[:2] == (72, 96)


def test_inspect_works_with_three_sources(make_window, qtbot, trio):
    window = fused_window(make_window, qtbot, trio, align="none")
    assert len(window.model.result.sources) == 3 and window.presenter.can_inspect() == ""
    pane = window.grid.result_pane
    with qtbot.waitSignal(window.model.probe_changed, timeout=RESULT_TIMEOUT):
        qtbot.mouseClick(pane.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                         pane.mapFromScene(QPointF(20.5, 10.5)))
    assert tuple(window.model.probe.weights.shape) == (6, 8, 8)
    assert window.model.probe_pixel == (10, 20)
    assert "With 3 sources" in window.inspector.info.text()


def test_remove_buttons_and_the_delete_key_remove_sources(make_window, qtbot, trio):
    window = fused_window(make_window, qtbot, trio, align="none")
    strip = window.thumbs
    assert len(strip.remove_buttons) == 3 and all(b.isVisible() and b.text() == "×" for b in strip.remove_buttons)
    first = window.model.sources[0].name
    with qtbot.waitSignal(window.presenter.result_ready, timeout=RESULT_TIMEOUT):
        qtbot.mouseClick(strip.remove_buttons[0], Qt.MouseButton.LeftButton)
    assert strip.count() == 2 and first not in [s.name for s in window.model.sources]
    strip.setCurrentRow(1)
    qtbot.keyClick(strip, Qt.Key.Key_Delete)
    assert strip.count() == 1 and len(window.grid.panes) == 1


def test_missing_shipped_weights_are_explained_in_window_terms(make_window, qtbot, pair, tmp_path, monkeypatch):
    missing = tmp_path / "none.safetensors"
    monkeypatch.setattr(jobs, "DEFAULT_WEIGHTS", missing)
    monkeypatch.setattr(loader, "DEFAULT_WEIGHTS", missing)
    window = fused_window(make_window, qtbot, pair, model="")
    text = window.settings_panel.engine.text()
    assert "choose a model file" in text and "--model" not in text


def test_a_registered_llvip_pair_is_fused_in_place_and_the_window_says_why(make_window, qtbot, datasets):
    """LLVIP stores infrared as three equal channels; the window used to refuse such a pair."""
    paths = [datasets / "ivf/llvip_train" / d / "train_010005.jpg" for d in ("A", "B")]
    window = fused_window(make_window, qtbot, paths, method="laplacian")
    result = window.model.result
    assert result.alignment is None and result.image.shape[:2] == (1024, 1280)
    assert "Taken as: infrared/visible pair" in window.settings_panel.input.text()
    with qtbot.waitSignal(window.presenter.result_ready, timeout=RESULT_TIMEOUT):
        window.settings_panel.kind.setCurrentText("bracket")  # the user's word wins
    assert window.model.result.classification.overridden
    assert "exposure bracket (set by the user)" in window.settings_panel.input.text()


@pytest.fixture(scope="module")
def exif_bracket(tmp_path_factory, datasets) -> list[Path]:
    """Three frames of a real hand-held JPEG bracket (lukachuuu_hdr), cut to 160 x 120, EXIF kept."""
    from tita_studio.pipeline.reading import read_image
    from tita_studio.pipeline.writing import WriteOptions, write_image

    folder = tmp_path_factory.mktemp("bracket")
    out = []
    for path in sorted((datasets / "mef/lukachuuu_hdr/seq/dataset2").glob("*.jpg"))[3:6]:
        source = read_image(path)
        h, w = source.shape
        crop = source.pixels[h // 3 : h // 3 + 120, w // 3 : w // 3 + 160]
        out.append(write_image(folder / path.name, crop, WriteOptions(bit_depth=8), meta=source.meta))
    return out


def test_a_bracket_shows_ev_takes_another_reference_and_shows_its_ghost_mask(make_window, qtbot, exif_bracket):
    window = fused_window(make_window, qtbot, exif_bracket, method="average", deghost="on")
    labels = [window.thumbs.item(i).text() for i in range(window.thumbs.count())]
    assert [label.split("\n")[1] for label in labels] == ["+1.0 EV", "+0.0 EV (ref)", "-1.0 EV"]  # brightest first
    result = window.model.result
    assert result.ghost_mask is not None and result.ghost_mask.shape == result.image.shape[:2]
    window.set_overlay("ghost")
    overlay = window.presenter.overlay()
    assert overlay is not None and "Ghost mask" in overlay.map.title
    assert window.grid.result_pane.overlay_item.isVisible()
    with qtbot.waitSignal(window.presenter.result_ready, timeout=RESULT_TIMEOUT):
        window.settings_panel.reference.setCurrentIndex(1)  # the first source: the brightest frame
    assert window.model.result.sources[window.model.result.reference].meta.path.name == exif_bracket[2].name
    assert window.thumbs.item(0).text().endswith("+0.0 EV (ref)")
    with qtbot.waitSignal(window.presenter.result_ready, timeout=RESULT_TIMEOUT):
        window.settings_panel.deghost.setCurrentText("off")
    assert window.model.result.ghost_mask is None and window.presenter.overlay() is None
    assert "ghost mask comes with deghosting" in window.presenter.overlay_unavailable_text()
