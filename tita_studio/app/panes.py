"""Image panes: QGraphicsViews that only display, all following one shared ViewState."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QResizeEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QGridLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from tita_studio.app.images import to_pixmap
from tita_studio.app.state import ViewState

_HUGE = 1e6  # scene rect half-size: centerOn is never clamped, so every pane can follow the shared centre


class FileDropTarget:
    """Mixin for a widget that takes dropped files and hands them to `files_arrived`. It overrides
    dragMoveEvent too: a QGraphicsView's default hands the move to its scene, which rejects it."""

    def files_arrived(self, paths: list[str]) -> None:
        raise NotImplementedError

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.files_arrived(paths)


class ImagePane(FileDropTarget, QGraphicsView):
    """One image (plus optional overlay, swipe layer and inspect marks) in scene = result pixel units."""

    hovered = Signal(float, float)
    inspect_clicked = Signal(float, float)
    files_dropped = Signal(list)
    swipe_dragged = Signal(float)
    resized = Signal()

    def __init__(self, view: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.inspect_mode = False
        self.scene_w, self.scene_h = 0, 0
        self._scene = QGraphicsScene(self)
        self._scene.setSceneRect(-_HUGE, -_HUGE, 2 * _HUGE, 2 * _HUGE)
        self.setScene(self._scene)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setBackgroundBrush(QColor(40, 40, 40))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMouseTracking(True)
        self.setAcceptDrops(True)
        self.image_item = QGraphicsPixmapItem()
        self.overlay_item = QGraphicsPixmapItem()
        self.overlay_item.setZValue(2)
        self.swipe_clip = QGraphicsRectItem()
        self.swipe_clip.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
        self.swipe_clip.setPen(Qt.PenStyle.NoPen)
        self.swipe_clip.setZValue(1)
        self.swipe_item = QGraphicsPixmapItem(self.swipe_clip)
        self.divider = QGraphicsLineItem()
        self.divider.setPen(self._pen(QColor(255, 255, 255), 2))
        self.divider.setZValue(3)
        self.window_mark = QGraphicsRectItem()
        self.window_mark.setPen(self._pen(QColor(255, 220, 0), 2))
        self.pixel_mark = QGraphicsRectItem()
        self.pixel_mark.setPen(self._pen(QColor(0, 230, 255), 2))
        for item in (self.image_item, self.overlay_item, self.swipe_clip, self.divider, self.window_mark,
                     self.pixel_mark):
            self._scene.addItem(item)
        for item in (self.window_mark, self.pixel_mark):
            item.setZValue(4)
        self.set_swipe(None, 0.5)
        self.set_marks(None, None)
        self._drag_from: QPointF | None = None
        self._dragging_divider = False
        self.image_shape: tuple[int, int] = (0, 0)
        view.changed.connect(self.follow)

    @staticmethod
    def _pen(colour: QColor, width: int) -> QPen:
        pen = QPen(colour, width)
        pen.setCosmetic(True)
        return pen

    # content
    def set_scene_size(self, width: int, height: int) -> None:
        self.scene_w, self.scene_h = width, height

    def _place(self, item: QGraphicsPixmapItem, shape: tuple[int, int]) -> None:
        w = shape[1]
        item.setScale(self.scene_w / w if w else 1.0)

    def set_image(self, array: np.ndarray | None) -> None:
        """Show a uint8 image scaled to cover the scene rectangle (previews are smaller)."""
        if array is None:
            self.image_item.setPixmap(to_pixmap(np.zeros((1, 1), np.uint8)))
            self.image_shape = (0, 0)
            return
        self.image_item.setPixmap(to_pixmap(array))
        self.image_shape = array.shape[:2]
        self._place(self.image_item, self.image_shape)
        self.follow()

    def set_overlay(self, rgba: np.ndarray | None) -> None:
        self.overlay_item.setVisible(rgba is not None)
        if rgba is not None:
            self.overlay_item.setPixmap(to_pixmap(rgba))
            self._place(self.overlay_item, rgba.shape[:2])

    def set_swipe(self, array: np.ndarray | None, fraction: float) -> None:
        """Show `array` left of a divider at `fraction` of the width (None: no swipe)."""
        on = array is not None
        self.swipe_clip.setVisible(on)
        self.divider.setVisible(on)
        if not on:
            return
        if self.swipe_item.data(0) is not array:
            self.swipe_item.setPixmap(to_pixmap(array))
            self.swipe_item.setData(0, array)
            self._place(self.swipe_item, array.shape[:2])
        x = fraction * self.scene_w
        self.swipe_clip.setRect(QRectF(0, 0, x, self.scene_h))
        self.divider.setLine(x, 0, x, self.scene_h)

    def set_marks(self, window: QRectF | None, pixel: QRectF | None) -> None:
        """Outline the attention window and the query pixel (scene units)."""
        for item, rect in ((self.window_mark, window), (self.pixel_mark, pixel)):
            item.setVisible(rect is not None)
            if rect is not None:
                item.setRect(rect)

    # shared view state
    def follow(self) -> None:
        """Apply the shared centre and zoom."""
        z = self.view.zoom
        self.setTransform(QTransform.fromScale(z, z))
        self.centerOn(self.view.cx, self.view.cy)
        mode = Qt.TransformationMode.SmoothTransformation if z < 1 else Qt.TransformationMode.FastTransformation
        for item in (self.image_item, self.swipe_item):
            item.setTransformationMode(mode)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.view.fitted:
            self.resized.emit()
        else:
            self.follow()

    def _offset(self, pos: QPointF) -> tuple[float, float]:
        vp = self.viewport()
        return pos.x() - vp.width() / 2, pos.y() - vp.height() / 2

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if not steps:
            return
        pos = event.position()
        p = self.mapToScene(pos.toPoint())
        dx, dy = self._offset(pos)
        self.view.zoom_at(p.x(), p.y(), dx, dy, math.pow(self.view.config.wheel_step, steps))
        event.accept()

    def _near_divider(self, pos: QPointF) -> bool:
        if not self.divider.isVisible():
            return False
        x = self.mapFromScene(self.divider.line().p1()).x()
        return abs(pos.x() - x) <= self.view.config.swipe_grab_px

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        p = self.mapToScene(event.position().toPoint())
        if self.inspect_mode or event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.inspect_clicked.emit(p.x(), p.y())
        elif self._near_divider(event.position()):
            self._dragging_divider = True
        else:
            self._drag_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        p = self.mapToScene(pos.toPoint())
        if self._dragging_divider and self.scene_w:
            self.swipe_dragged.emit(p.x() / self.scene_w)
        elif self._drag_from is not None:
            delta = pos - self._drag_from
            self._drag_from = pos
            self.view.pan(delta.x(), delta.y())
        self.hovered.emit(p.x(), p.y())
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_from = None
        self._dragging_divider = False
        self.viewport().unsetCursor()
        event.accept()

    def files_arrived(self, paths: list[str]) -> None:
        self.files_dropped.emit(paths)


class PaneGrid(QWidget):
    """The source panes and the result pane: sources above a wide result for a pair, a grid for more."""

    def __init__(self, view: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.panes: list[ImagePane] = []
        self.titles: list[QLabel] = []
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)

    @Slot()
    def fit(self) -> None:
        """Fit the image in the smallest pane, so that every pane shows all of it."""
        if not self.panes:
            return
        pane = self.panes[0]
        view_w = min(p.viewport().width() for p in self.panes)
        view_h = min(p.viewport().height() for p in self.panes)
        self.view.fit(pane.scene_w, pane.scene_h, view_w, view_h)

    @property
    def result_pane(self) -> ImagePane | None:
        return self.panes[-1] if self.panes else None

    def rebuild(self, count: int) -> bool:
        """Make `count` panes (the last is the result); True when the panes were recreated."""
        if count == len(self.panes):
            return False
        for pane in self.panes:
            self.view.changed.disconnect(pane.follow)
        while self._layout.count():
            widget = self._layout.takeAt(0).widget()
            widget.setParent(None)
            widget.deleteLater()
        self.panes, self.titles = [], []
        cols = 2 if count in (3, 4) else max(1, math.ceil(math.sqrt(count)))
        for i in range(count):
            box = QWidget()
            lay = QVBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(1)
            title = QLabel()
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            pane = ImagePane(self.view)
            pane.resized.connect(self.fit)
            lay.addWidget(title)
            lay.addWidget(pane, 1)
            wide = count == 3 and i == 2  # two sources: the result gets the whole bottom row
            self._layout.addWidget(box, i // cols, i % cols, 1, 2 if wide else 1)
            self.panes.append(pane)
            self.titles.append(title)
        return True
