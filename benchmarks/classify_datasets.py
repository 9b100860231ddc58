"""How well the input classification names each dataset folder's task (docs/pipeline.md table).

python benchmarks/classify_datasets.py [--root ../shared/datasets] [--limit N] [--misses]
Every pair (A/ + B/), sequence (seq/NAME/) and pansharpening file of every folder is classified with default
settings and compared with the folder's task: ivf -> ir-visible, mef -> bracket, mff -> focus-stack,
mif/pan -> other.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from tita_studio.errors import InputError
from tita_studio.evaluation.datasets import discover
from tita_studio.pipeline.kinds import KIND_OF_TASK, classify
from tita_studio.pipeline.reading import read_image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared/datasets")
    parser.add_argument("--limit", type=int, help="only the first N scenes of each folder")
    parser.add_argument("--misses", action="store_true", help="list every misclassified scene with its reason")
    args = parser.parse_args()
    start = time.perf_counter()
    print("| folder | expected | scenes | correct | accuracy | classified as |")
    print("|---|---|---:|---:|---:|---|")
    totals = Counter()
    for task, expected in KIND_OF_TASK.items():
        for folder in sorted(p for p in (args.root / task).iterdir() if p.is_dir()):
            found: Counter[str] = Counter()
            misses = []
            for item in discover(folder, args.limit).items:
                name = item.name
                try:
                    result = classify([read_image(f) for f in item.sources])
                except InputError as exc:
                    found["unreadable"] += 1
                    misses.append(f"{name}: {exc}")
                    continue
                found[result.kind.value] += 1
                if result.kind is not expected:
                    misses.append(f"{name}: {result.describe()}")
            n = sum(found.values())
            ok = found[expected.value]
            totals["n"] += n
            totals["ok"] += ok
            spread = ", ".join(f"{k} {v}" for k, v in found.most_common())
            print(f"| {task}/{folder.name} | {expected.value} | {n} | {ok} | {100 * ok / max(n, 1):.0f}% | {spread} |")
            if args.misses:
                for line in misses:
                    print(f"    miss: {line}", file=sys.stderr)
    print(f"\nall: {totals['ok']} of {totals['n']} correct ({100 * totals['ok'] / max(totals['n'], 1):.1f}%), "
          f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
