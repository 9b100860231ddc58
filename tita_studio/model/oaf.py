"""OAF, the task-specific adaptation: three operator branches per source mixed by predicted weights."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tita_studio.model.layers import Mlp

BRANCHES = ("hpf", "add", "mul")


class OperatorBranches(nn.Module):
    """HPF / ADD / MUL operators of one source (the reference's `fafb_A` / `fafb_B`), NCHW in and out."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.channel_compressor = nn.Conv2d(dim, dim, 1)
        self.ahpf_generator = nn.Conv2d(dim, 9, 3, padding=1)
        self.residual_generator = nn.Conv2d(dim, dim, 3, padding=1)
        self.weight_generator = nn.Conv2d(dim, dim, 3, padding=1)
        hamming = np.outer(np.hamming(3), np.hamming(3)).astype(np.float32)
        self.register_buffer("hamming", torch.from_numpy(hamming).reshape(1, 9, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        xc = self.channel_compressor(x)
        kernel = self.ahpf_generator(xc).softmax(1) * self.hamming.to(x.dtype)
        kernel = kernel / kernel.sum(1, keepdim=True)
        h, w = x.shape[-2:]
        padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
        low = sum(kernel[:, k : k + 1] * padded[:, :, k // 3 : k // 3 + h, k % 3 : k % 3 + w] for k in range(9))
        hpf = x - low
        add = x + self.residual_generator(xc)
        mul = x * self.weight_generator(xc)
        return hpf, add, mul


class OAF(nn.Module):
    """Mixes [hpf_A, add_A, mul_A, hpf_B, add_B, mul_B] with weights from the MLP 2C -> C -> 6.

    Official variant: one weight vector per image from globally pooled features.
    Studio variant: the same MLP at every pixel, so the weights form per-pixel maps.
    """

    def __init__(self, dim: int, per_pixel: bool) -> None:
        super().__init__()
        self.per_pixel = per_pixel
        self.branches_a = OperatorBranches(dim)
        self.branches_b = OperatorBranches(dim)
        self.weight_mlp = Mlp(2 * dim, dim, 2 * len(BRANCHES))

    def pooled(self, xa: Tensor, xb: Tensor) -> Tensor:
        """The (B, 2C) global average the official weights are computed from."""
        return torch.cat([xa.mean((2, 3)), xb.mean((2, 3))], dim=1)

    def weights(self, xa: Tensor, xb: Tensor, pooled: Tensor | None = None) -> Tensor:
        """(B, 6, H, W) for the studio variant, (B, 6, 1, 1) for the official one."""
        if self.per_pixel:
            logits = self.weight_mlp.forward_pair(xa.permute(0, 2, 3, 1), xb.permute(0, 2, 3, 1))
            return logits.softmax(-1).permute(0, 3, 1, 2)
        pooled = self.pooled(xa, xb) if pooled is None else pooled.to(xa.dtype)
        return self.weight_mlp(pooled).softmax(-1)[:, :, None, None]

    def forward(self, xa: Tensor, xb: Tensor, pooled: Tensor | None = None, want_maps: bool = False
                ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """Fused features, and (when asked) the weights and each term's share of the fused feature."""
        w = self.weights(xa, xb, pooled)
        terms = [*self.branches_a(xa), *self.branches_b(xb)]
        fused = sum(w[:, i : i + 1] * t for i, t in enumerate(terms))
        if not want_maps:
            return fused, None, None
        magnitude = torch.stack([(w[:, i : i + 1] * t).abs().mean(1) for i, t in enumerate(terms)], 1).float()
        contribution = magnitude / magnitude.sum(1, keepdim=True).clamp_min(1e-12)
        return fused, w.float().expand(-1, -1, *xa.shape[-2:]), contribution
