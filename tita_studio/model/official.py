"""Loading the published reference checkpoint: names mapped, derived buffers dropped, all else checked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor

from tita_studio.errors import ModelFileError
from tita_studio.model.config import TITAConfig
from tita_studio.model.tita import TITA

# Buffers the reference stores but that are derived from the geometry, not learned.
DERIVED = re.compile(r"(relative_position_index|attn_mask|hamming_highpass)$")
# Parameters the reference builds but never uses (its forward calls A's shallow convs for both).
UNUSED = re.compile(r"^conv_first[12]_B\.")

RENAMES: list[tuple[str, str]] = [
    (r"^conv_first1_A\.", "shallow_a.conv1."),
    (r"^conv_first2_A\.", "shallow_a.conv2."),
    (r"^patch_embed\.norm\.", "embed_norm."),
    (r"^layers_Ex_([AB])\.0\.residual_group\.blocks\.(\d+)\.", r"extract_\1.\2."),
    (r"^norm_Ex_([AB])\.", r"extract_norm_\1."),
    (r"^layers_Fusion\.(\d+)\.residual_group\.blocks\.(\d+)\.", r"isf.\1_\2."),
    (r"\.relation_judger\.0\.", ".relation_judger."),
    (r"^norm_Fusion_([AB])\.", r"fusion_norm_\1."),
    (r"^weight_gen\.2\.", "oaf.weight_mlp."),
    (r"^fafb_([AB])\.", r"oaf.branches_\1."),
    (r"\.(ahpf_generator|residual_generator|weight_generator)\.0\.", r".\1."),
    (r"^layers_Re\.0\.residual_group\.blocks\.(\d+)\.", r"recon.\1."),
    (r"^norm_Re\.", "recon_norm."),
    (r"^conv_last(\d)\.", r"tail.conv\1."),
]


def _rename(name: str, fusion_depth: int) -> str:
    for pattern, repl in RENAMES:
        name = re.sub(pattern, repl, name)
    name = re.sub(r"^(extract|extract_norm|fusion_norm)_([AB])\.", lambda m: f"{m[1]}_{m[2].lower()}.", name)
    name = re.sub(r"^oaf\.branches_([AB])\.", lambda m: f"oaf.branches_{m[1].lower()}.", name)
    return re.sub(r"^isf\.(\d+)_(\d+)\.", lambda m: f"isf.{int(m[1]) * fusion_depth + int(m[2])}.", name)


def convert_official_state(state: Mapping[str, Tensor], config: TITAConfig) -> dict[str, Tensor]:
    """Map reference names to ours; raise ModelFileError naming every missing or unexpected key."""
    if "params" in state and isinstance(state["params"], Mapping):
        state = state["params"]
    converted: dict[str, Tensor] = {}
    for name, value in state.items():
        name = name.removeprefix("module.")
        if DERIVED.search(name) or UNUSED.search(name):
            continue
        converted[_rename(name, config.fusion_depth)] = torch.as_tensor(value)
    expected = TITA(config).state_dict().keys()
    missing = sorted(set(expected) - set(converted))
    extra = sorted(set(converted) - set(expected))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} key(s): {', '.join(missing[:8])}")
        if extra:
            parts.append(f"unexpected {len(extra)} key(s): {', '.join(extra[:8])}")
        raise ModelFileError("not a TITA reference checkpoint (" + "; ".join(parts) + ")")
    return converted


def from_official(state: Mapping[str, Tensor]) -> TITA:
    """A TITA of the `official` variant with the reference checkpoint's weights loaded."""
    config = TITAConfig(variant="official")
    net = TITA(config)
    converted = convert_official_state(state, config)
    shapes = {k: v.shape for k, v in net.state_dict().items()}
    wrong = [f"{k} {tuple(v.shape)} (expected {tuple(shapes[k])})" for k, v in converted.items()
             if v.shape != shapes[k]]
    if wrong:
        raise ModelFileError("reference checkpoint has tensors of the wrong shape: " + ", ".join(wrong[:5]))
    net.load_state_dict(converted)
    return net.eval()


def load_official_file(path: Path) -> TITA:
    """Read a reference .pth safely (weights only, no pickle code) and convert it."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated / foreign files
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(f"{path}: cannot be read as a PyTorch checkpoint ({first_line})") from exc
    if not isinstance(state, Mapping):
        raise ModelFileError(f"{path}: holds a {type(state).__name__}, not a state dict")
    return from_official(state)
