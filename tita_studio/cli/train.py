"""`tita-studio train CONFIG`: train TITA from a TOML config; a run folder that holds a checkpoint is resumed."""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

from tita_studio.errors import InputError
from tita_studio.training.config import load_config
from tita_studio.training.data import make_holdout, write_holdout
from tita_studio.training.trainer import CHECKPOINT, Trainer


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", help="train the network (see docs/training.md)",
                            description="Train TITA with the published losses and FAMO. Re-running the same "
                                        "command continues from the run folder's checkpoint.")
    parser.add_argument("config", metavar="CONFIG", help="TOML training config (e.g. configs/train_studio_cpu.toml)")
    parser.add_argument("--resume", action="store_true",
                        help="require a checkpoint in the run folder (without it, one is used if present)")
    parser.add_argument("--out", metavar="DIR", help="run folder (overrides run.out_dir)")
    parser.add_argument("--steps", type=int, help="total steps (overrides optim.steps)")
    parser.add_argument("--device", help="cpu, cuda, ... (overrides run.device)")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"),
                        help="overrides run.precision (auto: bfloat16 where the hardware computes it, else float32)")
    parser.add_argument("--threads", type=int, help="torch threads (overrides run.threads)")
    parser.add_argument("--export", metavar="PATH", help="also write the final EMA weights here")
    parser.add_argument("--write-holdout", action="store_true",
                        help="write the config's held-out list (10%% of each task's scenes) if it does not exist")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cfg = load_config(Path(args.config))
    run_cfg = cfg.run
    if args.out:
        run_cfg = replace(run_cfg, out_dir=str(Path(args.out).resolve()))
    for key in ("device", "precision", "threads"):
        if getattr(args, key) is not None:
            run_cfg = replace(run_cfg, **{key: getattr(args, key)})
    if args.export:
        run_cfg = replace(run_cfg, export=str(Path(args.export).resolve()))
    optim = replace(cfg.optim, steps=args.steps) if args.steps else cfg.optim
    cfg = replace(cfg, run=run_cfg, optim=optim)
    if args.write_holdout:
        path = Path(cfg.data.holdout)
        if path.exists():
            raise InputError(f"{path} exists; the held-out list is fixed once written (delete it to redraw)")
        chosen = make_holdout(Path(cfg.data.root), cfg.data.folders)
        write_holdout(path, chosen, "Held-out scenes (whole scenes, about 10% of each task's), never trained on.\n"
                                    "Made by `tita-studio train CONFIG --write-holdout` (seed 0).")
        print(f"wrote {path}: " + ", ".join(f"{t} {len(v)}" for t, v in chosen.items()))
        return 0
    run_dir = Path(cfg.run.out_dir)
    if args.resume and not (run_dir / CHECKPOINT).is_file():
        raise InputError(f"--resume: no {CHECKPOINT} in {run_dir}")
    logging.getLogger("tita_studio.training").setLevel(logging.INFO)
    trainer = Trainer(cfg, progress=not args.quiet)
    summary = trainer.data.summary
    print(f"data: {summary['train_scenes']} training scenes, {summary['heldout_scenes']} held out "
          f"(loaded in {trainer.load_seconds:.0f} s); run folder {run_dir}")
    result = trainer.run(resume=True)
    print(f"done: {result.step} steps; EMA weights in {result.weights_path}")
    return 0
