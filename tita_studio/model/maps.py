"""What the network shows about itself: OAF branch weights and IPA relation / cross-attention maps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import torch
from torch import Tensor

OAF_TERMS = ("hpf_A", "add_A", "mul_A", "hpf_B", "add_B", "mul_B")
STREAMS = ("A", "B")


@dataclass
class FusionMaps:
    """Per-pixel maps at the input's size (float32).

    oaf_weights, oaf_contribution: (N, 6, H, W) in OAF_TERMS order; the contribution is each term's
    share of the fused feature (mean over channels of |weight * branch|, normalised per pixel).
    relation, cross_share: (N, blocks, 2, H, W) for each ISF block and stream (A, B). The relation is
    the studio score, or 1 - normalised entropy of the official channel softmax; the cross share is the
    head-averaged attention a stream's token gives the other source in IPA.
    """

    oaf_weights: Tensor
    oaf_contribution: Tensor
    relation: Tensor
    cross_share: Tensor

    def block(self, index: int, stream: str) -> tuple[Tensor, Tensor]:
        """(relation, cross_share) of one ISF block (0-based) and stream ("A" or "B"), (N, H, W) each."""
        s = STREAMS.index(stream)
        return self.relation[:, index, s], self.cross_share[:, index, s]

    def map(self, fn: Callable[[Tensor], Tensor]) -> FusionMaps:
        """Apply the same operation (crop, move, resample) to every map."""
        return FusionMaps(**{f.name: fn(getattr(self, f.name)) for f in fields(self)})

    def crop(self, top: int, left: int, height: int, width: int) -> FusionMaps:
        return self.map(lambda t: t[..., top : top + height, left : left + width])

    def to_tensors(self) -> dict[str, Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_numpy(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name).detach().cpu().numpy() for f in fields(self)}

    @classmethod
    def from_numpy(cls, arrays: dict[str, np.ndarray]) -> FusionMaps:
        return cls(**{f.name: torch.from_numpy(np.asarray(arrays[f.name])) for f in fields(cls)})
