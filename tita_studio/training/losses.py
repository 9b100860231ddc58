"""The published unsupervised fusion loss (../shared/spec/TITA_MODEL.md, "Training"), per sample, float32.

loss = 20 * L_int + 20 * L_grad + 10 * (1 - L_ssim):
L_int  = L1(F, max(A, B)) for IVF and MFF, L1(F, mean(A, B)) for MEF;
L_grad = L1(|Sobel F|, max(|Sobel A|, |Sobel B|)) with |Sobel| = |gx| + |gy|;
L_ssim = wA SSIM(A, F) + wB SSIM(B, F), w proportional to the mean Sobel magnitude of each source.
Per-sample values let the trainer form one loss per task from a mixed batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

W_INT, W_GRAD, W_SSIM = 20.0, 20.0, 10.0
SSIM_WINDOW, SSIM_SIGMA = 11, 1.5
_C1, _C2 = 0.01**2, 0.03**2  # SSIM constants for a data range of 1
_EPS = 1e-8

_SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def _gaussian_window() -> Tensor:
    x = torch.arange(SSIM_WINDOW, dtype=torch.float32) - SSIM_WINDOW // 2
    g = torch.exp(-(x**2) / (2 * SSIM_SIGMA**2))
    return g / g.sum()


_GAUSS = _gaussian_window()


def sobel_magnitude(x: Tensor) -> Tensor:
    """|gx| + |gy| of (N, 1, H, W), zero padding as in the reference code (SwinFusion's Sobelxy)."""
    kernels = torch.stack([_SOBEL, _SOBEL.t()])[:, None].to(x)
    g = F.conv2d(x, kernels, padding=1)
    return g.abs().sum(1, keepdim=True)


def _blur(x: Tensor) -> Tensor:
    """Separable 11x11 Gaussian (sigma 1.5), valid region only, as pytorch-msssim computes SSIM."""
    g = _GAUSS.to(x)
    c = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def ssim(x: Tensor, y: Tensor) -> Tensor:
    """Mean SSIM per sample (N,) of (N, 1, H, W) images in [0, 1]."""
    stats = _blur(torch.cat([x, y, x * x, y * y, x * y], 1))
    mx, my, xx, yy, xy = stats.unbind(1)
    vx, vy, cov = xx - mx * mx, yy - my * my, xy - mx * my
    s = ((2 * mx * my + _C1) * (2 * cov + _C2)) / ((mx * mx + my * my + _C1) * (vx + vy + _C2))
    return s.flatten(1).mean(1)


@dataclass
class LossTerms:
    """Per-sample terms (N,) and the weighted total (N,)."""

    intensity: Tensor
    gradient: Tensor
    ssim: Tensor
    total: Tensor


def fusion_loss(a: Tensor, b: Tensor, fused: Tensor, mean_intensity: Tensor) -> LossTerms:
    """The published loss per sample; mean_intensity (N,) bool picks mean(A, B) (MEF) over max(A, B).

    Always float32, even when called inside an autocast region: SSIM's variances cancel badly in bfloat16.
    """
    with torch.autocast(device_type=fused.device.type, enabled=False):
        return _fusion_loss(a.float(), b.float(), fused.float(), mean_intensity)


def _fusion_loss(a: Tensor, b: Tensor, fused: Tensor, mean_intensity: Tensor) -> LossTerms:
    target = torch.where(mean_intensity.view(-1, 1, 1, 1), (a + b) / 2, torch.maximum(a, b))
    l_int = (fused - target).abs().flatten(1).mean(1)
    ga, gb, gf = sobel_magnitude(torch.cat([a, b, fused])).chunk(3)
    l_grad = (gf - torch.maximum(ga, gb)).abs().flatten(1).mean(1)
    ma, mb = ga.flatten(1).mean(1), gb.flatten(1).mean(1)
    wa = (ma + _EPS) / (ma + mb + 2 * _EPS)  # 1/2 each when both sources are flat
    both = ssim(torch.cat([a, b]), torch.cat([fused, fused]))
    l_ssim = wa * both[: len(a)] + (1 - wa) * both[len(a) :]
    total = W_INT * l_int + W_GRAD * l_grad + W_SSIM * (1 - l_ssim)
    return LossTerms(l_int, l_grad, l_ssim, total)


def per_task(values: Tensor, task: Tensor, n_tasks: int) -> Tensor:
    """Mean of per-sample values over each task's samples, (n_tasks,); every task must be present."""
    sums = torch.zeros(n_tasks, dtype=values.dtype, device=values.device).index_add(0, task, values)
    counts = torch.bincount(task, minlength=n_tasks).to(values.dtype)
    return sums / counts
