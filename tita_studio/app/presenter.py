"""The window's logic without widgets: opening files, starting and cancelling fusions, read-outs,
click-inspect and metrics. Views call its methods and redraw from the model's signals."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from tita_studio.app.config import MetricsConfig
from tita_studio.app.overlays import OverlayImage, compute_overlay
from tita_studio.app.readout import sample_text
from tita_studio.app.settings_store import SettingsStore
from tita_studio.app.state import EngineStatus, Outcome, StudioModel
from tita_studio.app.worker import FusionController, baseline_results, read_sources, score_methods
from tita_studio.pipeline.formats import READ_SUFFIXES
from tita_studio.pipeline.kinds import SourceKind

log = logging.getLogger(__name__)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders replaced by the readable images they hold (sorted by name)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in READ_SUFFIXES)
        else:
            out.append(p)
    return out


class StudioPresenter(QObject):
    """Connects the model, the fusion controller and the settings file."""

    error = Signal(str, str)  # plain sentence, details
    preview_ready = Signal(object)
    result_ready = Signal(object)  # the full-resolution Outcome
    sources_loaded = Signal()

    def __init__(self, model: StudioModel, controller: FusionController, store: SettingsStore | None = None,
                 metrics: MetricsConfig | None = None) -> None:
        super().__init__()
        self.model, self.controller, self.store = model, controller, store
        self.metrics_config = metrics or MetricsConfig()
        self._overlay_cache: tuple[object, object, OverlayImage | None] | None = None
        controller.engine_status.connect(self._on_engine)
        controller.progress.connect(self._on_progress)
        controller.outcome.connect(self._on_outcome)
        controller.failed.connect(self._on_failed)
        controller.probe_ready.connect(self._on_probe)
        controller.files_loaded.connect(self._on_files)
        controller.metrics_ready.connect(self._on_metrics)
        self._adding: dict[int, bool] = {}

    # sources
    def open_paths(self, paths: Iterable[str | Path], add: bool = False) -> None:
        """Read files (or folders) off the GUI thread; they replace the current set unless `add`."""
        files = expand_paths(paths)
        if not files:
            self.error.emit("No images found there.", "Readable formats: " + ", ".join(READ_SUFFIXES))
            return
        task = self.controller.run_task("files", lambda: read_sources(files))
        self._adding[task] = add

    @Slot(int, object)
    def _on_files(self, task_id: int, value: object) -> None:
        loaded, errors = value
        add = self._adding.pop(task_id, False)
        if errors:
            message = errors[0][0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
            self.error.emit(message, "\n\n".join(d for _, d in errors))
        if not loaded:
            return
        sources = self.model.sources + loaded if add else loaded
        self.model.set_sources(sources)
        self.sources_loaded.emit()
        self.fuse()

    def remove_source(self, index: int) -> None:
        sources = [s for i, s in enumerate(self.model.sources) if i != index]
        self.model.set_sources(sources)
        self.fuse()

    # fusion
    def fuse(self) -> None:
        """(Re)start fusion of the current sources; a running job cancels itself."""
        if len(self.model.sources) < 2:
            self.controller.cancel()
            self.model.set_busy(False)
            return
        self.controller.submit([s.source for s in self.model.sources], self.model.settings)
        self.model.set_busy(True, 0.0, "starting")

    def cancel(self) -> None:
        self.controller.cancel()
        self.model.set_busy(False, 0.0, "cancelled")

    def set_settings(self, **changes: object) -> None:
        settings = replace(self.model.settings, **changes)
        if settings == self.model.settings:
            return
        self.model.settings = settings
        if self.store is not None:
            self.store.save(settings)
        self.model.settings_changed.emit()
        self.fuse()

    @Slot(object)
    def _on_engine(self, status: EngineStatus) -> None:
        self.model.set_engine(status)

    @Slot(int, float, str)
    def _on_progress(self, job_id: int, fraction: float, stage: str) -> None:
        self.model.set_busy(True, fraction, stage)

    @Slot(object)
    def _on_outcome(self, outcome: Outcome) -> None:
        self.model.set_outcome(outcome)
        if outcome.is_full:
            self.model.set_busy(False, 1.0, "done")
            self.result_ready.emit(outcome)
        else:
            self.preview_ready.emit(outcome)

    @Slot(int, str, str)
    def _on_failed(self, job_id: int, message: str, details: str) -> None:
        if job_id == self.controller.current_job:
            self.model.set_busy(False, 0.0, "failed")
        self.error.emit(message, details)

    # geometry and read-out
    def scene_size(self) -> tuple[int, int]:
        """(width, height) of the scene every pane maps into: the full result, else the first source."""
        outcome = self.model.outcome
        if outcome is not None and outcome.is_full:
            h, w = outcome.result.image.shape[:2]
        elif self.model.sources:
            h, w = self.model.sources[0].source.shape
        else:
            return 0, 0
        return w, h

    def pane_images(self) -> list[tuple[str, object, int]]:
        """(label, float pixels, bit depth) for each source pane then the result pane."""
        outcome = self.model.outcome
        if outcome is not None and outcome.is_full:
            srcs = outcome.result.sources
        else:
            srcs = [s.source for s in self.model.sources]
        out = [(s.meta.path.name, s.pixels, s.meta.bit_depth) for s in srcs]
        if outcome is not None:
            depth = outcome.result.sources[outcome.result.reference].meta.bit_depth
            out.append(("result", outcome.result.image, depth))
        return out

    def readout(self, x: float, y: float) -> str:
        """'x, y | name value | ... | map value' for the scene point under the cursor."""
        w, h = self.scene_size()
        if not (0 <= x < w and 0 <= y < h):
            return ""
        parts = [f"x {int(x)}, y {int(y)}"]
        for label, pixels, depth in self.pane_images():
            ph, pw = pixels.shape[:2]
            row, col = int(y * ph / h), int(x * pw / w)
            parts.append(f"{label} {sample_text(pixels, row, col, depth)}" + (f" ({depth}-bit)" if depth > 8 else ""))
        overlay = self.overlay()
        if overlay is not None:
            mh, mw = overlay.values.shape
            parts.append(f"map {overlay.value_text(min(mh - 1, int(y * mh / h)), min(mw - 1, int(x * mw / w)))}")
        return "  |  ".join(parts)

    def overlay(self) -> OverlayImage | None:
        """The current overlay (cached per result and spec), or None."""
        result = self.model.result
        spec = self.model.overlay_spec
        if result is None or result.maps is None or spec.kind == "none":
            return None
        if self._overlay_cache is None or self._overlay_cache[0] is not result or self._overlay_cache[1] != spec:
            untrained = not self.model.engine.trained
            self._overlay_cache = (result, spec, compute_overlay(result.maps, spec, untrained))
        return self._overlay_cache[2]

    # click-inspect
    def can_inspect(self) -> str:
        """Empty when click-inspect works now, else why not (in plain words)."""
        result = self.model.result
        if result is None:
            return "Inspect needs a result."
        if result.pair_lumas is None:
            if self.model.busy and self.model.settings.method == "tita" and self.model.engine.loaded:
                return "Inspect waits for the TITA result (this preview is a classical baseline)."
            return "Inspect needs TITA weights: the classical methods have no attention to show."
        return ""

    def pair_text(self) -> str:
        """What streams A and B are: the maps and the probe come from the last pair the network fused,
        which is the two sources only when there are two."""
        result = self.model.result
        count = len(result.sources) if result is not None else len(self.model.sources)
        if count <= 2:
            return "A is the first source pane, B the second."
        return (f"With {count} sources the network fuses pairs in turn: A and B are the two inputs of the "
                "last pair, each one source or an earlier fusion of several.")

    def inspect(self, x: float, y: float) -> bool:
        """Ask the worker for the attention of the result pixel under scene point (x, y)."""
        if self.can_inspect():
            return False
        result = self.model.result
        w, h = self.scene_size()
        rh, rw = result.image.shape[:2]
        row, col = int(y * rh / h), int(x * rw / w)
        if not (0 <= row < rh and 0 <= col < rw):
            return False
        luma_a, luma_b = result.pair_lumas  # the last pair the network fused, whatever the number of sources
        spec = self.model.inspect
        self.controller.probe(luma_a, luma_b, spec.block, row, col, spec.stream)
        self.model.probe_pixel = (row, col)
        return True

    @Slot(int, object)
    def _on_probe(self, job_id: int, probe: object) -> None:
        self.model.set_probe(probe, self.model.probe_pixel)

    # metrics
    def compute_metrics(self, with_baselines: bool = False) -> None:
        """Score the current result (and every baseline, when asked) on the pool."""
        result = self.model.result
        if result is None:
            return
        sources = [s.pixels for s in result.sources]
        bracket = result.classification.kind is SourceKind.BRACKET  # MEF-SSIM applies to brackets only
        config = self.metrics_config
        current = {result.method: result.image}
        srcs = list(result.sources)

        def work() -> dict[str, dict[str, float]]:
            fused = dict(current)
            if with_baselines:
                fused.update(baseline_results(srcs))
            return score_methods(sources, fused, bracket, config)

        self.controller.run_task("metrics", work)

    @Slot(int, object)
    def _on_metrics(self, task_id: int, table: object) -> None:
        for method, row in table.items():
            self.model.set_metrics(method, row)
