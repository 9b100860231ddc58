"""MEF-SSIM of TITA's two N-source strategies (tree vs fold) on exposure sequences of 3+ frames.

TITA fuses pairs, so N > 2 frames are reduced either as a balanced tree or as a left fold (see
`tita_studio.pipeline.fuse`); this says which reduction scores better on real brackets. Mertens and
average are scored alongside for reference. Sequences are registered, so nothing is aligned; frames are
downscaled to --max-side (the same downscaled frames are the sources MEF-SSIM scores against) to keep
CPU time low. Prints a table (sequence x method), the means and the tree/fold ratio; nothing is asserted.

With 3 frames both strategies fuse the same pairs ((1, 2), then 3), so fold is not run there: its cell
repeats tree's (marked *) and the ratio is also given over the 4+ frame sequences alone, the only ones
that can tell the strategies apart. mef/merianos and mef/deepfuse hold only 3-frame sequences;
mef/hdrps and mef/pmef3 have 4-12 frames.

    python benchmarks/compare_strategies.py --model models/tita-studio.safetensors [FOLDER ...]
        [--max-side 384] [--limit N]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from tita_studio.engine.load import load_engine
from tita_studio.engine.runner import FusionEngine
from tita_studio.errors import TitaError
from tita_studio.evaluation.datasets import EvalItem, discover
from tita_studio.metrics import score
from tita_studio.pipeline.fuse import FuseOptions, fuse_sources
from tita_studio.pipeline.reading import read_image

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DEFAULT_FOLDERS = (DATASETS / "mef" / "merianos", DATASETS / "mef" / "deepfuse")
METRIC = "MEF-SSIM"
MIN_FRAMES = 3  # with two frames both strategies are the same single pair
SAME_PAIRS_UP_TO = 3  # tree and fold reduce 3 frames identically
TITA_METHODS = {"tita-tree": "tree", "tita-fold": "fold"}
BASELINES = ("mertens", "average")


def sequences(folders: list[Path], limit: int | None) -> list[tuple[str, EvalItem]]:
    """(label, item) for every sequence of 3+ frames, in folder then name order; the first `limit`."""
    found = []
    for folder in folders:
        dataset = discover(folder)
        found += [(f"{dataset.label}/{item.name}", item) for item in dataset.items
                  if item.kind == "sequence" and len(item.sources) >= MIN_FRAMES]
    return found[:limit]


def mef_ssim_of(item: EvalItem, method: str, max_side: int, engine: FusionEngine | None) -> float:
    """MEF-SSIM of one method on one sequence, against the downscaled frames it fused."""
    strategy = TITA_METHODS.get(method, "tree")
    options = FuseOptions(method="tita" if method in TITA_METHODS else method, align="none", strategy=strategy,
                          preview_max_side=max_side or None)
    result = fuse_sources([read_image(s) for s in item.sources], options, engine)
    return score([s.pixels for s in result.sources], result.image, [METRIC])[METRIC]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, default=list(DEFAULT_FOLDERS), metavar="FOLDER",
                        help="MEF dataset folders with seq/NAME/* (default: mef/merianos and mef/deepfuse)")
    parser.add_argument("--model", type=Path, help="TITA weights (without them only the baselines run)")
    parser.add_argument("--max-side", type=int, default=384, help="downscale to this longer side (0: full size)")
    parser.add_argument("--limit", type=int, help="only the first N sequences")
    args = parser.parse_args()
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be at least 1, got {args.limit}")
    methods = list(BASELINES)
    engine = None
    if args.model is None:
        print("note: no --model, TITA skipped (tree/fold need the network); baselines only")
    elif not args.model.is_file():
        print(f"{args.model}: no such model file", file=sys.stderr)
        return 2
    else:
        engine = load_engine(args.model)
        methods = [*TITA_METHODS, *methods]
        if not engine.trained:
            print(f"note: {args.model.name} holds UNTRAINED weights: the TITA numbers say nothing about TITA")
    try:
        items = sequences(args.folders, args.limit)
    except TitaError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not items:
        print(f"no sequence of {MIN_FRAMES}+ frames in {', '.join(map(str, args.folders))}", file=sys.stderr)
        return 2
    print(f"{METRIC} (higher is better), {len(items)} sequence(s), max side {args.max_side or 'full'}, align none")
    width = max(len(label) for label, _ in items)
    print(f"{'sequence':<{width}}  frames  " + "  ".join(f"{m:>9}" for m in methods))
    table: dict[str, list[float]] = {m: [] for m in methods}
    for label, item in items:
        cells = []
        for method in methods:
            same = method == "tita-fold" and len(item.sources) <= SAME_PAIRS_UP_TO
            try:
                value = table["tita-tree"][-1] if same else mef_ssim_of(item, method, args.max_side, engine)
            except TitaError as exc:
                print(f"{label} {method}: not fused ({exc})", file=sys.stderr)
                value = math.nan
            table[method].append(value)
            cells.append(f"{value:9.4f}{'*' if same else ' '}")
        print(f"{label:<{width}}  {len(item.sources):>6}  " + " ".join(cells), flush=True)
    means = {m: _mean(v) for m, v in table.items()}
    print(f"{'mean':<{width}}  {'':>6}  " + " ".join(f"{means[m]:9.4f} " for m in methods))
    if engine is not None:
        if any(len(item.sources) <= SAME_PAIRS_UP_TO for _, item in items):
            print(f"* {SAME_PAIRS_UP_TO} frames: tree and fold fuse the same pairs; fold not run, tree's value "
                  "repeated")
        _ratio("all sequences", table["tita-tree"], table["tita-fold"])
        longer = [i for i, (_, item) in enumerate(items) if len(item.sources) > SAME_PAIRS_UP_TO]
        if longer:
            _ratio(f"{SAME_PAIRS_UP_TO + 1}+ frames", [table["tita-tree"][i] for i in longer],
                   [table["tita-fold"][i] for i in longer])
        else:
            print(f"no sequence has {SAME_PAIRS_UP_TO + 1}+ frames: these folders cannot tell tree from fold "
                  "(try mef/hdrps or mef/pmef3)")
    return 0


def _mean(values: list[float]) -> float:
    """Mean of the values that are not NaN (a method that failed on a sequence); NaN if none."""
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def _ratio(title: str, tree: list[float], fold: list[float]) -> None:
    """Print tree/fold as a ratio of means and as a count of wins, over sequences both fused."""
    both = [(t, f) for t, f in zip(tree, fold, strict=True) if not (math.isnan(t) or math.isnan(f))]
    if not both:
        print(f"tree/fold ({title}): no sequence fused by both")
        return
    t, f = np.array(both).T
    print(f"tree/fold ({title}, {len(both)} sequence(s)): ratio of means {t.mean() / f.mean():.4f}; "
          f"tree better on {int(np.sum(t > f))}, fold on {int(np.sum(t < f))}, equal on {int(np.sum(t == f))}")


if __name__ == "__main__":
    sys.exit(main())
