"""The loop on a tiny network and generated data: it learns, it resumes exactly, it exports the EMA."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tests.training.conftest import tiny_config, write_holdout_file
from tita_studio.cli.main import main
from tita_studio.errors import InputError
from tita_studio.model.config import TITAConfig
from tita_studio.model.tita import TITA
from tita_studio.model.weights import load_weights, save_weights
from tita_studio.training.config import TrainConfig
from tita_studio.training.trainer import CHECKPOINT, STEP_PHASES, WEIGHTS, Trainer, WarmupCosine


def _fixed_loss(trainer: Trainer) -> float:
    batch = trainer.data.heldout
    assert batch is not None
    trainer.net.eval()
    with torch.no_grad():
        losses = trainer._task_losses(batch, trainer.net(batch.a, batch.b))
    trainer.net.train()
    return float(losses.mean())


def test_short_run_decreases_the_loss(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path)
    cfg = replace(cfg, optim=replace(cfg.optim, steps=40, lr=3e-3), run=replace(cfg.run, checkpoint_every=40))
    trainer = Trainer(cfg, progress=False)
    before = _fixed_loss(trainer)
    result = trainer.run()
    after = _fixed_loss(trainer)
    assert after < 0.7 * before
    assert result.step == 40 and result.weights_path is not None
    # the phase times partition the step (FAMO recomputes, so every phase took time)
    last = result.history[-1]
    assert tuple(last.phases) == STEP_PHASES and all(v > 0 for v in last.phases.values())
    assert sum(last.phases.values()) == pytest.approx(last.seconds, rel=1e-6)


def _params(trainer: Trainer) -> dict[str, torch.Tensor]:
    out = {f"net.{k}": v for k, v in trainer.net.state_dict().items()}
    out.update({f"ema.{k}": v for k, v in trainer.ema.net.state_dict().items()})
    out["famo.xi"] = trainer.balancer.state_dict()["xi"]
    return out


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as fh:
        return [r[:-1] for r in csv.reader(fh)]  # all but the wall-clock column


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_killed_and_resumed_run_equals_uninterrupted_run(tmp_path: Path, precision: str) -> None:
    base = tiny_config(tmp_path, precision=precision)
    whole = Trainer(replace(base, run=replace(base.run, out_dir=str(tmp_path / "whole"))), progress=False)
    whole.run()
    cut = replace(base, run=replace(base.run, out_dir=str(tmp_path / "cut")))
    first = Trainer(cut, progress=False)
    assert first.run(stop_after=5).weights_path is None  # "killed" at step 5, one step past the checkpoint
    assert torch.load(tmp_path / "cut" / CHECKPOINT, weights_only=True)["step"] == 4
    resumed = Trainer(cut, progress=False)
    resumed.run()
    assert resumed.step == whole.step == base.optim.steps
    a, b = _params(whole), _params(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    for name in ("train.csv", "eval.csv"):
        assert _rows(tmp_path / "whole" / name) == _rows(tmp_path / "cut" / name)


def test_export_holds_the_ema_and_the_training_summary(tiny: TrainConfig) -> None:
    trainer = Trainer(tiny, progress=False)
    result = trainer.run()
    net, info = load_weights(result.weights_path)
    assert info.trained and info.training["steps"] == tiny.optim.steps
    assert info.training["balancing"] == "famo" and set(info.training["final_weights"]) == {"IVF", "MEF", "MFF"}
    for k, v in trainer.ema.net.state_dict().items():
        assert torch.equal(net.state_dict()[k], v)
    run_dir = Path(tiny.run.out_dir)
    assert (run_dir / "curves.png").stat().st_size > 1000
    header = (run_dir / "train.csv").read_text().splitlines()[0]
    assert header.startswith("step,lr,objective,loss_IVF,loss_MEF,loss_MFF,w_IVF,w_MEF,w_MFF")


def test_cli_trains_from_a_toml_config(tmp_path: Path, capsys) -> None:
    cfg = tiny_config(tmp_path)
    toml = tmp_path / "c.toml"
    toml.write_text(
        "[model]\nembed_dim = 12\nnum_heads = 2\nextract_depth = 1\nfusion_groups = 1\nfusion_depth = 2\n"
        "recon_depth = 1\nshallow_dim = 6\n"
        f'[data]\nroot = "data"\nfolders = {list(cfg.data.folders)!r}\nholdout = "holdout.toml"\ncrop = 16\n'
        '[optim]\nbatch_size = 3\nsteps = 3\n[famo]\nmode = "equal"\n[eval]\nevery = 0\n'
        '[run]\nout_dir = "run"\nprecision = "bfloat16"\nthreads = 1\n'.replace("'", '"'))
    assert main(["train", str(toml), "--quiet", "--export", str(tmp_path / "m.safetensors")]) == 0
    assert (tmp_path / "run" / WEIGHTS).is_file() and (tmp_path / "m.safetensors").is_file()
    assert main(["train", str(toml), "--quiet", "--steps", "4"]) == 0  # continues the same run folder
    assert "4 steps" in capsys.readouterr().out
    assert main(["train", str(tmp_path / "missing.toml")]) == 2


def test_a_stretched_resume_runs_at_the_new_schedules_rate(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path)
    Trainer(cfg, progress=False).run(stop_after=4)  # checkpoint at step 4 of 8
    longer = replace(cfg, optim=replace(cfg.optim, steps=16))
    result = Trainer(longer, progress=False).run(stop_after=5)
    rule = WarmupCosine(cfg.optim.warmup_steps, 16, True, cfg.optim.min_lr_ratio)
    assert result.history[0].lr == pytest.approx(cfg.optim.lr * rule(4), rel=1e-9)


def test_resuming_on_other_scenes_is_refused(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path)
    Trainer(cfg, progress=False).run(stop_after=4)
    write_holdout_file(Path(cfg.data.holdout), {"IVF": ["ivf/gen/s1"], "MEF": ["mef/gen/q0"], "MFF": ["mff/gen/m0"]})
    with pytest.raises(InputError, match="other scenes"):
        Trainer(cfg, progress=False).run()


@pytest.mark.parametrize("native", [False, True])
def test_auto_precision_is_bfloat16_only_where_the_cpu_computes_it(tmp_path: Path, native: bool,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # an AVX2-only CPU emulates bfloat16: a step took 8x float32 there, so auto must pick float32
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    trainer = Trainer(tiny_config(tmp_path, precision="auto"), progress=False)
    assert trainer.precision == ("bfloat16" if native else "float32")
    trainer.run(stop_after=1)
    assert trainer.training_summary()["precision"] == trainer.precision
    explicit = Trainer(tiny_config(tmp_path / "b", precision="bfloat16"), progress=False)
    assert explicit.precision == "bfloat16"  # an explicit choice is kept whatever the CPU


def test_a_warm_start_begins_at_the_given_weights_and_survives_a_resume(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path)
    donor = Trainer(replace(cfg, run=replace(cfg.run, out_dir=str(tmp_path / "donor"))), progress=False).run()
    warm = replace(cfg, run=replace(cfg.run, out_dir=str(tmp_path / "warm"), init=str(donor.weights_path)))
    trainer = Trainer(warm, progress=False)
    trainer.run(stop_after=0)  # step 0: the donor's weights, in the network and in its EMA
    donor_net, _ = load_weights(donor.weights_path)
    for k, v in donor_net.state_dict().items():
        assert torch.equal(trainer.net.state_dict()[k], v) and torch.equal(trainer.ema.net.state_dict()[k], v), k
    trainer.run(stop_after=4)
    donor.weights_path.unlink()  # the checkpoint carries the run on: the init file is needed at step 0 only
    resumed = Trainer(warm, progress=False)
    result = resumed.run()
    _, info = load_weights(result.weights_path)
    assert info.training["init"]["file"] == WEIGHTS and info.training["init"]["steps"] == cfg.optim.steps
    assert len(info.training["init"]["sha256"]) == 64


def test_a_warm_start_from_another_variant_is_refused(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path)
    official = tmp_path / "official.safetensors"
    save_weights(TITA(TITAConfig(variant="official")), official, trained=False)
    with pytest.raises(InputError, match=r"run\.init: .*official variant"):
        Trainer(replace(cfg, run=replace(cfg.run, init=str(official))), progress=False).run()


def test_milestones_keep_the_ema_weights_part_way(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path)
    cfg = replace(cfg, run=replace(cfg.run, milestones_every=3))
    trainer = Trainer(cfg, progress=False)
    trainer.run(stop_after=5)  # killed at step 5: milestone 3 written, checkpoint at 4
    result = Trainer(cfg, progress=False).run()  # resumed from step 4: milestone 6, then the final weights
    whole = Trainer(replace(cfg, run=replace(cfg.run, out_dir=str(tmp_path / "whole"), milestones_every=0)),
                    progress=False)
    whole.run(stop_after=3)
    at_three = whole.ema.net.state_dict()
    milestones = sorted(p.name for p in Path(cfg.run.out_dir).glob("tita-studio-ema-step*.safetensors"))
    assert milestones == [f"tita-studio-ema-step{s}.safetensors" for s in range(3, cfg.optim.steps, 3)]
    net, info = load_weights(Path(cfg.run.out_dir) / milestones[0])
    assert info.trained and info.training["steps"] == 3
    for k, v in net.state_dict().items():
        assert torch.equal(v, at_three[k]), k
    assert result.weights_path is not None and result.weights_path.name == WEIGHTS
