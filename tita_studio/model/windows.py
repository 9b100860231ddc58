"""Window geometry shared by every attention block, computed once per feature-map size.

Tokens travel as (B, H, W, C). A block gathers them into window order with ONE index_select (the
cyclic shift of shifted blocks is folded into the index) and puts its output back with one more (by the
inverse permutation) added to the residual, instead of roll + partition + reverse + roll + add. Both
directions, and their gradients, are parallel gathers (index_add, the scatter, is several times slower).

On shifted grids, windows are ordered interior first: only the last window row and column see the
-100 shift mask, so the interior runs with the shared (1, heads, N, N) bias and only the border
windows carry their own masks. `attend` picks the attention kernel (SDPA or plain matmuls).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

MASK_VALUE = -100.0
EXPLICIT_CHUNK = 64  # windows per explicit-attention chunk: its logits stay in cache (measured)


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


class _Permute(torch.autograd.Function):
    """x.index_select(1, index) for a permutation, whose gradient is a gather by the inverse."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, index: Tensor, inverse: Tensor) -> Tensor:
        ctx.inverse = inverse
        return x.index_select(1, index)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        return grad.index_select(1, ctx.inverse), None, None


@dataclass(frozen=True)
class TokenOrder:
    """A window order of the tokens: index[i] is the image position of the i-th token in window order."""

    index: Tensor
    inverse: Tensor

    @classmethod
    def of(cls, index: Tensor) -> TokenOrder:
        inverse = torch.empty_like(index)
        inverse[index] = torch.arange(index.numel(), device=index.device)
        return cls(index, inverse)

    def to_windows(self, x: Tensor) -> Tensor:
        """(B, H, W, C) or (B, L, C) in image order -> (B, L, C) in window order."""
        return _Permute.apply(x.reshape(x.shape[0], -1, x.shape[-1]), self.index, self.inverse)

    def to_image(self, x: Tensor) -> Tensor:
        """(B, L, ...) in window order -> (B, L, ...) in image order."""
        return _Permute.apply(x, self.inverse, self.index)


@dataclass
class WindowGrid:
    """Token orders and shift masks of one padded feature map, shared by all blocks of a forward."""

    height: int
    width: int
    ws: int
    shift: int
    plain_order: TokenOrder
    shifted_order: TokenOrder  # interior windows first
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
        return cls(height, width, ws, shift, TokenOrder.of(plain.to(device)),
                   TokenOrder.of(shifted[order].reshape(-1).to(device)), n_interior, mask[is_border].to(device))

    @property
    def tokens(self) -> int:
        return self.height * self.width

    def order(self, shifted: bool) -> TokenOrder:
        return self.shifted_order if shifted else self.plain_order


def scatter_add(x: Tensor, order: TokenOrder, windows: Tensor) -> Tensor:
    """x + windows put back in image order; in place when no gradient is being recorded."""
    delta = order.to_image(windows.to(x.dtype)).view_as(x)
    return residual_add(x, delta)


def scatter(values: Tensor, order: TokenOrder, grid: WindowGrid) -> Tensor:
    """(B, L, ...) per-token values in window order -> (B, H, W, ...) in image order."""
    return order.to_image(values).view(values.shape[0], grid.height, grid.width, *values.shape[2:])


def records_grad(*tensors: Tensor) -> bool:
    """Whether autograd records an operation on these tensors (otherwise in-place and chunked work is safe)."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def residual_add(x: Tensor, delta: Tensor) -> Tensor:
    """x + delta, in place when no gradient is being recorded (saves one full-size allocation)."""
    if records_grad(x, delta):
        return x + delta
    return x.add_(delta)


def _explicit_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor) -> Tensor:
    """softmax(q k^T / sqrt(d) + mask) v with plain matmuls: on the CPU this beats SDPA in bfloat16 (2x,
    cache-sized chunks) and whenever a gradient is needed (4x: SDPA's math path there checks every row
    for -inf and cannot use its fused kernel because the bias table needs a gradient)."""
    scale = q.shape[-1] ** -0.5
    if records_grad(q, k, v, mask):
        return torch.softmax(torch.matmul(q * scale, k.transpose(-1, -2)) + mask, -1) @ v
    out = torch.empty(q.shape, dtype=q.dtype, device=q.device)
    per_mask = mask.shape[0] != 1
    for i in range(0, q.shape[0], EXPLICIT_CHUNK):
        part = slice(i, i + EXPLICIT_CHUNK)
        logits = torch.matmul(q[part], k[part].transpose(-1, -2)).mul_(scale)
        logits.add_(mask[part] if per_mask else mask)
        torch.matmul(torch.softmax(logits, -1), v[part], out=out[part])
    return out


def attend(q: Tensor, k: Tensor, v: Tensor, mask: Tensor) -> Tensor:
    """Attention of (W, heads, N, d) windows under an additive (1 or W, heads, N, N) mask, with the
    kernel that is fastest for this device, precision and gradient need (see _explicit_attention)."""
    mask = mask.to(q.dtype).contiguous()
    if q.device.type == "cpu" and (q.dtype != torch.float32 or records_grad(q, k, v, mask)):
        return _explicit_attention(q, k, v, mask)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def window_attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor, grid: WindowGrid, shifted: bool) -> Tensor:
    """Attention inside windows with the relative-position bias (and the shift mask on shifted grids).

    q, k, v: (B, nW, heads, N, d); returns (B, nW, heads, N, d).
    """
    b = q.shape[0]
    bias = bias.unsqueeze(0)
    if not shifted or grid.n_interior == q.shape[1]:
        return attend(q.flatten(0, 1), k.flatten(0, 1), v.flatten(0, 1), bias).unflatten(0, (b, -1))
    n = grid.n_interior
    parts = []
    if n:
        inner = attend(q[:, :n].flatten(0, 1), k[:, :n].flatten(0, 1), v[:, :n].flatten(0, 1), bias)
        parts.append(inner.unflatten(0, (b, -1)))
    mask = (grid.border_mask.to(bias.dtype).unsqueeze(1) + bias).repeat(b, 1, 1, 1)
    border = attend(q[:, n:].flatten(0, 1), k[:, n:].flatten(0, 1), v[:, n:].flatten(0, 1), mask)
    parts.append(border.unflatten(0, (b, -1)))
    return torch.cat(parts, 1) if len(parts) > 1 else parts[0]
