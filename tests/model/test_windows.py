"""The window machinery: token permutations and the attention kernels must compute the same thing."""

import pytest
import torch
import torch.nn.functional as F

from tita_studio.model.windows import EXPLICIT_CHUNK, WindowGrid, attend


def _qkv_mask(windows: int, per_window_mask: bool, dtype: torch.dtype = torch.float32):
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(windows, 6, 64, 10, generator=gen).to(dtype) for _ in range(3))
    mask = torch.randn(windows if per_window_mask else 1, 6, 64, 64, generator=gen)
    if per_window_mask:
        mask[:, :, :, 32:] -= 100.0  # a shift-mask-like block
    return q, k, v, mask


@pytest.mark.parametrize("per_window_mask", [False, True])
def test_explicit_bfloat16_kernel_matches_sdpa(per_window_mask):
    """Chunked plain-matmul attention (bfloat16 on the CPU) against SDPA in float32; the window count is
    not a multiple of the chunk so the last chunk is partial, and per-window masks follow their windows."""
    q, k, v, mask = _qkv_mask(EXPLICIT_CHUNK + 11, per_window_mask)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    with torch.inference_mode():
        got = attend(q.bfloat16(), k.bfloat16(), v.bfloat16(), mask)
    assert got.dtype == torch.bfloat16
    assert torch.allclose(got.float(), expected, atol=0.05)
    assert (got.float() - expected).abs().mean() < 5e-3


def test_training_kernel_gives_sdpa_gradients():
    """With gradients (training), the explicit kernel's values and gradients equal SDPA's, bias included."""
    q, k, v, mask = _qkv_mask(5, False)
    grads = []
    for use_sdpa in (True, False):
        leaves = [t.clone().requires_grad_(True) for t in (q, k, v, mask)]
        out = F.scaled_dot_product_attention(*leaves[:3], attn_mask=leaves[3]) if use_sdpa else attend(*leaves)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        grads.append([out.detach()] + [t.grad for t in leaves])
    for ref, got in zip(*grads, strict=True):
        assert torch.allclose(got, ref, atol=1e-5), (got - ref).abs().max()


def test_token_order_round_trip_and_gradient():
    grid = WindowGrid.build(16, 24, 8, 4, torch.device("cpu"))
    order = grid.order(True)
    assert sorted(order.index.tolist()) == list(range(16 * 24))
    x = torch.randn(2, 16, 24, 5, requires_grad=True)
    windows = order.to_windows(x)
    assert torch.equal(windows, x.reshape(2, -1, 5)[:, order.index])
    assert torch.equal(order.to_image(windows).view_as(x), x)
    weight = torch.randn_like(windows)
    (windows * weight).sum().backward()
    assert torch.equal(x.grad.reshape(2, -1, 5)[:, order.index], weight)


def test_shifted_grid_puts_masked_windows_last():
    grid = WindowGrid.build(32, 40, 8, 4, torch.device("cpu"))
    n_windows = (32 // 8) * (40 // 8)
    assert grid.n_interior == (32 // 8 - 1) * (40 // 8 - 1)
    assert grid.border_mask.shape == (n_windows - grid.n_interior, 64, 64)
    assert bool((grid.border_mask != 0).flatten(1).any(1).all())
