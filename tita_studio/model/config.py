"""The network's hyper-parameters and variant, in one dataclass that travels with the weights."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

Variant = Literal["official", "studio"]
VARIANTS: tuple[str, ...] = ("official", "studio")


@dataclass(frozen=True)
class TITAConfig:
    """Defaults are the published TITA: embed 60, window 8, 6 heads, depths 4 / 2x4 / 4, MLP ratio 2.

    `variant="official"` computes exactly what the reference computes (global OAF weights,
    channel-softmax relation score); `variant="studio"` predicts the OAF weights and a scalar
    relation score at every pixel, so the overlays the app shows are real per-pixel quantities.
    """

    variant: Variant = "studio"
    embed_dim: int = 60
    window_size: int = 8
    num_heads: int = 6
    extract_depth: int = 4
    fusion_groups: int = 2
    fusion_depth: int = 4
    recon_depth: int = 4
    mlp_ratio: float = 2.0
    shallow_dim: int = 30
    drop_path: float = 0.0
    layer_norm_eps: float = 1e-5
    leaky_slope: float = 0.2

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown TITA variant {self.variant!r}; expected one of {VARIANTS}")
        if self.embed_dim % self.num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")

    @property
    def shift_size(self) -> int:
        return self.window_size // 2

    @property
    def num_isf_blocks(self) -> int:
        return self.fusion_groups * self.fusion_depth

    @property
    def mlp_hidden(self) -> int:
        return int(self.embed_dim * self.mlp_ratio)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TITAConfig:
        """Build from stored metadata, ignoring keys this version does not know."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
