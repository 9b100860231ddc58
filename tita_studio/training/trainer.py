"""The training loop: FAMO-balanced steps, EMA, atomic checkpoints, exact resume, logs, EMA export.

A run folder holds checkpoint.pt (everything needed to continue: model, EMA, optimiser, FAMO, schedule,
sampler and RNG states), train.csv / eval.csv, curves.png, config.json and, at the end, the EMA weights.
Resuming from checkpoint.pt gives bit-for-bit the parameters an uninterrupted run would have had: every
random draw comes from a generator whose state the checkpoint holds.
"""

from __future__ import annotations

import copy
import csv
import json
import logging
import math
import platform
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tita_studio.atomic import atomic_save
from tita_studio.engine.device import autocast, resolve_device, training_precision
from tita_studio.errors import InputError, ModelFileError
from tita_studio.evaluation.cache import file_digest
from tita_studio.model.tita import TITA
from tita_studio.model.weights import load_weights, save_weights
from tita_studio.training.config import TrainConfig
from tita_studio.training.data import Batch, TrainingData, build_data
from tita_studio.training.distill import distill_weight
from tita_studio.training.famo import Balancer, make_balancer
from tita_studio.training.losses import fusion_loss, mef_ssim, per_task, reference_loss
from tita_studio.training.plot import plot_curves, read_csv

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
STEP_PHASES = ("forward", "loss", "backward", "optimiser", "recompute")  # StepResult.phases, in step order
WEIGHTS = "tita-studio-ema.safetensors"
MILESTONE = "tita-studio-ema-step{step}.safetensors"  # run.milestones_every: the EMA weights part-way
# Config keys that may change between a run and its resume without changing what is computed.
_RESUMABLE_CHANGES = {
    "optim.steps", "run.threads", "run.export", "run.checkpoint_every", "run.log_every", "run.plot_every",
    "eval.every", "data.load_threads", "run.out_dir", "data.root", "data.holdout", "data.holdout_extra",
    "data.align_cache", "distill.cache",
    "data.align",  # which scenes are registered is in the data digest, checked separately
    "run.milestones_every",
    "run.init",  # read at step 0 only; the checkpoint holds its digest (the file may move or go)
}


class WarmupCosine:
    """LR factor: linear warm-up, then constant or cosine decay to min_ratio (a picklable LambdaLR rule)."""

    def __init__(self, warmup: int, total: int, cosine: bool, min_ratio: float) -> None:
        self.warmup, self.total, self.cosine, self.min_ratio = warmup, total, cosine, min_ratio

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        if not self.cosine:
            return 1.0
        t = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * t))


class EMA:
    """Exponential moving average of the weights (what ships): shadow = decay * shadow + (1 - decay) * w."""

    def __init__(self, net: TITA, decay: float) -> None:
        self.decay = decay
        self.net = copy.deepcopy(net).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, net: TITA) -> None:
        shadow = list(self.net.parameters())
        torch._foreach_lerp_(shadow, [p.detach() for p in net.parameters()], 1.0 - self.decay)


@dataclass
class StepResult:
    """One step's per-task losses (before the update), the weights used, and the objective."""

    losses: torch.Tensor
    weights: torch.Tensor
    objective: float
    lr: float
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)  # seconds per part of the step (for profiling)


@dataclass
class TrainResult:
    """What a finished (or stopped) run leaves."""

    step: int
    run_dir: Path
    weights_path: Path | None
    last: StepResult | None
    history: list[StepResult] = field(default_factory=list)


def _torch_rng(device: torch.device) -> list[torch.Tensor]:
    """The generator states that drop-path draws from on this device (CPU, plus the GPU's when used)."""
    return [torch.get_rng_state()] + ([torch.cuda.get_rng_state(device)] if device.type == "cuda" else [])


def _set_torch_rng(states: list[torch.Tensor], device: torch.device) -> None:
    torch.set_rng_state(states[0])
    if device.type == "cuda" and len(states) > 1:
        torch.cuda.set_rng_state(states[1], device)


