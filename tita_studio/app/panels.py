"""Side panels that display the model and forward the user's choices to the presenter/model."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeyEvent, QLinearGradient, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tita_studio.app.config import FusionSettings, InspectConfig, OverlaySpec
from tita_studio.app.images import to_pixmap
from tita_studio.app.jobs import DEGHOST_CHOICES
from tita_studio.app.overlays import OverlayImage
from tita_studio.app.state import LoadedSource
from tita_studio.engine.backends import BACKENDS
from tita_studio.engine.device import DEVICES, PRECISIONS
from tita_studio.engine.quality import QUALITIES
from tita_studio.model.tita import AttentionProbe
from tita_studio.pipeline.align import METHODS as ALIGN_METHODS
from tita_studio.pipeline.kinds import KIND_CHOICES
from tita_studio.pipeline.map_render import BRANCH_COLOURS, BRANCH_LABELS, COLORMAPS, OVERLAY_NAMES, colormap_lut

OVERLAY_TITLES = {"none": "no overlay", "oaf": "dominant OAF branch", "oaf-share": "OAF branch share",
                  "ipa": "IPA cross-attention share", "relation": "IPA relation score",
                  "ghost": "ghost mask (deghosting)"}


class ThumbnailStrip(QListWidget):
    """The sources in fusion order; the × on a thumbnail (or Delete on the selected one) removes it."""

    remove_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setFlow(QListWidget.Flow.LeftToRight)
        self.setWrapping(False)
        self.setIconSize(QSize(96, 72))
        self.setFixedHeight(114)  # icon, name and a second caption line (EV)
        self.setMovement(QListWidget.Movement.Static)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setToolTip("Sources in fusion order. × (or Delete on the selected one) removes a source.")
        self.remove_buttons: list[QToolButton] = []

    def show_sources(self, sources: list[LoadedSource], labels: list[str]) -> None:
        self.clear()
        for button in self.remove_buttons:
            button.deleteLater()
        self.remove_buttons = []
        for row, s in enumerate(sources):
            small = s.display[:: max(1, s.display.shape[0] // 72), :: max(1, s.display.shape[1] // 96)]
            item = QListWidgetItem(QIcon(to_pixmap(np.ascontiguousarray(small))), labels[row])
            item.setToolTip(s.source.describe())
            self.addItem(item)
            self.remove_buttons.append(self._remove_button(row, s.name))
        self._place_buttons()

    def _remove_button(self, row: int, name: str) -> QToolButton:
        """A × on the thumbnail's corner, so removing a source needs no hidden key. It is a child of the
        viewport, not an item widget: in icon mode those only get the caption's rectangle."""
        button = QToolButton(self.viewport())
        button.setText("×")
        button.setToolTip(f"Remove {name}")
        button.setFixedSize(18, 18)
        button.setStyleSheet("QToolButton { background: rgba(255, 255, 255, 210); border: 1px solid #888;"
                             " border-radius: 9px; font-weight: bold }"
                             " QToolButton:hover { background: #d03030; color: white }")
        button.clicked.connect(lambda: self.remove_requested.emit(row))
        button.show()
        return button

    def _place_buttons(self) -> None:
        for row, button in enumerate(self.remove_buttons):
            rect = self.visualItemRect(self.item(row))
            button.move(rect.right() - button.width() - 2, rect.top() + 2)

    def updateGeometries(self) -> None:
        """Items move on layout (resize, new sources): their buttons follow."""
        super().updateGeometries()
        self._place_buttons()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.currentRow() >= 0:
            self.remove_requested.emit(self.currentRow())
            return
        super().keyPressEvent(event)


