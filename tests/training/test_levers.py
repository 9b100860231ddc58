"""Issue #13's training levers: ground-truth synthetic pairs, the MEF-SSIM loss, distillation, new data."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.training.conftest import tiny_config, write_holdout_file
from tita_studio.errors import InputError
from tita_studio.metrics.mef_ssim import mef_ssim as mef_ssim_metric
from tita_studio.paths import PROJECT_ROOT
from tita_studio.training.config import (
    DistillConfig,
    LossConfig,
    SyntheticMEFConfig,
    config_from_dict,
)
from tita_studio.training.data import (
    build_data,
    discover,
    read_holdouts,
    register,
    synthetic_exposure_pair,
)
from tita_studio.training.distill import TeacherCache, distill_weight
from tita_studio.training.losses import fusion_loss, mef_ssim, reference_loss
from tita_studio.training.trainer import CHECKPOINT, Trainer

DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"


# ---- lever 1: synthetic pairs with ground truth -------------------------------------------------------
def test_synthetic_exposure_pair_is_the_frame_seen_through_the_set_exposures() -> None:
    rng = np.random.default_rng(0)
    frame = cv2.resize(rng.random((8, 8)).astype(np.float32), (32, 32), interpolation=cv2.INTER_CUBIC)
    frame = np.clip(frame, 0.05, 0.95)
    cfg = SyntheticMEFConfig(enabled=True, ev_min=1.5, ev_max=1.5, gamma_min=2.2, gamma_max=2.2, noise=0.0)
    over, under = synthetic_exposure_pair(frame, rng, cfg)
    assert over.mean() > frame.mean() > under.mean()
    # undo the set exposure: where a shot is not clipped it is the frame, up to 8-bit quantisation
    back_over = (over.astype(np.float64) ** 2.2 / 2**1.5) ** (1 / 2.2)
    back_under = (under.astype(np.float64) ** 2.2 * 2**1.5) ** (1 / 2.2)
    unclipped = over < 0.99
    assert unclipped.mean() > 0.3 and (over >= 0.99).any()  # some highlights are lost, as intended
    assert np.abs(back_over - frame)[unclipped].max() < 0.01
    assert np.abs(back_under - frame)[under > 0.1].max() < 0.01
    # a larger exposure step makes the shots differ more
    wide = replace(cfg, ev_min=2.5, ev_max=2.5)
    over2, under2 = synthetic_exposure_pair(frame, np.random.default_rng(0), wide)
    assert over2.mean() > over.mean() and under2.mean() < under.mean()


def test_sampler_gives_synthetic_pairs_their_source_as_target(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path)
    data_cfg = replace(cfg.data, synthetic_mef=SyntheticMEFConfig(enabled=True, folders=("mef/gen",), fraction=1.0,
                                                                  noise=0.0))
    data = build_data(data_cfg, 6, 0, 0, 0)
    seen = {"exposure": 0, "focus": 0}
    for _ in range(4):
        batch = data.sampler.next_batch()
        assert batch.target is not None and batch.has_target is not None
        for n, sid in enumerate(batch.scene_ids):
            a, b, t = batch.a[n, 0].numpy(), batch.b[n, 0].numpy(), batch.target[n, 0].numpy()
            if sid.startswith("synthetic-exposure:"):
                seen["exposure"] += 1
                assert batch.has_target[n] and a.mean() > t.mean() > b.mean()
            elif sid.startswith("synthetic:"):
                seen["focus"] += 1
                # each pixel is sharp in one of the two sources: the target is the nearer one, mostly
                assert batch.has_target[n]
                near = np.minimum(np.abs(a - t), np.abs(b - t)).mean()
                assert near < 0.5 * np.abs(a - b).mean()
            else:
                assert not batch.has_target[n]
    assert seen["exposure"] > 0 and seen["focus"] > 0


def test_reference_loss_is_zero_only_when_fused_equals_target() -> None:
    x = torch.rand(3, 1, 24, 24)
    assert torch.allclose(reference_loss(x, x), torch.zeros(3), atol=1e-5)
    assert (reference_loss(x.clamp(0.1, 0.9), x) > 0.05).all()


# ---- lever 2: MEF-SSIM as a loss ---------------------------------------------------------------------
def _bracket() -> tuple[np.ndarray, np.ndarray]:
    from tita_studio.training.data import _decode

    folder = DATASETS / "mef" / "merianos"
    if not folder.is_dir():
        pytest.skip("../shared/datasets/mef/merianos is not here")
    scene = _decode(discover(DATASETS, "mef/merianos")[0], 0, 64)
    assert scene is not None
    a, b = (f.astype(np.float64)[200:296, 300:396] / 65535 for f in (scene.frames[0], scene.frames[-1]))
    return a, b


def test_torch_mef_ssim_agrees_with_the_metric_on_real_frames() -> None:
    a, b = _bracket()
    seq = torch.from_numpy(np.stack([a, b]))[None].float()
    candidates = [(a + b) / 2, cv2.GaussianBlur((a + b) / 2, (0, 0), 2), 0.7 * a + 0.3 * b]
    values = []
    for fused in candidates:
        ours = float(mef_ssim(seq, torch.from_numpy(fused)[None, None].float()))
        theirs = mef_ssim_metric([a * 255, b * 255], fused * 255)
        assert ours == pytest.approx(theirs, abs=2e-4)
        values.append(ours)
    assert values[1] < values[0]  # blurring loses structure


def test_mef_ssim_gradient_is_finite_and_improves_the_score() -> None:
    a, b = _bracket()
    seq = torch.from_numpy(np.stack([a, b]))[None].float()
    fused = torch.full((1, 1, *a.shape), 0.5, requires_grad=True)  # flat grey: no structure at all
    fused.data += 0.01 * torch.rand_like(fused)
    before = mef_ssim(seq, fused)
    before.sum().backward()
    assert fused.grad is not None and torch.isfinite(fused.grad).all() and fused.grad.abs().sum() > 0
    with torch.no_grad():
        stepped = fused + 2.0 * fused.grad / fused.grad.abs().max()
    assert float(mef_ssim(seq, stepped)) > float(before.detach())


# ---- lever 3: distillation ---------------------------------------------------------------------------
def test_distillation_weight_decays_to_zero_at_the_configured_step() -> None:
    cfg = DistillConfig(enabled=True, weight=2.0, until=100)
    weights = [distill_weight(cfg, s) for s in range(0, 130, 10)]
    assert weights[0] == 2.0 and distill_weight(cfg, 50) == pytest.approx(1.0)
    assert all(x > y for x, y in pairwise(weights[:11]))
    assert distill_weight(cfg, 99) > 0 and distill_weight(cfg, 100) == 0 and distill_weight(cfg, 120) == 0
    assert distill_weight(replace(cfg, enabled=False), 0) == 0


def test_teacher_cache_computes_once_and_rereads_the_same_fusion(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    a, b = (np.round(rng.random((40, 48)) * 65535).astype(np.uint16) for _ in range(2))
    first = TeacherCache(tmp_path).fused(a, b, "gff")
    files = list(tmp_path.glob("gff-*.npy"))
    assert len(files) == 1 and first.dtype == np.uint16 and first.shape == a.shape
    np.testing.assert_array_equal(TeacherCache(tmp_path).fused(a, b, "gff"), first)  # read from disk
    TeacherCache(tmp_path).fused(a, b, "laplacian")
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_distillation_term_enters_the_loss_early_and_not_after(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path)
    cfg = replace(cfg, distill=DistillConfig(enabled=True, weight=1.0, until=3, cache=str(tmp_path / "cache")))
    trainer = Trainer(cfg, progress=False)
    batch = trainer.data.sampler.next_batch()
    assert batch.teacher is not None and batch.has_teacher is not None and batch.has_teacher.any()
    fused = torch.rand_like(batch.a)
    a, b, task = batch.a, batch.b, batch.task
    plain = fusion_loss(a, b, fused, task == trainer.mef).total
    early = trainer._sample_losses(batch, a, b, task, fused)
    assert (early[batch.has_teacher] > plain[batch.has_teacher] + 0.1).all()
    trainer.step = 3
    torch.testing.assert_close(trainer._sample_losses(batch, a, b, task, fused), plain)


# ---- defaults keep the paper's loss; old runs resume --------------------------------------------------
def test_default_config_computes_exactly_the_published_loss(tmp_path: Path) -> None:
    trainer = Trainer(tiny_config(tmp_path), progress=False)
    batch = trainer.data.sampler.next_batch()
    assert batch.target is not None  # synthetic MFF samples carry their sharp image, unused by default
    fused = torch.rand_like(batch.a)
    torch.testing.assert_close(trainer._sample_losses(batch, batch.a, batch.b, batch.task, fused),
                               fusion_loss(batch.a, batch.b, fused, batch.task == trainer.mef).total,
                               rtol=0, atol=0)


def test_supervised_and_mef_ssim_terms_change_only_their_samples(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path)
    trainer = Trainer(replace(cfg, loss=LossConfig(supervised_weight=1.0)), progress=False)
    batch = trainer.data.sampler.next_batch()
    fused = torch.rand_like(batch.a)
    plain = fusion_loss(batch.a, batch.b, fused, batch.task == trainer.mef).total
    sup = trainer._sample_losses(batch, batch.a, batch.b, batch.task, fused)
    assert batch.has_target is not None and batch.has_target.any()
    assert (sup[batch.has_target] > plain[batch.has_target]).all()
    torch.testing.assert_close(sup[~batch.has_target], plain[~batch.has_target])
    trainer.cfg = replace(cfg, loss=LossConfig(mef_ssim_weight=10.0, mef_intensity_weight=0.0))
    mef = batch.task == trainer.mef
    terms = fusion_loss(batch.a, batch.b, fused, mef)
    out = trainer._sample_losses(batch, batch.a, batch.b, batch.task, fused)
    torch.testing.assert_close(out[~mef], plain[~mef])
    expected = plain[mef] - 20 * terms.intensity[mef] + 10 * (1 - mef_ssim(torch.cat([batch.a, batch.b], 1)[mef],
                                                                            fused[mef]))
    torch.testing.assert_close(out[mef], expected)


def test_a_checkpoint_written_before_the_new_keys_resumes(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path)
    Trainer(cfg, progress=False).run(stop_after=4)
    trainer = Trainer(cfg, progress=False)
    trainer.step = 4
    path = trainer.run_dir / CHECKPOINT
    state = torch.load(path, weights_only=True)
    old = json.loads(state["config"])
    for key in ("loss", "distill"):
        old.pop(key)
    for key in ("synthetic_mef", "holdout_extra", "align"):
        old["data"].pop(key)
    old["eval"].pop("folders")
    state["config"] = json.dumps(old)
    torch.save(state, path)
    resumed = Trainer(cfg, progress=False)
    resumed.load_checkpoint(path)
    assert resumed.step == 4
    changed = Trainer(replace(cfg, loss=LossConfig(supervised_weight=1.0)), progress=False)
    with pytest.raises(InputError, match=r"loss\.supervised_weight"):
        changed.load_checkpoint(path)


def test_new_config_tables_reject_unknown_keys_and_bad_teachers() -> None:
    with pytest.raises(InputError, match="unknown key"):
        config_from_dict({"loss": {"mef_ssim": 1.0}})
    with pytest.raises(InputError, match="unknown key"):
        config_from_dict({"data": {"synthetic_mef": {"stops": 2}}})
    with pytest.raises(InputError, match="distill"):
        config_from_dict({"distill": {"enabled": True, "until": 10, "mef": "wavelet"}})
    cfg = config_from_dict({"distill": {"enabled": True, "until": 10}}, Path("/x/configs"))
    assert cfg.distill.cache == "/x/runs/distill-cache"


# ---- lever 4: new data -------------------------------------------------------------------------------
def test_extra_holdout_lists_are_excluded_from_training(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path)
    extra = write_holdout_file(tmp_path / "extra.toml", {"IVF": ["ivf/gen/s1"], "MEF": [], "MFF": []})
    data_cfg = replace(cfg.data, holdout_extra=(str(extra),))
    assert "ivf/gen/s1" in read_holdouts(data_cfg) and "ivf/gen/s0" in read_holdouts(data_cfg)
    data = build_data(data_cfg, 6, 0, 2, 1)
    trained = {s.id for s in data.sampler.by_task["IVF"]}
    assert "ivf/gen/s1" not in trained and "ivf/gen/s0" not in trained and trained
    assert {s.id for s in data.sampler.sharp}.isdisjoint({"ivf/gen/s0", "ivf/gen/s1"})


def test_register_undoes_a_hand_held_shift(tmp_path: Path) -> None:
    from tita_studio.training.data import _decode

    if not (DATASETS / "mef" / "merianos").is_dir():
        pytest.skip("../shared/datasets/mef/merianos is not here")
    scene = _decode(discover(DATASETS, "mef/merianos")[0], 0, 64)
    assert scene is not None
    big = scene.frames[len(scene.frames) // 2]
    darker = np.round(big[16:416, 3:503] * 0.6).astype(np.uint16)  # a darker shot, moved by (-7, +6) px
    lumas = [big[10:410, 10:510], darker]
    out = register(lumas, bracket=True, scene_id="test", cache=tmp_path)
    assert out is not None and out[0].shape == out[1].shape and min(out[0].shape) >= 390
    assert len(list(tmp_path.glob("*.npz"))) == 1  # stored once, read back identically (a resume's frames)
    again = register(lumas, bracket=True, scene_id="test", cache=tmp_path)
    assert again is not None and all(np.array_equal(x, y) for x, y in zip(out, again, strict=True))

    def mismatch(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.abs(x.astype(np.float64) - y.astype(np.float64) / 0.6).mean() / 65535)

    assert mismatch(lumas[0], lumas[1]) > 0.02  # the unregistered frames do differ
    assert mismatch(out[0], out[1]) < 0.1 * mismatch(lumas[0], lumas[1])


@pytest.mark.parametrize("folder", ["ivf/m3svd_val_frames", "mef/syclin_vfx_aligned", "mef/holoco_sice",
                                    "mff/cmcguinness_focusstack"])
def test_new_folders_are_discovered(folder: str) -> None:
    if not (DATASETS / folder).is_dir():
        pytest.skip(f"../shared/datasets/{folder} is not here")
    scenes = discover(DATASETS, folder)
    assert scenes and all(len(s.paths) >= 2 for s in scenes)
    assert all(s.sequence == (folder.split("/")[0] != "ivf") for s in scenes)


def test_recipe_arm_configs_share_the_schedule_and_the_held_out_lists() -> None:
    from tita_studio.training.config import load_config

    arms = {p.stem: load_config(p) for p in sorted((PROJECT_ROOT / "configs").glob("recipe_*.toml"))}
    assert {"recipe_base", "recipe_all"} <= set(arms)
    base = arms["recipe_base"]
    for name, cfg in arms.items():
        assert cfg.optim == base.optim and cfg.run.seed == base.run.seed and cfg.eval == base.eval, name
        assert cfg.data.holdout == base.data.holdout and cfg.data.holdout_extra == base.data.holdout_extra
        assert cfg.run.threads == 1 and cfg.run.out_dir.endswith(name.replace("_", "-"))
        assert not any(f.startswith(("mif/", "pan/")) or f == "ivf/vifb" for f in cfg.data.folders)
    assert not base.distill.enabled and base.loss == LossConfig() and not base.data.synthetic_mef.enabled


def test_long_run_continues_the_shipped_weights_on_the_recipe_all_levers_and_held_out_lists() -> None:
    from tita_studio.model.weights import read_info
    from tita_studio.training.config import load_config

    configs = PROJECT_ROOT / "configs"
    long_run, arm = load_config(configs / "train_studio_6000.toml"), load_config(configs / "recipe_all.toml")
    assert long_run.data == arm.data and long_run.loss == arm.loss and long_run.eval.folders == arm.eval.folders
    assert long_run.distill == replace(arm.distill, until=2000) and long_run.optim.steps >= 6000
    assert long_run.run.milestones_every > 0 and Path(long_run.run.init).is_file()
    shipped = read_info(Path(long_run.run.init)).training["data"]["folders"]
    assert set(shipped) <= set(long_run.data.folders)


def test_data_digest_marks_registered_scenes_and_keeps_old_digests() -> None:
    import hashlib

    from tita_studio.training.data import BatchSampler, Scene

    frames = [np.zeros((20, 20), np.uint16), np.ones((20, 20), np.uint16)]
    scenes = [Scene("mef/x/s0", "MEF", frames), Scene("ivf/y/p0", "IVF", frames)]
    digest = BatchSampler(scenes, 3, 16, 0).digest()
    old = hashlib.sha256()
    for s in (scenes[1], scenes[0]):  # IVF first: the task order
        old.update(f"{s.task}:{s.id}:{len(s.frames)}:{s.shape}\n".encode())
    assert digest == old.hexdigest()  # runs started before registration existed still resume
    moved = [Scene("mef/x/s0", "MEF", frames, registered=True), scenes[1]]
    assert BatchSampler(moved, 3, 16, 0).digest() != digest
