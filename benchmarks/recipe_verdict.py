"""Issue #13's target for a trained arm: its held-out evaluation against average, Laplacian, Mertens, GFF.

Pools the results.csv files given (e.g. the old and the new held-out lists of `configs/recipe_eval.sh`)
scene by scene and prints each task's means and verdict (rule: tita_studio/evaluation/target.py).

    python benchmarks/recipe_verdict.py runs/eval/NAME-old/results.csv runs/eval/NAME-new/results.csv
        [--method tita] [--by-frames]

--by-frames adds the brackets' MEF-SSIM per bracket length (2, 3, 7, 9 frames ...), every method: where a
method's mean is lost.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from tita_studio.evaluation.target import MEF_SSIM, describe, read_results, verdict


def by_frames(rows: list[dict[str, str]]) -> str:
    """Markdown: mean MEF-SSIM of every method per bracket length, with the number of brackets."""
    values: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row["task"].lower() == "mef" and row.get(MEF_SSIM):
            values[int(row["sources"])][row["method"]].append(float(row[MEF_SSIM]))
    methods = list(dict.fromkeys(m for per in values.values() for m in per))
    lines = ["| frames | brackets | " + " | ".join(methods) + " |", "|---:|---:|" + "---:|" * len(methods)]
    for frames in sorted(values):
        per = values[frames]
        count = max(len(v) for v in per.values())
        cells = [f"{sum(per[m]) / len(per[m]):.4f}" if per.get(m) else "" for m in methods]
        lines.append(f"| {frames} | {count} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--method", default="tita", help="the method judged (default: tita)")
    parser.add_argument("--by-frames", action="store_true", help="MEF-SSIM per bracket length as well")
    args = parser.parse_args()
    rows = read_results(args.results)
    print(describe(verdict(rows, args.method), args.method))
    if args.by_frames:
        print(f"**{MEF_SSIM} per bracket length**\n\n{by_frames(rows)}")


if __name__ == "__main__":
    main()
