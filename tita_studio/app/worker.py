"""Fusion off the GUI thread.

`FusionWorker` is a long-lived QObject moved to a QThread: it loads the engine once (again only when
the model, device or precision change) and runs one job at a time. `FusionController` lives in the
GUI thread, owns the thread, and re-emits the worker's results from its own slots, so widgets (and
pytest-qt's waitSignal) only ever see GUI-thread signals. Short independent jobs (reading files,
metrics) run on the global QThreadPool.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal, Slot

from tita_studio.app.config import FALLBACK_METHOD, PREVIEW_BASELINE, FusionSettings, MetricsConfig, WorkerConfig
from tita_studio.app.readout import to_display
from tita_studio.app.state import BASELINE, EngineStatus, LoadedSource, Outcome
from tita_studio.engine.runner import EngineConfig, FusionEngine
from tita_studio.engine.tiling import TileConfig
from tita_studio.errors import Cancelled, TitaError
from tita_studio.paths import DEFAULT_WEIGHTS
from tita_studio.pipeline.fuse import FuseOptions, fuse_sources, load_engine
from tita_studio.pipeline.kinds import classify
from tita_studio.pipeline.reading import read_image
from tita_studio.pipeline.source import SourceImage

log = logging.getLogger(__name__)

NO_SHIPPED_WEIGHTS = ("The shipped TITA weights (models/tita-studio.safetensors) are missing from this "
                      "installation: reinstall, choose a model file above (Model, Browse...) or a classical method.")


def baseline_names() -> list[str]:
    """The classical methods installed (the package may be absent in a partial checkout)."""
    try:
        from tita_studio.baselines import BASELINES
    except ImportError:
        return []
    return list(BASELINES)


def plain_error(exc: BaseException) -> str:
    """One sentence a user can act on."""
    if isinstance(exc, TitaError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "Out of memory: try fewer or smaller images, or a lower precision."
    return f"Something went wrong ({type(exc).__name__}: {exc}). The previous result is kept."


def engine_problem(exc: TitaError, settings: FusionSettings) -> str:
    """Why no model loaded, in the window's terms: the core's message for missing shipped weights
    speaks of command-line flags."""
    if settings.model_path is None and not DEFAULT_WEIGHTS.is_file():
        return NO_SHIPPED_WEIGHTS
    return str(exc)


def job_stages(method: str, options: FuseOptions, preview_side: int, longest: int
               ) -> list[tuple[str, FuseOptions]]:
    """(stage, options) in the order they run. TITA takes seconds even at preview size on a CPU, so
    the classical baseline on the preview-size sources (milliseconds) comes first, then the TITA
    preview (when the sources are larger than it), then the full size. The baselines themselves are
    fast enough to go straight to the full size; a preview side of 0 turns the previews off."""
    if method != "tita" or preview_side <= 0:
        return [("full", options)]
    preview = replace(options, preview_max_side=preview_side)
    stages = []
    if PREVIEW_BASELINE in baseline_names():
        stages.append((BASELINE, replace(preview, method=PREVIEW_BASELINE, want_maps=False)))
    if preview_side < longest:
        stages.append(("preview", preview))
    return [*stages, ("full", options)]


@dataclass(frozen=True)
class FusionJob:
    job_id: int
    sources: tuple[SourceImage, ...]
    settings: FusionSettings


@dataclass(frozen=True)
class ProbeJob:
    """Click-inspect: one pixel's window cross-attention between the two lumas of the last fused pair."""

    job_id: int
    luma_a: np.ndarray
    luma_b: np.ndarray
    block: int  # 1-based
    row: int
    col: int
    stream: str


class JobCounter:
    """The id of the only job still wanted; any other running job cancels itself between tiles."""

    def __init__(self) -> None:
        self.current = 0

    def next(self) -> int:
        self.current += 1
        return self.current


