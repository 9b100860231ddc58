"""The published loss: its terms, the task-specific intensity target, the gradient-weighted SSIM."""

from __future__ import annotations

import torch

from tita_studio.training.losses import fusion_loss, per_task, sobel_magnitude, ssim


def _pair() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.rand(4, 1, 24, 24, generator=g), torch.rand(4, 1, 24, 24, generator=g)


def test_intensity_target_is_max_or_mean() -> None:
    a, b = _pair()
    mef = torch.tensor([False, False, True, True])
    fused = torch.cat([torch.maximum(a, b)[:2], ((a + b) / 2)[2:]])
    terms = fusion_loss(a, b, fused, mef)
    assert torch.allclose(terms.intensity, torch.zeros(4), atol=1e-7)
    swapped = fusion_loss(a, b, fused, ~mef)
    assert (swapped.intensity > 0.05).all()


def test_ssim_and_weights() -> None:
    a, b = _pair()
    assert torch.allclose(ssim(a, a), torch.ones(4), atol=1e-6)
    assert (ssim(a, b) < 0.2).all()
    flat = torch.zeros_like(a)  # zero padding: no Sobel response at all
    terms = fusion_loss(a, flat, a, torch.zeros(4, dtype=torch.bool))
    assert torch.allclose(terms.ssim, torch.ones(4), atol=1e-4)  # all the SSIM weight on the textured A


def test_total_combines_terms_and_backpropagates() -> None:
    a, b = _pair()
    fused = torch.rand_like(a).requires_grad_()
    t = fusion_loss(a, b, fused, torch.zeros(4, dtype=torch.bool))
    assert torch.allclose(t.total, 20 * t.intensity + 20 * t.gradient + 10 * (1 - t.ssim))
    t.total.sum().backward()
    assert fused.grad is not None and torch.isfinite(fused.grad).all()


def test_sobel_is_abs_gx_plus_abs_gy() -> None:
    ramp = torch.arange(8.0).repeat(8, 1)[None, None]
    mag = sobel_magnitude(ramp)
    assert torch.allclose(mag[0, 0, 2:-2, 2:-2], torch.full((4, 4), 8.0))


def test_per_task_mean() -> None:
    values = torch.tensor([1.0, 2.0, 3.0, 5.0, 7.0])
    assert per_task(values, torch.tensor([0, 0, 1, 2, 2]), 3).tolist() == [1.5, 3.0, 6.0]


def test_loss_stays_float32_inside_autocast() -> None:
    a, b = _pair()
    fused = (a + b) / 2
    mef = torch.zeros(4, dtype=torch.bool)
    reference = fusion_loss(a, b, fused, mef).total
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = fusion_loss(a, b, fused, mef).total
    assert inside.dtype == torch.float32 and torch.equal(inside, reference)
