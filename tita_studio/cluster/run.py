"""`fuse --pairs` and `eval` on Ray workers, with the same outputs, resume, atomic writes and failure
reports as a run on one machine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from tita_studio.cluster.ray_pool import ClusterConfig, RateLine, WorkerPool
from tita_studio.cluster.workers import EvalWorker, PairWorker
from tita_studio.engine.runner import EngineConfig
from tita_studio.evaluation.run import EvalTask, Evaluator, ProgressFn, TaskExecutor, TaskOutcome
from tita_studio.pipeline.batch import FAILED, SKIPPED, BatchSettings, PairOutcome, PairTask


def fuse_pairs_on_cluster(tasks: list[PairTask], settings: BatchSettings, model: Path | None,
                          engine: EngineConfig, config: ClusterConfig,
                          printer: Callable[[str], None] = print) -> list[PairOutcome]:
    """Every pair on some worker; a progress line per finished pair (done, rate, time left)."""
    pool = WorkerPool(config, PairWorker, settings, model, engine, config.worker_cpus)
    line = RateLine(len(tasks), "pairs", printer)
    outcomes = []
    try:
        for outcome in pool.map_unordered(tasks):
            outcomes.append(outcome)
            status = {FAILED: f"failed: {outcome.message}", SKIPPED: "already done"}.get(
                outcome.status, f"fused in {outcome.seconds:.1f} s")
            line.step(f"{outcome.name}: {status}")
    finally:
        pool.close()
    return sorted(outcomes, key=lambda o: o.index)


def eval_executor(config: ClusterConfig) -> TaskExecutor:
    """An executor for `evaluation.run.evaluate` that spreads its tasks over Ray workers."""

    def run(evaluator: Evaluator, tasks: list[EvalTask], progress: ProgressFn | None) -> Iterator[TaskOutcome]:
        if not tasks:
            return
        pool = WorkerPool(config, EvalWorker, evaluator.out, evaluator.model, evaluator.config,
                          evaluator.need_tita, config.worker_cpus)
        try:
            for done, outcome in enumerate(pool.map_unordered(tasks), 1):
                if progress:
                    task = tasks[outcome.index]
                    progress(done, len(tasks), f"{task.dataset.label} {task.item.name} {task.method}")
                yield outcome
        finally:
            pool.close()

    return run
