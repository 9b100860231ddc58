"""Fusion quality metrics (no Qt, no torch): `score` for images, plane functions for single metrics.

Conventions and data scales: see `tita_studio.metrics.conventions` and docs/metrics.md.
"""

from tita_studio.metrics.api import score
from tita_studio.metrics.chen import qcb, qcv
from tita_studio.metrics.conventions import CONVENTIONS, luma, to_unit255
from tita_studio.metrics.correlation import correlation_coefficient, scd
from tita_studio.metrics.fmi import edge_map, fmi
from tita_studio.metrics.gradient import average_gradient, edge_intensity, nabf, qabf, spatial_frequency
from tita_studio.metrics.information import cross_entropy, entropy, mutual_information
from tita_studio.metrics.mef_ssim import mef_ssim
from tita_studio.metrics.registry import DEFAULT_METRICS, METRICS, VIFB_METRICS, Metric, resolve
from tita_studio.metrics.ssim import ssim
from tita_studio.metrics.statistics import psnr, rmse, standard_deviation
from tita_studio.metrics.vif import vif

__all__ = [
    "CONVENTIONS", "DEFAULT_METRICS", "METRICS", "VIFB_METRICS", "Metric", "average_gradient",
    "correlation_coefficient", "cross_entropy", "edge_intensity", "edge_map", "entropy", "fmi", "luma",
    "mef_ssim", "mutual_information", "nabf", "psnr", "qabf", "qcb", "qcv", "resolve", "rmse", "scd",
    "score", "spatial_frequency", "ssim", "standard_deviation", "to_unit255", "vif",
]
