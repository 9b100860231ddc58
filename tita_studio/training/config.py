"""Training configuration: one dataclass per concern, defaults = the paper's, overridden by a TOML file.

Paths in a TOML file are relative to the file's folder, so a config can travel with its run folder.
Unknown keys are errors: a typo must not silently fall back to a default during a 10-hour run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from tita_studio.engine.device import canonical_or_auto
from tita_studio.errors import InputError
from tita_studio.model.config import TITAConfig
from tita_studio.toml_file import read_toml

TASKS: tuple[str, ...] = ("IVF", "MEF", "MFF")
UNSEEN_TASKS: tuple[str, ...] = ("MIF", "PAN")


@dataclass(frozen=True)
class SyntheticMFFConfig:
    """Multi-focus pairs made from sharp images: complementary blur through a random smooth mask."""

    enabled: bool = False
    folders: tuple[str, ...] = ()  # folders (pairs or sequences) whose frames serve as sharp images
    fraction: float = 0.5  # share of MFF samples that are synthetic when real MFF pairs exist
    sigma_min: float = 1.0  # Gaussian blur sigma range, pixels
    sigma_max: float = 3.0
    mask_cells: int = 4  # the mask is smooth noise on a grid of about this many cells per side


@dataclass(frozen=True)
class SyntheticMEFConfig:
    """Exposure pairs made from a well-exposed frame, which is their ground truth (lever 1, issue #13).

    The frame is taken to linear light (inverse sRGB-like gamma 2.2), scaled by 2**ev for an over- and an
    under-exposed shot, passed through a random gamma camera response, clipped to [0, 1] (what loses the
    highlights and shadows), noised and quantised to 8 bits.
    """

    enabled: bool = False
    folders: tuple[str, ...] = ()  # folders whose frames serve as well-exposed targets (middle exposure)
    fraction: float = 0.5  # share of MEF samples that are synthetic
    ev_min: float = 1.0  # each shot is ev in [ev_min, ev_max] stops away from the target
    ev_max: float = 2.5
    gamma_min: float = 1.8  # camera response: linear ** (1 / gamma)
    gamma_max: float = 2.6
    noise: float = 0.01  # Gaussian read noise (std, linear light, before the response)


@dataclass(frozen=True)
class DataConfig:
    """Where the pairs come from and how a training sample is cut from them."""

    root: str = "../shared/datasets"  # folders below are relative to this
    folders: tuple[str, ...] = ()  # e.g. "ivf/roadscene"; the task is the ivf/mef/mff path component
    holdout: str = "holdout.toml"  # fixed list of held-out scenes (never trained on)
    crop: int = 64
    max_side: int = 0  # downscale frames whose longer side exceeds this (0: keep full size)
    load_threads: int = 2
    synthetic_mff: SyntheticMFFConfig = field(default_factory=SyntheticMFFConfig)
    synthetic_mef: SyntheticMEFConfig = field(default_factory=SyntheticMEFConfig)
    holdout_extra: tuple[str, ...] = ()  # further held-out lists (e.g. holdout_new.toml), same format
    align: tuple[str, ...] = ()  # folders or scene ids whose sequences are registered on load (hand-held)
    align_cache: str = ""  # registered frames stored here once (a resume reads them back); "": not stored


@dataclass(frozen=True)
class OptimConfig:
    """Adam and its learning-rate schedule; "constant" with no warm-up is the paper's."""

    lr: float = 2e-5
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    batch_size: int = 8
    steps: int = 20_000
    schedule: str = "constant"  # "constant" or "cosine"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.01  # cosine decays to lr * min_lr_ratio
    grad_clip: float = 0.0  # max global gradient norm (0: no clipping)


@dataclass(frozen=True)
class FamoConfig:
    """Task balancing: FAMO as the paper uses it, or equal weights (the ablation)."""

    mode: str = "famo"  # "famo" or "equal"
    lr: float = 0.025
    weight_decay: float = 1e-3
    eps: float = 1e-8


@dataclass(frozen=True)
class LossConfig:
    """Terms added to the published loss (issue #13); the defaults are the paper's loss alone."""

    supervised_weight: float = 0.0  # weight of 20 L1 + 10 (1 - SSIM) to the target of synthetic pairs
    mef_ssim_weight: float = 0.0  # adds weight * (1 - MEF-SSIM(A, B; F)) to exposure samples
    mef_intensity_weight: float = 1.0  # scales MEF's mean-intensity term (0: MEF-SSIM in its place)


@dataclass(frozen=True)
class DistillConfig:
    """Warm start: regress toward a classical fusion early on, the weight decaying to 0 (training/distill.py)."""

    enabled: bool = False
    weight: float = 1.0  # at step 0, times 20 L1 + 10 (1 - SSIM) toward the classical fusion
    until: int = 0  # the weight falls linearly to 0 at this step
    ivf: str = "gff"  # the teacher per task (a tita_studio.baselines name; "" for none)
    mef: str = "mertens"
    mff: str = "gff"
    cache: str = "../runs/distill-cache"  # classical fusions, computed once per frame pair


@dataclass(frozen=True)
class EvalConfig:
    """Held-out loss on fixed crops of the held-out scenes, logged every `every` steps."""

    every: int = 500  # 0: never
    crops_per_task: int = 16
    seed: int = 1234
    folders: tuple[str, ...] = ()  # folders whose held-out scenes are scored (empty: data.folders)


@dataclass(frozen=True)
class RunConfig:
    """Where the run lives and how it executes."""

    out_dir: str = "runs/tita-studio"
    seed: int = 0
    device: str = "cpu"
    precision: str = "auto"  # network autocast: float32, bfloat16, or auto (bfloat16 only in hardware); losses float32
    threads: int = 0  # torch intra-op threads (0: all cores torch sees)
    ema_decay: float = 0.999
    checkpoint_every: int = 250
    log_every: int = 1  # CSV row every N steps
    plot_every: int = 250
    export: str = ""  # also copy the final EMA weights here (e.g. models/tita-studio.safetensors)
    milestones_every: int = 0  # also keep the EMA weights every N steps (tita-studio-ema-stepN.safetensors)
    init: str = ""  # start from these weights (same variant) instead of random ones; "": from scratch


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs; `to_dict` is stored in every checkpoint to refuse a mismatched resume."""

    model: TITAConfig = field(default_factory=lambda: TITAConfig(variant="studio", drop_path=0.1))
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    famo: FamoConfig = field(default_factory=FamoConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        check(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check(cfg: TrainConfig) -> None:
    """Refuse values that cannot work, with a message that names the key."""
    problems = []
    if cfg.data.crop < cfg.model.window_size or cfg.data.crop % cfg.model.window_size:
        problems.append(f"data.crop must be a multiple of the window size {cfg.model.window_size}")
    if cfg.optim.batch_size < len(TASKS):
        problems.append(f"optim.batch_size must be at least {len(TASKS)} (one sample per task)")
    if cfg.optim.schedule not in ("constant", "cosine"):
        problems.append("optim.schedule must be 'constant' or 'cosine'")
    if cfg.optim.steps < 1 or cfg.optim.lr <= 0:
        problems.append("optim.steps and optim.lr must be positive")
    if cfg.famo.mode not in ("famo", "equal"):
        problems.append("famo.mode must be 'famo' or 'equal'")
    if cfg.run.precision not in ("auto", "float32", "bfloat16"):
        problems.append("run.precision must be auto, float32 or bfloat16 (float16 would need loss scaling)")
    if not 0.0 <= cfg.run.ema_decay < 1.0:
        problems.append("run.ema_decay must be in [0, 1)")
    if cfg.run.checkpoint_every < 1 or cfg.run.log_every < 1 or cfg.run.milestones_every < 0:
        problems.append("run.checkpoint_every and run.log_every must be at least 1, run.milestones_every at least 0")
    syn = cfg.data.synthetic_mff
    if not 0.0 <= syn.fraction <= 1.0 or not 0.0 < syn.sigma_min <= syn.sigma_max:
        problems.append("data.synthetic_mff: fraction in [0, 1] and 0 < sigma_min <= sigma_max")
    mef = cfg.data.synthetic_mef
    if not 0.0 <= mef.fraction <= 1.0 or not 0.0 < mef.ev_min <= mef.ev_max or not 0.0 < mef.gamma_min <= \
            mef.gamma_max or mef.noise < 0:
        problems.append("data.synthetic_mef: fraction in [0, 1], 0 < ev_min <= ev_max, 0 < gamma_min <= gamma_max, "
                        "noise >= 0")
    if min(cfg.loss.supervised_weight, cfg.loss.mef_ssim_weight, cfg.loss.mef_intensity_weight) < 0:
        problems.append("loss weights must be >= 0")
    d = cfg.distill
    if d.enabled:
        from tita_studio.baselines import BASELINES

        bad = [m for m in (d.ivf, d.mef, d.mff) if m and m not in BASELINES]
        if bad or d.weight < 0 or d.until < 1:
            problems.append(f"distill: methods among {', '.join(BASELINES)} (got {', '.join(bad) or 'ok'}), "
                            "weight >= 0, until >= 1")
    if problems:
        raise InputError("bad training config: " + "; ".join(problems))


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    """Dataclass from a TOML table, recursing into nested dataclasses; unknown keys are refused."""
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InputError(f"unknown key(s) in [{where}]: {', '.join(unknown)}; known: {', '.join(known)}")
    defaults = cls()
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        current = getattr(defaults, name)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise InputError(f"[{where}.{name}] must be a table")
            kwargs[name] = _build(type(current), value, f"{where}.{name}")
        elif isinstance(current, tuple):
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = value
    return cls(**{**{f.name: getattr(defaults, f.name) for f in fields(cls)}, **kwargs})


def config_from_dict(data: dict[str, Any], base_dir: Path | None = None) -> TrainConfig:
    """Build a TrainConfig from nested dicts (TOML tables); relative paths resolve against base_dir."""
    sections: dict[str, Any] = {}
    defaults = TrainConfig()
    unknown = sorted(set(data) - {f.name for f in fields(TrainConfig)})
    if unknown:
        raise InputError(f"unknown config section(s): {', '.join(unknown)}")
    for f in fields(TrainConfig):
        table = data.get(f.name, {})
        if not isinstance(table, dict):
            raise InputError(f"[{f.name}] must be a table")
        if f.name == "model":
            sections[f.name] = _build(TITAConfig, {**defaults.model.to_dict(), **table}, "model")
        else:
            sections[f.name] = _build(type(getattr(defaults, f.name)), table, f.name)
    sections["run"] = replace(sections["run"], precision=canonical_or_auto(sections["run"].precision))
    cfg = TrainConfig(**sections)
    if base_dir is not None:
        cfg = resolve_paths(cfg, base_dir)
    return cfg


def resolve_paths(cfg: TrainConfig, base_dir: Path) -> TrainConfig:
    """Make the config's paths absolute against base_dir (the config file's folder)."""
    def absolute(p: str) -> str:
        return str((base_dir / p).resolve()) if p else p

    data = replace(cfg.data, root=absolute(cfg.data.root), holdout=absolute(cfg.data.holdout),
                   holdout_extra=tuple(absolute(p) for p in cfg.data.holdout_extra),
                   align_cache=absolute(cfg.data.align_cache))
    run = replace(cfg.run, out_dir=absolute(cfg.run.out_dir), export=absolute(cfg.run.export),
                  init=absolute(cfg.run.init))
    distill = replace(cfg.distill, cache=absolute(cfg.distill.cache))
    return replace(cfg, data=data, run=run, distill=distill)


def load_config(path: Path) -> TrainConfig:
    """Read a TOML training config; every problem is an InputError naming the file."""
    path = Path(path)
    data = read_toml(path, "no such config file")
    try:
        return config_from_dict(data, path.resolve().parent)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: {exc}") from exc
