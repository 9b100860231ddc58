"""The thin Qt layer that runs app.jobs off the GUI thread.

`FusionWorker` is a long-lived QObject moved to a QThread: it loads the engine once (again only when the
model, device or precision change) and runs one fusion or probe at a time. `FusionController` lives in
the GUI thread and owns that thread; the worker's signals are connected to the controller's signals of
the same names (signal to signal, queued across the threads), so widgets and pytest-qt only ever see
GUI-thread signals. Short independent tasks (reading files, metrics, exports) run on the global
QThreadPool and come back through `task_done`. Which job is still wanted is decided by the presenter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal, Slot

from tita_studio.app.config import FusionSettings, WorkerConfig
from tita_studio.app.jobs import (
    FusionJob,
    JobCounter,
    ProbeJob,
    TaskError,
    load_job_engine,
    probe_attention,
    run_fusion_job,
)
from tita_studio.engine.runner import FusionEngine
from tita_studio.errors import Cancelled
from tita_studio.pipeline.source import SourceImage

log = logging.getLogger(__name__)


class FusionSignals(QObject):
    """What a fusion thread reports; declared once, for the worker and the controller alike."""

    engine_status = Signal(object)  # EngineStatus
    progress = Signal(int, float, str)  # job id, fraction, stage
    outcome = Signal(object)  # Outcome
    cancelled = Signal(int)
    failed = Signal(int, str, str)  # job id (-1: not a fusion), message, details
    probe_ready = Signal(int, object)  # probe id, AttentionProbe

    NAMES = ("engine_status", "progress", "outcome", "cancelled", "failed", "probe_ready")


class FusionWorker(FusionSignals):
    """Runs in the worker thread; never touches widgets."""

    def __init__(self, counter: JobCounter, config: WorkerConfig | None = None) -> None:
        super().__init__()
        self._counter = counter
        self._config = config or WorkerConfig()
        self._engine: FusionEngine | None = None
        self._engine_key: tuple[str, ...] | None = None

    def _stale(self, job_id: int) -> bool:
        return self._counter.current != job_id or QThread.currentThread().isInterruptionRequested()

    def _ensure_engine(self, settings: FusionSettings) -> None:
        if self._engine_key == settings.engine_key():
            return
        self._engine_key = settings.engine_key()
        self._engine, status = load_job_engine(settings, self._config)
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
            for outcome in run_fusion_job(job, self._engine, lambda stage: self._progress_fn(job.job_id, stage),
                                          lambda: self._stale(job.job_id)):
                self.outcome.emit(outcome)
        except Cancelled:
            self.cancelled.emit(job.job_id)
        except Exception as exc:
            log.exception("fusion failed")
            error = TaskError.of(exc)
            self.failed.emit(job.job_id, error.message, error.details)

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
            self.probe_ready.emit(job.job_id, probe_attention(self._engine, job))
        except Exception as exc:
            log.exception("attention probe failed")
            error = TaskError.of(exc)
            self.failed.emit(-1, error.message, error.details)


class _TaskSignals(QObject):
    done = Signal(str, int, object)


class _Task(QRunnable):
    """A function run on the thread pool; its value (or a TaskError) comes back through `signals.done`."""

    def __init__(self, kind: str, task_id: int, fn: Callable[[], object], signals: _TaskSignals) -> None:
        super().__init__()
        self.kind, self.task_id, self.fn, self.signals = kind, task_id, fn, signals

    def run(self) -> None:
        try:
            value = self.fn()
        except Exception as exc:
            log.exception("background task failed")
            value = TaskError.of(exc)
        self.signals.done.emit(self.kind, self.task_id, value)


class FusionController(FusionSignals):
    """GUI-thread owner of the worker thread and the pool tasks."""

    task_done = Signal(str, int, object)  # kind, task id, value or TaskError
    _submit = Signal(object)
    _submit_probe = Signal(object)
    _prepare = Signal(object)

    def __init__(self, parent: QObject | None = None, config: WorkerConfig | None = None) -> None:
        super().__init__(parent)
        self._counter = JobCounter()
        self.current_probe = 0
        self._tasks = 0
        self._pool = QThreadPool.globalInstance()
        self._signals = _TaskSignals(self)
        self._signals.done.connect(self.task_done)
        self._thread = QThread(self)
        self._thread.setObjectName("tita-fusion")
        self._worker = FusionWorker(self._counter, config)
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._submit.connect(self._worker.run)
        self._submit_probe.connect(self._worker.probe)
        self._prepare.connect(self._worker.prepare)
        for name in FusionSignals.NAMES:
            getattr(self._worker, name).connect(getattr(self, name))
        self._thread.start()

    @property
    def current_job(self) -> int:
        return self._counter.current

    def submit(self, sources: Sequence[SourceImage], settings: FusionSettings, reference: int | None = None) -> int:
        """Start a job; any running job cancels itself at its next tile."""
        job_id = self._counter.next()
        self._submit.emit(FusionJob(job_id, tuple(sources), settings, reference))
        return job_id

    def prepare(self, settings: FusionSettings) -> None:
        self._prepare.emit(settings)

    def cancel(self) -> None:
        self._counter.next()

    def probe(self, luma_a: np.ndarray, luma_b: np.ndarray, block: int, row: int, col: int, stream: str) -> int:
        self.current_probe += 1
        self._submit_probe.emit(ProbeJob(self.current_probe, luma_a, luma_b, block, row, col, stream))
        return self.current_probe

    def run_task(self, kind: str, fn: Callable[[], object]) -> int:
        """Run `fn` on the pool; its value arrives through `task_done` with this kind and id."""
        self._tasks += 1
        self._pool.start(_Task(kind, self._tasks, fn, self._signals))
        return self._tasks

    def shutdown(self) -> None:
        """Cancel, stop the thread and wait for it (no 'QThread destroyed while running')."""
        self._counter.next()
        if self._thread.isRunning():
            self._thread.requestInterruption()
            self._thread.quit()
            self._thread.wait()
        self._pool.waitForDone()
