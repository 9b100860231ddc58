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
    side = min(measured.tile, defaults.OPENVINO_MAX_TILE)  # OpenVINO is timed at its cap at most
    assert measured.measured[f"openvino/bfloat16/{side}/dB"] < defaults.AGREEMENT_DB
    assert measured.precision_for("torch") == "bfloat16"
    assert measured.precision_for("openvino") == "float32"
    assert cache.exists()
    again = load_defaults(cpu)
    assert again == measured and again.key == machine_key(cpu)


def test_nothing_remembered_means_none(cache):
    assert load_defaults(torch.device("cpu")) is None
    cache.write_text("not json")
    assert load_defaults(torch.device("cpu")) is None


def test_openvino_is_timed_at_most_at_its_tile_cap(cache):
    """The calibration converts OpenVINO for one size only, never above OPENVINO_MAX_TILE (a 512 px conversion
    took a process to 13 GB), and compares it per output pixel with PyTorch's best tile."""
    sizes: list[int] = []

    def spy(run):
        def wrapped(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            sizes.append(a.shape[0])
            return run(a, b)

        return wrapped

    runners = {
        # 512 px tiles win for PyTorch (per output pixel, overlap counted: 13% less time); delays large
        # enough that a loaded machine's noise does not swap the tiles
        ("torch", "float32"): _runner(0.5),
        ("torch", "bfloat16"): _runner(1.0),
        ("openvino", "float32"): spy(_runner(0.2)),
    }
    measured = calibrate(runners, torch.device("cpu"))
    assert measured.tile == 512
    assert sizes and max(sizes) <= defaults.OPENVINO_MAX_TILE
    assert f"openvino/float32/{defaults.OPENVINO_MAX_TILE}" in measured.measured
    assert measured.backend == "openvino"


def test_openvino_is_a_candidate_for_the_studio_variant_on_the_cpu(monkeypatch):
    from tita_studio.model import TITA, TITAConfig

    monkeypatch.setattr(defaults, "openvino_available", lambda: True)
    monkeypatch.setattr("tita_studio.engine.openvino.openvino_runner", lambda net, precision: _runner(0.0))
    cpu = torch.device("cpu")
    keys = list(defaults.candidate_runners(TITA(TITAConfig()), cpu))
    assert keys[0] == ("torch", "float32")
    assert ("openvino", "float32") in keys and ("openvino", "bfloat16") in keys
    official = list(defaults.candidate_runners(TITA(TITAConfig(variant="official")), cpu))
    assert all(backend == "torch" for backend, _ in official)


def test_every_candidate_is_timed_after_a_warm_up_of_the_same_size(cache, monkeypatch):
    """A first pass at a new size pays for kernel choice and fresh memory (on a 2-core EPYC a 512 px pass took
    1.77x its warm time); the engine runs many tiles of one size, so only warm passes may decide."""
    tuned: list[bool] = []
    monkeypatch.setattr(defaults, "keep_freed_memory", lambda: tuned.append(True) or True)

    def cold_first(delay_per_mp: float, cold_factor: float):
        seen: set[int] = set()
        base = _runner(delay_per_mp)

        def run(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            if a.shape[0] not in seen:  # the first pass at each size is slow
                seen.add(a.shape[0])
                time.sleep(cold_factor * delay_per_mp * a.size / 1e6)
            return base(a, b)

        return run

    runners = {
        ("torch", "float32"): cold_first(0.5, 3.0),  # warm: the fastest; cold, it would lose to OpenVINO
        ("torch", "bfloat16"): _runner(2.0),
        ("openvino", "float32"): _runner(0.8),
    }
    measured = calibrate(runners, torch.device("cpu"))
    assert tuned, "the calibration must tune the allocator as the engine does"
    assert (measured.backend, measured.precision) == ("torch", "float32")
