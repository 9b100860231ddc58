"""pipeline.fuse on real sequences and pairs: order invariance, roles, metadata, refusals."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from tita_studio.engine.runner import FusionEngine
from tita_studio.errors import InputError
from tita_studio.model import TITA, TITAConfig
from tita_studio.pipeline.fuse import FuseOptions, fuse_files, fuse_sources, merge_plan
from tita_studio.pipeline.kinds import classify
from tita_studio.pipeline.reading import read_image


@pytest.fixture(scope="module")
def engine() -> FusionEngine:
    torch.manual_seed(0)
    return FusionEngine(TITA(TITAConfig()), trained=False)


def _small(source, size=(96, 64)):
    import cv2

    from tita_studio.pipeline.source import SourceImage

    return SourceImage(cv2.resize(source.pixels, size, interpolation=cv2.INTER_AREA), source.meta)


@pytest.fixture(scope="module")
def bracket(shared_dir):
    frames = sorted((shared_dir / "datasets" / "mef" / "merianos" / "seq" / "Flowers").iterdir())[:3]
    return [_small(read_image(p)) for p in frames]


@pytest.mark.parametrize("strategy", ["tree", "fold"])
def test_n_source_tita_fusion_is_order_invariant(bracket, engine, strategy):
    opts = FuseOptions(align="none", strategy=strategy)
    results = [fuse_sources([bracket[i] for i in perm], opts, engine).image
               for perm in itertools.permutations(range(3))]
    for r in results[1:]:
        np.testing.assert_array_equal(results[0], r)


def _depths(count: int, strategy: str) -> list[int]:
    """How many fusions each source goes through on its way to the root of the plan."""
    plan = merge_plan(count, strategy)
    parent = {slot: count + k for k, pair in enumerate(plan) for slot in pair}
    depths = []
    for source in range(count):
        depth, slot = 0, source
        while slot in parent:
            depth, slot = depth + 1, parent[slot]
        depths.append(depth)
    return depths


@pytest.mark.parametrize("count", range(2, 13))
def test_tree_plan_fuses_every_source_once_and_keeps_depths_within_one(count):
    plan = merge_plan(count, "tree")
    used = [slot for pair in plan for slot in pair]
    assert len(plan) == count - 1 and sorted(used) == list(range(2 * count - 2))
    leaves = {source: [source] for source in range(count)}
    for k, (a, b) in enumerate(plan):
        assert max(leaves[a]) < min(leaves[b])  # A is the brighter (earlier) run of sources
        leaves[count + k] = leaves[a] + leaves[b]
    depths = _depths(count, "tree")
    assert max(depths) - min(depths) <= 1 and max(depths) == math.ceil(math.log2(count))


def test_fold_plan_lets_the_last_source_decide_half():
    assert _depths(9, "fold") == [8, 8, 7, 6, 5, 4, 3, 2, 1]
    with pytest.raises(InputError, match="unknown strategy"):
        merge_plan(3, "spiral")


def test_bracket_order_is_brightest_first_and_reference_is_middle(bracket):
    order = classify(bracket).order
    means = [bracket[i].pixels.mean() for i in order]
    assert means == sorted(means, reverse=True)


def test_tita_result_carries_maps_and_root_pair(bracket, engine):
    result = fuse_sources(bracket, FuseOptions(align="none", want_maps=True), engine)
    assert result.image.shape == bracket[0].pixels.shape
    assert result.maps is not None and result.maps.oaf_weights.shape[-2:] == result.luma.shape
    assert result.pair_lumas is not None and result.pair_lumas[0].shape == result.luma.shape
    assert any("UNTRAINED" in n for n in result.notes)


def test_baseline_method_and_unknown_method(bracket):
    result = fuse_sources(bracket, FuseOptions(method="average", align="none"))
    assert result.image.dtype == np.float32 and result.image.min() >= 0 and result.image.max() <= 1
    with pytest.raises(InputError, match="unknown method"):
        fuse_sources(bracket, FuseOptions(method="nope", align="none"))


def test_single_source_is_refused(bracket):
    with pytest.raises(InputError, match="at least two"):
        fuse_sources(bracket[:1])


def test_ir_visible_pair_keeps_colour_and_visible_metadata(shared_dir, tmp_path):
    folder = shared_dir / "datasets" / "ivf" / "roadscene"
    name = sorted(p.name for p in (folder / "A").iterdir())[0]
    paths = [folder / "B" / name, folder / "A" / name]  # infrared first: roles must not depend on it
    out = tmp_path / "fused.png"
    result, written = fuse_files(paths, out, FuseOptions(method="laplacian"))
    assert written == out and out.exists()
    assert result.sources[0].meta.path == folder / "A" / name  # visible is A
    fused = read_image(out)
    assert fused.pixels.ndim == 3 and fused.shape == result.image.shape[:2]
    with pytest.raises(InputError, match="already exists"):
        fuse_files(paths, out, FuseOptions(method="laplacian"))


def test_output_onto_a_source_is_refused_before_any_work(shared_dir, monkeypatch):
    folder = shared_dir / "datasets" / "ivf" / "roadscene"
    name = sorted(p.name for p in (folder / "A").iterdir())[0]
    import tita_studio.pipeline.fuse as fuse_module

    monkeypatch.setattr(fuse_module, "fuse_sources", lambda *a, **k: pytest.fail("fused before checking"))
    with pytest.raises(InputError, match="source"):
        fuse_files([folder / "A" / name, folder / "B" / name], folder / "A" / name,
                   FuseOptions(method="average"))
