"""Data: task labels, refusal of unseen tasks, held-out scenes kept out, balanced batches, MEF order."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.training.conftest import SIZE, make_dataset
from tita_studio.errors import InputError
from tita_studio.pipeline.formats import BMP_SUFFIXES, READ_SUFFIXES
from tita_studio.training import data as data_module
from tita_studio.training.config import SyntheticMFFConfig, TrainConfig, load_config
from tita_studio.training.data import (
    BatchSampler,
    build_data,
    discover,
    load_scenes,
    make_holdout,
    read_holdout,
    synthetic_focus_pair,
    task_of,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("folder", ["mif/ifcnn_md", "pan/wv2", "data/MIF/x"])
def test_unseen_tasks_are_refused(folder: str) -> None:
    with pytest.raises(InputError, match="unseen task"):
        task_of(folder)


def test_build_data_refuses_mif_before_reading(tmp_path: Path, tiny: TrainConfig) -> None:
    (tmp_path / "data/mif/x/A").mkdir(parents=True)
    cfg = tiny.data.__class__(**{**tiny.data.__dict__, "folders": (*tiny.data.folders, "mif/x")})
    with pytest.raises(InputError, match="MIF"):
        build_data(cfg, 6, 0, 0, 0)
    syn = SyntheticMFFConfig(enabled=True, folders=("pan/wv2",))
    cfg = tiny.data.__class__(**{**tiny.data.__dict__, "synthetic_mff": syn})
    with pytest.raises(InputError, match="PAN"):
        build_data(cfg, 6, 0, 0, 0)


def test_task_from_folder() -> None:
    assert [task_of(f) for f in ("ivf/roadscene", "mef/x", "sets/MFF/y")] == ["IVF", "MEF", "MFF"]
    with pytest.raises(InputError, match="cannot tell"):
        task_of("misc/pairs")


def test_heldout_scenes_never_in_training_batches(tiny: TrainConfig) -> None:
    data = build_data(tiny.data, 6, 0, 2, 1)
    held = read_holdout(Path(tiny.data.holdout))
    seen = set()
    for _ in range(200):
        seen.update(data.sampler.next_batch().scene_ids)
    sources = {s.removeprefix("synthetic:") for s in seen}
    assert not sources & held
    assert any(s.startswith("synthetic:") for s in seen) and len(sources) >= 10
    assert data.heldout is not None and set(data.heldout.scene_ids) <= held


def test_batches_are_task_balanced_and_mef_brighter_first(tiny: TrainConfig) -> None:
    data = build_data(tiny.data, 6, 0, 0, 0)
    for _ in range(20):
        batch = data.sampler.next_batch()
        assert batch.a.shape == (6, 1, 16, 16) and batch.a.dtype == batch.b.dtype
        assert np.bincount(batch.task.numpy(), minlength=3).tolist() == [2, 2, 2]
        mef = batch.task == data.sampler.tasks.index("MEF")
        assert (batch.a[mef].mean((1, 2, 3)) >= batch.b[mef].mean((1, 2, 3))).all()


def test_sampler_state_replays_batches(tiny: TrainConfig) -> None:
    data = build_data(tiny.data, 6, 0, 0, 0)
    data.sampler.next_batch()
    state = data.sampler.state_dict()
    first = [data.sampler.next_batch() for _ in range(3)]
    data.sampler.load_state_dict(state)
    again = [data.sampler.next_batch() for _ in range(3)]
    for x, y in zip(first, again, strict=True):
        assert (x.a == y.a).all() and (x.b == y.b).all() and x.scene_ids == y.scene_ids


def test_unusable_frames_are_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    make_dataset(tmp_path, scenes=2)
    cv2.imwrite(str(tmp_path / "ivf/gen/B/s1.png"), np.zeros((SIZE + 4, SIZE), np.uint8))
    cv2.imwrite(str(tmp_path / "mef/gen/seq/q1/f9.png"), np.zeros((SIZE, SIZE + 4), np.uint8))
    (tmp_path / "mef/gen/seq/q0/f8.png").write_bytes(b"not a png")
    with caplog.at_level(logging.WARNING):
        scenes = load_scenes(tmp_path, ["ivf/gen", "mef/gen"], min_side=16, threads=1)
    assert sorted(s.id for s in scenes) == ["ivf/gen/s0", "mef/gen/q0", "mef/gen/q1"]
    assert all(len(s.frames) == 3 for s in scenes if s.task == "MEF")
    assert "differs" in caplog.text and "unreadable" in caplog.text


def test_synthetic_focus_pair_is_complementary() -> None:
    sharp = np.random.default_rng(0).random((40, 40)).astype(np.float32)
    cfg = SyntheticMFFConfig(enabled=True)
    sigma = np.random.default_rng(1).uniform(cfg.sigma_min, cfg.sigma_max)
    a, b = synthetic_focus_pair(sharp, np.random.default_rng(1), cfg, 32)
    blurred = cv2.GaussianBlur(sharp, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)[4:36, 4:36]
    centre = sharp[4:36, 4:36]
    assert a.shape == b.shape == (32, 32)
    assert np.allclose(a + b, centre + blurred, atol=1e-5)
    assert not np.allclose(a, b)


def test_sampler_needs_data() -> None:
    with pytest.raises(InputError, match="no usable"):
        BatchSampler([], 6, 16, 0)


def test_config_file_loads_and_refuses_unknown_keys(tmp_path: Path) -> None:
    good = tmp_path / "c.toml"
    good.write_text('[optim]\nlr = 1e-3\nbetas = [0.8, 0.9]\n[model]\nembed_dim = 12\nnum_heads = 2\n'
                    '[data]\nroot = "d"\n[data.synthetic_mff]\nenabled = true\n')
    cfg = load_config(good)
    assert cfg.optim.lr == 1e-3 and cfg.optim.betas == (0.8, 0.9) and cfg.optim.batch_size == 8
    assert cfg.model.embed_dim == 12 and cfg.model.drop_path == 0.1 and cfg.data.synthetic_mff.enabled
    assert cfg.data.root == str((tmp_path / "d").resolve())
    bad = tmp_path / "bad.toml"
    bad.write_text("[optim]\nlearning_rate = 1e-3\n")
    with pytest.raises(InputError, match="learning_rate"):
        load_config(bad)


def test_shipped_configs_and_holdout(shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The committed held-out list names real scenes, about 10% of each task's, from the training folders,
    and is the seed-0 draw over the scenes readable when it was made (BMP files, read since, are left out
    of the draw: the 10 BMP pairs of mfifb_train became training scenes)."""
    cfg = load_config(REPO / "configs/train_studio_cpu.toml")
    assert load_config(REPO / "configs/train_paper.toml").optim.lr == 2e-5
    held = read_holdout(Path(cfg.data.holdout))
    ids = {s.id: s.task for f in cfg.data.folders for s in discover(Path(cfg.data.root), f)}
    assert held <= set(ids)
    for task in ("IVF", "MEF", "MFF"):
        n_task = sum(t == task for t in ids.values())
        n_held = sum(ids[h] == task for h in held)
        assert 0.07 * n_task <= n_held <= 0.13 * n_task
    monkeypatch.setattr(data_module, "READ_SUFFIXES", tuple(s for s in READ_SUFFIXES if s not in BMP_SUFFIXES))
    assert make_holdout(Path(cfg.data.root), cfg.data.folders) == {
        t: sorted(h for h in held if ids[h] == t) for t in ("IVF", "MEF", "MFF")}

