"""Reproduce VIFB's stored per-image metric values with the "vifb" convention.

Prints the worst relative error per metric (and where it occurs) over every stored value of the 13
metrics, for every method with images except SwinFusion and YDTR (their stored images are not the
scored ones).  Usage: python benchmarks/validate_vifb.py [--methods A,B] [--images x,y] [--jobs N]
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tita_studio.evaluation.vifb import read_rgb, reference_values
from tita_studio.metrics import score
from tita_studio.metrics.registry import VIFB_METRICS

VIFB = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "ivf" / "vifb"
TOLERANCE = 1e-4


def score_case(image: str, method: str, root: Path = VIFB) -> dict[str, float]:
    """Our "vifb" values of the 13 VIFB metrics for one image and method."""
    sources = [read_rgb(root / "A" / f"{image}.jpg"), read_rgb(root / "B" / f"{image}.jpg")]
    fused = read_rgb(root / "results" / method / f"{image}.jpg")
    return score(sources, fused, list(VIFB_METRICS), convention="vifb")


def relative_error(ours: float, ref: float) -> float:
    """|ours - ref| / |ref| (absolute error when the reference is 0)."""
    return abs(ours - ref) / abs(ref) if ref != 0 else abs(ours)


def _job(case: tuple[str, str]) -> tuple[tuple[str, str], dict[str, float]]:
    return case, score_case(*case)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", help="comma-separated methods (default: all with images)")
    parser.add_argument("--images", help="comma-separated image names (default: all 21)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    args = parser.parse_args()
    if not VIFB.is_dir():
        print(f"VIFB data not found at {VIFB}", file=sys.stderr)
        return 2
    refs = reference_values(VIFB)
    cases = sorted(c for c in refs
                   if (not args.methods or c[1] in args.methods.split(","))
                   and (not args.images or c[0] in args.images.split(",")))
    start = time.perf_counter()
    worst: dict[str, tuple[float, str]] = {m: (0.0, "") for m in VIFB_METRICS}
    failures = 0
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for (image, method), ours in pool.map(_job, cases, chunksize=4):
            for name, ref in refs[(image, method)].items():
                err = relative_error(ours[name], ref)
                failures += err >= TOLERANCE
                if err > worst[name][0]:
                    worst[name] = (err, f"{image}/{method}: ours {ours[name]:.6g}, VIFB {ref:.6g}")
    elapsed = time.perf_counter() - start
    print(f"{len(cases)} image/method cases, {len(cases) * len(VIFB_METRICS)} values, {elapsed:.0f} s")
    print(f"{'metric':<6} {'worst rel. error':>16}  where")
    for name in VIFB_METRICS:
        err, where = worst[name]
        print(f"{name:<6} {err:16.2e}  {where}")
    print(f"values at or above {TOLERANCE:g}: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
