"""The "vifb" convention reproduces VIFB's stored MATLAB values (relative error < 1e-4).

CI checks every method on a few pairs plus every pair for a few methods; benchmarks/validate_vifb.py
checks all of them.  SwinFusion and YDTR are left out: their stored images are not the scored ones.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest

from tita_studio.metrics import score
from tita_studio.metrics.registry import VIFB_METRICS, VIFB_NAMES

VIFB = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "ivf" / "vifb"
EXCLUDED = {"SwinFusion", "YDTR"}
PAIRS_FOR_ALL_METHODS = ("carLight", "running")
METHODS_FOR_ALL_PAIRS = ("ADF", "SeAFusion")


def read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if image.ndim == 3 else image


def _reference() -> dict[tuple[str, str], dict[str, float]]:
    if not (VIFB / "metrics" / "vifb_metrics_per_image.csv").is_file():
        return {}
    methods = {p.name for p in (VIFB / "results").iterdir()} - EXCLUDED
    table: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    with open(VIFB / "metrics" / "vifb_metrics_per_image.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["method"] in methods:
                table[(row["image"], row["method"])][VIFB_NAMES[row["metric"]]] = float(row["value"])
    return dict(table)


REFERENCE = _reference()
CASES = sorted(c for c in REFERENCE if c[0] in PAIRS_FOR_ALL_METHODS or c[1] in METHODS_FOR_ALL_PAIRS)


def test_reference_table_is_complete() -> None:
    if not REFERENCE:
        pytest.skip(f"VIFB data not available at {VIFB}")
    assert len(REFERENCE) == 21 * 23
    assert all(set(v) == set(VIFB_METRICS) for v in REFERENCE.values())
    assert any(read_rgb(VIFB / "B" / f"{image}.jpg").ndim == 2 for image, _ in CASES), "no grey IR case"


@pytest.mark.parametrize(("image", "method"), CASES or [pytest.param("-", "-", marks=pytest.mark.skip(
    reason=f"VIFB data not available at {VIFB}"))])
def test_vifb_values(image: str, method: str) -> None:
    sources = [read_rgb(VIFB / "A" / f"{image}.jpg"), read_rgb(VIFB / "B" / f"{image}.jpg")]
    fused = read_rgb(VIFB / "results" / method / f"{image}.jpg")
    ours = score(sources, fused, list(VIFB_METRICS), convention="vifb")
    for name, ref in REFERENCE[(image, method)].items():
        assert ours[name] == pytest.approx(ref, rel=1e-4), f"{name}: ours {ours[name]!r}, VIFB {ref!r}"
