"""Pairs per minute: one process against Ray with 1 and 2 workers on the same pairs, and Ray's own costs.

python benchmarks/bench_cluster.py [--pairs DIR_A DIR_B] [--limit 8] [--methods laplacian,tita] [--side 320]
Prints, per method: pairs/min in one process, with Ray and 1 worker, with Ray and 2 workers (Ray's
start-up excluded, then included), and Ray's start-up time and per-call overhead, so that a user can tell
from how many pairs a cluster pays. Sources are cut to --side (longest side) first so the network's runs
stay short on a CPU. Outputs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import cv2

from tita_studio.cluster.ray_pool import ClusterConfig, WorkerPool, connect
from tita_studio.cluster.workers import PairWorker
from tita_studio.engine.load import load_engine
from tita_studio.engine.runner import EngineConfig
from tita_studio.pipeline.batch import BatchSettings, fuse_pair, plan_pairs
from tita_studio.pipeline.fuse import TITA_METHOD, FuseOptions

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "ivf" / "msrs_samples"


class Echo:
    """A worker that does nothing: its calls measure Ray's own cost per call."""

    def run(self, item: int) -> int:
        return item


def cpu_name() -> str:
    """The CPU's model name (Linux), else what platform says."""
    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.exists() else []
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
                platform.processor())


def cut(folders: tuple[Path, Path], dst: Path, side: int, limit: int) -> Path:
    """The first `limit` pairs at most `side` px on the long side, as dst/A and dst/B."""
    for sub, src in zip(("A", "B"), folders, strict=True):
        (dst / sub).mkdir(parents=True)
        for path in sorted(src.iterdir())[:limit]:
            image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            scale = min(1.0, side / max(image.shape[:2]))
            cv2.imwrite(str(dst / sub / path.name), cv2.resize(image, None, fx=scale, fy=scale,
                                                                 interpolation=cv2.INTER_AREA))
    return dst


def one_process(pairs: Path, out: Path, method: str) -> float:
    import torch

    torch.set_num_threads(1)
    tasks = plan_pairs(pairs / "A", pairs / "B", out)
    settings = BatchSettings(FuseOptions(method=method))
    engine = load_engine(None, EngineConfig()) if method == TITA_METHOD else None
    start = time.perf_counter()
    for task in tasks:
        fuse_pair(task, settings, engine)
    return time.perf_counter() - start


def on_ray(pairs: Path, out: Path, method: str, workers: int) -> tuple[float, float]:
    """(seconds for the pairs once the workers are up, seconds to start the workers)."""
    start = time.perf_counter()
    pool = WorkerPool(ClusterConfig("local", cpus=workers), PairWorker, BatchSettings(FuseOptions(method=method)),
                      None, EngineConfig(), 1)
    import ray

    ray.get([a.pid.remote() for a in pool.actors])  # the workers are up, the model loaded
    ready = time.perf_counter()
    list(pool.map_unordered(plan_pairs(pairs / "A", pairs / "B", out)))
    done = time.perf_counter()
    pool.close()
    return done - ready, ready - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs=2, type=Path, default=(DATA / "A", DATA / "B"), metavar=("DIR_A", "DIR_B"))
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--methods", default="laplacian,tita")
    parser.add_argument("--side", type=int, default=320)
    args = parser.parse_args()
    import ray

    print(f"machine: {cpu_name()}, {len(os.sched_getaffinity(0))} cores; {args.limit} pairs cut to {args.side} px")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pairs = cut(tuple(args.pairs), root / "pairs", args.side, args.limit)
        start = time.perf_counter()
        connect(ClusterConfig("local", cpus=2))
        init = time.perf_counter() - start
        echo = WorkerPool(ClusterConfig("local"), Echo)
        list(echo.map_unordered(range(20)))
        start = time.perf_counter()
        list(echo.map_unordered(range(400)))
        workers = len(echo.actors)
        per_call = (time.perf_counter() - start) / 400 * workers
        echo.close()
        print(f"Ray start-up {init:.1f} s; per call {1000 * per_call:.1f} ms of a worker's time (400 empty calls "
              f"on {workers} workers)")
        print("| method | one process | Ray, 1 worker | Ray, 2 workers | workers' start-up (1 / 2) |")
        print("|---|---:|---:|---:|---:|")
        for method in args.methods.split(","):
            local = one_process(pairs, root / f"{method}-local", method)
            cells = [f"{60 * args.limit / local:.1f}"]
            starts = []
            for workers in (1, 2):
                ray.shutdown()
                connect(ClusterConfig("local", cpus=workers))
                seconds, started = on_ray(pairs, root / f"{method}-ray{workers}", method, workers)
                cells.append(f"{60 * args.limit / seconds:.1f} ({60 * args.limit / (seconds + started):.1f} "
                             "with start-up)")
                starts.append(f"{started:.1f} s")
            print(f"| {method} | " + " | ".join(cells) + f" | {' / '.join(starts)} |")
        ray.shutdown()
    print("pairs per minute; 'with start-up' counts the workers' start (processes, imports, model) too")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