def _rng_state(device: torch.device) -> dict[str, Any]:
    legacy = np.random.get_state()
    cpu, *gpu = _torch_rng(device)
    state = {
        "torch": cpu,
        "numpy": [legacy[0], torch.from_numpy(legacy[1].astype(np.int64)), *legacy[2:]],
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
    }
    if gpu:
        state["cuda"] = gpu[0]
    return state


def _set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    _set_torch_rng([state["torch"], *([state["cuda"]] if "cuda" in state else [])], device)
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = list(v) if isinstance(v, tuple) else v
    return out


def _truncate_log(path: Path, last_step: int) -> None:
    """Drop rows logged after the checkpoint a run resumes from (they will be logged again)."""
    if not path.is_file():
        return
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return
    kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= last_step]
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(kept)


class Trainer:
    """Builds the network, data, optimiser and balancer from a TrainConfig and runs the loop."""

    def __init__(self, cfg: TrainConfig, data: TrainingData | None = None, progress: bool = True) -> None:
        self.cfg = cfg
        self.progress = progress
        if cfg.run.threads > 0:
            torch.set_num_threads(cfg.run.threads)
        self.device = resolve_device(cfg.run.device)
        self.precision = training_precision(cfg.run.precision, self.device)
        self.run_dir = Path(cfg.run.out_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.run.seed)
        np.random.seed(cfg.run.seed)
        random.seed(cfg.run.seed)
        t0 = time.perf_counter()
        self.data = data or build_data(cfg.data, cfg.optim.batch_size, cfg.run.seed, cfg.eval.crops_per_task,
                                       cfg.eval.seed, cfg.eval.folders, cfg.distill)
        self.load_seconds = time.perf_counter() - t0
        self.tasks = self.data.sampler.tasks
        self.mef = self.tasks.index("MEF") if "MEF" in self.tasks else -1
        self.net = TITA(cfg.model).to(self.device).train()
        self.ema = EMA(self.net, cfg.run.ema_decay)
        o = cfg.optim
        # fused: one kernel over all parameters instead of ~10 small ops per tensor (about 5% of a CPU step)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=o.lr, betas=o.betas, weight_decay=o.weight_decay,
                                    fused=True)
        rule = WarmupCosine(o.warmup_steps, o.steps, o.schedule == "cosine", o.min_lr_ratio)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, rule)
        self.balancer: Balancer = make_balancer(len(self.tasks), cfg.famo)
        self.step = 0
        self.wall = 0.0
        self.init: dict[str, Any] = {}  # the weights the run started from, when not random (run.init)

    def start_from(self, path: Path) -> None:
        """Load step-0 weights into the network and its EMA: a warm start that keeps the steps already paid for."""
        try:
            net, info = load_weights(path, self.cfg.model.variant)
        except ModelFileError as exc:
            raise InputError(f"run.init: {exc}") from exc
        self.net.load_state_dict(net.state_dict())
        self.ema.net.load_state_dict(net.state_dict())
        self.init = {"file": path.name, "sha256": file_digest(path), "steps": info.training.get("steps", 0)}
        log.info("started from %s (%s steps)", path, self.init["steps"])

    # ---- one step ---------------------------------------------------------------------------
    def _task_losses(self, batch: Batch, fused: torch.Tensor) -> torch.Tensor:
        a, b, task = batch.a.to(self.device), batch.b.to(self.device), batch.task.to(self.device)
        return per_task(self._sample_losses(batch, a, b, task, fused), task, len(self.tasks))

    def _sample_losses(self, batch: Batch, a: torch.Tensor, b: torch.Tensor, task: torch.Tensor,
                       fused: torch.Tensor) -> torch.Tensor:
        """The published loss per sample plus the configured extra terms (none by default: the paper's)."""
        is_mef = task == self.mef
        terms = fusion_loss(a, b, fused, is_mef)
        lc = self.cfg.loss
        if lc.mef_intensity_weight == 1.0 and not lc.mef_ssim_weight and not lc.supervised_weight \
                and batch.teacher is None:
            return terms.total
        total = terms.total
        fused32 = fused.float()
        if lc.mef_intensity_weight != 1.0:
            total = total - is_mef.float() * (1.0 - lc.mef_intensity_weight) * 20.0 * terms.intensity
        if lc.mef_ssim_weight and bool(is_mef.any()):
            score = mef_ssim(torch.cat([a, b], 1)[is_mef], fused32[is_mef])
            extra = torch.zeros_like(total).masked_scatter(is_mef, lc.mef_ssim_weight * (1.0 - score))
            total = total + extra
        for ref, mask, weight in ((batch.target, batch.has_target, lc.supervised_weight),
                                  (batch.teacher, batch.has_teacher, distill_weight(self.cfg.distill, self.step))):
            if ref is not None and mask is not None and weight > 0:
                m = mask.to(self.device)
                total = total + weight * m.float() * reference_loss(fused32, ref.to(self.device))
        return total

    def _clock(self) -> float:
        """perf_counter after the GPU's queued work is done, so phase times are what each phase cost."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def train_step(self, batch: Batch) -> StepResult:
        """Forward, balanced objective, Adam, EMA; then FAMO's recomputation on the same batch.

        The recomputation replays the torch RNG states (CPU and GPU) of the first forward, so drop-path drops
        the same branches and delta measures the step, not a different random sub-network.
        """
        marks = [self._clock()]
        a, b = batch.a.to(self.device), batch.b.to(self.device)
        self.data.sampler.teach = distill_weight(self.cfg.distill, self.step + 1) > 0  # for the next batch
        precision = self.precision
        replay = _torch_rng(self.device) if self.balancer.needs_recompute else None
        weights = self.balancer.weights()
        lr = float(self.opt.param_groups[0]["lr"])
        with autocast(self.device, precision):
            fused = self.net(a, b)
        marks.append(self._clock())
        losses = self._task_losses(batch, fused)
        objective = self.balancer.objective(losses)
        marks.append(self._clock())
        self.opt.zero_grad(set_to_none=True)
        objective.backward()
        marks.append(self._clock())
        if self.cfg.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.cfg.optim.grad_clip)
        self.opt.step()
        self.sched.step()
        self.ema.update(self.net)
        marks.append(self._clock())
        if replay is not None:
            state = _torch_rng(self.device)
            _set_torch_rng(replay, self.device)
            with torch.no_grad():
                with autocast(self.device, precision):
                    fused_after = self.net(a, b)
                after = self._task_losses(batch, fused_after)  # float32, outside autocast like the first one
            _set_torch_rng(state, self.device)
            self.balancer.update(after)
        marks.append(self._clock())
        self.step += 1
        phases = dict(zip(STEP_PHASES, np.diff(marks).tolist(), strict=True))
        return StepResult(losses.detach().cpu(), weights, float(objective.detach()), lr, marks[-1] - marks[0], phases)

    @torch.no_grad()
    def evaluate(self, net: TITA | None = None) -> torch.Tensor | None:
        """Per-task loss on the fixed held-out crops, of the EMA weights unless another network is given.

        Runs in eval mode (no drop-path), so it draws no random numbers and leaves the run's course unchanged.
        """
        held = self.data.heldout
        if held is None:
            return None
        net = net or self.ema.net
        was_training = net.training
        net.eval()
        totals = []
        chunk = 2 * self.cfg.optim.batch_size
        for i in range(0, len(held.a), chunk):
            part = Batch(held.a[i : i + chunk], held.b[i : i + chunk], held.task[i : i + chunk])
            a, b = part.a.to(self.device), part.b.to(self.device)
            with autocast(self.device, self.precision):
                fused = net(a, b)
            totals.append(fusion_loss(a, b, fused, part.task.to(self.device) == self.mef).total.cpu())
        net.train(was_training)
        present = torch.bincount(held.task, minlength=len(self.tasks)) > 0
        values = per_task(torch.cat(totals), held.task, len(self.tasks))
        return torch.where(present, values, torch.full_like(values, float("nan")))

    # ---- checkpoints ------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / CHECKPOINT

    def save_checkpoint(self) -> Path:
        state = {
            "step": self.step,
            "wall": self.wall,
            "config": json.dumps(self.cfg.to_dict()),
            "tasks": self.tasks,
            "model": self.net.state_dict(),
            "ema": self.ema.net.state_dict(),
            "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "balancer": self.balancer.state_dict(),
            "sampler": self.data.sampler.state_dict(),
            "rng": _rng_state(self.device),
            "data": self.data.sampler.digest(),
            "init": self.init,
        }
        atomic_save(self.checkpoint_path, lambda handle: torch.save(state, handle))  # a kill keeps the last one
        return self.checkpoint_path

    def load_checkpoint(self, path: Path) -> None:
        """Continue from a checkpoint of the same config (changes that alter the result are refused)."""
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, EOFError) as exc:
            raise InputError(f"{path}: cannot read the checkpoint ({exc})") from exc
        old, new = _flat(json.loads(state["config"])), _flat(json.loads(json.dumps(self.cfg.to_dict())))
        # keys added to the config since the checkpoint was written count as their defaults (the behaviour
        # before they existed), so older runs resume
        defaults = _flat(json.loads(json.dumps(TrainConfig().to_dict())))
        old = {**{k: v for k, v in defaults.items() if k not in old and not k.startswith("model.")}, **old}
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k) and k not in _RESUMABLE_CHANGES)
        if changed:
            raise InputError(f"{path}: was written with a different config ({', '.join(changed)}); "
                             "resume with the same config or start a new run folder")
        if state["tasks"] != self.tasks:
            raise InputError(f"{path}: trained on tasks {state['tasks']}, the data now gives {self.tasks}")
        if "data" in state and state["data"] != self.data.sampler.digest():
            raise InputError(f"{path}: was trained on other scenes than the data folders and held-out list give "
                             "now; resume with the same data or start a new run folder")
        if old.get("optim.steps") != new.get("optim.steps"):
            log.warning("optim.steps changed from %s to %s: the schedule is stretched from here on",
                        old.get("optim.steps"), new.get("optim.steps"))
        self.net.load_state_dict(state["model"])
        self.ema.net.load_state_dict(state["ema"])
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        rule = self.sched.lr_lambdas[0]
        rule.total = self.cfg.optim.steps
        # the next step runs at the (possibly re-stretched) schedule's rate, not the one saved with the state
        for group, base in zip(self.opt.param_groups, self.sched.base_lrs, strict=True):
            group["lr"] = base * rule(self.sched.last_epoch)
        self.balancer.load_state_dict(state["balancer"])
        self.data.sampler.load_state_dict(state["sampler"])
        _set_rng_state(state["rng"], self.device)
        self.step, self.wall = int(state["step"]), float(state["wall"])
        self.init = dict(state.get("init", {}))

    # ---- logs -------------------------------------------------------------------------------
    def _log_row(self, name: str, header: list[str], row: list[Any]) -> None:
        path = self.run_dir / name
        new = not path.is_file() or path.stat().st_size == 0
        with open(path, "a", newline="") as fh:
            writer = csv.writer(fh)
            if new:
                writer.writerow(header)
            writer.writerow(row)

    def _log_step(self, r: StepResult) -> None:
        header = ["step", "lr", "objective", *(f"loss_{t}" for t in self.tasks), *(f"w_{t}" for t in self.tasks),
                  "seconds"]
        row = [self.step, f"{r.lr:.6g}", f"{r.objective:.6g}",
               *(f"{v:.6g}" for v in r.losses.tolist()), *(f"{v:.6g}" for v in r.weights.tolist()), f"{r.seconds:.3f}"]
        self._log_row("train.csv", header, row)

    def _log_eval(self, ema: torch.Tensor, live: torch.Tensor) -> None:
        header = ["step", *(f"loss_{t}" for t in self.tasks), *(f"live_loss_{t}" for t in self.tasks)]
        self._log_row("eval.csv", header, [self.step, *(f"{v:.6g}" for v in [*ema.tolist(), *live.tolist()])])

    def _progress(self, r: StepResult, recent: list[float]) -> None:
        if not self.progress:
            return
        total = self.cfg.optim.steps
        per_step = sum(recent) / len(recent)
        eta = per_step * (total - self.step)
        losses = " ".join(f"{t} {v:.3f}" for t, v in zip(self.tasks, r.losses.tolist(), strict=True))
        weights = " ".join(f"{v:.2f}" for v in r.weights.tolist())
        bar = "#" * int(20 * self.step / total)
        line = (f"[{bar:<20}] {self.step}/{total} {per_step:.2f} s/step ETA {eta / 3600:.1f} h | "
                f"loss {losses} | w {weights}")
        if sys.stderr.isatty():
            print("\r" + line, end="", file=sys.stderr, flush=True)
        elif self.step % 25 == 0 or self.step == total:
            print(line, file=sys.stderr, flush=True)

    # ---- the loop ---------------------------------------------------------------------------
    def training_summary(self) -> dict[str, Any]:
        """What the exported weights say about how they were made."""
        logged = read_csv(self.run_dir / "train.csv")
        final = {t: float(np.mean(logged[f"loss_{t}"][-100:])) for t in self.tasks if f"loss_{t}" in logged}
        return {
            "steps": self.step,
            "wall_time_s": round(self.wall, 1),
            "hardware": {"device": str(self.device), "cpu": platform.processor() or platform.machine(),
                         "threads": torch.get_num_threads(), "torch": torch.__version__},
            "precision": self.precision,
            "data": self.data.summary,
            "optim": _flat(self.cfg.to_dict()["optim"]),
            "balancing": self.cfg.famo.mode,
            "ema_decay": self.cfg.run.ema_decay,
            "drop_path": self.cfg.model.drop_path,
            "seed": self.cfg.run.seed,
            "init": self.init,
            "final_train_loss_last100": final,
            "final_weights": dict(zip(self.tasks, self.balancer.weights().tolist(), strict=True)),
        }

    def export(self) -> Path:
        """The EMA weights with trained=True and the training summary in the metadata."""
        summary = self.training_summary()
        path = save_weights(self.ema.net, self.run_dir / WEIGHTS, trained=True, training=summary)
        if self.cfg.run.export:
            save_weights(self.ema.net, Path(self.cfg.run.export), trained=True, training=summary)
        return path

    def run(self, resume: bool = True, stop_after: int | None = None) -> TrainResult:
        """Train to optim.steps (continuing from checkpoint.pt when resume); stop_after simulates a kill."""
        if resume and self.checkpoint_path.is_file():
            self.load_checkpoint(self.checkpoint_path)
            log.info("resumed from %s at step %d", self.checkpoint_path, self.step)
        elif self.checkpoint_path.is_file():
            raise InputError(f"{self.run_dir} already holds a run; resume it or choose another run.out_dir")
        elif self.cfg.run.init:
            self.start_from(Path(self.cfg.run.init))
        for name in ("train.csv", "eval.csv"):
            _truncate_log(self.run_dir / name, self.step)
        (self.run_dir / "config.json").write_text(json.dumps(self.cfg.to_dict(), indent=2) + "\n")
        cfg = self.cfg.run
        history: list[StepResult] = []
        recent: list[float] = []
        total = self.cfg.optim.steps
        while self.step < total:
            if stop_after is not None and self.step >= stop_after:
                return TrainResult(self.step, self.run_dir, None, history[-1] if history else None, history)
            r = self.train_step(self.data.sampler.next_batch())
            self.wall += r.seconds
            history.append(r)
            recent = [*recent, r.seconds][-20:]
            if self.step % cfg.log_every == 0:
                self._log_step(r)
            if self.cfg.eval.every and (self.step % self.cfg.eval.every == 0 or self.step == total):
                ema, live = self.evaluate(), self.evaluate(self.net)
                if ema is not None and live is not None:
                    self._log_eval(ema, live)
            if self.step % cfg.checkpoint_every == 0 or self.step == total:
                self.save_checkpoint()
            if cfg.milestones_every and self.step % cfg.milestones_every == 0 and self.step < total:
                save_weights(self.ema.net, self.run_dir / MILESTONE.format(step=self.step), trained=True,
                             training=self.training_summary())
            if cfg.plot_every and (self.step % cfg.plot_every == 0 or self.step == total):
                plot_curves(self.run_dir / "train.csv", self.run_dir / "eval.csv", self.run_dir / "curves.png",
                            self.tasks)
            self._progress(r, recent)
        if self.progress and sys.stderr.isatty():
            print(file=sys.stderr)
        weights = self.export()
        return TrainResult(self.step, self.run_dir, weights, history[-1] if history else None, history)
