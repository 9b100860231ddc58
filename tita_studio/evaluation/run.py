"""Evaluation: every method on every item of every dataset, fused by the pipeline and scored.

Qt-free so the window can run it too; the command line only parses arguments and prints.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tita_studio.baselines import BASELINES, PARAMETERS
from tita_studio.engine.load import load_engine
from tita_studio.engine.runner import EngineConfig
from tita_studio.errors import Cancelled, InputError, TitaError
from tita_studio.evaluation.cache import Entry, ResultCache, entry_key, file_digest, quantised
from tita_studio.evaluation.datasets import Dataset, EvalItem, LayoutConfig, discover
from tita_studio.evaluation.holdout import read_holdout, restrict
from tita_studio.metrics import score
from tita_studio.metrics.conventions import check_convention
from tita_studio.metrics.registry import METRICS, default_metrics, resolve
from tita_studio.paths import DEFAULT_WEIGHTS
from tita_studio.pipeline.fuse import TITA_METHOD, FuseOptions, FusionResult, fuse_sources, merge_plan
from tita_studio.pipeline.kinds import AUTO, KIND_OF_TASK
from tita_studio.pipeline.reading import read_image

log = logging.getLogger(__name__)

METHOD_CHOICES = (TITA_METHOD, *BASELINES)
ProgressFn = Callable[[int, int, str], None]  # (done, total, what is being done)


@dataclass(frozen=True)
class EvaluationConfig:
    """How items are fused for evaluation and what is scored by default."""

    align_pairs: str = "none"  # dataset pairs are registered
    align_sequences: str = "auto"  # brackets and focus stacks may be hand-held
    resize_tasks: tuple[str, ...] = ("pan",)  # multispectral bands are brought to the panchromatic size
    mef_metric: str = "MEF-SSIM"  # always scored for exposure fusion and for sequences
    layout: LayoutConfig = field(default_factory=LayoutConfig)
    cache_dir: str = "cache"  # under the output folder
    engine: EngineConfig = field(default_factory=EngineConfig)  # how tita runs (precision and tiles enter the key)


@dataclass
class Row:
    """One method on one item."""

    dataset: str
    task: str
    item: str
    sources: int
    method: str
    seconds: float
    reused: bool
    scores: dict[str, float | None]


@dataclass
class EvalReport:
    """Everything the report files are made of."""

    convention: str
    datasets: list[Dataset]
    methods: list[str]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # method -> why it was not run
    computed: int = 0
    reused: int = 0


def parse_methods(methods: str | Sequence[str]) -> list[str]:
    """Method names from a list or a comma-separated string; unknown names are an InputError."""
    names = [m.strip().lower() for m in (methods.split(",") if isinstance(methods, str) else methods)]
    names = list(dict.fromkeys(n for n in names if n))
    unknown = [n for n in names if n not in METHOD_CHOICES]
    if unknown or not names:
        raise InputError(f"unknown method(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(METHOD_CHOICES)}")
    return names


def metrics_for(n_sources: int, task: str, requested: Sequence[str] | None, convention: str,
                config: EvaluationConfig) -> list[str]:
    """The metrics scored for one item: those asked for that apply to its number of sources, or the
    convention's default set, with MEF-SSIM added for exposure fusion and sequences."""
    if requested is not None:
        return [n for n in requested if METRICS[n].exact_sources in (None, n_sources)]
    names = default_metrics(n_sources, convention)
    if (task == "mef" or n_sources > 2) and config.mef_metric not in names:
        names.append(config.mef_metric)
    return names


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class _Tita:
    """The network for the `tita` method, loaded once, with its weights' digest for the cache."""

    def __init__(self, model: Path | None, notes: list[str], engine: EngineConfig) -> None:
        self.engine = None
        self.digest: str | None = None
        self.skip_reason: str | None = None
        path = model or DEFAULT_WEIGHTS
        if model is not None and not model.is_file():
            raise InputError(f"{model}: no such model file")
        if not path.is_file():
            self.skip_reason = f"skipped: no TITA weights ({DEFAULT_WEIGHTS.name} is not in models/, no --model)"
            return
        self.engine = load_engine(path, engine)
        self.digest = file_digest(path)
        if not self.engine.trained:
            notes.append(f"tita used UNTRAINED weights ({path.name}): its numbers say nothing about TITA")


