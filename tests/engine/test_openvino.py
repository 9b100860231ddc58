"""The OpenVINO backend against PyTorch, the reference (skipped where the openvino extra is not installed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tita_studio.engine.backends import check_backend, openvino_available
from tita_studio.engine.runner import EngineConfig, FusionEngine
from tita_studio.engine.tiling import TileConfig
from tita_studio.errors import InputError
from tita_studio.model import TITA, TITAConfig
from tita_studio.model.loader import load_model
from tita_studio.paths import DEFAULT_WEIGHTS
from tita_studio.pipeline.colour import split
from tita_studio.pipeline.reading import read_image

needs_openvino = pytest.mark.skipif(not openvino_available(), reason="the openvino extra is not installed")


def _psnr(ref: np.ndarray, test: np.ndarray) -> float:
    """PSNR with peak 1 on images clipped to [0, 1], as benchmarks/bench_speed.py measures agreement."""
    mse = float(np.mean((np.clip(ref, 0, 1) - np.clip(test, 0, 1)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


@pytest.fixture(scope="module")
def net() -> TITA:
    torch.manual_seed(0)
    return load_model(DEFAULT_WEIGHTS).net if DEFAULT_WEIGHTS.exists() else TITA(TITAConfig())


@pytest.fixture(scope="module")
def pair(datasets):
    folder = datasets / "ivf" / "msrs_samples"
    name = sorted(p.name for p in (folder / "A").iterdir())[0]
    a, b = (split(read_image(folder / d / name)).luma for d in ("A", "B"))
    return a[100:188, 200:300], b[100:188, 200:300]  # 88 x 100: the width needs the reflect padding


def test_unknown_backend_is_an_input_error():
    with pytest.raises(InputError, match="torch, openvino"):
        check_backend("tensorrt")


@pytest.fixture(scope="module")
def reference(net, pair) -> np.ndarray:
    """PyTorch float32, the reference both OpenVINO precisions are held to (the issue's "agreement with float32")."""
    return FusionEngine(net, EngineConfig(precision="float32", tiles=TileConfig(tile=512))).fuse(*pair).fused


@needs_openvino
@pytest.mark.parametrize(("precision", "floor_db"), [("float32", 100.0), ("bfloat16", 60.0)])
def test_openvino_matches_torch_float32(net, pair, reference, tmp_path, monkeypatch, precision, floor_db):
    """The issue's limits against PyTorch float32: 100 dB in float32 (measured 147 dB here) and 60 dB in
    bfloat16 (measured 64 dB here, with the convolutions kept in float32; 61-63 dB on 256 px IR/visible
    crops but 58 dB on a bracket and a focus pair, docs/model.md)."""
    monkeypatch.setattr("platformdirs.user_cache_dir", lambda *args, **kwargs: str(tmp_path))
    tiles = TileConfig(tile=512)
    engine = FusionEngine(net, EngineConfig(precision=precision, tiles=tiles, backend="openvino"))
    fused = engine.fuse(*pair).fused
    assert fused.shape == reference.shape
    assert _psnr(reference, fused) >= floor_db
    saved = list((tmp_path / "openvino").glob("*.bin"))
    assert len(saved) == 1 and saved[0].stat().st_size < 16e6  # window layout not folded into the file
    ir = saved[0].with_suffix(".xml").read_text()
    assert ir.count('<attribute name="precise" version="0"') == ir.count('type="Convolution"') > 0


@needs_openvino
def test_openvino_leaves_maps_to_torch(net, pair, tmp_path, monkeypatch):
    monkeypatch.setattr("platformdirs.user_cache_dir", lambda *args, **kwargs: str(tmp_path))
    a, b = (x[:64, :64] for x in pair)
    engine = FusionEngine(net, EngineConfig(backend="openvino"))
    out = engine.fuse(a, b, want_maps=True)
    assert out.maps is not None and not list((tmp_path / "openvino").glob("*.bin"))