class ColorBar(QWidget):
    """The overlay's legend: a gradient with its value range, or one swatch per category."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.overlay: OverlayImage | None = None
        self.colormap = "viridis"
        self.setMinimumHeight(40)

    def show_overlay(self, overlay: OverlayImage | None, colormap: str) -> None:
        self.overlay, self.colormap = overlay, colormap
        self.setMinimumHeight(20 * 3 + 8 if overlay is not None and overlay.map.categories else 40)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.overlay is None:
            return
        p = QPainter(self)
        w = self.width()
        if self.overlay.map.categories:
            for i, label in enumerate(self.overlay.map.categories):
                x, y = (i // 3) * w // 2, (i % 3) * 20 + 2
                p.fillRect(x, y, 16, 16, QColor(*BRANCH_COLOURS[i].tolist()))
                p.drawText(x + 22, y + 13, label)
            return
        lut = colormap_lut(self.colormap)
        grad = QLinearGradient(0, 0, w, 0)
        for i in range(0, 256, 16):
            grad.setColorAt(i / 255, QColor(*lut[i].tolist()))
        grad.setColorAt(1.0, QColor(*lut[255].tolist()))
        p.fillRect(QRectF(0, 0, w, 18), grad)
        p.drawText(2, 34, f"{self.overlay.map.lo:.3g}")
        hi = f"{self.overlay.map.hi:.3g}"
        p.drawText(w - p.fontMetrics().horizontalAdvance(hi) - 2, 34, hi)


class OverlayPanel(QWidget):
    """Choose the overlay and how it is drawn; shows the legend and what the map means."""

    changed = Signal(dict)

    def __init__(self, blocks: int = 8, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = QComboBox()
        for name in ("none", *OVERLAY_NAMES):
            self.kind.addItem(OVERLAY_TITLES[name], name)
        self.term = QComboBox()
        self.term.addItems(list(BRANCH_LABELS))
        self.block = QSpinBox()
        self.block.setRange(0, blocks)
        self.block.setSpecialValueText("mean of all")
        self.stream = QComboBox()
        self.stream.addItems(["A", "B"])
        self.colormap = QComboBox()
        self.colormap.addItems(list(COLORMAPS))
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.clip = QDoubleSpinBox()
        self.clip.setRange(0.0, 20.0)
        self.clip.setSuffix(" %")
        self.clip.setSingleStep(0.5)
        self.on_sources = QCheckBox("also on the source panes")
        self.bar = ColorBar()
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: bold")
        self.text = QLabel()
        self.text.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Overlay", self.kind)
        form.addRow("Branch", self.term)
        form.addRow("ISF block", self.block)
        form.addRow("Stream", self.stream)
        form.addRow("Colours", self.colormap)
        form.addRow("Opacity", self.opacity)
        form.addRow("Clip", self.clip)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.on_sources)
        lay.addWidget(self.title)
        lay.addWidget(self.bar)
        lay.addWidget(self.text)
        lay.addStretch(1)
        self.kind.currentIndexChanged.connect(lambda: self.changed.emit({"kind": self.kind.currentData()}))
        self.term.currentIndexChanged.connect(lambda i: self.changed.emit({"term": i}))
        self.block.valueChanged.connect(lambda v: self.changed.emit({"block": v}))
        self.stream.currentTextChanged.connect(lambda s: self.changed.emit({"stream": s}))
        self.colormap.currentTextChanged.connect(lambda s: self.changed.emit({"colormap": s}))
        self.opacity.valueChanged.connect(lambda v: self.changed.emit({"opacity": v / 100}))
        self.clip.valueChanged.connect(lambda v: self.changed.emit({"clip_percent": v}))
        self.on_sources.toggled.connect(lambda b: self.changed.emit({"on_sources": b}))

    def show_spec(self, spec: OverlaySpec, overlay: OverlayImage | None, unavailable: str, pair: str) -> None:
        """Mirror the spec in the controls (signals blocked) and show the legend and explanation;
        `pair` says what A and B are."""
        for widget, setter, value in ((self.kind, "setCurrentIndex", self.kind.findData(spec.kind)),
                                      (self.term, "setCurrentIndex", spec.term),
                                      (self.block, "setValue", spec.block),
                                      (self.stream, "setCurrentText", spec.stream),
                                      (self.colormap, "setCurrentText", spec.colormap),
                                      (self.opacity, "setValue", round(spec.opacity * 100)),
                                      (self.clip, "setValue", spec.clip_percent),
                                      (self.on_sources, "setChecked", spec.on_sources)):
            widget.blockSignals(True)
            getattr(widget, setter)(value)
            widget.blockSignals(False)
        self.term.setEnabled(spec.kind == "oaf-share")
        self.block.setEnabled(spec.kind in ("ipa", "relation"))
        self.stream.setEnabled(spec.kind in ("ipa", "relation"))
        self.colormap.setEnabled(spec.kind not in ("oaf", "none"))
        self.clip.setEnabled(spec.kind not in ("oaf", "none", "ghost"))
        self.bar.show_overlay(overlay, spec.colormap)
        if overlay is not None:
            self.title.setText(overlay.map.title)
            self.text.setText(f"{overlay.explanation} {pair}")
        else:
            self.title.setText("")
            self.text.setText(unavailable if spec.kind != "none" else
                              "Overlays show what the network does at each pixel. Pick one above.")


class InspectorPanel(QWidget):
    """One pixel's window cross-attention: a heat map per head over the other source's 8x8 window."""

    changed = Signal(dict)

    def __init__(self, blocks: int = 8, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.block = QSpinBox()
        self.block.setRange(1, blocks)
        self.stream = QComboBox()
        self.stream.addItems(["A", "B"])
        self.help = QLabel("Ctrl+click a pixel (or turn on Inspect, key I, and click) to see where that pixel "
                           "looks in the other source's 8x8 window. Brighter cells get more attention.")
        self.help.setWordWrap(True)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.heads = QGridLayout()
        self.head_labels: list[QLabel] = []
        form = QFormLayout()
        form.addRow("ISF block", self.block)
        form.addRow("Query stream", self.stream)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.help)
        lay.addWidget(self.info)
        lay.addLayout(self.heads)
        lay.addStretch(1)
        self.block.valueChanged.connect(lambda v: self.changed.emit({"block": v}))
        self.stream.currentTextChanged.connect(lambda s: self.changed.emit({"stream": s}))

    def show_probe(self, config: InspectConfig, probe: AttentionProbe | None, pixel: tuple[int, int] | None,
                   unavailable: str, pair: str) -> None:
        """The probe's heat maps, or why there are none; `pair` says what A and B are."""
        for w, v in ((self.block, config.block), (self.stream, config.stream)):
            w.blockSignals(True)
            if isinstance(w, QSpinBox):
                w.setValue(v)
            else:
                w.setCurrentText(v)
            w.blockSignals(False)
        for label in self.head_labels:
            label.setParent(None)
            label.deleteLater()
        self.head_labels = []
        if probe is None or pixel is None:
            self.info.setText(unavailable)
            return
        weights = probe.weights.numpy()
        other = "B" if probe.stream == "A" else "A"
        self.info.setText(f"Pixel x {pixel[1]}, y {pixel[0]} of {probe.stream}, block {probe.block + 1}: "
                          f"attention over {other}'s window x {int(probe.cols.min())}..{int(probe.cols.max())}, "
                          f"y {int(probe.rows.min())}..{int(probe.rows.max())} (yellow outline). {pair}")
        lut = colormap_lut("magma")
        cols = 3
        top = max(float(weights.max()), 1e-12)  # one scale for all heads, from 0 to the largest weight
        self.info.setText(self.info.text() + f" Colour scale: 0 (black) to {top:.3f} (palest) for every head; "
                          f"uniform attention would be {1 / weights[0].size:.3f}.")
        for h in range(weights.shape[0]):
            w = weights[h]
            scaled = np.round(255 * w / top).astype(np.uint8)
            big = np.kron(lut[scaled], np.ones((config.cell_px, config.cell_px, 1), np.uint8))
            label = QLabel()
            label.setPixmap(to_pixmap(np.ascontiguousarray(big)))
            label.setToolTip(f"head {h + 1}: max {w.max():.3f}")
            caption = QLabel(f"head {h + 1} (max {w.max():.2f})")
            box = QWidget()
            v = QVBoxLayout(box)
            v.setContentsMargins(0, 0, 0, 0)
            v.addWidget(label)
            v.addWidget(caption)
            self.heads.addWidget(box, h // cols, h % cols)
            self.head_labels.append(box)


class SettingsPanel(QWidget):
    """Method, input kind, reference frame, alignment, ghosts, quality, model, device, precision and preview
    size; remembered between runs (all but the reference frame, which belongs to the sources)."""

    changed = Signal(dict)
    reference_changed = Signal(int)  # source index, -1: automatic

    def __init__(self, methods: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.method = QComboBox()
        self.method.addItems(methods)
        self.kind = QComboBox()
        self.kind.addItems(list(KIND_CHOICES))
        self.kind.setToolTip("What the sources are; auto decides from the pixels")
        self.reference = QComboBox()
        self.reference.setToolTip("The frame the result keeps its geometry and metadata from; deghosting "
                                  "takes moving things from it")
        self.align = QComboBox()
        self.align.addItems(list(ALIGN_METHODS))
        self.deghost = QComboBox()
        self.deghost.addItems(list(DEGHOST_CHOICES))
        self.deghost.setToolTip("Remove what moved between the frames of a bracket (auto: for hand-held ones)")
        self.quality = QComboBox()
        self.quality.addItems(list(QUALITIES))
        self.quality.setToolTip("fast: the network at about 1 MP, carried to full size; full: exact, slower; "
                                "auto: fast for large images")
        self.model = QLineEdit()
        self.model.setPlaceholderText("shipped weights")
        browse = QPushButton("Browse...")
        self.device = QComboBox()
        self.device.addItems(list(DEVICES))
        self.precision = QComboBox()
        self.precision.addItems(["auto", *PRECISIONS])
        self.backend = QComboBox()
        self.backend.addItems(list(BACKENDS))
        self.backend.setToolTip("torch (the reference), openvino (CPU, the openvino extra), auto: the faster here")
        self.preview = QSpinBox()
        self.preview.setRange(0, 2048)
        self.preview.setSingleStep(64)
        self.preview.setSpecialValueText("off")
        self.engine = QLabel()
        self.engine.setWordWrap(True)
        self.input = QLabel()
        self.input.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.model, 1)
        row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow("Method", self.method)
        form.addRow("Input kind", self.kind)
        form.addRow(self.input)
        form.addRow("Reference frame", self.reference)
        form.addRow("Alignment", self.align)
        form.addRow("Ghosts", self.deghost)
        form.addRow("Quality", self.quality)
        form.addRow("Model", row)
        form.addRow("Device", self.device)
        form.addRow("Precision", self.precision)
        form.addRow("Backend", self.backend)
        form.addRow("Preview side", self.preview)
        form.addRow(self.engine)
        self.method.currentTextChanged.connect(lambda s: self.changed.emit({"method": s}))
        self.kind.currentTextChanged.connect(lambda s: self.changed.emit({"kind": s}))
        self.align.currentTextChanged.connect(lambda s: self.changed.emit({"align": s}))
        self.deghost.currentTextChanged.connect(lambda s: self.changed.emit({"deghost": s}))
        self.quality.currentTextChanged.connect(lambda s: self.changed.emit({"quality": s}))
        self.reference.currentIndexChanged.connect(lambda i: self.reference_changed.emit(i - 1))
        self.model.editingFinished.connect(lambda: self.changed.emit({"model": self.model.text().strip()}))
        self.device.currentTextChanged.connect(lambda s: self.changed.emit({"device": s}))
        self.precision.currentTextChanged.connect(lambda s: self.changed.emit({"precision": s}))
        self.backend.currentTextChanged.connect(lambda s: self.changed.emit({"backend": s}))
        self.preview.valueChanged.connect(lambda v: self.changed.emit({"preview_side": v}))
        browse.clicked.connect(self._browse)

    def show_references(self, names: list[str], chosen: int | None) -> None:
        """The sources to choose the reference frame from ("auto" first)."""
        self.reference.blockSignals(True)
        self.reference.clear()
        self.reference.addItems(["auto", *names])
        self.reference.setCurrentIndex(0 if chosen is None else chosen + 1)
        self.reference.blockSignals(False)

    def show_input(self, text: str) -> None:
        """What the current sources were taken for, and what alignment declined to do."""
        self.input.setText(text)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "TITA weights", "", "Weights (*.safetensors *.pth *.pt)")
        if path:
            self.model.setText(path)
            self.changed.emit({"model": path})

    def show_settings(self, s: FusionSettings, engine_text: str) -> None:
        for w, v in ((self.method, s.method), (self.kind, s.kind), (self.align, s.align), (self.device, s.device),
                     (self.precision, s.precision), (self.deghost, s.deghost), (self.quality, s.quality),
                     (self.backend, s.backend)):
            w.blockSignals(True)
            w.setCurrentText(v)
            w.blockSignals(False)
        for w, setter, v in ((self.model, "setText", s.model), (self.preview, "setValue", s.preview_side)):
            w.blockSignals(True)
            getattr(w, setter)(v)
            w.blockSignals(False)
        self.engine.setText(engine_text)


