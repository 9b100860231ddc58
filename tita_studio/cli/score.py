"""`tita-studio score`: score a fused image made anywhere against its sources.

Users compare other tools' output this way, and it is how the metrics are checked from outside.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import cv2
import numpy as np

from tita_studio.errors import InputError
from tita_studio.metrics import score
from tita_studio.metrics.conventions import CONVENTIONS, to_unit255
from tita_studio.metrics.registry import METRICS


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("score", help="score a fused image against its sources",
                            description="Score an existing fused image against its source images.")
    parser.add_argument("sources", nargs="+", metavar="SRC", help="source images (two or more)")
    parser.add_argument("--fused", required=True, metavar="F", help="the fused image to score")
    parser.add_argument("--convention", choices=CONVENTIONS, default="standard",
                        help="standard (default) or vifb (reproduces VIFB's MATLAB values)")
    parser.add_argument("--metrics", metavar="LIST",
                        help=f"comma-separated metrics (default: the convention's set); known: {', '.join(METRICS)}")
    parser.add_argument("--json", action="store_true", help="print one JSON object {metric: value}")
    parser.set_defaults(run=run)


def read_image(path: str) -> np.ndarray:
    """Read an image as OpenCV decodes it (bit depth kept, alpha dropped), RGB order.

    Raises InputError naming the file when it is missing, undecodable or of an unusable type.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such file")
    if not p.is_file():
        raise InputError(f"{path}: not a file")
    image = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError(f"{path}: not an image OpenCV can decode (unknown format or corrupt file)")
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    to_unit255(image, path)
    return image


def run(args: argparse.Namespace) -> int:
    if len(args.sources) < 2:
        raise InputError("score needs at least two source images")
    sources = [read_image(p) for p in args.sources]
    fused = read_image(args.fused)
    for path, image in zip(args.sources, sources, strict=True):
        if image.shape[:2] != fused.shape[:2]:
            raise InputError(f"{path} is {image.shape[1]}x{image.shape[0]} but {args.fused} is "
                             f"{fused.shape[1]}x{fused.shape[0]}; sources and fused image must have the same size")
    values = score(sources, fused, args.metrics, convention=args.convention)
    if args.json:
        print(json.dumps({k: (v if math.isfinite(v) else None) for k, v in values.items()}))
        return 0
    width = max(len(k) for k in [*values, "metric"])
    print(f"{'metric':<{width}}  {'value':>12}  ({args.convention} convention)")
    for name, value in values.items():
        arrow = "higher is better" if METRICS[name].higher_is_better else "lower is better"
        print(f"{name:<{width}}  {value:12.6g}  {arrow}")
    return 0
