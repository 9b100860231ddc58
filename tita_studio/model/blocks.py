"""The transformer blocks: Swin self-attention (extraction, reconstruction) and ISF (interaction)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tita_studio.model.config import TITAConfig
from tita_studio.model.layers import DropPath, Mlp, WindowCrossAttention, WindowSelfAttention
from tita_studio.model.windows import WindowGrid, residual_add, scatter, scatter_add


class SwinBlock(nn.Module):
    """Pre-norm window self-attention and MLP, each with a residual; shifted windows on odd blocks."""

    def __init__(self, cfg: TITAConfig, shifted: bool, drop_path: float) -> None:
        super().__init__()
        c = cfg.embed_dim
        self.shifted = shifted
        self.norm1 = nn.LayerNorm(c, eps=cfg.layer_norm_eps)
        self.attn = WindowSelfAttention(c, cfg.window_size, cfg.num_heads)
        self.norm2 = nn.LayerNorm(c, eps=cfg.layer_norm_eps)
        self.mlp = Mlp(c, cfg.mlp_hidden, c)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: Tensor, grid: WindowGrid) -> Tensor:
        """x: (B, H, W, C) -> (B, H, W, C); may update x in place under inference."""
        order = grid.order(self.shifted)
        y = self.attn(order.to_windows(self.norm1(x)), grid, self.shifted)
        x = scatter_add(x, order, self.drop_path(y))
        return residual_add(x, self.drop_path(self.mlp(self.norm2(x))))


class PreferenceAttention(nn.Module):
    """IPA's two-key attention: a token attends to itself and to the other source's token.

    Parameter names follow torch's MultiheadAttention (packed in-projection), as in the reference.
    With two keys the per-head softmax is a sigmoid of the logit difference, so no sequence is built.
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, x: Tensor, y: Tensor, phi: Tensor, k_embed: Tensor, v_embed: Tensor
                ) -> tuple[Tensor, Tensor]:
        """Returns x + attention output and the head-averaged share taken from the other key."""
        c = x.shape[-1]
        d = c // self.heads
        w_q, w_k, w_v = self.in_proj_weight.split(c)
        b_q, _, b_v = self.in_proj_bias.split(c)
        # k_other - k_self = (n_v - n_k) + 2 x phi; the key bias cancels in the logit difference.
        q = F.linear(x, w_q, b_q).unflatten(-1, (self.heads, d))
        dk = F.linear(v_embed - k_embed + 2.0 * x * phi, w_k).unflatten(-1, (self.heads, d))
        p_other = torch.sigmoid((q * dk).sum(-1) * d**-0.5)
        v_self = F.linear(x, w_v, b_v).unflatten(-1, (self.heads, d))
        dv = F.linear(y - x, w_v).unflatten(-1, (self.heads, d))
        out = torch.addcmul(v_self, p_other.unsqueeze(-1), dv).flatten(-2)
        return x + self.out_proj(out), p_other.mean(-1)


@dataclass
class BlockMaps:
    """Per-token maps of one ISF block, (B, H, W) each, on the padded grid."""

    relation_a: Tensor
    relation_b: Tensor
    share_a: Tensor
    share_b: Tensor


class ISFBlock(nn.Module):
    """Interaction block: window cross-attention both ways, IPA, then MLPs, for both streams."""

    def __init__(self, cfg: TITAConfig, shifted: bool, drop_path: float) -> None:
        super().__init__()
        c, ws, heads = cfg.embed_dim, cfg.window_size, cfg.num_heads
        eps = cfg.layer_norm_eps
        self.shifted = shifted
        self.official = cfg.variant == "official"
        self.norm1_A = nn.LayerNorm(c, eps=eps)
        self.norm1_B = nn.LayerNorm(c, eps=eps)
        self.attn_A = WindowCrossAttention(c, ws, heads)
        self.attn_B = WindowCrossAttention(c, ws, heads)
        self.norm2_A = nn.LayerNorm(c, eps=eps)
        self.norm2_B = nn.LayerNorm(c, eps=eps)
        self.mlp_A = Mlp(c, cfg.mlp_hidden, c)
        self.mlp_B = Mlp(c, cfg.mlp_hidden, c)
        self.cross_attn_0_to_1 = PreferenceAttention(c, heads)
        self.cross_attn_1_to_0 = PreferenceAttention(c, heads)
        self.relation_judger = Mlp(2 * c, c, c if self.official else 1)
        self.k_noise = nn.Embedding(2, c)
        self.v_noise = nn.Embedding(2, c)
        self.drop_path = DropPath(drop_path)

    def relation(self, x: Tensor, y: Tensor) -> Tensor:
        """Official: a softmax over channels of MLP([x, y]); studio: one score in (0, 1) per token."""
        logits = self.relation_judger.forward_pair(x, y)
        return logits.softmax(-1) if self.official else torch.sigmoid(logits)

    def relation_map(self, phi: Tensor) -> Tensor:
        """One number per token: the studio score, or 1 - normalised entropy of the official softmax."""
        if not self.official:
            return phi[..., 0].float()
        phi = phi.float()
        entropy = -(phi * phi.clamp_min(1e-12).log()).sum(-1)
        return 1.0 - entropy / math.log(phi.shape[-1])

    def windows(self, a: Tensor, b: Tensor, grid: WindowGrid) -> tuple[Tensor, Tensor]:
        """Normalised tokens of both streams in this block's window order, (B, L, C)."""
        order = grid.order(self.shifted)
        return order.to_windows(self.norm1_A(a)), order.to_windows(self.norm1_B(b))

    def window_outputs(self, a: Tensor, b: Tensor, grid: WindowGrid) -> tuple[Tensor, Tensor]:
        """Window cross-attention outputs x (A's queries) and y (B's queries), in window order."""
        wa, wb = self.windows(a, b, grid)
        return self.attn_A(wa, wb, grid, self.shifted), self.attn_B(wb, wa, grid, self.shifted)

    def cross_outputs(self, a: Tensor, b: Tensor, grid: WindowGrid) -> tuple[Tensor, Tensor]:
        """x and y in image order, (B, H, W, C): for inspection and tests."""
        order = grid.order(self.shifted)
        x, y = self.window_outputs(a, b, grid)
        return scatter(x, order, grid), scatter(y, order, grid)

    def forward(self, a: Tensor, b: Tensor, grid: WindowGrid, want_maps: bool = False
                ) -> tuple[Tensor, Tensor, BlockMaps | None]:
        """a, b: (B, H, W, C); may be updated in place under inference."""
        order = grid.order(self.shifted)
        x, y = self.window_outputs(a, b, grid)
        phi_a, phi_b = self.relation(x, y), self.relation(y, x)
        k_emb, v_emb = self.k_noise.weight, self.v_noise.weight
        x2, share_a = self.cross_attn_0_to_1(x, y, phi_a, k_emb[0], v_emb[0])
        y2, share_b = self.cross_attn_1_to_0(y, x, phi_b, k_emb[1], v_emb[1])
        a = scatter_add(a, order, self.drop_path(x2))
        b = scatter_add(b, order, self.drop_path(y2))
        a = residual_add(a, self.drop_path(self.mlp_A(self.norm2_A(a))))
        b = residual_add(b, self.drop_path(self.mlp_B(self.norm2_B(b))))
        maps = None
        if want_maps:
            maps = BlockMaps(*(scatter(m, order, grid) for m in (
                self.relation_map(phi_a), self.relation_map(phi_b), share_a.float(), share_b.float())))
        return a, b, maps
