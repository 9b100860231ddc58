"""The window's logic without widgets: opening files, starting and cancelling fusions, exports, read-outs,
click-inspect, metrics, and every rule about what the window says.

The presenter owns the fusion controller. A view gives it a `ViewIntents` (what the user asks for) and
two setters (`show_error`, `show_status`); everything else the view draws from the model's signals.
QtCore only: tests drive it with a fake view and no display (tests/app/test_presenter_fake_view.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Signal, Slot

from tita_studio.app.config import MetricsConfig
from tita_studio.app.export import export_image, export_overlays, export_report, report_text
from tita_studio.app.geometry import SceneMap
from tita_studio.app.intents import ViewIntents
from tita_studio.app.jobs import TaskError, baseline_results, fallback_method, read_sources, score_methods
from tita_studio.app.overlays import OverlayImage, overlay_for, spec_for_name
from tita_studio.app.readout import sample_text
from tita_studio.app.records import EngineStatus, Outcome
from tita_studio.app.settings_store import SettingsStore
from tita_studio.app.state import StudioModel
from tita_studio.app.worker import FusionController
from tita_studio.pipeline.exposure import light_values, relative_evs
from tita_studio.pipeline.formats import READ_SUFFIXES
from tita_studio.pipeline.fuse import TITA_METHOD, FusionResult
from tita_studio.pipeline.kinds import SourceKind
from tita_studio.pipeline.map_render import GHOST_MAP
from tita_studio.pipeline.sources import middle_exposure

log = logging.getLogger(__name__)

LOADING = "loading the model..."
NO_WEIGHTS = ("No TITA weights could be loaded, so this window fuses with the classical {method} method. "
              "Overlays and click-inspect need TITA weights (Settings > Model).")
UNTRAINED = ("These TITA weights are UNTRAINED: the result and the maps show how the network works, "
             "not a real fusion.")


class StudioView(Protocol):
    """What the presenter needs of a view."""

    intents: ViewIntents

    def show_error(self, message: str, details: str) -> None: ...

    def show_status(self, message: str) -> None: ...


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders replaced by the readable images they hold (sorted by name)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in READ_SUFFIXES)
        else:
            out.append(p)
    return out


def input_text(result: FusionResult) -> str:
    """What the sources were taken for, and any frame alignment left as it was."""
    notes = result.alignment.notes if result.alignment is not None else []
    return "\n".join([f"Taken as: {result.classification.describe()}", *notes])


class StudioPresenter(QObject):
    """Connects the model, the fusion controller, the settings file and a view."""

    error = Signal(str, str)  # plain sentence, details
    preview_ready = Signal(object)
    result_ready = Signal(object)  # the full-resolution Outcome
    exported = Signal(object)  # what an export wrote (a path or a list of paths)

    def __init__(self, model: StudioModel, store: SettingsStore | None = None, metrics: MetricsConfig | None = None,
                 controller: FusionController | None = None) -> None:
        super().__init__()
        self.model, self.store = model, store
        self.controller = controller or FusionController(self)
        self.metrics_config = metrics or MetricsConfig()
        self._view: StudioView | None = None
        self._overlay_cache: tuple[object, object, OverlayImage | None] | None = None
        self._adding: dict[int, bool] = {}
        c = self.controller
        c.engine_status.connect(self._on_engine)
        c.progress.connect(self._on_progress)
        c.outcome.connect(self._on_outcome)
        c.failed.connect(self._on_failed)
        c.probe_ready.connect(self._on_probe)
        c.task_done.connect(self._on_task)
        c.prepare(model.settings)

    def attach(self, view: StudioView) -> None:
        """Act on the view's intents and report through its setters."""
        self._view = view
        i = view.intents
        i.open_requested.connect(self.open_paths)
        i.remove_requested.connect(self.remove_source)
        i.reference_requested.connect(self.set_reference)
        i.settings_requested.connect(lambda changes: self.set_settings(**changes))
        i.cancel_requested.connect(self.cancel)
        i.overlay_named.connect(self.set_overlay_name)
        i.overlay_requested.connect(lambda changes: self.model.set_overlay(**changes))
        i.compare_requested.connect(lambda changes: self.model.set_compare(**changes))
        i.inspect_requested.connect(self.inspect_at)
        i.inspect_settings_requested.connect(self.set_inspect)
        i.metrics_requested.connect(self.compute_metrics)
        i.export_image_requested.connect(self.export_image)
        i.export_maps_requested.connect(self.export_maps)
        i.export_report_requested.connect(self.export_report)
        self.error.connect(view.show_error)

    def shutdown(self) -> None:
        self.controller.shutdown()

    def _status(self, message: str) -> None:
        if self._view is not None:
            self._view.show_status(message)

    # sources
    def open_paths(self, paths: Iterable[str | Path], add: bool = False) -> None:
        """Read files (or folders) off the GUI thread; they replace the current set unless `add`."""
        files = expand_paths(paths)
        if not files:
            self.error.emit("No images found there.", "Readable formats: " + ", ".join(READ_SUFFIXES))
            return
        task = self.controller.run_task("files", lambda: read_sources(files))
        self._adding[task] = add

    def _on_files(self, task_id: int, value: object) -> None:
        loaded, errors = value
        add = self._adding.pop(task_id, False)
        if errors:
            message = errors[0][0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
            self.error.emit(message, "\n\n".join(d for _, d in errors))
        if not loaded:
            return
        self.model.set_sources(self.model.sources + loaded if add else loaded)
        self.fuse()

    def set_reference(self, index: int) -> None:
        """Fuse again around another reference frame (-1: the one the kind of input implies)."""
        chosen = index if 0 <= index < len(self.model.sources) else None
        if chosen != self.model.reference:
            self.model.set_reference(chosen)
            self.fuse()

    def thumbnail_labels(self) -> list[str]:
        """Each source's caption: its name, and its exposure against the reference frame when the files
        record one (RAW, or EXIF exposure time, aperture and ISO)."""
        sources = [s.source for s in self.model.sources]
        names = [s.meta.path.name for s in sources]
        if len(sources) < 2 or light_values(sources) is None:
            return names  # no recorded exposures: nothing to add (and nothing slow on the GUI thread)
        reference = self.model.reference if self.model.reference is not None else middle_exposure(sources)
        evs = relative_evs(sources, reference)
        return [f"{name}\n{ev:+.1f} EV" + (" (ref)" if i == reference else "")
                for i, (name, ev) in enumerate(zip(names, evs, strict=True))]

    def remove_source(self, index: int) -> None:
        self.model.set_sources([s for i, s in enumerate(self.model.sources) if i != index])
        self.fuse()

    # fusion
    def fuse(self) -> None:
        """(Re)start fusion of the current sources; a running job cancels itself."""
        if len(self.model.sources) < 2:
            self.controller.cancel()
            self.model.set_busy(False)
            return
        self.controller.submit([s.source for s in self.model.sources], self.model.settings, self.model.reference)
        self.model.set_busy(True, 0.0, "starting")

    def cancel(self) -> None:
        self.controller.cancel()
        self.model.set_busy(False, 0.0, "cancelled")

    def set_settings(self, **changes: object) -> None:
        settings = replace(self.model.settings, **changes)
        if settings == self.model.settings:
            return
        self.model.set_settings(settings)
        if self.store is not None:
            self.store.save(settings)
        self.controller.prepare(settings)
        self.fuse()

    @Slot(object)
    def _on_engine(self, status: EngineStatus) -> None:
        self.model.set_engine(status)

    @Slot(int, float, str)
    def _on_progress(self, job_id: int, fraction: float, stage: str) -> None:
        if job_id == self.controller.current_job:  # a cancelled job may still report
            self.model.set_busy(True, fraction, stage)

    @Slot(object)
    def _on_outcome(self, outcome: Outcome) -> None:
        if outcome.job_id != self.controller.current_job:
            return
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

    @Slot(str, int, object)
    def _on_task(self, kind: str, task_id: int, value: object) -> None:
        if isinstance(value, TaskError):
            self._adding.pop(task_id, None)
            self.error.emit(value.message, value.details)
            return
        if kind == "files":
            self._on_files(task_id, value)
        elif kind == "metrics":
            for method, row in value.items():
                self.model.set_metrics(method, row)
        elif kind == "export":
            written = value if isinstance(value, Path) else f"{len(value)} files"
            self._status(f"Written: {written}")
            self.exported.emit(value)

    # what the window says
    def banner_text(self) -> str:
        """The warning above the panes: loading, no weights (and what is used instead), untrained."""
        e = self.model.engine
        if not e.loaded:
            return "Loading the TITA model..." if e.problem == LOADING else NO_WEIGHTS.format(method=fallback_method())
        return "" if e.trained else UNTRAINED

    def engine_text(self) -> str:
        e = self.model.engine
        return f"Model: {e.description}" if e.loaded else e.problem

    def input_text(self) -> str:
        outcome = self.model.outcome
        return input_text(outcome.result) if outcome is not None else ""

    def overlay_unavailable_text(self) -> str:
        if self.model.overlay_spec.kind == GHOST_MAP:
            return ("The ghost mask comes with deghosting an exposure bracket: Settings > Ghosts on (or auto, "
                    "for a hand-held bracket).")
        why = ("load TITA weights (Settings > Model)." if not self.model.engine.loaded
               else "choose the tita method." if self.model.settings.method != TITA_METHOD else "fusing...")
        return "This overlay needs a TITA result: " + why

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

    def scene_map(self, rows: int, cols: int) -> SceneMap:
        """The mapping between the scene and an image of rows x cols pixels shown in it."""
        w, h = self.scene_size()
        return SceneMap(w, h, rows, cols)

    def result_map(self) -> SceneMap | None:
        result = self.model.result
        return None if result is None else self.scene_map(*result.image.shape[:2])

    def pane_images(self) -> list[tuple[str, object, int]]:
        """(label, float pixels, bit depth) for each source pane then the result pane."""
        outcome = self.model.outcome
        full = outcome is not None and outcome.is_full
        srcs = outcome.result.sources if full else [s.source for s in self.model.sources]
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
            row, col = self.scene_map(*pixels.shape[:2]).to_pixel(x, y)
            parts.append(f"{label} {sample_text(pixels, row, col, depth)}" + (f" ({depth}-bit)" if depth > 8 else ""))
        overlay = self.overlay()
        if overlay is not None:
            row, col = self.scene_map(*overlay.values.shape).to_pixel(x, y)
            parts.append(f"map {overlay.value_text(row, col)}")
        return "  |  ".join(parts)

    # overlays
    def set_overlay_name(self, name: str) -> None:
        self.model.set_overlay(spec_for_name(name, self.model.overlay_spec))

    def overlay(self) -> OverlayImage | None:
        """The current overlay (cached per result and spec), or None."""
        result = self.model.result
        spec = self.model.overlay_spec
        if result is None or spec.kind == "none":
            return None
        if self._overlay_cache is None or self._overlay_cache[0] is not result or self._overlay_cache[1] != spec:
            untrained = not self.model.engine.trained
            self._overlay_cache = (result, spec, overlay_for(result, spec, untrained))
        return self._overlay_cache[2]

    # click-inspect
    def can_inspect(self) -> str:
        """Empty when click-inspect works now, else why not (in plain words)."""
        result = self.model.result
        if result is None:
            return "Inspect needs a result."
        if result.pair_lumas is None:
            if self.model.busy and self.model.settings.method == TITA_METHOD and self.model.engine.loaded:
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

    def inspect_at(self, x: float, y: float) -> bool:
        """Ask the worker for the attention of the result pixel under scene point (x, y)."""
        why = self.can_inspect()
        if why:
            self._status(why)
            return False
        pixel = self.result_map().to_pixel(x, y)
        if pixel is None:
            return False
        luma_a, luma_b = self.model.result.pair_lumas  # the last pair the network fused
        spec = self.model.inspect
        self.controller.probe(luma_a, luma_b, spec.block, *pixel, spec.stream)
        self.model.request_probe(pixel)
        return True

    def set_inspect(self, changes: dict) -> None:
        """Change the probed block or stream, and probe the same pixel again."""
        self.model.set_inspect(**changes)
        pixel = self.model.probe_pixel
        mapping = self.result_map()
        if pixel is not None and mapping is not None:
            self.inspect_at(*mapping.to_scene(pixel[0] + 0.5, pixel[1] + 0.5))

    def probe_marks(self) -> tuple[tuple[float, float, float, float], tuple[float, float, float, float]] | None:
        """Scene boxes (x, y, w, h) of the probed pixel's attention window and of the pixel itself."""
        probe, pixel, mapping = self.model.probe, self.model.probe_pixel, self.result_map()
        if probe is None or pixel is None or mapping is None:
            return None
        rows, cols = probe.rows.numpy(), probe.cols.numpy()
        window = mapping.pixel_box(int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max()))
        return window, mapping.pixel_box(pixel[0], pixel[1], pixel[0], pixel[1])

    @Slot(int, object)
    def _on_probe(self, probe_id: int, probe: object) -> None:
        if probe_id == self.controller.current_probe:
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

    # exports, off the GUI thread and atomic
    def _full_result(self) -> FusionResult | None:
        outcome = self.model.outcome
        return outcome.result if outcome is not None and outcome.is_full else None

    def export_image(self, path: str, bit_depth: int | None) -> None:
        result = self._full_result()
        if result is None:
            self._status("Nothing to export yet: wait for the full result.")
            return
        self._status(f"Exporting {Path(path).name}...")
        self.controller.run_task("export", lambda: export_image(Path(path), result, bit_depth))

    def export_maps(self, folder: str) -> None:
        result = self._full_result()
        if result is None or result.maps is None:
            self._status("No maps: they come with a TITA result.")
            return
        spec, untrained = self.model.overlay_spec, not self.model.engine.trained
        self._status("Exporting the maps...")
        self.controller.run_task("export", lambda: export_overlays(Path(folder), result, spec, untrained))

    def export_report(self, path: str) -> None:
        result = self.model.result
        if result is None:
            self._status("Nothing to report yet.")
            return
        text = report_text(result, self.model.settings, self.model.engine.description or "none", self.model.metrics)
        self.controller.run_task("export", lambda: export_report(Path(path), text))
