"""VIFB's stored results (ivf/vifb in the shared datasets): its per-image metric values and its fused
images read as MATLAB reads them, for checking our metrics against the benchmark's."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from tita_studio.errors import InputError
from tita_studio.metrics.registry import VIFB_NAMES

# Methods whose stored fused images are not the ones VIFB scored.
EXCLUDED_METHODS = frozenset({"SwinFusion", "YDTR"})
VALUES_CSV = Path("metrics") / "vifb_metrics_per_image.csv"


def read_rgb(path: Path) -> np.ndarray:
    """An image as uint8 RGB (or grey), as MATLAB's imread gives it."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError(f"{path}: cannot read it")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if image.ndim == 3 else image


def reference_values(root: Path) -> dict[tuple[str, str], dict[str, float]]:
    """{(image, method): {our metric name: stored value}} for the methods with fused images; empty when
    `root` holds no stored values."""
    if not (root / VALUES_CSV).is_file():
        return {}
    methods = {p.name for p in (root / "results").iterdir()} - EXCLUDED_METHODS
    table: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    with open(root / VALUES_CSV, newline="") as fh:
        for row in csv.DictReader(fh):
            if row["method"] in methods:
                table[(row["image"], row["method"])][VIFB_NAMES[row["metric"]]] = float(row["value"])
    return dict(table)