class FusionWorker(QObject):
    """Runs in the worker thread; never touches widgets."""

    engine_status = Signal(object)
    progress = Signal(int, float, str)
    outcome = Signal(object)
    cancelled = Signal(int)
    failed = Signal(int, str, str)
    probe_ready = Signal(int, object)

    def __init__(self, counter: JobCounter, config: WorkerConfig | None = None) -> None:
        super().__init__()
        self._counter = counter
        self._config = config or WorkerConfig()
        self._engine: FusionEngine | None = None
        self._engine_key: tuple[str, str, str] | None = None

    def _stale(self, job_id: int) -> bool:
        return self._counter.current != job_id or QThread.currentThread().isInterruptionRequested()

    def _ensure_engine(self, settings: FusionSettings) -> None:
        if self._engine_key == settings.engine_key():
            return
        self._engine_key = settings.engine_key()
        self._engine = None
        try:
            tiles = TileConfig(self._config.tile, self._config.overlap)
            config = EngineConfig(settings.device, settings.precision, tiles)
            self._engine = load_engine(settings.model_path, config)
            status = EngineStatus(True, self._engine.trained, self._engine.description)
        except TitaError as exc:
            log.warning("no TITA model: %s", exc)
            status = EngineStatus(False, problem=engine_problem(exc, settings))
        self.engine_status.emit(status)

    @Slot(object)
    def prepare(self, settings: FusionSettings) -> None:
        """Load the engine ahead of the first job, so the window can say at once what it has."""
        self._ensure_engine(settings)

    @Slot(object)
    def run(self, job: FusionJob) -> None:
        if self._stale(job.job_id):
            self.cancelled.emit(job.job_id)
            return
        try:
            self._ensure_engine(job.settings)
            self._run(job)
        except Cancelled:
            self.cancelled.emit(job.job_id)
        except Exception as exc:
            log.exception("fusion failed")
            self.failed.emit(job.job_id, plain_error(exc), traceback.format_exc())

    def _run(self, job: FusionJob) -> None:
        method = job.settings.method
        notes = []
        if method == "tita" and self._engine is None:
            names = baseline_names()
            method = FALLBACK_METHOD if FALLBACK_METHOD in names or not names else names[0]
            notes.append(f"no TITA weights loaded: fused with the {method} baseline")
        options = FuseOptions(method=method, kind=job.settings.kind, align=job.settings.align,
                              want_maps=method == "tita")
        for stage, stage_options in job_stages(method, options, job.settings.preview_side,
                                               max(max(s.shape) for s in job.sources)):
            progress = None if stage == BASELINE else self._progress_fn(job.job_id, stage)  # it is instant
            result = fuse_sources(job.sources, stage_options, self._engine, progress,
                                  lambda: self._stale(job.job_id))
            if self._stale(job.job_id):
                raise Cancelled("fusion cancelled")
            result.notes.extend(notes)
            shown = [to_display(s.pixels) for s in result.sources] if stage == "full" else []
            self.outcome.emit(Outcome(job.job_id, stage, result, to_display(result.image), shown))

    def _progress_fn(self, job_id: int, stage: str) -> Callable[[float], None]:
        last = [-1.0]

        def report(fraction: float) -> None:
            if fraction - last[0] >= 0.01 or fraction >= 1.0:
                last[0] = fraction
                self.progress.emit(job_id, fraction, stage)

        return report

    @Slot(object)
    def probe(self, job: ProbeJob) -> None:
        if self._engine is None:
            return
        try:
            probe = self._engine.attention_at(job.luma_a, job.luma_b, job.block - 1, job.row, job.col, job.stream)
            self.probe_ready.emit(job.job_id, probe)
        except Exception as exc:
            log.exception("attention probe failed")
            self.failed.emit(-1, plain_error(exc), traceback.format_exc())


@dataclass(frozen=True)
class TaskError:
    """What a pool task raised, as the error dialog shows it."""

    message: str
    details: str


class _TaskSignals(QObject):
    done = Signal(int, object)


class _Task(QRunnable):
    """A function run on the thread pool; its return value comes back through `signals.done`."""

    def __init__(self, task_id: int, fn: Callable[[], object], signals: _TaskSignals) -> None:
        super().__init__()
        self.task_id, self.fn, self.signals = task_id, fn, signals

    def run(self) -> None:
        try:
            value = self.fn()
        except Exception as exc:
            log.exception("background task failed")
            value = TaskError(plain_error(exc), traceback.format_exc())
        self.signals.done.emit(self.task_id, value)


def read_sources(paths: Sequence[Path]) -> tuple[list[LoadedSource], list[tuple[str, str]]]:
    """Decode files and make their screen copies, sorted in fusion order; errors as (message, details)."""
    loaded, errors = [], []
    for path in paths:
        try:
            source = read_image(path)
            loaded.append(LoadedSource(source, to_display(source.pixels)))
        except Exception as exc:
            log.exception("cannot read %s", path)
            errors.append((plain_error(exc), traceback.format_exc()))
    if len(loaded) >= 2:
        loaded = [loaded[i] for i in classify([s.source for s in loaded]).order]
    return loaded, errors


def score_methods(sources: list[np.ndarray], fused: dict[str, np.ndarray], bracket: bool,
                  config: MetricsConfig) -> dict[str, dict[str, float]]:
    """Metrics of each fused image against the sources (NaN where a metric does not apply)."""
    from tita_studio.metrics import score

    names = list(config.names) + (list(config.bracket_extra) if bracket else [])
    table = {}
    for method, image in fused.items():
        row = {}
        for name in names:
            try:
                row.update(score(sources, image, [name], config.convention))
            except TitaError:
                row[name] = float("nan")
        table[method] = row
    return table