class MetricsPanel(QWidget):
    """Quality metrics of the current result, and of every baseline on one click."""

    compute_requested = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        score = QPushButton("Score result")
        compare = QPushButton("Compare with baselines")
        compare.setToolTip("Fuse with every classical method and score them all (a few seconds)")
        self.note = QLabel("MI, FMI, Qabf, VIF, SSIM (and MEF-SSIM for brackets): higher is better.")
        self.note.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(score)
        row.addWidget(compare)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.note)
        score.clicked.connect(lambda: self.compute_requested.emit(False))
        compare.clicked.connect(lambda: self.compute_requested.emit(True))

    def show_metrics(self, metrics: dict[str, dict[str, float]]) -> None:
        self.table.clear()
        if not metrics:
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            return
        names = list(next(iter(metrics.values())))
        self.table.setColumnCount(len(names))
        self.table.setRowCount(len(metrics))
        self.table.setHorizontalHeaderLabels(names)
        self.table.setVerticalHeaderLabels(list(metrics))
        for r, row in enumerate(metrics.values()):
            for c, name in enumerate(names):
                v = row.get(name, math.nan)
                self.table.setItem(r, c, QTableWidgetItem("n/a" if math.isnan(v) else f"{v:.3f}"))
        self.table.resizeColumnsToContents()
