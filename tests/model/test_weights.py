"""Weights on disk: round trip, and a plain-words refusal for every kind of wrong file."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from tita_studio.errors import ModelFileError
from tita_studio.model import TITA, TITAConfig
from tita_studio.model.loader import load_model
from tita_studio.model.weights import load_weights, read_info, save_weights


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(1)
    net = TITA(TITAConfig())
    path = save_weights(net, tmp_path / "w.safetensors", trained=False, training={"steps": 3})
    return net, path


def test_round_trip_keeps_every_tensor_and_the_metadata(saved):
    net, path = saved
    loaded, info = load_weights(path)
    assert info.config == net.config and not info.trained and info.training == {"steps": 3}
    for k, v in net.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    assert "UNTRAINED" in info.describe()


def test_a_continued_run_counts_the_steps_of_the_weights_it_started_from(tmp_path):
    net = TITA(TITAConfig())
    training = {"steps": 3000, "init": {"file": "start.safetensors", "sha256": "0" * 64, "steps": 2500}}
    info = read_info(save_weights(net, tmp_path / "c.safetensors", trained=True, training=training))
    assert info.total_steps == 5500
    assert "5500 steps: 3000 after a 2500-step start" in info.describe()
    fresh = read_info(save_weights(net, tmp_path / "f.safetensors", trained=True, training={"steps": 400}))
    assert fresh.total_steps == 400 and fresh.describe().endswith("400 steps)")


def test_float16_file_loads_as_float32(tmp_path):
    net = TITA(TITAConfig())
    path = save_weights(net, tmp_path / "h.safetensors", trained=True, dtype=torch.float16)
    loaded, info = load_weights(path)
    assert info.trained
    assert all(p.dtype == torch.float32 for p in loaded.parameters())


def test_truncated_file(saved):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"truncated|damaged"):
        load_weights(path)


def test_other_variant_is_named(saved):
    _, path = saved
    with pytest.raises(ModelFileError, match="studio variant, but official"):
        load_weights(path, variant="official")


def test_foreign_safetensors_file(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(ModelFileError, match="not TITA Studio weights"):
        read_info(path)


def test_missing_keys_are_listed(saved, tmp_path):
    _, path = saved
    with safe_open(str(path), "pt") as fh:
        meta = fh.metadata()
        names = [k for k in fh.keys() if not k.startswith("tail.")]  # noqa: SIM118 - not a dict
        tensors = {k: fh.get_tensor(k) for k in names}
    cut = tmp_path / "cut.safetensors"
    save_file(tensors, str(cut), metadata=meta)
    with pytest.raises(ModelFileError, match=r"missing tail\."):
        load_weights(cut)


def test_loader_recognises_files_by_content(tmp_path, saved):
    _, path = saved
    renamed = tmp_path / "model.bin"
    renamed.write_bytes(path.read_bytes())
    assert load_model(renamed).net.config.variant == "studio"
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"hello, I am not a model")
    with pytest.raises(ModelFileError):
        load_model(junk)
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "absent.safetensors")


def test_reference_pth_checkpoint_loads(tmp_path, shared_dir):
    import numpy as np

    golden = np.load(shared_dir / "fixtures" / "tita_official_golden.npz")
    state = {k.removeprefix("param/"): torch.from_numpy(golden[k]) for k in golden.files if k.startswith("param/")}
    pth = tmp_path / "TITA.pth"
    torch.save({"params": state}, pth)
    loaded = load_model(pth)
    assert loaded.net.config.variant == "official" and loaded.trained
