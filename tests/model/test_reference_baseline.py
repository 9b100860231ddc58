"""The reference-style baseline (benchmarks/reference_tita.py) computes what the reference and our model compute."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from tita_studio.model.official import from_official

BASELINE = Path(__file__).resolve().parents[2] / "benchmarks" / "reference_tita.py"


def _load_baseline():
    spec = importlib.util.spec_from_file_location("reference_tita", BASELINE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def golden(shared_dir):
    return np.load(shared_dir / "fixtures" / "tita_official_golden.npz")


@pytest.fixture(scope="module")
def state(golden):
    return {k.removeprefix("param/"): torch.from_numpy(golden[k]) for k in golden.files if k.startswith("param/")}


@pytest.fixture(scope="module")
def reference(state):
    return _load_baseline().build_reference(state)


@pytest.mark.parametrize("i", [0, 1])
def test_reference_style_module_reproduces_golden_outputs(golden, reference, i):
    a, b = (torch.from_numpy(golden[f"input/{s}{i}"]) for s in "ab")
    with torch.inference_mode():
        fused = reference(a, b)
    assert fused.shape == a.shape
    np.testing.assert_allclose(fused.numpy(), golden[f"output/f{i}"], atol=1e-4, rtol=0)


def test_reference_style_module_agrees_with_ours_off_the_window_grid(state, reference):
    ours = from_official(state)
    gen = torch.Generator().manual_seed(0)
    a, b = torch.rand(2, 1, 1, 40, 52, generator=gen)
    with torch.inference_mode():
        expected = ours(a, b)
        got = reference(a, b)
    assert got.shape == expected.shape == (1, 1, 40, 52)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-4, rtol=0)
