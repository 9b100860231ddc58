"""Issue #13's target for a trained arm: its held-out evaluation against average, Laplacian, Mertens, GFF.

Pools the results.csv files given (e.g. the old and the new held-out lists of `configs/recipe_eval.sh`)
scene by scene and prints each task's means and verdict (rule: tita_studio/evaluation/target.py).

    python benchmarks/recipe_verdict.py runs/eval/NAME-old/results.csv runs/eval/NAME-new/results.csv
        [--method tita]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tita_studio.evaluation.target import describe, read_results, verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--method", default="tita", help="the method judged (default: tita)")
    args = parser.parse_args()
    print(describe(verdict(read_results(args.results), args.method), args.method))


if __name__ == "__main__":
    main()
