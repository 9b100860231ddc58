"""Small layers: the two-layer MLP, stochastic depth, and the window attentions with relative bias."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tita_studio.model.windows import WindowGrid, relative_position_index, window_attention


class Mlp(nn.Module):
    """fc1 -> GELU -> fc2 (the names match the reference checkpoint)."""

    def __init__(self, dim_in: int, hidden: int, dim_out: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim_in, hidden)
        self.fc2 = nn.Linear(hidden, dim_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x)))

    def forward_pair(self, x: Tensor, y: Tensor) -> Tensor:
        """forward(cat([x, y], -1)) without building the concatenation."""
        c = x.shape[-1]
        w = self.fc1.weight
        hidden = F.linear(x, w[:, :c], self.fc1.bias) + F.linear(y, w[:, c:])
        return self.fc2(F.gelu(hidden))


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
        """x: (B, L, C) in window order -> (B, L, C)."""
        b, n_tok, c = x.shape
        n = grid.ws * grid.ws
        qkv = self.qkv(x).view(b, n_tok // n, n, 3, self.heads, c // self.heads).permute(3, 0, 1, 4, 2, 5)
        out = window_attention(qkv[0], qkv[1], qkv[2], self.bias(), grid, shifted)
        return self.proj(out.transpose(2, 3).reshape(b, n_tok, c))


class WindowCrossAttention(RelativeBias):
    """Queries from one source, keys and values from the other, inside each window."""

    def __init__(self, dim: int, ws: int, heads: int) -> None:
        super().__init__(ws, heads)
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def split(self, query: Tensor, other: Tensor, n: int) -> tuple[Tensor, Tensor, Tensor]:
        """q, k, v as (B, nW, heads, N, d) from (B, L, C) window-ordered tokens."""
        b, n_tok, c = query.shape
        d = c // self.heads
        q = self.q(query).view(b, n_tok // n, n, self.heads, d).transpose(2, 3)
        kv = self.kv(other).view(b, n_tok // n, n, 2, self.heads, d).permute(3, 0, 1, 4, 2, 5)
        return q, kv[0], kv[1]

    def forward(self, query: Tensor, other: Tensor, grid: WindowGrid, shifted: bool) -> Tensor:
        b, n_tok, c = query.shape
        q, k, v = self.split(query, other, grid.ws * grid.ws)
        out = window_attention(q, k, v, self.bias(), grid, shifted)
        return self.proj(out.transpose(2, 3).reshape(b, n_tok, c))

    def probabilities(self, query: Tensor, other: Tensor, mask: Tensor | None) -> Tensor:
        """Explicit softmax weights (heads, N, N) of ONE window given as (N, C) tokens."""
        n = query.shape[0]
        q, k, _ = self.split(query[None], other[None], n)
        logits = (q[0, 0] @ k[0, 0].transpose(-1, -2)) * (q.shape[-1] ** -0.5) + self.bias()
        if mask is not None:
            logits = logits + mask
        return logits.softmax(-1)
