"""The model of the window: sources, settings, results, overlay choice and the shared view state.

QtCore only (signals), no widgets: presenters and tests use it without a display.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QObject, Signal

from tita_studio.app.config import FusionSettings, InspectConfig, OverlaySpec, ViewConfig
from tita_studio.app.records import EngineStatus, LoadedSource, Outcome
from tita_studio.model.tita import AttentionProbe
from tita_studio.pipeline.fuse import FusionResult


class ViewState(QObject):
    """One centre (scene pixels) and one zoom (screen px per image px) that every pane follows."""

    changed = Signal()

    def __init__(self, config: ViewConfig | None = None) -> None:
        super().__init__()
        self.config = config or ViewConfig()
        self.cx, self.cy, self.zoom = 0.0, 0.0, 1.0
        self.fitted = True  # re-fit on resize and on new images until the user zooms or pans

    def set(self, cx: float, cy: float, zoom: float, fitted: bool = False) -> None:
        zoom = min(self.config.max_zoom, max(self.config.min_zoom, zoom))
        self.cx, self.cy, self.zoom, self.fitted = cx, cy, zoom, fitted
        self.changed.emit()

    def zoom_at(self, sx: float, sy: float, dx: float, dy: float, factor: float) -> None:
        """Zoom by `factor` keeping scene point (sx, sy), seen `dx, dy` screen px from the view centre, fixed."""
        zoom = min(self.config.max_zoom, max(self.config.min_zoom, self.zoom * factor))
        self.set(sx - dx / zoom, sy - dy / zoom, zoom)

    def pan(self, dx: float, dy: float) -> None:
        """Move the image by a drag of (dx, dy) screen pixels."""
        self.set(self.cx - dx / self.zoom, self.cy - dy / self.zoom, self.zoom)

    def fit(self, width: float, height: float, view_w: float, view_h: float) -> None:
        """The whole image in the view."""
        if width <= 0 or height <= 0 or view_w <= 0 or view_h <= 0:
            return
        zoom = self.config.fit_margin * min(view_w / width, view_h / height)
        self.set(width / 2, height / 2, zoom, fitted=True)

    def one_to_one(self, device_pixel_ratio: float) -> None:
        """One image pixel per physical screen pixel (1 / dpr logical pixels on HiDPI)."""
        self.set(self.cx, self.cy, 1.0 / device_pixel_ratio)


class StudioModel(QObject):
    """Everything the window shows; views redraw from it on its signals."""

    sources_changed = Signal()
    result_changed = Signal()
    overlay_changed = Signal()
    settings_changed = Signal()
    engine_changed = Signal()
    busy_changed = Signal()
    probe_changed = Signal()
    compare_changed = Signal()
    metrics_changed = Signal()

    def __init__(self, settings: FusionSettings | None = None) -> None:
        super().__init__()
        self.sources: list[LoadedSource] = []
        self.settings = settings or FusionSettings()
        self.outcome: Outcome | None = None
        self.overlay_spec = OverlaySpec()
        self.inspect = InspectConfig()
        self.engine = EngineStatus(loaded=False, problem="loading the model...")
        self.view = ViewState()
        self.busy = False
        self.progress = 0.0
        self.stage = ""
        self.probe: AttentionProbe | None = None
        self.probe_pixel: tuple[int, int] | None = None  # (row, col) in result pixels
        self.compare_index = 0  # which source the swipe and flicker compare the result with
        self.swipe = False
        self.swipe_x = 0.5  # divider position, fraction of the width
        self.flicker = False  # result pane shows the compare source instead of the result
        self.metrics: dict[str, dict[str, float]] = {}  # method -> metric -> value
        self.reference: int | None = None  # the user's reference frame (index into sources), None: automatic

    @property
    def result(self) -> FusionResult | None:
        return self.outcome.result if self.outcome else None

    def set_sources(self, sources: list[LoadedSource]) -> None:
        self.sources = sources
        self.reference = None
        self.outcome = None
        self.probe = self.probe_pixel = None
        self.metrics = {}
        self.compare_index = min(self.compare_index, max(0, len(sources) - 1))
        self.view.fitted = True
        self.sources_changed.emit()
        self.result_changed.emit()
        self.probe_changed.emit()
        self.metrics_changed.emit()

    def set_outcome(self, outcome: Outcome | None) -> None:
        self.outcome = outcome
        if outcome is not None and outcome.is_full:
            self.metrics = {}
            self.metrics_changed.emit()
        self.result_changed.emit()

    def set_reference(self, index: int | None) -> None:
        """The frame the result keeps geometry and metadata from, and deghosting follows (None: automatic)."""
        self.reference = index
        self.sources_changed.emit()

    def set_settings(self, settings: FusionSettings) -> None:
        self.settings = settings
        self.settings_changed.emit()

    def set_overlay(self, spec: OverlaySpec | None = None, **changes: object) -> None:
        """Replace the overlay spec, or change some of its fields."""
        self.overlay_spec = replace(spec or self.overlay_spec, **changes)
        self.overlay_changed.emit()

    def set_inspect(self, **changes: object) -> None:
        self.inspect = replace(self.inspect, **changes)
        self.probe_changed.emit()

    def set_probe(self, probe: AttentionProbe | None, pixel: tuple[int, int] | None) -> None:
        self.probe, self.probe_pixel = probe, pixel
        self.probe_changed.emit()

    def request_probe(self, pixel: tuple[int, int]) -> None:
        """The pixel whose attention was asked for; the shown probe changes when the answer comes."""
        self.probe_pixel = pixel

    def set_engine(self, status: EngineStatus) -> None:
        self.engine = status
        self.engine_changed.emit()

    def set_busy(self, busy: bool, progress: float = 0.0, stage: str = "") -> None:
        self.busy, self.progress, self.stage = busy, progress, stage
        self.busy_changed.emit()

    def set_compare(self, index: int | None = None, swipe: bool | None = None, swipe_x: float | None = None,
                    flicker: bool | None = None) -> None:
        if index is not None:
            self.compare_index = index
        if swipe is not None:
            self.swipe = swipe
        if swipe_x is not None:
            self.swipe_x = min(1.0, max(0.0, swipe_x))
        if flicker is not None:
            self.flicker = flicker
        self.compare_changed.emit()

    def set_metrics(self, method: str, values: dict[str, float]) -> None:
        self.metrics[method] = values
        self.metrics_changed.emit()
