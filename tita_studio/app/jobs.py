"""The window's work without Qt: reading sources, the stages of a fusion job, attention probes, scores,
and the rules for what runs when no weights load. The thin Qt layer (worker.py) only calls these on its
threads; tests call them directly.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tita_studio.app.config import FALLBACK_METHOD, PREVIEW_BASELINE, FusionSettings, MetricsConfig, WorkerConfig
from tita_studio.app.readout import to_display
from tita_studio.app.records import BASELINE, EngineStatus, LoadedSource, Outcome
from tita_studio.engine.load import load_engine
from tita_studio.engine.runner import EngineConfig, FusionEngine
from tita_studio.engine.tiling import TileConfig
from tita_studio.errors import Cancelled, TitaError
from tita_studio.model.tita import AttentionProbe
from tita_studio.paths import DEFAULT_WEIGHTS
from tita_studio.pipeline.fuse import TITA_METHOD, FuseOptions, fuse_sources
from tita_studio.pipeline.kinds import classify
from tita_studio.pipeline.reading import read_image
from tita_studio.pipeline.source import SourceImage

log = logging.getLogger(__name__)

DEGHOST_CHOICES: dict[str, bool | None] = {"auto": None, "on": True, "off": False}

NO_SHIPPED_WEIGHTS = ("The shipped TITA weights (models/tita-studio.safetensors) are missing from this "
                      "installation: reinstall, choose a model file above (Model, Browse...) or a classical method.")


def baseline_names() -> list[str]:
    """The classical methods installed (the package may be absent in a partial checkout)."""
    try:
        from tita_studio.baselines import BASELINES
    except ImportError:
        return []
    return list(BASELINES)


def fallback_method() -> str:
    """The classical method the window fuses with when no TITA weights load: the one rule for it."""
    names = baseline_names()
    return FALLBACK_METHOD if FALLBACK_METHOD in names or not names else names[0]


def plain_error(exc: BaseException) -> str:
    """One sentence a user can act on."""
    if isinstance(exc, TitaError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "Out of memory: try fewer or smaller images, or a lower precision."
    return f"Something went wrong ({type(exc).__name__}: {exc}). The previous result is kept."


@dataclass(frozen=True)
class TaskError:
    """What a background task raised, as the error dialog shows it."""

    message: str
    details: str

    @classmethod
    def of(cls, exc: BaseException) -> TaskError:
        return cls(plain_error(exc), traceback.format_exc())


def engine_problem(exc: TitaError, settings: FusionSettings) -> str:
    """Why no model loaded, in the window's terms: the core's message for missing shipped weights
    speaks of command-line flags."""
    if settings.model_path is None and not DEFAULT_WEIGHTS.is_file():
        return NO_SHIPPED_WEIGHTS
    return str(exc)


def load_job_engine(settings: FusionSettings, config: WorkerConfig | None = None
                    ) -> tuple[FusionEngine | None, EngineStatus]:
    """The engine the settings name (None when it cannot load) and what the window says about it."""
    cfg = config or WorkerConfig()
    try:
        engine_config = EngineConfig(settings.device, settings.precision, TileConfig(cfg.tile, cfg.overlap),
                                     backend=settings.backend)
        engine = load_engine(settings.model_path, engine_config)
    except TitaError as exc:
        log.warning("no TITA model: %s", exc)
        return None, EngineStatus(False, problem=engine_problem(exc, settings))
    return engine, EngineStatus(True, engine.trained, engine.description)


def job_stages(method: str, options: FuseOptions, preview_side: int, longest: int
               ) -> list[tuple[str, FuseOptions]]:
    """(stage, options) in the order they run. TITA takes seconds even at preview size on a CPU, so
    the classical baseline on the preview-size sources (milliseconds) comes first, then the TITA
    preview (when the sources are larger than it), then the full size. The baselines themselves are
    fast enough to go straight to the full size; a preview side of 0 turns the previews off."""
    if method != TITA_METHOD or preview_side <= 0:
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
    reference: int | None = None  # the user's reference frame (index into sources), None: the kind's


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


def run_fusion_job(job: FusionJob, engine: FusionEngine | None,
                   progress_for: Callable[[str], Callable[[float], None]], stale: Callable[[], bool]
                   ) -> Iterator[Outcome]:
    """The finished stages of a job, in order; without an engine, the fallback method, said in the notes.
    Raises Cancelled as soon as the job is no longer wanted."""
    method = job.settings.method
    notes = []
    if method == TITA_METHOD and engine is None:
        method = fallback_method()
        notes.append(f"no TITA weights loaded: fused with the {method} baseline")
    options = FuseOptions(method=method, kind=job.settings.kind, align=job.settings.align,
                          want_maps=method == TITA_METHOD, deghost=DEGHOST_CHOICES[job.settings.deghost],
                          reference=job.reference, quality=job.settings.quality)
    for stage, stage_options in job_stages(method, options, job.settings.preview_side,
                                           max(max(s.shape) for s in job.sources)):
        progress = None if stage == BASELINE else progress_for(stage)  # the baseline preview is instant
        result = fuse_sources(job.sources, stage_options, engine, progress, stale)
        if stale():
            raise Cancelled("fusion cancelled")
        result.notes.extend(notes)
        shown = [to_display(s.pixels) for s in result.sources] if stage == "full" else []
        yield Outcome(job.job_id, stage, result, to_display(result.image), shown)


def probe_attention(engine: FusionEngine, job: ProbeJob) -> AttentionProbe:
    """The attention of one result pixel in one ISF block."""
    return engine.attention_at(job.luma_a, job.luma_b, job.block - 1, job.row, job.col, job.stream)


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
    return {name: fuse_sources(sources, FuseOptions(method=name, align="none")).image for name in baseline_names()}
