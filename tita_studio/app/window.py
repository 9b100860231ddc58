"""The main window: assembles panes and panels, and redraws them from the model's signals."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QRectF, QSize, Qt, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from tita_studio.app.config import FusionSettings
from tita_studio.app.intents import ViewIntents
from tita_studio.app.jobs import baseline_names
from tita_studio.app.panels import (
    OVERLAY_TITLES,
    InspectorPanel,
    MetricsPanel,
    OverlayPanel,
    SettingsPanel,
    ThumbnailStrip,
)
from tita_studio.app.panes import FileDropTarget, ImagePane, PaneGrid
from tita_studio.app.presenter import StudioPresenter
from tita_studio.app.records import BASELINE, Outcome
from tita_studio.app.settings_store import SettingsStore
from tita_studio.app.state import StudioModel
from tita_studio.pipeline.formats import READ_SUFFIXES
from tita_studio.pipeline.fuse import TITA_METHOD
from tita_studio.pipeline.map_render import OVERLAY_NAMES

log = logging.getLogger(__name__)

def result_title(outcome: Outcome) -> str:
    """The result pane's title: says plainly which stage is on screen, so a preview is never taken
    for the result."""
    r = outcome.result
    if outcome.stage == BASELINE:
        return f"preview: {r.method.capitalize()} baseline — TITA running"
    if not outcome.is_full:
        h, w = r.image.shape[:2]
        return f"preview: {r.method} at {w} x {h} — full size on the way"
    return f"result: {r.method} ({r.seconds:.2f} s)"


class MainWindow(FileDropTarget, QMainWindow):
    """TITA Studio: drop images, see the fusion, compare, and look inside the network."""

    def __init__(self, settings_path: Path | None = None, overrides: dict | None = None,
                 interactive_errors: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("TITA Studio")
        self.setAcceptDrops(True)
        self.interactive_errors = interactive_errors
        self.errors: list[tuple[str, str]] = []
        store = SettingsStore(settings_path)
        settings = replace(store.load(), **(overrides or {}))
        self.model = StudioModel(settings)
        self.intents = ViewIntents(self)
        self.presenter = StudioPresenter(self.model, store)
        self._build()
        self._connect()
        self.presenter.attach(self)
        self._refresh_settings()
        self._refresh_engine()
        self._refresh_sources()

    # construction
    def _build(self) -> None:
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(4, 4, 4, 4)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #ffe08a; color: #3a2a00; padding: 4px; border-radius: 3px")
        self.thumbs = ThumbnailStrip()
        self.thumbs.setAcceptDrops(False)
        self.grid = PaneGrid(self.model.view)
        self.hint = QLabel("Drop 2 to 9 images or a folder anywhere on this window, or use File > Open.")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.banner)
        lay.addWidget(self.thumbs)
        lay.addWidget(self.hint)
        lay.addWidget(self.grid, 1)
        self.setCentralWidget(central)

        methods = [TITA_METHOD, *baseline_names()]
        self.settings_panel = SettingsPanel(methods)
        self.overlay_panel = OverlayPanel()
        self.inspector = InspectorPanel()
        self.metrics_panel = MetricsPanel()
        self.docks = {}
        for title, widget, area in (("Overlay", self.overlay_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("Inspect", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("Settings", self.settings_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("Metrics", self.metrics_panel, Qt.DockWidgetArea.RightDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(title)
            dock.setWidget(_PanelScroll(widget))
            self.addDockWidget(area, dock)
            self.docks[title] = dock
        self.tabifyDockWidget(self.docks["Inspect"], self.docks["Settings"])
        self.tabifyDockWidget(self.docks["Settings"], self.docks["Metrics"])
        self.docks["Settings"].raise_()

        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(200)
        self.stage = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.readout = QLabel()
        self.statusBar().addWidget(self.readout, 1)
        self.statusBar().addPermanentWidget(self.stage)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)

        self._build_actions(methods)

    def _action(self, text: str, slot: object, shortcut: str | list[str] | None = None,
                checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut:
            keys = [shortcut] if isinstance(shortcut, str) else shortcut
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self, methods: list[str]) -> None:
        a = self._action
        self.open_action = a("&Open images...", lambda: self._open_dialog())
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        add = a("&Add images...", lambda: self._open_dialog(add=True))
        folder = a("Open &folder...", self._open_folder)
        exp_img = a("&Export image...", self._export_image, "Ctrl+E")
        exp_maps = a("Export &maps...", self._export_maps)
        exp_rep = a("Export &report...", self._export_report)
        quit_ = a("&Quit", self.close, "Ctrl+Q")
        self.fit_action = a("&Fit", self.fit, "F")
        self.one_action = a("&1:1 pixels", self.one_to_one, ["1", "0"])
        self.swipe_action = a("&Swipe", lambda on: self.intents.compare_requested.emit({"swipe": on}), "S",
                              checkable=True)
        self.flicker_action = a("A/B &flicker", lambda on: self.intents.compare_requested.emit({"flicker": on}), "B",
                                checkable=True)
        self.inspect_action = a("&Inspect mode", self._set_inspect_mode, "I", checkable=True)
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        for act in (self.open_action, add, folder, None, exp_img, exp_maps, exp_rep, None, quit_):
            file_menu.addSeparator() if act is None else file_menu.addAction(act)
        view_menu = menu.addMenu("&View")
        for act in (self.fit_action, self.one_action, self.swipe_action, self.flicker_action, self.inspect_action):
            view_menu.addAction(act)
        overlay_menu = menu.addMenu("&Overlay")
        group = QActionGroup(self)
        self.overlay_actions = {}
        for name in ("none", *OVERLAY_NAMES):
            act = QAction(f"{OVERLAY_TITLES[name]} ({name})", self, checkable=True)
            act.triggered.connect(lambda _=False, n=name: self.set_overlay(n))
            group.addAction(act)
            overlay_menu.addAction(act)
            self.overlay_actions[name] = act
        panels = menu.addMenu("&Panels")
        for dock in self.docks.values():
            panels.addAction(dock.toggleViewAction())

        bar = QToolBar("Main")
        bar.setObjectName("main-toolbar")
        self.addToolBar(bar)
        bar.addAction(self.open_action)
        bar.addSeparator()
        bar.addWidget(QLabel(" Method "))
        self.method_box = QComboBox()
        self.method_box.addItems(methods)
        self.method_box.setToolTip("TITA or a classical baseline, one click away")
        bar.addWidget(self.method_box)
        bar.addSeparator()
        for act in (self.fit_action, self.one_action, self.swipe_action, self.flicker_action, self.inspect_action):
            bar.addAction(act)
        bar.addWidget(QLabel(" compare with "))
        self.compare_box = QComboBox()
        self.compare_box.setToolTip("The source the swipe and the flicker show against the result")
        bar.addWidget(self.compare_box)

    def _connect(self) -> None:
        m, i = self.model, self.intents
        m.sources_changed.connect(self._refresh_sources)
        m.result_changed.connect(self._refresh_images)
        m.overlay_changed.connect(self._refresh_overlay)
        m.settings_changed.connect(self._refresh_settings)
        m.engine_changed.connect(self._refresh_engine)
        m.busy_changed.connect(self._refresh_busy)
        m.probe_changed.connect(self._refresh_probe)
        m.compare_changed.connect(self._refresh_images)
        m.metrics_changed.connect(lambda: self.metrics_panel.show_metrics(self.model.metrics))
        self.thumbs.remove_requested.connect(i.remove_requested)
        self.cancel_button.clicked.connect(lambda: i.cancel_requested.emit())
        self.settings_panel.changed.connect(i.settings_requested)
        self.settings_panel.reference_changed.connect(i.reference_requested)
        self.method_box.currentTextChanged.connect(lambda s: i.settings_requested.emit({"method": s}))
        self.overlay_panel.changed.connect(i.overlay_requested)
        self.inspector.changed.connect(i.inspect_settings_requested)
        self.metrics_panel.compute_requested.connect(i.metrics_requested)
        self.compare_box.currentIndexChanged.connect(lambda k: i.compare_requested.emit({"index": max(0, k)}))

    # public actions (also used by tests and the command line)
    def open_paths(self, paths: list[str | Path], add: bool = False) -> None:
        self.intents.open_requested.emit(list(paths), add)

    def set_overlay(self, name: str) -> None:
        self.intents.overlay_named.emit(name)

    def fit(self) -> None:
        self.grid.fit()

    def one_to_one(self) -> None:
        self.model.view.one_to_one(self.devicePixelRatioF())

    @Slot(str, str)
    def show_error(self, message: str, details: str) -> None:
        """A dialog with one plain sentence and the details (the traceback is in the log)."""
        self.errors.append((message, details))
        log.error("%s\n%s", message, details)
        if not self.interactive_errors:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "TITA Studio", message, QMessageBox.StandardButton.Ok, self)
        box.setInformativeText("Nothing was lost: the previous result is still shown.")
        box.setDetailedText(details)
        box.exec()
        box.deleteLater()

    def show_status(self, message: str) -> None:
        """A passing message in the status bar."""
        self.statusBar().showMessage(message, 8000)

    # redraws
    def _pane_sources(self) -> list:
        outcome = self.model.outcome
        if outcome is not None and outcome.is_full:
            return outcome.source_displays
        return [s.display for s in self.model.sources]

    @Slot()
    def _refresh_sources(self) -> None:
        sources = self.model.sources
        self.thumbs.show_sources(sources, self.presenter.thumbnail_labels())
        self.settings_panel.show_references([s.name for s in sources], self.model.reference)
        self.hint.setVisible(len(sources) < 2)
        self.compare_box.blockSignals(True)
        self.compare_box.clear()
        self.compare_box.addItems([s.name for s in sources])
        self.compare_box.setCurrentIndex(min(self.model.compare_index, len(sources) - 1))
        self.compare_box.blockSignals(False)
        count = len(sources) + 1 if len(sources) >= 2 else len(sources)
        if self.grid.rebuild(count):
            for pane in self.grid.panes:
                pane.hovered.connect(self._hovered)
                pane.inspect_clicked.connect(self._inspect_clicked)
                pane.files_dropped.connect(self.open_paths)
                pane.swipe_dragged.connect(lambda f: self.intents.compare_requested.emit({"swipe_x": f}))
                pane.inspect_mode = self.inspect_action.isChecked()
        self._refresh_images()

    @Slot()
    def _refresh_images(self) -> None:
        panes = self.grid.panes
        w, h = self.presenter.scene_size()
        for pane in panes:
            pane.set_scene_size(w, h)
        shown = self._pane_sources()
        names = [s.name for s in self.model.sources]
        for i, (pane, array) in enumerate(zip(panes, shown, strict=False)):
            pane.set_image(array)
            self.grid.titles[i].setText(f"{'AB'[i] + ': ' if len(names) == 2 else ''}{names[i]}")
        if len(panes) == len(shown) + 1:
            self._refresh_result_pane(panes[-1], shown)
        self.settings_panel.show_input(self.presenter.input_text())
        if self.model.view.fitted:
            self.fit()
        self._refresh_overlay()
        self._refresh_probe()

    def _refresh_result_pane(self, pane: ImagePane, shown: list) -> None:
        m = self.model
        outcome = m.outcome
        title = self.grid.titles[-1]
        compare = shown[m.compare_index] if shown else None
        if m.flicker and compare is not None:
            pane.set_image(compare)
            title.setText(f"showing {m.sources[m.compare_index].name} (B: back to the result)")
        elif outcome is None:
            pane.set_image(None)
            title.setText("result: fusing..." if m.busy else "result")
        else:
            pane.set_image(outcome.display)
            swipe = f"  |  swipe: {m.sources[m.compare_index].name} left of the line" if m.swipe else ""
            title.setText(result_title(outcome) + swipe)
        pane.set_swipe(compare if m.swipe and outcome is not None else None, m.swipe_x)

    @Slot()
    def _refresh_overlay(self) -> None:
        overlay = self.presenter.overlay()
        spec = self.model.overlay_spec
        for i, pane in enumerate(self.grid.panes):
            is_result = i == len(self.grid.panes) - 1 and len(self.grid.panes) > 1
            pane.set_overlay(overlay.rgba if overlay is not None and (is_result or spec.on_sources) else None)
        self.overlay_panel.show_spec(spec, overlay, self.presenter.overlay_unavailable_text(),
                                     self.presenter.pair_text())
        for name, act in self.overlay_actions.items():
            act.setChecked(name == spec.kind)

    @Slot()
    def _refresh_probe(self) -> None:
        m = self.model
        marks = self.presenter.probe_marks()
        window, pix = (QRectF(*box) for box in marks) if marks is not None else (None, None)
        for pane in self.grid.panes:
            pane.set_marks(window, pix)
        if marks is not None:
            self.docks["Inspect"].raise_()
        self.inspector.show_probe(m.inspect, m.probe, m.probe_pixel, self.presenter.can_inspect() or
                                  "Ctrl+click a pixel on any pane.", self.presenter.pair_text())

    @Slot()
    def _refresh_engine(self) -> None:
        self.banner.setText(self.presenter.banner_text())
        self.banner.setVisible(bool(self.banner.text()))
        self.settings_panel.show_settings(self.model.settings, self.presenter.engine_text())
        self._refresh_overlay()
        self._refresh_probe()

    @Slot()
    def _refresh_settings(self) -> None:
        s: FusionSettings = self.model.settings
        self.settings_panel.show_settings(s, self.settings_panel.engine.text())
        self.method_box.blockSignals(True)
        self.method_box.setCurrentText(s.method)
        self.method_box.blockSignals(False)

    @Slot()
    def _refresh_busy(self) -> None:
        m = self.model
        self.progress.setVisible(m.busy)
        self.cancel_button.setVisible(m.busy)
        self.progress.setValue(round(100 * m.progress))
        stage = {"preview": "fast TITA preview", "full": "full size"}.get(m.stage, m.stage)
        self.stage.setText(f"fusing: {stage}" if m.busy else ("" if m.stage == "done" else m.stage))
        if self.model.outcome is None:
            self._refresh_images()

    # pane events
    @Slot(float, float)
    def _hovered(self, x: float, y: float) -> None:
        self.readout.setText(self.presenter.readout(x, y))

    @Slot(float, float)
    def _inspect_clicked(self, x: float, y: float) -> None:
        self.intents.inspect_requested.emit(x, y)

    def _set_inspect_mode(self, on: bool) -> None:
        for pane in self.grid.panes:
            pane.inspect_mode = on

    # files
    def _open_dialog(self, add: bool = False) -> None:
        patterns = " ".join(f"*{s}" for s in READ_SUFFIXES)
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", "", f"Images ({patterns})")
        if paths:
            self.open_paths(paths, add)

    def _open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if folder:
            self.open_paths([folder])

    def _export_image(self) -> None:
        filters = {"PNG 8-bit (*.png)": 8, "PNG 16-bit (*.png)": 16, "TIFF 8-bit (*.tif)": 8,
                   "TIFF 16-bit (*.tif)": 16, "JPEG (*.jpg)": None}
        path, chosen = QFileDialog.getSaveFileName(self, "Export the fused image", "fused.png", ";;".join(filters))
        if path:
            self.intents.export_image_requested.emit(path, filters.get(chosen))

    def _export_maps(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the maps")
        if folder:
            self.intents.export_maps_requested.emit(folder)

    def _export_report(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export a report", "report.md", "Markdown (*.md)")
        if path:
            self.intents.export_report_requested.emit(path)

    def files_arrived(self, paths: list[str]) -> None:
        """Files dropped anywhere on the window."""
        self.open_paths(paths)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Cancel a running fusion and wait for the worker thread before the window goes."""
        self.presenter.shutdown()
        super().closeEvent(event)


class _PanelScroll(QScrollArea):
    """A dock's panel in a vertical scroll area: a dock shorter than its panel scrolls instead of squeezing
    the word-wrapped labels below their height (which clipped their last line), and the dock stays as wide
    as the panel needs, also when the panel grows (the attention heads appear after a click)."""

    def __init__(self, panel: QWidget) -> None:
        super().__init__()
        self.setWidget(panel)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def _width(self, inner: int) -> int:
        return inner + self.verticalScrollBar().sizeHint().width()

    def sizeHint(self) -> QSize:
        hint = self.widget().sizeHint()
        return QSize(self._width(hint.width()), hint.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(self._width(self.widget().minimumSizeHint().width()), super().minimumSizeHint().height())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(watched, event)
