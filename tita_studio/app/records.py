"""What the worker hands the window: loaded sources, finished stages of a job, the engine's status.
Plain dataclasses (no Qt), shared by the job functions, the model and the views."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tita_studio.pipeline.fuse import FusionResult
from tita_studio.pipeline.source import SourceImage


@dataclass
class LoadedSource:
    """A decoded source and its screen copy (uint8, made off the GUI thread)."""

    source: SourceImage
    display: np.ndarray

    @property
    def name(self) -> str:
        return self.source.meta.path.name


BASELINE = "baseline"  # the stage of the instant classical preview that precedes a TITA preview


@dataclass
class Outcome:
    """One finished stage of a fusion job: the result, its screen copy and the sources' screen copies."""

    job_id: int
    stage: str  # BASELINE (classical preview), "preview" (TITA, reduced size) or "full"
    result: FusionResult
    display: np.ndarray
    source_displays: list[np.ndarray] = field(default_factory=list)

    @property
    def is_full(self) -> bool:
        return self.stage == "full"


@dataclass(frozen=True)
class EngineStatus:
    """What the worker could load: a description, whether it is trained, or why nothing loaded."""

    loaded: bool
    trained: bool = False
    description: str = ""
    problem: str = ""
