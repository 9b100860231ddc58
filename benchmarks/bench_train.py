"""Training-step speed per precision, measured in one process (batch 8 of 64x64, studio variant, FAMO).

A step is what the trainer runs: forward, the published loss, backward, Adam, EMA, and FAMO's second
forward on the same batch; the median time of each of those phases is printed too. Precisions are
interleaved step by step, so load from other processes on a shared machine hits them alike; the process
CPU time per step divided by the thread count is printed too, an estimate of the wall time on an idle
machine that such load inflates much less than the wall time.
Data are random textures in memory (decoding is not part of a step).

The baseline, timed in the same loop, is the same step with the network replaced by the reference
implementation (`reference_tita.py`, float32, plain Adam): that step is a little cheaper than the
published one, which also has drop-path, so the printed speed-ups understate ours slightly.

    python benchmarks/bench_train.py [--steps 6] [--warmup 2] [--threads 2] [--balancing famo|equal]
                                     [--no-reference]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from dataclasses import replace

import numpy as np
import torch
from reference_tita import ReferenceTITA  # benchmarks/ is on sys.path when run as a script

from tita_studio.training.config import FamoConfig, OptimConfig, RunConfig, TrainConfig
from tita_studio.training.data import BatchSampler, Scene, TrainingData
from tita_studio.training.trainer import EMA, STEP_PHASES, Trainer


def make_trainer(precision: str, balancing: str, batch: int, crop: int, run_dir: str) -> Trainer:
    """A trainer on random in-memory scenes of all three tasks."""
    rng = np.random.default_rng(0)
    scenes = [Scene(f"{t.lower()}/bench/{i}", t, [(rng.random((2 * crop, 2 * crop)) * 65535).astype(np.uint16)
                                                  for _ in range(2)])
              for t in ("IVF", "MEF", "MFF") for i in range(3)]
    data = TrainingData(BatchSampler(scenes, batch, crop, 0), None, {})
    cfg = TrainConfig(optim=OptimConfig(batch_size=batch), famo=FamoConfig(mode=balancing),
                      run=RunConfig(out_dir=run_dir, precision=precision))
    cfg = replace(cfg, data=replace(cfg.data, crop=crop))
    return Trainer(cfg, data=data, progress=False)


def make_reference_trainer(balancing: str, batch: int, crop: int, run_dir: str) -> Trainer:
    """The same trainer around the reference implementation, float32, with a plain Adam."""
    trainer = make_trainer("float32", balancing, batch, crop, run_dir)
    trainer.net = ReferenceTITA().train()
    trainer.ema = EMA(trainer.net, trainer.cfg.run.ema_decay)
    trainer.opt = torch.optim.Adam(trainer.net.parameters(), lr=trainer.cfg.optim.lr)
    trainer.sched = torch.optim.lr_scheduler.LambdaLR(trainer.opt, lambda step: 1.0)
    return trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per precision")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per precision first")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--balancing", choices=("famo", "equal"), default="famo")
    parser.add_argument("--precisions", default="float32,bfloat16")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference-implementation baseline")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    precisions = args.precisions.split(",")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}"
          f", batch {args.batch} of {args.crop}x{args.crop}, {args.balancing}")
    with tempfile.TemporaryDirectory() as tmp:
        trainers = {p: make_trainer(p, args.balancing, args.batch, args.crop, f"{tmp}/{p}") for p in precisions}
        if not args.no_reference:
            trainers["reference"] = make_reference_trainer(args.balancing, args.batch, args.crop, f"{tmp}/ref")
        times: dict[str, list[float]] = {p: [] for p in trainers}
        cpu: dict[str, list[float]] = {p: [] for p in trainers}
        phases: dict[str, list[dict[str, float]]] = {p: [] for p in trainers}
        for i in range(args.warmup + args.steps):
            for p, tr in trainers.items():
                batch = tr.data.sampler.next_batch()
                t0, c0 = time.perf_counter(), time.process_time()
                result = tr.train_step(batch)
                if i >= args.warmup:
                    times[p].append(time.perf_counter() - t0)
                    phases[p].append(result.phases)
                    cpu[p].append((time.process_time() - c0) / torch.get_num_threads())
    baseline = statistics.median(times["reference"]) if "reference" in times else None
    for p in times:
        med = statistics.median(times[p])
        cpu_med = statistics.median(cpu[p])
        speedup = f"; {baseline / med:.1f}x the reference" if baseline else ""
        print(f"{p:9s} wall: median {med:6.2f} s/step ({1 / med:.3f} steps/s), min {min(times[p]):.2f} s, "
              f"max {max(times[p]):.2f} s over {len(times[p])} steps; CPU time / threads: median {cpu_med:.2f} s "
              f"({1 / cpu_med:.3f} steps/s){speedup}")
        parts = ", ".join(f"{k} {statistics.median(ph[k] for ph in phases[p]):.2f}" for k in STEP_PHASES)
        print(f"{'':9s} median s per phase: {parts}")


if __name__ == "__main__":
    main()
