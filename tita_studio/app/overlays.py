"""Overlay maps from a FusionResult's FusionMaps, coloured for display (numpy only, no Qt).

Names are shared by the overlay menu and `tita-studio gui --overlay NAME`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from tita_studio.app.config import OverlaySpec
from tita_studio.model.maps import FusionMaps

OVERLAY_NAMES = ("oaf", "oaf-share", "ipa", "relation")
COLORMAPS = {"viridis": cv2.COLORMAP_VIRIDIS, "magma": cv2.COLORMAP_MAGMA, "turbo": cv2.COLORMAP_TURBO,
             "grey": None}
# Six distinguishable colours for the dominant-branch map (A: warm, B: cool).
BRANCH_COLOURS = np.array([[230, 85, 13], [253, 174, 107], [255, 230, 140],
                           [49, 130, 189], [107, 174, 214], [198, 219, 239]], dtype=np.uint8)
BRANCH_LABELS = ("high-pass A", "additive A", "multiplicative A", "high-pass B", "additive B", "multiplicative B")

EXPLANATIONS = {
    "oaf": "Which of the six fusion branches contributes most to the fused features at each pixel: "
           "high-pass (edges and texture), additive (a blend) or multiplicative (one source gating the "
           "other), each taken from source A or B. Large patches of one colour mean the network uses one "
           "kind of combination there.",
    "oaf-share": "The share of one fusion branch in the fused features at each pixel, from 0 (unused) to "
                 "1 (the only contributor). Compare the high-pass share of A and B to see whose edges "
                 "the network keeps.",
    "ipa": "Cross-attention share: when the two sources exchange information, how much a pixel of one "
           "stream looks at the other source instead of its own image (0 to 1). Bright areas are where "
           "the network borrows from the other source.",
    "relation": "Relation score: how strongly the network judges the two sources to carry related "
                "content at each pixel. The attention exchange is weighted by it.",
}


@dataclass
class OverlayImage:
    """A map ready to draw: values for the read-out, RGBA for display, and what the legend shows."""

    values: np.ndarray  # (h, w) float32 at map resolution (branch index for the categorical map)
    rgba: np.ndarray  # (h, w, 4) uint8, C-contiguous
    lo: float
    hi: float
    title: str
    explanation: str
    categories: tuple[str, ...] = ()  # non-empty for a categorical map

    def value_text(self, row: int, col: int) -> str:
        """The map value at a map pixel, as the status bar shows it."""
        v = self.values[row, col]
        return self.categories[int(v)] if self.categories else f"{v:.3f}"


def spec_for_name(name: str, base: OverlaySpec | None = None) -> OverlaySpec:
    """The spec an overlay name stands for (defaults: mean over blocks, stream A)."""
    if name not in (*OVERLAY_NAMES, "none"):
        raise ValueError(f"unknown overlay {name!r}; choose one of {', '.join(OVERLAY_NAMES)}")
    return replace(base or OverlaySpec(), kind=name)


def colormap_lut(name: str) -> np.ndarray:
    """(256, 3) uint8 RGB lookup table."""
    ramp = np.arange(256, dtype=np.uint8)[:, None]
    code = COLORMAPS[name]
    if code is None:
        return np.repeat(ramp, 3, axis=1)
    return cv2.applyColorMap(ramp, code)[:, 0, ::-1].copy()


def _map_values(maps: FusionMaps, spec: OverlaySpec) -> tuple[np.ndarray, str]:
    blocks = maps.relation.shape[1]
    where = "mean over blocks" if spec.block == 0 else f"block {spec.block}/{blocks}"
    if spec.kind == "oaf":
        return maps.oaf_contribution[0].argmax(dim=0).float().numpy(), "Dominant OAF branch"
    if spec.kind == "oaf-share":
        return maps.oaf_contribution[0, spec.term].float().numpy(), f"OAF share of {BRANCH_LABELS[spec.term]}"
    stack = maps.cross_share if spec.kind == "ipa" else maps.relation
    s = 0 if spec.stream == "A" else 1
    chosen = stack[0, :, s].mean(dim=0) if spec.block == 0 else stack[0, spec.block - 1, s]
    label = "IPA cross-attention share" if spec.kind == "ipa" else "IPA relation score"
    return chosen.float().numpy(), f"{label}, stream {spec.stream}, {where}"


def compute_overlay(maps: FusionMaps, spec: OverlaySpec, untrained: bool = False) -> OverlayImage | None:
    """The overlay for `spec`, or None when the spec draws nothing."""
    if spec.kind == "none":
        return None
    values, title = _map_values(maps, spec)
    values = np.ascontiguousarray(values, dtype=np.float32)
    alpha = np.uint8(round(255 * min(1.0, max(0.0, spec.opacity))))
    rgba = np.empty((*values.shape, 4), np.uint8)
    rgba[..., 3] = alpha
    if untrained:
        title += " (UNTRAINED weights)"
    if spec.kind == "oaf":
        rgba[..., :3] = BRANCH_COLOURS[values.astype(np.int64)]
        return OverlayImage(values, rgba, 0.0, 5.0, title, EXPLANATIONS["oaf"], BRANCH_LABELS)
    lo, hi = (np.percentile(values, [spec.clip_percent, 100 - spec.clip_percent]) if spec.clip_percent > 0
              else (values.min(), values.max()))
    lo, hi = float(lo), float(hi)
    scaled = np.clip((values - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    rgba[..., :3] = colormap_lut(spec.colormap)[np.round(scaled * 255).astype(np.uint8)]
    return OverlayImage(values, rgba, lo, hi, title, EXPLANATIONS[spec.kind])
