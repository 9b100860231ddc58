"""Open any model file a user may hand us: our safetensors weights or a reference .pth checkpoint."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from tita_studio.errors import ModelFileError
from tita_studio.model.official import load_official_file
from tita_studio.model.tita import TITA
from tita_studio.model.weights import load_weights
from tita_studio.paths import DEFAULT_WEIGHTS


@dataclass
class LoadedModel:
    """A network and what the window / CLI should tell the user about it."""

    net: TITA
    path: Path
    description: str
    trained: bool


def _is_safetensors(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(9)
    return len(head) == 9 and head[8:9] == b"{"


def load_model(path: Path | None = None) -> LoadedModel:
    """Recognise the file by its contents, not its name; None means the shipped weights."""
    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    if not path.is_file():
        if path == DEFAULT_WEIGHTS:
            raise ModelFileError(
                f"the shipped TITA weights are missing ({DEFAULT_WEIGHTS} is not there: reinstall the package); "
                "pass --model FILE, or use a classical method such as --method laplacian")
        raise ModelFileError(f"{path}: no such model file")
    if _is_safetensors(path):
        net, info = load_weights(path)
        return LoadedModel(net, path, info.describe(), info.trained)
    if zipfile.is_zipfile(path) or path.suffix.lower() in (".pth", ".pt"):
        net = load_official_file(path)
        return LoadedModel(net, path, f"{path.name} (reference checkpoint, official variant)", True)
    raise ModelFileError(f"{path}: neither TITA Studio weights (.safetensors) nor a reference PyTorch checkpoint")
