"""The "vifb" convention reproduces VIFB's stored MATLAB values (relative error < 1e-4).

CI checks every method on a few pairs plus every pair for a few methods; benchmarks/validate_vifb.py
checks all of them.  SwinFusion and YDTR are left out: their stored images are not the scored ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tita_studio.evaluation.vifb import read_rgb, reference_values
from tita_studio.metrics import score
from tita_studio.metrics.registry import VIFB_METRICS

VIFB = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "ivf" / "vifb"
PAIRS_FOR_ALL_METHODS = ("carLight", "running")
METHODS_FOR_ALL_PAIRS = ("ADF", "SeAFusion")


REFERENCE = reference_values(VIFB)
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
