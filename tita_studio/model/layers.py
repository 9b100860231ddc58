"""Small layers: the two-layer MLP, stochastic depth, and the window attentions with relative bias."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tita_studio.model.windows import WindowGrid, relative_position_index, window_sdpa


class Mlp(nn.Module):
    """fc1 -> GELU -> fc2 (the names match the reference checkpoint)."""

    def __init__(self, dim_in: int, hidden: int, dim_out: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim_in, hidden)
        self.fc2 = nn.Linear(hidden, dim_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class DropPath(nn.Module):
    """Stochastic depth: drops a whole residual branch per sample while training."""

    def __init__(self, prob: float) -> None:
        super().__init__()
        self.prob = prob

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.prob == 0.0:
            return x
        keep = 1.0 - self.prob
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        return x * x.new_empty(shape).bernoulli_(keep).div_(keep)


class RelativeBias(nn.Module):
    """The (2ws-1)^2 x heads table of Swin, gathered into a (heads, N, N) bias."""

    def __init__(self, ws: int, heads: int) -> None:
        super().__init__()
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_position_index", relative_position_index(ws), persistent=False)

    def bias(self) -> Tensor:
        n = self.relative_position_index.shape[0]
        table = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        return table.view(n, n, -1).permute(2, 0, 1)


class WindowSelfAttention(RelativeBias):
    """Multi-head self-attention inside each window (qkv packed, as in the reference)."""

    def __init__(self, dim: int, ws: int, heads: int) -> None:
        super().__init__(ws, heads)
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, grid: WindowGrid, shifted: bool) -> Tensor:
        bw, n, c = x.shape
        qkv = self.qkv(x).view(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        out = window_sdpa(qkv[0], qkv[1], qkv[2], self.bias(), grid, shifted)
        return self.proj(out.transpose(1, 2).reshape(bw, n, c))


class WindowCrossAttention(RelativeBias):
    """Queries from one source, keys and values from the other, inside each window."""

    def __init__(self, dim: int, ws: int, heads: int) -> None:
        super().__init__(ws, heads)
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def split(self, query: Tensor, other: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """q, k, v as (B * nW, heads, N, d)."""
        bw, n, c = query.shape
        q = self.q(query).view(bw, n, self.heads, c // self.heads).transpose(1, 2)
        kv = self.kv(other).view(bw, n, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        return q, kv[0], kv[1]

    def forward(self, query: Tensor, other: Tensor, grid: WindowGrid, shifted: bool) -> Tensor:
        bw, n, c = query.shape
        q, k, v = self.split(query, other)
        out = window_sdpa(q, k, v, self.bias(), grid, shifted)
        return self.proj(out.transpose(1, 2).reshape(bw, n, c))

    def probabilities(self, query: Tensor, other: Tensor, mask: Tensor | None) -> Tensor:
        """Explicit softmax weights (B * nW, heads, N, N), for inspecting a few windows."""
        q, k, _ = self.split(query, other)
        logits = (q @ k.transpose(-1, -2)) * (q.shape[-1] ** -0.5) + self.bias()
        if mask is not None:
            logits = logits + mask.unsqueeze(1)
        return logits.softmax(-1)
