"""What a cluster worker holds and runs: the pair fuser of `fuse --pairs` and the evaluator of `eval`.
Plain classes; `ray_pool.WorkerPool` makes them Ray actors. The model is loaded once per worker."""

from __future__ import annotations

import os
from pathlib import Path

from tita_studio.cluster.ray_pool import set_threads
from tita_studio.engine.load import load_engine
from tita_studio.engine.runner import EngineConfig
from tita_studio.evaluation.run import EvalTask, EvaluationConfig, Evaluator, TaskOutcome
from tita_studio.pipeline.batch import BatchSettings, PairOutcome, PairTask, fuse_pair
from tita_studio.pipeline.fuse import TITA_METHOD


class PairWorker:
    """Fuses pairs of a `fuse --pairs` batch."""

    def __init__(self, settings: BatchSettings, model: Path | None, engine: EngineConfig, threads: int) -> None:
        set_threads(threads)
        self.settings = settings
        self.engine = load_engine(model, engine) if settings.options.method == TITA_METHOD else None

    def run(self, task: PairTask) -> PairOutcome:
        outcome = fuse_pair(task, self.settings, self.engine)
        outcome.result = None  # the fused image stays on the worker's disk, not in the object store
        return outcome

    def pid(self) -> int:
        return os.getpid()


class EvalWorker:
    """Fuses and scores tasks of an `eval`, into the shared result cache."""

    def __init__(self, out: Path, model: Path | None, config: EvaluationConfig, need_tita: bool, threads: int
                 ) -> None:
        set_threads(threads)
        self.evaluator = Evaluator(out, model, config, need_tita)

    def run(self, task: EvalTask) -> TaskOutcome:
        return self.evaluator.run(task)

    def pid(self) -> int:
        return os.getpid()
