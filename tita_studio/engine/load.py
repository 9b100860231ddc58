"""The network from a model file, on its device: what the CLI, the window and the evaluation run."""

from __future__ import annotations

from pathlib import Path

from tita_studio.engine.runner import EngineConfig, FusionEngine
from tita_studio.model.loader import load_model


def load_engine(model: Path | None = None, config: EngineConfig | None = None) -> FusionEngine:
    """The network from a model file (default: the shipped weights) on its device."""
    loaded = load_model(model)
    return FusionEngine(loaded.net, config, description=loaded.description, trained=loaded.trained)
