"""Our weights on disk: safetensors (no pickle) with JSON metadata that says what the file is.

Metadata keys: format ("tita-studio"), variant, config (JSON), version, trained ("true"/"false"),
training (JSON summary). Loading checks each and says in plain words what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from tita_studio import __version__
from tita_studio.atomic import atomic_write
from tita_studio.errors import ModelFileError
from tita_studio.model.config import TITAConfig
from tita_studio.model.tita import TITA

FORMAT = "tita-studio"


@dataclass
class WeightsInfo:
    """What a weights file says about itself."""

    path: Path
    config: TITAConfig
    trained: bool
    version: str
    training: dict[str, Any]

    @property
    def total_steps(self) -> int:
        """Training steps in all: a run continued from earlier weights (run.init) counts theirs too."""
        return int(self.training.get("steps") or 0) + int(self.training.get("init", {}).get("steps") or 0)

    def describe(self) -> str:
        state = "trained" if self.trained else "UNTRAINED"
        steps, started = self.training.get("steps"), self.training.get("init", {}).get("steps")
        extra = f", {self.total_steps} steps" if steps else ""
        if steps and started:
            extra += f": {steps} after a {started}-step start"
        return f"{self.path.name} ({self.config.variant} variant, {state}{extra})"


def save_weights(net: TITA, path: Path, trained: bool, training: dict[str, Any] | None = None,
                 dtype: torch.dtype = torch.float32) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves a half-written model."""
    path = Path(path)
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in net.state_dict().items()}
    meta = {
        "format": FORMAT,
        "variant": net.config.variant,
        "config": json.dumps(net.config.to_dict()),
        "version": __version__,
        "trained": "true" if trained else "false",
        "training": json.dumps(training or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, save(tensors, metadata=meta))
    return path


def read_info(path: Path) -> WeightsInfo:
    """Header only: cheap, for `info` and the settings panel."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        with open(path, "rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            if size <= 0 or size > path.stat().st_size - 8:
                raise ModelFileError(f"{path}: not a safetensors file (or truncated)")
            header = json.loads(fh.read(size))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path}: not a safetensors file ({exc})") from exc
    meta = header.get("__metadata__") or {}
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: a safetensors file, but not TITA Studio weights (no '{FORMAT}' metadata)")
    try:
        config = TITAConfig.from_dict(json.loads(meta["config"]))
        training = json.loads(meta.get("training", "{}"))
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelFileError(f"{path}: TITA Studio weights with damaged metadata ({exc})") from exc
    return WeightsInfo(path, config, meta.get("trained") == "true", meta.get("version", "?"), training)


def load_weights(path: Path, variant: str | None = None) -> tuple[TITA, WeightsInfo]:
    """Build the network the file describes and load it; every mismatch is a ModelFileError."""
    info = read_info(path)
    if variant is not None and info.config.variant != variant:
        raise ModelFileError(f"{path}: holds the {info.config.variant} variant, but {variant} was asked for")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise ModelFileError(f"{path}: truncated or damaged weights file ({exc})") from exc
    net = TITA(info.config)
    expected = net.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    wrong = sorted(k for k in set(expected) & set(tensors) if expected[k].shape != tensors[k].shape)
    if missing or extra or wrong:
        detail = "; ".join(p for p in (
            f"missing {', '.join(missing[:5])}" if missing else "",
            f"unexpected {', '.join(extra[:5])}" if extra else "",
            f"wrong shape {', '.join(wrong[:5])}" if wrong else "") if p)
        raise ModelFileError(f"{path}: does not match the {info.config.variant} network ({detail})")
    net.load_state_dict({k: v.float() for k, v in tensors.items()})
    return net.eval(), info