def baseline_results(sources: list[SourceImage]) -> dict[str, np.ndarray]:
    """Every installed baseline on the (already aligned) sources of the current result."""
    out = {}
    for name in baseline_names():
        out[name] = fuse_sources(sources, FuseOptions(method=name, align="none")).image
    return out


class FusionController(QObject):
    """GUI-thread owner of the worker thread; re-emits results so GUI objects receive them."""

    engine_status = Signal(object)
    progress = Signal(int, float, str)
    outcome = Signal(object)
    cancelled = Signal(int)
    failed = Signal(int, str, str)
    probe_ready = Signal(int, object)
    files_loaded = Signal(int, object)
    metrics_ready = Signal(int, object)
    _submit = Signal(object)
    _submit_probe = Signal(object)
    _prepare = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._counter = JobCounter()
        self._probe_counter = 0
        self._tasks = 0
        self._pool = QThreadPool.globalInstance()
        self._signals = _TaskSignals(self)
        self._signals.done.connect(self._task_done)
        self._task_kinds: dict[int, str] = {}
        self._thread = QThread(self)
        self._thread.setObjectName("tita-fusion")
        self._worker = FusionWorker(self._counter)
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._submit.connect(self._worker.run)
        self._submit_probe.connect(self._worker.probe)
        self._prepare.connect(self._worker.prepare)
        self._worker.engine_status.connect(self._on_engine_status)
        self._worker.progress.connect(self._on_progress)
        self._worker.outcome.connect(self._on_outcome)
        self._worker.cancelled.connect(self._on_cancelled)
        self._worker.failed.connect(self._on_failed)
        self._worker.probe_ready.connect(self._on_probe)
        self._thread.start()

    @property
    def current_job(self) -> int:
        return self._counter.current

    def submit(self, sources: Sequence[SourceImage], settings: FusionSettings) -> int:
        """Start a job; any running job cancels itself at its next tile."""
        job_id = self._counter.next()
        self._submit.emit(FusionJob(job_id, tuple(sources), settings))
        return job_id

    def prepare(self, settings: FusionSettings) -> None:
        self._prepare.emit(settings)

    def cancel(self) -> None:
        self._counter.next()

    def probe(self, luma_a: np.ndarray, luma_b: np.ndarray, block: int, row: int, col: int, stream: str) -> int:
        self._probe_counter += 1
        self._submit_probe.emit(ProbeJob(self._probe_counter, luma_a, luma_b, block, row, col, stream))
        return self._probe_counter

    def run_task(self, kind: str, fn: Callable[[], object]) -> int:
        """Run `fn` on the pool; its value arrives as files_loaded / metrics_ready (by `kind`)."""
        self._tasks += 1
        self._task_kinds[self._tasks] = kind
        self._pool.start(_Task(self._tasks, fn, self._signals))
        return self._tasks

    def shutdown(self) -> None:
        """Cancel, stop the thread and wait for it (no 'QThread destroyed while running')."""
        self._counter.next()
        if self._thread.isRunning():
            self._thread.requestInterruption()
            self._thread.quit()
            self._thread.wait()
        self._pool.waitForDone()

    @Slot(int, object)
    def _task_done(self, task_id: int, value: object) -> None:
        kind = self._task_kinds.pop(task_id, "")
        if isinstance(value, TaskError):
            self.failed.emit(-1, value.message, value.details)
            return
        (self.files_loaded if kind == "files" else self.metrics_ready).emit(task_id, value)

    @Slot(object)
    def _on_engine_status(self, status: EngineStatus) -> None:
        self.engine_status.emit(status)

    @Slot(int, float, str)
    def _on_progress(self, job_id: int, fraction: float, stage: str) -> None:
        if job_id == self._counter.current:
            self.progress.emit(job_id, fraction, stage)

    @Slot(object)
    def _on_outcome(self, outcome: Outcome) -> None:
        if outcome.job_id == self._counter.current:
            self.outcome.emit(outcome)

    @Slot(int)
    def _on_cancelled(self, job_id: int) -> None:
        self.cancelled.emit(job_id)

    @Slot(int, str, str)
    def _on_failed(self, job_id: int, message: str, details: str) -> None:
        self.failed.emit(job_id, message, details)

    @Slot(int, object)
    def _on_probe(self, job_id: int, probe: object) -> None:
        if job_id == self._probe_counter:
            self.probe_ready.emit(job_id, probe)
