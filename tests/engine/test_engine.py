"""The engine on real pairs: tiles agree with whole-image passes, maps are stitched, cancel stops."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from tita_studio.engine.runner import EngineConfig, FusionEngine
from tita_studio.engine.tiling import TileConfig, tile_starts
from tita_studio.errors import Cancelled
from tita_studio.model import TITA, TITAConfig
from tita_studio.model.maps import OAF_TERMS
from tita_studio.pipeline.colour import split
from tita_studio.pipeline.reading import read_image


@pytest.fixture(scope="module")
def pair(shared_dir):
    folder = shared_dir / "datasets" / "ivf" / "msrs_samples"
    name = sorted(p.name for p in (folder / "A").iterdir())[0]
    a = split(read_image(folder / "A" / name)).luma
    b = split(read_image(folder / "B" / name)).luma
    return a[:200, :264], b[:200, :264]


def _net(variant: str) -> TITA:
    torch.manual_seed(0)
    return TITA(TITAConfig(variant=variant))


def _psnr(ref: np.ndarray, test: np.ndarray) -> float:
    peak = ref.max() - ref.min()
    return float(10 * np.log10(peak**2 / np.mean((ref - test) ** 2)))


def test_tile_starts_cover_the_axis_with_aligned_origins():
    for length in (64, 100, 512, 1000, 1537):
        starts = tile_starts(length, 256, 32)
        assert starts[0] == 0 and all(s % 8 == 0 for s in starts)
        assert starts[-1] + 256 >= length - 7
        assert all(b - a <= 256 - 32 for a, b in itertools.pairwise(starts))


@pytest.mark.parametrize("variant", ["studio", "official"])
def test_tiled_matches_whole_image(pair, variant):
    a, b = pair
    net = _net(variant)
    whole = FusionEngine(net, EngineConfig(tiles=TileConfig(tile=512))).fuse(a, b, want_maps=True)
    seen: list[float] = []
    tiled = FusionEngine(net, EngineConfig(tiles=TileConfig(tile=128, overlap=32))).fuse(
        a, b, want_maps=True, progress=seen.append)
    assert _psnr(whole.fused, tiled.fused) >= 45
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    assert len(seen) > 4  # several tiles reported
    for name, t in whole.maps.to_tensors().items():
        assert t.shape == tiled.maps.to_tensors()[name].shape
        assert float((t - tiled.maps.to_tensors()[name]).abs().mean()) < 5e-3, name


def test_maps_shapes_and_meaning(pair):
    a, b = (x[:72, :80] for x in pair)
    out = FusionEngine(_net("studio")).fuse(a, b, want_maps=True)
    maps = out.maps
    assert maps.oaf_weights.shape == (1, len(OAF_TERMS), 72, 80)
    assert torch.allclose(maps.oaf_weights.sum(1), torch.ones(1, 72, 80), atol=1e-5)
    assert torch.allclose(maps.oaf_contribution.sum(1), torch.ones(1, 72, 80), atol=1e-5)
    assert maps.relation.shape == maps.cross_share.shape == (1, 8, 2, 72, 80)
    for t in (maps.relation, maps.cross_share):
        assert float(t.min()) > 0 and float(t.max()) < 1
    # studio OAF weights vary per pixel; relation per pixel too
    assert float(maps.oaf_weights.std((2, 3)).max()) > 0
    relation, share = maps.block(3, "B")
    assert torch.equal(relation, maps.relation[:, 3, 1]) and torch.equal(share, maps.cross_share[:, 3, 1])


def test_no_maps_means_same_image(pair):
    a, b = (x[:64, :64] for x in pair)
    engine = FusionEngine(_net("studio"))
    plain = engine.fuse(a, b)
    with_maps = engine.fuse(a, b, want_maps=True)
    assert plain.maps is None
    np.testing.assert_allclose(plain.fused, with_maps.fused, atol=1e-6)


def test_cancel_stops_between_tiles(pair):
    a, b = pair
    engine = FusionEngine(_net("studio"), EngineConfig(tiles=TileConfig(tile=128, overlap=32)))
    calls: list[float] = []

    def cancel() -> bool:
        return len(calls) >= 2

    with pytest.raises(Cancelled):
        engine.fuse(a, b, progress=calls.append, cancel=cancel)
    assert len(calls) == 2


def test_attention_probe_is_a_distribution_over_the_other_window(pair):
    a, b = (x[:64, :80] for x in pair)
    engine = FusionEngine(_net("studio"))
    for block in (0, 1):  # plain and shifted windows
        probe = engine.attention_at(a, b, block=block, row=30, col=77, stream="A")
        assert probe.weights.shape == (6, 8, 8)
        assert torch.allclose(probe.weights.sum((1, 2)), torch.ones(6), atol=1e-5)
        assert len(probe.rows) == len(probe.cols) == 8
        assert 30 in probe.rows.tolist() and 77 in probe.cols.tolist()


def test_attention_probe_matches_a_full_forward(pair):
    """The probe's weights, recomputed through the window attention of the whole image."""
    a, b = (x[:64, :64] for x in pair)
    net = _net("studio").eval()
    ta, tb = (torch.from_numpy(np.ascontiguousarray(x))[None, None] for x in (a, b))
    with torch.inference_mode():
        probe = net.attention_at(ta, tb, block=1, row=60, col=3, stream="B")
        pa, pb, grid = net._prepare(ta, tb)
        xa, xb = net.encode(pa, pb, grid)
        xa, xb, _ = net.isf[0](xa, xb, grid)
        blk = net.isf[1]
        wa, wb = blk.windows(xa, xb, grid)
        q, k, _ = blk.attn_B.split(wb, wa, 64)
        logits = (q @ k.transpose(-1, -2)) * 10**-0.5 + blk.attn_B.bias()
        order = grid.order(True)
        pos = int(torch.nonzero(order.index == 60 * 64 + 3)[0, 0])
        win, tok = divmod(pos, 64)
        if win >= grid.n_interior:
            logits[0, win] += grid.border_mask[win - grid.n_interior]
        expected = logits[0, win].softmax(-1)[:, tok].reshape(6, 8, 8)
    assert torch.allclose(probe.weights, expected, atol=1e-5)
