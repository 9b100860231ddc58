"""Window geometry shared by every attention block: partition, shift mask, relative positions.

Features travel through the network channels-last, (B, H, W, C); a window view is (B * nW, ws * ws, C).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

MASK_VALUE = -100.0


def relative_position_index(ws: int) -> Tensor:
    """Swin's (ws*ws, ws*ws) index into the (2ws-1)^2 bias table."""
    coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (ws - 1)
    return rel[..., 0] * (2 * ws - 1) + rel[..., 1]


def shift_mask(height: int, width: int, ws: int, shift: int) -> Tensor:
    """(nW, ws*ws, ws*ws) additive mask: -100 between tokens that the cyclic shift brought together."""
    region = torch.zeros(height, width)
    cuts = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
    label = 0
    for rows in cuts:
        for cols in cuts:
            region[rows, cols] = label
            label += 1
    windows = partition(region[None, :, :, None], ws).squeeze(-1)
    diff = windows[:, None, :] - windows[:, :, None]
    return torch.where(diff != 0, MASK_VALUE, 0.0)


def partition(x: Tensor, ws: int) -> Tensor:
    """(B, H, W, C) -> (B * nW, ws*ws, C), windows in row-major order."""
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws * ws, c)


def reverse(windows: Tensor, ws: int, b: int, h: int, w: int) -> Tensor:
    """Inverse of `partition`."""
    c = windows.shape[-1]
    x = windows.view(b, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, w, c)


@dataclass
class WindowGrid:
    """Geometry of one padded feature map, computed once per forward and shared by all blocks."""

    height: int
    width: int
    ws: int
    shift: int
    mask: Tensor

    @classmethod
    def build(cls, height: int, width: int, ws: int, shift: int, device: torch.device) -> WindowGrid:
        return cls(height, width, ws, shift, shift_mask(height, width, ws, shift).to(device))

    @property
    def rows(self) -> int:
        return self.height // self.ws

    @property
    def cols(self) -> int:
        return self.width // self.ws


def window_sdpa(q: Tensor, k: Tensor, v: Tensor, bias: Tensor, grid: WindowGrid, shifted: bool) -> Tensor:
    """Attention inside windows with the relative-position bias (and the shift mask on shifted blocks).

    q, k, v: (B * nW, heads, N, d). The shift mask is non-zero only in the last window row and
    column, so every window first runs with the shared (1, heads, N, N) bias (SDPA's fused kernel),
    and only that border is recomputed with its own mask.
    """
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.unsqueeze(0).to(q.dtype))
    if not shifted:
        return out
    rows, cols = grid.rows, grid.cols
    nw = rows * cols
    border = torch.cat([torch.arange(cols * (rows - 1), nw), torch.arange(cols - 1, nw - cols, cols)])
    border = border.to(q.device)
    bsz = q.shape[0] // nw
    idx = (border[None, :] + nw * torch.arange(bsz, device=q.device)[:, None]).reshape(-1)
    mask = (grid.mask[border].unsqueeze(1) + bias.unsqueeze(0)).to(q.dtype).repeat(bsz, 1, 1, 1)
    fixed = F.scaled_dot_product_attention(q[idx], k[idx], v[idx], attn_mask=mask)
    if out.requires_grad:
        return out.index_copy(0, idx, fixed)
    out[idx] = fixed
    return out
