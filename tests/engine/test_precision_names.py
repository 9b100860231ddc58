"""Precisions by the names PyTorch users type (bf16, fp16, fp32), wherever a precision is named."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tita_studio.cli.main import build_parser
from tita_studio.engine.device import canonical_precision
from tita_studio.engine.runner import EngineConfig, FusionEngine
from tita_studio.errors import InputError
from tita_studio.model import TITA, TITAConfig
from tita_studio.training.config import config_from_dict


@pytest.mark.parametrize(("spelling", "name"), [
    ("bf16", "bfloat16"), ("BF16", "bfloat16"), ("bf16-mixed", "bfloat16"), ("bfloat16", "bfloat16"),
    ("fp16", "float16"), ("half", "float16"), ("16-mixed", "float16"),
    ("fp32", "float32"), ("32", "float32"), ("float32", "float32"),
])
def test_spellings_map_to_one_name(spelling: str, name: str) -> None:
    assert canonical_precision(spelling) == name


def test_unknown_precision_lists_the_choices() -> None:
    with pytest.raises(InputError, match=r"unknown precision 'int8'.*bfloat16 \(bf16"):
        canonical_precision("int8")


@pytest.mark.parametrize("command", [["fuse", "a.png", "b.png", "-o", "c.png"], ["eval", "d", "--out", "o"]])
def test_the_command_line_takes_bf16(command: list[str]) -> None:
    args = build_parser().parse_args([*command, "--precision", "bf16"])
    assert args.precision == "bfloat16"
    with pytest.raises(SystemExit):
        build_parser().parse_args([*command, "--precision", "int8"])


def test_the_engine_and_the_training_config_take_short_names() -> None:
    torch.manual_seed(0)
    engine = FusionEngine(TITA(TITAConfig()), EngineConfig(device="cpu", precision="bf16"), trained=False)
    assert engine.config.precision == "bfloat16"
    a = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    assert np.isfinite(engine.fuse(a, a[::-1].copy()).fused).all()
    assert config_from_dict({"run": {"precision": "fp32"}}).run.precision == "float32"
    with pytest.raises(InputError, match="float16 is for GPUs"):
        FusionEngine(TITA(TITAConfig()), EngineConfig(device="cpu", precision="fp16"))
