"""The metric names TITA Studio knows, what each computes in each convention, and its direction.

A metric's function takes the source planes and the fused plane (float64, 0-255) and the convention.
In "vifb" every metric is computed per RGB channel and averaged, except SF, which VIFB computes once on
the channels laid side by side (an H x 3W matrix).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tita_studio.errors import InputError
from tita_studio.metrics import chen, correlation, fmi, gradient, information, mef_ssim, ssim, statistics, vif

PlaneFn = Callable[[Sequence[np.ndarray], np.ndarray, str], float]


@dataclass(frozen=True)
class Metric:
    """One registered metric: its function on planes, direction and source-count limits."""

    name: str
    fn: PlaneFn
    summary: str
    higher_is_better: bool = True
    exact_sources: int | None = None


def _fused_only(fn: Callable[[np.ndarray], float]) -> PlaneFn:
    return lambda sources, fused, convention: fn(fused)


def _pair(fn: Callable[[Sequence[np.ndarray], np.ndarray], float]) -> PlaneFn:
    return lambda sources, fused, convention: fn(sources, fused)


def _mi(sources: Sequence[np.ndarray], fused: np.ndarray, convention: str) -> float:
    if convention == "vifb":
        return information.mutual_information(sources, fused, base=np.e, minmax=True)
    return information.mutual_information(sources, fused)


METRICS: dict[str, Metric] = {m.name: m for m in [
    Metric("EN", _fused_only(information.entropy), "entropy of the fused image (bits)"),
    Metric("SD", _fused_only(statistics.standard_deviation), "standard deviation (contrast)"),
    Metric("SF", lambda s, f, c: gradient.spatial_frequency(f, divide_by_pixels=c == "vifb"),
           "spatial frequency"),
    Metric("AG", _fused_only(gradient.average_gradient), "average gradient"),
    Metric("EI", _fused_only(gradient.edge_intensity), "edge intensity (mean Sobel magnitude)"),
    Metric("MI", _mi, "mutual information with the sources, summed (bits; nats in vifb)"),
    Metric("CE", _pair(information.cross_entropy), "cross entropy to the sources", higher_is_better=False),
    Metric("FMI", _pair(fmi.fmi), "feature (edge) mutual information, 3x3 windows"),
    Metric("Qabf", _pair(gradient.qabf), "edge information transferred (Xydeas-Petrovic)"),
    Metric("Nabf", _pair(gradient.nabf), "fusion artefacts (Kumar)", higher_is_better=False),
    Metric("VIF", _pair(vif.vif), "visual information fidelity, summed over sources"),
    Metric("SSIM", lambda s, f, c: ssim.ssim(s, f, total=c == "vifb"),
           "structural similarity (mean over sources; sum in vifb)"),
    Metric("MEF-SSIM", _pair(mef_ssim.mef_ssim), "multi-exposure fusion SSIM (Ma et al.)"),
    Metric("Qcb", _pair(chen.qcb), "Chen-Blum perceptual quality"),
    Metric("Qcv", _pair(chen.qcv), "Chen-Varshney perceptual distance", higher_is_better=False),
    Metric("CC", _pair(correlation.correlation_coefficient), "correlation coefficient (mean over sources)"),
    Metric("SCD", _pair(correlation.scd), "sum of the correlations of differences", exact_sources=2),
    Metric("PSNR", lambda s, f, c: statistics.psnr(s, f, vifb=c == "vifb"), "peak signal-to-noise ratio (dB)"),
    Metric("RMSE", lambda s, f, c: statistics.rmse(s, f, vifb=c == "vifb"), "root mean squared error",
           higher_is_better=False),
]}

DEFAULT_METRICS = ("EN", "SD", "SF", "AG", "MI", "FMI", "Qabf", "Nabf", "VIF", "SSIM", "Qcb", "Qcv", "CC", "SCD")
"""Scored when no list is given ("standard"); MEF-SSIM is added for more than two sources."""

VIFB_METRICS = ("CE", "EN", "MI", "PSNR", "AG", "EI", "Qabf", "SD", "SF", "RMSE", "SSIM", "Qcb", "Qcv")
"""The 13 metrics of VIFB's tables, scored by default in the "vifb" convention."""

VIFB_NAMES = {"Cross_entropy": "CE", "Entropy": "EN", "Mutinf": "MI", "Psnr": "PSNR", "Avg_gradient": "AG",
              "Edge_intensity": "EI", "Qabf": "Qabf", "Variance": "SD", "Spatial_frequency": "SF",
              "Rmse": "RMSE", "Ssim": "SSIM", "Qcb": "Qcb", "Qcv": "Qcv"}
"""VIFB's file names for its metrics, mapped to ours."""

_BY_LOWER = {name.lower(): name for name in METRICS} | {"mefssim": "MEF-SSIM", "mef_ssim": "MEF-SSIM"}


def resolve(names: Sequence[str]) -> list[str]:
    """Canonical metric names for user-typed ones (case-insensitive); InputError for unknown names."""
    out = []
    for name in names:
        key = name.strip().lower()
        if key not in _BY_LOWER:
            raise InputError(f"unknown metric {name!r}; known metrics: {', '.join(METRICS)}")
        if _BY_LOWER[key] not in out:
            out.append(_BY_LOWER[key])
    return out


def default_metrics(n_sources: int, convention: str) -> list[str]:
    """Metrics scored when the caller names none, for this many sources and convention."""
    names = list(VIFB_METRICS if convention == "vifb" else DEFAULT_METRICS)
    if n_sources != 2:
        names = [n for n in names if METRICS[n].exact_sources in (None, n_sources)]
    if n_sources > 2:
        names.append("MEF-SSIM")
    return names
