"""Measured defaults: the fastest choice that agrees with float32 wins, and it is remembered per machine."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from tita_studio.engine import defaults
from tita_studio.engine.defaults import calibrate, load_defaults, machine_key


def _runner(delay_per_mp: float, noise: float = 0.0):
    """A stand-in fusion: the mean of the pair, taking delay_per_mp seconds per megapixel."""

    def run(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        time.sleep(delay_per_mp * a.size / 1e6)
        out = (a + b) / 2
        if noise:
            out = out + np.random.default_rng(0).normal(0, noise, out.shape).astype(np.float32)
        return out

    return run


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(defaults, "cache_path", lambda: tmp_path / "machine-defaults.json")
    return tmp_path / "machine-defaults.json"


def test_fastest_agreeing_choice_wins_and_is_remembered(cache):
    cpu = torch.device("cpu")
    runners = {
        ("torch", "float32"): _runner(2.0),
        ("torch", "bfloat16"): _runner(1.0),
        ("openvino", "float32"): _runner(0.5),
        ("openvino", "bfloat16"): _runner(0.2, noise=0.2),  # fastest, but 14 dB from float32: refused
    }
    measured = calibrate(runners, cpu)
    assert (measured.backend, measured.precision) == ("openvino", "float32")
    assert measured.tile in defaults.TILE_CANDIDATES
    assert measured.measured[f"openvino/bfloat16/{measured.tile}/dB"] < defaults.AGREEMENT_DB
    assert measured.precision_for("torch") == "bfloat16"
    assert measured.precision_for("openvino") == "float32"
    assert cache.exists()
    again = load_defaults(cpu)
    assert again == measured and again.key == machine_key(cpu)


def test_nothing_remembered_means_none(cache):
    assert load_defaults(torch.device("cpu")) is None
    cache.write_text("not json")
    assert load_defaults(torch.device("cpu")) is None
