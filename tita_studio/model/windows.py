"""Window geometry shared by every attention block, computed once per feature-map size.

Tokens travel as (B, H, W, C). A block gathers them into window order with ONE index_select (the
cyclic shift of shifted blocks is folded into the index) and adds its output back with ONE index_add
(which is also the residual), instead of roll + partition + reverse + roll + add.

On shifted grids, windows are ordered interior first: only the last window row and column see the
-100 shift mask, so the interior runs with the shared (1, heads, N, N) bias in SDPA's fused kernel
and only the border windows carry their own masks.
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


def _window_tokens(height: int, width: int, ws: int, shift: int) -> Tensor:
    """(nW, ws*ws) flat image indices of each window's tokens, windows row-major on the rolled grid."""
    rows = (torch.arange(height) + shift) % height
    cols = (torch.arange(width) + shift) % width
    flat = rows[:, None] * width + cols[None, :]
    return flat.view(height // ws, ws, width // ws, ws).permute(0, 2, 1, 3).reshape(-1, ws * ws)


def _region_mask(height: int, width: int, ws: int, shift: int) -> Tensor:
    """(nW, N, N) additive mask: -100 between tokens that the cyclic shift brought together."""
    region = torch.zeros(height, width)
    cuts = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
    label = 0
    for rows in cuts:
        for cols in cuts:
            region[rows, cols] = label
            label += 1
    labels = region.view(height // ws, ws, width // ws, ws).permute(0, 2, 1, 3).reshape(-1, ws * ws)
    return torch.where(labels[:, None, :] != labels[:, :, None], MASK_VALUE, 0.0)


@dataclass
class WindowGrid:
    """Token orders and shift masks of one padded feature map, shared by all blocks of a forward."""

    height: int
    width: int
    ws: int
    shift: int
    plain_order: Tensor  # (L,) image index of each token in window order
    shifted_order: Tensor  # (L,) the same for the shifted grid, interior windows first
    n_interior: int  # shifted-grid windows that need no mask
    border_mask: Tensor  # (nW - n_interior, N, N)

    @classmethod
    def build(cls, height: int, width: int, ws: int, shift: int, device: torch.device) -> WindowGrid:
        plain = _window_tokens(height, width, ws, 0).reshape(-1)
        shifted = _window_tokens(height, width, ws, shift)
        mask = _region_mask(height, width, ws, shift)
        is_border = (mask != 0).flatten(1).any(1)
        order = torch.cat([torch.nonzero(~is_border).flatten(), torch.nonzero(is_border).flatten()])
        n_interior = int((~is_border).sum())
        return cls(height, width, ws, shift, plain.to(device), shifted[order].reshape(-1).to(device),
                   n_interior, mask[is_border].to(device))

    @property
    def tokens(self) -> int:
        return self.height * self.width

    def order(self, shifted: bool) -> Tensor:
        return self.shifted_order if shifted else self.plain_order


def gather(x: Tensor, order: Tensor) -> Tensor:
    """(B, H, W, C) or (B, L, C) -> (B, L, C) in window order."""
    return x.reshape(x.shape[0], -1, x.shape[-1]).index_select(1, order)


def scatter_add(x: Tensor, order: Tensor, windows: Tensor) -> Tensor:
    """x + windows put back in image order; in place when no gradient is being recorded."""
    flat = x.view(x.shape[0], -1, x.shape[-1])
    if torch.is_grad_enabled() and (x.requires_grad or windows.requires_grad):
        return flat.index_add(1, order, windows.to(x.dtype)).view_as(x)
    flat.index_add_(1, order, windows.to(x.dtype))
    return x


def scatter(values: Tensor, order: Tensor, grid: WindowGrid) -> Tensor:
    """(B, L, ...) per-token values in window order -> (B, H, W, ...) in image order."""
    out = torch.empty_like(values)
    out[:, order] = values
    return out.view(values.shape[0], grid.height, grid.width, *values.shape[2:])


def residual_add(x: Tensor, delta: Tensor) -> Tensor:
    """x + delta, in place when no gradient is being recorded (saves one full-size allocation)."""
    if torch.is_grad_enabled() and (x.requires_grad or delta.requires_grad):
        return x + delta
    return x.add_(delta)


def window_sdpa(q: Tensor, k: Tensor, v: Tensor, bias: Tensor, grid: WindowGrid, shifted: bool) -> Tensor:
    """Attention inside windows with the relative-position bias (and the shift mask on shifted grids).

    q, k, v: (B, nW, heads, N, d); returns (B, nW, heads, N, d).
    """
    b = q.shape[0]
    bias = bias.to(q.dtype).unsqueeze(0)
    if not shifted or grid.n_interior == q.shape[1]:
        out = F.scaled_dot_product_attention(q.flatten(0, 1), k.flatten(0, 1), v.flatten(0, 1), attn_mask=bias)
        return out.unflatten(0, (b, -1))
    n = grid.n_interior
    parts = []
    if n:
        inner = F.scaled_dot_product_attention(q[:, :n].flatten(0, 1), k[:, :n].flatten(0, 1),
                                               v[:, :n].flatten(0, 1), attn_mask=bias)
        parts.append(inner.unflatten(0, (b, -1)))
    mask = grid.border_mask.to(q.dtype).unsqueeze(1) + bias
    parts.append(F.scaled_dot_product_attention(q[:, n:], k[:, n:], v[:, n:], attn_mask=mask))
    return torch.cat(parts, 1) if len(parts) > 1 else parts[0]
