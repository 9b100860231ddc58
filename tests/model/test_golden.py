"""The official variant reproduces the reference implementation's outputs and maps (golden fixture)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tita_studio.model.official import from_official


@pytest.fixture(scope="module")
def golden(shared_dir):
    return np.load(shared_dir / "fixtures" / "tita_official_golden.npz")


@pytest.fixture(scope="module")
def net(golden):
    state = {k.removeprefix("param/"): torch.from_numpy(golden[k]) for k in golden.files if k.startswith("param/")}
    return from_official(state)


@pytest.mark.parametrize("i", [0, 1])
def test_output_matches_reference(golden, net, i):
    a, b = (torch.from_numpy(golden[f"input/{s}{i}"]) for s in "ab")
    with torch.inference_mode():
        fused, maps = net(a, b, return_maps=True)
    np.testing.assert_allclose(fused.numpy(), golden[f"output/f{i}"], atol=1e-4, rtol=0)
    oaf = maps.oaf_weights[0, :, 0, 0].numpy()
    np.testing.assert_allclose(oaf, golden[f"oaf/weights{i}"][0], atol=1e-5, rtol=0)
    # official weights are one vector per image, broadcast over the pixels
    assert torch.allclose(maps.oaf_weights[0], maps.oaf_weights[0, :, :1, :1].expand_as(maps.oaf_weights[0]))


@pytest.mark.parametrize("i", [0, 1])
def test_first_isf_block_maps_match_reference(golden, net, i):
    a, b = (torch.from_numpy(golden[f"input/{s}{i}"]) for s in "ab")
    h, w = a.shape[-2:]
    with torch.inference_mode():
        pa, pb, grid = net._prepare(a, b)
        ta, tb = net.encode(pa, pb, grid)
        block = net.isf[0]
        x, y = block.cross_outputs(ta, tb, grid)
        phi = block.relation(x, y)
        _, _, padded_maps = block(ta, tb, grid, want_maps=True)
        _, maps = net(a, b, return_maps=True)
    np.testing.assert_allclose(phi.reshape(1, -1, 60).numpy(), golden[f"ipa/l0b0_phi_a{i}"], atol=1e-5, rtol=0)
    share = golden[f"ipa/l0b0_a_cross_share{i}"]
    np.testing.assert_allclose(padded_maps.share_a.reshape(-1).numpy(), share, atol=1e-5, rtol=0)
    # the cropped map of the full forward is the same quantity
    np.testing.assert_allclose(maps.cross_share[0, 0, 0].numpy(),
                               share.reshape(grid.height, grid.width)[:h, :w], atol=1e-5, rtol=0)
    entropy = -(golden[f"ipa/l0b0_phi_a{i}"][0] * np.log(golden[f"ipa/l0b0_phi_a{i}"][0])).sum(-1)
    expected_relation = (1 - entropy / np.log(60)).reshape(grid.height, grid.width)[:h, :w]
    np.testing.assert_allclose(maps.relation[0, 0, 0].numpy(), expected_relation, atol=1e-5, rtol=0)


def test_converter_names_missing_and_extra_keys(golden):
    from tita_studio.errors import ModelFileError

    state = {k.removeprefix("param/"): torch.from_numpy(golden[k]) for k in golden.files if k.startswith("param/")}
    del state["conv_last3.bias"]
    state["mystery.weight"] = torch.zeros(3)
    with pytest.raises(ModelFileError, match=r"conv3\.bias.*mystery\.weight|mystery"):
        from_official({"params": state})


def test_converter_accepts_params_key_and_ignores_derived_buffers(golden):
    state = {k.removeprefix("param/"): torch.from_numpy(golden[k]) for k in golden.files if k.startswith("param/")}
    assert any(k.endswith("attn_mask") for k in state)
    net = from_official({"params": state})
    assert net.config.variant == "official"