@dataclass(frozen=True)
class EvalTask:
    """One method on one item, with what scoring it needs: the unit an executor runs."""

    index: int
    dataset: Dataset
    item: EvalItem
    method: str
    requested: list[str] | None
    convention: str


@dataclass
class TaskOutcome:
    """What one task gave: its row (None when the item could not be fused), notes, and whether the
    result came from the cache."""

    index: int
    row: Row | None
    notes: list[str]
    reused: bool


class Evaluator:
    """Runs tasks against one cache and one loaded network: in this process, or one per cluster worker."""

    def __init__(self, out: str | Path, model: str | Path | None, config: EvaluationConfig, need_tita: bool) -> None:
        self.out, self.model, self.need_tita = Path(out), Path(model) if model is not None else None, need_tita
        self.config = config
        self.cache = ResultCache(Path(out) / config.cache_dir)
        self.notes: list[str] = []
        self.tita = _Tita(self.model, self.notes, config.engine) if need_tita else None

    def run(self, task: EvalTask) -> TaskOutcome:
        notes: list[str] = []
        row = _evaluate_one(task.dataset, task.item, task.method, task.requested, task.convention, self.config,
                            self.cache, self.tita, notes)
        return TaskOutcome(task.index, row, notes, row is not None and row.reused)


TaskExecutor = Callable[[Evaluator, list[EvalTask], ProgressFn | None], Iterable[TaskOutcome]]


def run_locally(evaluator: Evaluator, tasks: list[EvalTask], progress: ProgressFn | None) -> Iterator[TaskOutcome]:
    """The tasks one after the other in this process."""
    for done, task in enumerate(tasks):
        if progress:
            progress(done, len(tasks), f"{task.dataset.label} {task.item.name} {task.method}")
        yield evaluator.run(task)


def evaluate(datasets: Sequence[str | Path], methods: str | Sequence[str], out: str | Path,
             metrics: str | Sequence[str] | None = None, convention: str = "standard", limit: int | None = None,
             model: str | Path | None = None, config: EvaluationConfig | None = None,
             progress: ProgressFn | None = None, holdout: str | Path | None = None,
             executor: TaskExecutor | None = None) -> EvalReport:
    """Fuse and score every item of every dataset with every method, reusing cached results.

    Results are cached under `out`/cache; an item a method cannot fuse (e.g. an alignment that is
    refused) is left out with a note rather than stopping the evaluation. `holdout`: a holdout TOML
    that restricts the items to its scenes (see `evaluation.holdout`); `limit` applies after it.
    `executor` runs the tasks (default: here, in order; `cluster.ray_eval` spreads them over workers);
    the report is the same either way, rows and notes in task order.
    """
    cfg = config or EvaluationConfig()
    check_convention(convention)
    names = parse_methods(methods)
    if isinstance(metrics, str):
        metrics = [m for m in metrics.split(",") if m.strip()]
    requested = resolve(metrics) if metrics is not None else None
    if requested is not None and not requested:
        raise InputError("no metrics requested")
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")
    found = [discover(d, None if holdout else limit, cfg.layout) for d in datasets]
    held_notes: list[str] = []
    if holdout:
        restriction = restrict(found, read_holdout(holdout), Path(holdout).name)
        found, held_notes = restriction.kept, restriction.notes
        for dataset in found:
            dataset.items = dataset.items[:limit]
    report = EvalReport(convention, found, names, notes=held_notes)
    evaluator = Evaluator(out, model, cfg, TITA_METHOD in names)
    report.notes += evaluator.notes
    if evaluator.tita is not None and evaluator.tita.skip_reason:
        report.methods = [n for n in names if n != TITA_METHOD]
        report.skipped[TITA_METHOD] = evaluator.tita.skip_reason
    tasks = [EvalTask(i, dataset, item, method, requested, convention) for i, (dataset, item, method) in
             enumerate((d, it, m) for d in found for it in d.items for m in report.methods)]
    outcomes = sorted((executor or run_locally)(evaluator, tasks, progress), key=lambda o: o.index)
    for outcome in outcomes:
        if outcome.row is not None:
            report.rows.append(outcome.row)
            report.reused += outcome.reused
            report.computed += not outcome.reused
        for note in outcome.notes:
            if note not in report.notes:
                report.notes.append(note)
    if progress:
        progress(len(tasks), len(tasks), "done")
    return report


