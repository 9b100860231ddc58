"""Results already computed, kept under the output folder and found again by what produced them.

An entry is keyed by a hash of the input files' bytes, the method, its parameters, the fusion options
and the model file's hash: changing any of them makes a new entry, and nothing else does. The fused
image is stored as a 16-bit PNG and every evaluation scores that stored image, so a reused result
scores exactly like a fresh one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from tita_studio.atomic import atomic_write

CACHE_VERSION = 1  # bump when what an entry means changes
_CHUNK = 1 << 20


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def source_digest(source: str) -> str:
    """Digest of one source: the file's bytes, plus the array name for a "file.mat:KEY" source."""
    head, sep, key = source.rpartition(":")
    if sep and head.lower().endswith(".mat"):
        return f"{file_digest(Path(head))}:{key}"
    return file_digest(Path(source))


def entry_key(sources: tuple[str, ...], method: str, parameters: dict[str, object], model_digest: str | None) -> str:
    """The cache key of one fusion; the sources' order does not matter, as it does not for the fusion."""
    recipe = {
        "version": CACHE_VERSION,
        "inputs": sorted(source_digest(s) for s in sources),
        "method": method,
        "parameters": parameters,
        "model": model_digest,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True, default=str).encode()).hexdigest()[:32]


def quantised(image: np.ndarray) -> np.ndarray:
    """The fused image as it is stored and scored: 16-bit levels, back to float32 in [0, 1]."""
    return (np.round(np.clip(image, 0.0, 1.0) * 65535.0) / 65535.0).astype(np.float32)


@dataclass
class Entry:
    """What is kept of one fusion: its time, notes and the scores computed so far, per convention."""

    seconds: float
    notes: list[str] = field(default_factory=list)
    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)


class ResultCache:
    """Fused images (`KEY.png`) and their entries (`KEY.json`) in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def image_path(self, key: str) -> Path:
        return self.folder / f"{key}.png"

    def load(self, key: str) -> tuple[Entry, np.ndarray] | None:
        """The entry and its fused image, or None when absent or unreadable (then it is recomputed)."""
        meta, png = self.folder / f"{key}.json", self.image_path(key)
        if not (meta.is_file() and png.is_file()):
            return None
        try:
            entry = Entry(**json.loads(meta.read_text()))
        except (ValueError, TypeError):
            return None
        image = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        if image is None or image.dtype != np.uint16:
            return None
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        return entry, image.astype(np.float32) / np.float32(65535.0)

    def store_image(self, key: str, image: np.ndarray) -> None:
        levels = np.round(np.clip(image, 0.0, 1.0) * 65535.0).astype(np.uint16)
        if levels.ndim == 3:
            levels = cv2.cvtColor(levels, cv2.COLOR_RGB2BGR)
        ok, encoded = cv2.imencode(".png", levels)
        if not ok:
            raise OSError(f"could not encode the fused image for {key}")
        atomic_write(self.image_path(key), encoded.tobytes())

    def store_entry(self, key: str, entry: Entry) -> None:
        data = {"seconds": entry.seconds, "notes": entry.notes, "scores": entry.scores}
        atomic_write(self.folder / f"{key}.json", json.dumps(data, indent=1, sort_keys=True).encode())
