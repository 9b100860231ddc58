"""Drop-path rates follow SwinFusion's rule: a ramp from 0 to drop_path within each stage."""

from __future__ import annotations

import pytest

from tita_studio.model.config import TITAConfig
from tita_studio.model.tita import TITA


def test_each_stage_ramps_from_zero_to_the_configured_rate_and_both_sources_alike() -> None:
    net = TITA(TITAConfig(variant="studio", drop_path=0.1))
    rates = {name: [block.drop_path.prob for block in getattr(net, name)]
             for name in ("extract_a", "extract_b", "isf", "recon")}
    assert rates["extract_a"] == rates["extract_b"]
    for name, stage in rates.items():
        assert stage[0] == 0.0 and stage[-1] == pytest.approx(0.1), name
        assert stage == sorted(stage) and len(set(stage)) == len(stage), name