def _options(dataset: Dataset, item: EvalItem, method: str, cfg: EvaluationConfig) -> FuseOptions:
    align = cfg.align_pairs if item.kind == "pair" else cfg.align_sequences
    kind = KIND_OF_TASK.get(dataset.task, AUTO)  # the folder names the task: no need to guess it
    return FuseOptions(method=method, kind=kind, align=align, resize=dataset.task in cfg.resize_tasks)


def result_key(dataset: Dataset, item: EvalItem, method: str, cfg: EvaluationConfig, model_digest: str | None
               ) -> str:
    """The cache key of one method's fusion of one item: what the evaluation stores, and what a contact
    sheet (evaluation.contact) looks up to show the very image that was scored."""
    options = _options(dataset, item, method, cfg)
    parameters = {"method": PARAMETERS.get(method, {}), "fuse": asdict(options)}
    if method == TITA_METHOD:
        parameters["engine"] = {"precision": cfg.engine.precision, "tile": cfg.engine.tiles.tile}
        parameters["pairs"] = merge_plan(len(item.sources), options.strategy)  # how N sources became pairs
    return entry_key(item.sources, method, parameters, model_digest if method == TITA_METHOD else None)


def _evaluate_one(dataset: Dataset, item: EvalItem, method: str, requested: list[str] | None, convention: str,
                  cfg: EvaluationConfig, cache: ResultCache, tita: _Tita | None, notes: list[str]) -> Row | None:
    options = _options(dataset, item, method, cfg)
    key = result_key(dataset, item, method, cfg, tita.digest if tita else None)
    wanted = metrics_for(len(item.sources), dataset.task, requested, convention, cfg)
    cached = cache.load(key)
    reused = cached is not None
    try:
        if cached is None:
            result = _fuse(item, options, method, tita)
            entry, image = Entry(seconds=result.seconds, notes=result.notes), quantised(result.image)
            cache.store_image(key, image)
            sources = [s.pixels for s in result.sources]
        else:
            entry, image = cached
            sources = None
        scores = entry.scores.setdefault(convention, {})
        missing = [n for n in wanted if n not in scores]
        if missing:
            if sources is None:
                sources = [s.pixels for s in _fuse(item, options, method, tita).sources]
            scores.update({k: _finite(v) for k, v in score(sources, image, missing, convention).items()})
            cache.store_entry(key, entry)
    except Cancelled:
        raise
    except TitaError as exc:
        notes.append(f"{dataset.label} {item.name} {method}: not evaluated ({exc})")
        return None
    notes += entry.notes
    return Row(dataset.label, dataset.task, item.name, len(item.sources), method, entry.seconds, reused,
               {n: scores[n] for n in wanted})


def _fuse(item: EvalItem, options: FuseOptions, method: str, tita: _Tita | None) -> FusionResult:
    engine = tita.engine if method == TITA_METHOD and tita is not None else None
    return fuse_sources([read_image(s) for s in item.sources], options, engine)


def mean_std(values: Sequence[float | None]) -> tuple[float, float, int]:
    """Mean and (population) standard deviation of the finite values, and how many there were."""
    finite = np.array([v for v in values if v is not None], np.float64)
    if finite.size == 0:
        return math.nan, math.nan, 0
    return float(finite.mean()), float(finite.std()), int(finite.size)
