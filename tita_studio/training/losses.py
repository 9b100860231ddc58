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


# ---- terms added for issue #13 (off by default) ---------------------------------------------------
_MEF_K = 0.03
_MEF_SCALES = torch.tensor([0.0448, 0.2856, 0.3001]) / (0.0448 + 0.2856 + 0.3001)
_F64_EPS = float(torch.finfo(torch.float64).eps)


def _filter_valid(x: Tensor, kernel: Tensor) -> Tensor:
    """Separable filter of (N, C, H, W) with a 1-D kernel, valid region only."""
    c = x.shape[1]
    k = kernel.to(x)
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _mef_ssim_scale(seq: Tensor, fused: Tensor) -> Tensor:
    """One scale of MEF-SSIM per sample (N,): seq (N, K, H, W) and fused (N, 1, H, W), both 0..255.

    The desired structure depends on the sources only, so it is computed without gradient; the gradient
    flows through the fused image's local mean, variance and covariances alone (always finite).
    """
    w = SSIM_WINDOW
    box = torch.full((w,), 1.0 / w, dtype=seq.dtype, device=seq.device)
    gauss = _GAUSS.to(seq)
    n, k = seq.shape[:2]
    with torch.no_grad():
        hi = F.max_pool2d(seq, w, stride=1)
        flat = hi == -F.max_pool2d(-seq, w, stride=1)  # (N, K, h, w): exactly flat patches
        mu, gmu = _filter_valid(seq, box), _filter_valid(seq, gauss)
        prods = (seq[:, :, None] * seq[:, None]).flatten(1, 2)  # (N, K*K, H, W)
        box_cov = _filter_valid(prods, box).view(n, k, k, *mu.shape[2:]) - mu[:, :, None] * mu[:, None]
        g_cov = _filter_valid(prods, gauss).view(n, k, k, *mu.shape[2:]) - gmu[:, :, None] * gmu[:, None]
        zero = flat[:, :, None] | flat[:, None]
        box_cov, g_cov = box_cov.masked_fill(zero, 0.0), g_cov.masked_fill(zero, 0.0)
        norms = (w * w * torch.diagonal(box_cov, dim1=1, dim2=2).movedim(-1, 1)).clamp_min(0).sqrt()
        ed = norms + 0.001
        total = (w * w * box_cov.sum((1, 2))).clamp_min(0).sqrt().masked_fill(flat.all(1), 0.0)
        consistency = (total + _F64_EPS) / (norms.sum(1) + _F64_EPS)
        consistency = torch.where(consistency > 1, 1 - _F64_EPS, consistency).clamp_min(_F64_EPS)
        p = torch.tan(torch.pi / 2 * consistency).clamp_max(10.0)
        weights = (ed / w) ** p[:, None] + _F64_EPS
        coef = weights / weights.sum(1, keepdim=True) / ed  # (N, K, h, w)
        pair = coef[:, :, None] * coef[:, None]
        r_norm = (w * w * (pair * box_cov).sum((1, 2))).clamp_min(0).sqrt()
        scale = torch.where(r_norm > 0, ed.amax(1) / torch.where(r_norm > 0, r_norm, 1.0), 1.0)
        var_r = scale * scale * (pair * g_cov).sum((1, 2))
    fmu = _filter_valid(fused, gauss)[:, 0]
    var_f = _filter_valid(fused * fused, gauss)[:, 0] - fmu * fmu
    cross = _filter_valid(seq * fused, gauss) - gmu * fmu[:, None]
    cov_rf = scale * (coef * cross).sum(1)
    c = (_MEF_K * 255) ** 2
    return ((2 * cov_rf + c) / (var_r + var_f + c)).flatten(1).mean(1)


def _downsample(x: Tensor) -> Tensor:
    """2x2 mean then every second pixel, symmetric (= replicate for one pixel) bottom/right border."""
    p = F.pad(x, (0, 1, 0, 1), mode="replicate")
    return ((p[..., :-1, :-1] + p[..., 1:, :-1] + p[..., :-1, 1:] + p[..., 1:, 1:]) / 4)[..., ::2, ::2]


def mef_ssim(seq: Tensor, fused: Tensor) -> Tensor:
    """Differentiable MEF-SSIM (Ma et al. 2015) per sample (N,), as tita_studio.metrics.mef_ssim computes it.

    seq: (N, K, H, W) exposures, fused: (N, 1, H, W), both in [0, 1]; three scales when H, W >= 44
    (fewer on smaller crops, at least 11).
    Why: the metric users judge exposure fusion by; the paper's mean-intensity target pulls a bracket
    toward mid-grey instead of toward the well-exposed parts of each frame.
    """
    dtype = fused.dtype
    # float64: in float32 tan(pi/2 * (1 - eps)) overflows to a huge negative exponent (NaN weights), and
    # the 0..255 variances cancel; the crops are small, so the cost is negligible next to the network.
    with torch.autocast(device_type=fused.device.type, enabled=False):
        seq, fused = seq.double() * 255.0, fused.double() * 255.0
        scores = []
        for level in range(3):
            if level:
                if min(seq.shape[-2:]) < 2 * SSIM_WINDOW:
                    break  # a crop too small for the coarser scales: the scales that fit, weights renormalised
                seq, fused = _downsample(seq), _downsample(fused)
            scores.append(_mef_ssim_scale(seq, fused))
        s = torch.stack(scores, 1).clamp_min(1e-6)  # a structure term can dip below 0 on noise
        weights = _MEF_SCALES[: len(scores)].to(s)
        return (s ** (weights / weights.sum())).prod(1).to(dtype)


def reference_loss(fused: Tensor, reference: Tensor) -> Tensor:
    """20 L1 + 10 (1 - SSIM) to a reference image, per sample (N,): zero when fused == reference.

    Used toward a synthetic pair's ground truth and toward a classical teacher's fusion, on the same
    scale as the published loss's intensity and SSIM terms.
    """
    with torch.autocast(device_type=fused.device.type, enabled=False):
        f, r = fused.float(), reference.float()
        l1 = (f - r).abs().flatten(1).mean(1)
        return W_INT * l1 + W_SSIM * (1 - ssim(f, r))
