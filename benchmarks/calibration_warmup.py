"""Why the calibration times every candidate warm: one PyTorch pass timed cold and warm in one process.

Cold is how calibration version 2 timed a tile (a 64 px warm-up, the allocator as Python leaves it); warm
is how the engine runs its tiles (allocator tuned by engine.allocator, a pass of the same size before).
Prints both wall times, the system time (page faults) of each, and their ratio.

    python benchmarks/calibration_warmup.py [--side 512] [--threads 1] [--precision float32]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import torch

from tita_studio.engine.allocator import keep_freed_memory
from tita_studio.engine.defaults import calibration_pair, cpu_model, torch_runner
from tita_studio.model.loader import load_model
from tita_studio.paths import DEFAULT_WEIGHTS


def _system() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--precision", default="float32")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{cpu_model()} ({platform.machine()}), torch {torch.__version__}, {args.threads} thread(s), "
          f"load average {os.getloadavg()[0]:.1f}; {args.side} px, {args.precision}")
    run = torch_runner(load_model(DEFAULT_WEIGHTS).net.eval(), torch.device("cpu"), args.precision)
    a, b = calibration_pair(args.side)
    run(a[:64, :64], b[:64, :64])
    sys0, t0 = _system(), time.perf_counter()
    run(a, b)
    cold, cold_sys = time.perf_counter() - t0, _system() - sys0
    keep_freed_memory()
    run(a, b)
    sys0, t0 = _system(), time.perf_counter()
    run(a, b)
    warm, warm_sys = time.perf_counter() - t0, _system() - sys0
    print(f"cold (64 px warm-up, allocator untuned): {cold:.2f} s, system {cold_sys:.2f} s")
    print(f"warm (same-size warm-up, allocator tuned): {warm:.2f} s, system {warm_sys:.2f} s")
    print(f"cold / warm: {cold / warm:.2f}x")


if __name__ == "__main__":
    main()
