"""What default (auto) alignment does to every sequence of the shared brackets and focus stacks.

python benchmarks/align_datasets.py [--root ../shared/datasets] [--limit N]
Per folder: frames moved, frames kept as they are (with the reason counted), sequences that could not be
aligned at all, the largest shift applied, and the time. The kind comes from the folder (mef: bracket,
mff: focus stack), as `tita-studio eval` takes it.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import numpy as np

from tita_studio.errors import InputError
from tita_studio.evaluation.datasets import discover
from tita_studio.pipeline.align import align_sources
from tita_studio.pipeline.kinds import KIND_OF_TASK, classify
from tita_studio.pipeline.reading import read_image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared/datasets")
    parser.add_argument("--limit", type=int, help="only the first N sequences of each folder")
    args = parser.parse_args()
    print("| folder | kind | sequences | frames moved | kept as they are | refused | largest shift | s/sequence |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for task in ("mef", "mff"):
        kind = KIND_OF_TASK[task]
        for folder in sorted(p for p in (args.root / task).iterdir() if p.is_dir()):
            items = [i for i in discover(folder).items if i.kind == "sequence"][: args.limit]
            if not items:
                continue
            counts: Counter[str] = Counter()
            largest, start = 0.0, time.perf_counter()
            for item in items:
                sources = [read_image(s) for s in item.sources]
                reference = classify(sources, kind).reference
                try:
                    _, result = align_sources(sources, reference, kind=kind)
                except InputError:
                    counts["refused"] += 1
                    continue
                for a in result.alignments:
                    if a.index == reference:
                        continue
                    counts["kept" if a.note else "moved"] += 1
                    largest = max(largest, float(np.abs(a.transform[:2, 2]).max()))
            seconds = (time.perf_counter() - start) / len(items)
            print(f"| {task}/{folder.name} | {kind.value} | {len(items)} | {counts['moved']} | {counts['kept']} | "
                  f"{counts['refused']} | {largest:.1f} px | {seconds:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
