"""Seconds per metric for a 1-megapixel IR/visible-like pair (and MEF-SSIM for three exposures).

Usage: python benchmarks/bench_metrics.py [--size 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from tita_studio.metrics import METRICS, score


def synthetic(size: int, seed: int) -> np.ndarray:
    """A smooth random uint8 image with edges (blurred noise plus blocks)."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(128, 60, (size, size)), (0, 0), 3)
    blocks = np.kron(rng.integers(0, 2, (size // 50 + 1, size // 50 + 1)), np.ones((50, 50)))[:size, :size]
    return np.clip(noise + 60 * blocks - 30, 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    a, b, c = (synthetic(args.size, s) for s in range(3))
    fused = ((a.astype(np.float64) + b) / 2).astype(np.uint8)
    total = 0.0
    print(f"{args.size}x{args.size}, best of {args.repeat}")
    for name in METRICS:
        sources = [a, b, c] if name == "MEF-SSIM" else [a, b]
        best = np.inf
        for _ in range(args.repeat):
            start = time.perf_counter()
            score(sources, fused, [name])
            best = min(best, time.perf_counter() - start)
        total += best
        print(f"{name:<9} {best:7.3f} s")
    print(f"{'total':<9} {total:7.3f} s")


if __name__ == "__main__":
    main()
