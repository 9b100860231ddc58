"""Tiny generated datasets and a tiny network config, so training tests run in seconds on 2 cores."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from tita_studio.model.config import TITAConfig
from tita_studio.training.config import (
    DataConfig,
    EvalConfig,
    OptimConfig,
    RunConfig,
    SyntheticMFFConfig,
    TrainConfig,
)

TINY_MODEL = TITAConfig(variant="studio", embed_dim=12, num_heads=2, extract_depth=1, fusion_groups=1,
                        fusion_depth=2, recon_depth=1, shallow_dim=6, drop_path=0.1)
SIZE = 40


def _texture(rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    noise = rng.random((size // 4, size // 4)).astype(np.float32)
    return cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _png(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.round(np.clip(image, 0, 1) * 255).astype(np.uint8))


def make_dataset(root: Path, scenes: int = 5, seed: int = 0) -> list[str]:
    """ivf/gen (pairs), mef/gen (3-frame sequences), mff/gen (pairs); returns the folders."""
    rng = np.random.default_rng(seed)
    for i in range(scenes):
        base = _texture(rng)
        _png(root / "ivf/gen/A" / f"s{i}.png", base)
        _png(root / "ivf/gen/B" / f"s{i}.png", _texture(rng) ** 2)
        for k, gain in enumerate((0.4, 1.0, 2.2)):
            _png(root / "mef/gen/seq" / f"q{i}" / f"f{k}.png", base * gain)
        _png(root / "mff/gen/A" / f"m{i}.png", cv2.GaussianBlur(base, (0, 0), 2) if i % 2 else base)
        _png(root / "mff/gen/B" / f"m{i}.png", base if i % 2 else cv2.GaussianBlur(base, (0, 0), 2))
    return ["ivf/gen", "mef/gen", "mff/gen"]


def write_holdout_file(path: Path, ids: dict[str, list[str]]) -> Path:
    lines = ["[holdout]"] + [f"{t} = [{', '.join(repr(i).replace(chr(39), chr(34)) for i in v)}]"
                             for t, v in ids.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def tiny_config(tmp_path: Path, **run: object) -> TrainConfig:
    root = tmp_path / "data"
    folders = make_dataset(root) if not root.exists() else ["ivf/gen", "mef/gen", "mff/gen"]
    holdout = write_holdout_file(tmp_path / "holdout.toml",
                                 {"IVF": ["ivf/gen/s0"], "MEF": ["mef/gen/q0"], "MFF": ["mff/gen/m0"]})
    data = DataConfig(root=str(root), folders=tuple(folders), holdout=str(holdout), crop=16, load_threads=1,
                      synthetic_mff=SyntheticMFFConfig(enabled=True, folders=("ivf/gen",), fraction=0.5))
    optim = OptimConfig(lr=2e-3, batch_size=6, steps=8, schedule="cosine", warmup_steps=2)
    run_cfg = replace(RunConfig(out_dir=str(tmp_path / "run"), precision="float32", threads=1,
                                checkpoint_every=4, plot_every=4), **run)
    return TrainConfig(model=TINY_MODEL, data=data, optim=optim, eval=EvalConfig(every=4, crops_per_task=2),
                       run=run_cfg)


@pytest.fixture
def tiny(tmp_path: Path) -> TrainConfig:
    return tiny_config(tmp_path)
