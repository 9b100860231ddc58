"""Overlays for the window: a map from the one renderer (pipeline.map_render) with the opacity and the
words the overlay panel shows. numpy only, no Qt.

Names are shared by the overlay menu and `tita-studio gui --overlay NAME` (map_render.OVERLAY_NAMES).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tita_studio.app.config import OverlaySpec
from tita_studio.model.maps import FusionMaps
from tita_studio.pipeline.fuse import FusionResult
from tita_studio.pipeline.map_render import GHOST_MAP, OVERLAY_NAMES, MapChoice, RenderedMap, render_map, render_values

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
    GHOST_MAP: "Ghost mask: where a frame disagreed with the reference frame once the exposure difference "
               "is taken out (something moved). There the result is drawn from the reference frame (1), with "
               "soft edges; elsewhere from every frame (0).",
}


@dataclass
class OverlayImage:
    """A rendered map with its opacity applied, and the explanation the panel shows."""

    map: RenderedMap
    rgba: np.ndarray  # (h, w, 4) uint8, C-contiguous
    explanation: str

    @property
    def values(self) -> np.ndarray:
        return self.map.values

    def value_text(self, row: int, col: int) -> str:
        return self.map.value_text(row, col)


def spec_for_name(name: str, base: OverlaySpec | None = None) -> OverlaySpec:
    """The spec an overlay name stands for (defaults: mean over blocks, stream A); a visible opacity."""
    if name not in (*OVERLAY_NAMES, "none"):
        raise ValueError(f"unknown overlay {name!r}; choose one of {', '.join(OVERLAY_NAMES)}")
    spec = replace(base or OverlaySpec(), kind=name)
    return replace(spec, opacity=0.6) if name != "none" and spec.opacity == 0 else spec


def choice_of(spec: OverlaySpec) -> MapChoice:
    """The renderer's map choice for an overlay spec."""
    return MapChoice(spec.kind, spec.term, spec.block, spec.stream)


def overlay_for(result: FusionResult, spec: OverlaySpec, untrained: bool = False) -> OverlayImage | None:
    """The overlay `spec` names for a result: a network map or the ghost mask; None when it has none."""
    if spec.kind == GHOST_MAP:
        if result.ghost_mask is None:
            return None
        return _with_alpha(render_values(result.ghost_mask, "Ghost mask (1: from the reference frame)",
                                         spec.colormap, value_range=(0.0, 1.0)), spec)
    return None if result.maps is None else compute_overlay(result.maps, spec, untrained)


def compute_overlay(maps: FusionMaps, spec: OverlaySpec, untrained: bool = False) -> OverlayImage | None:
    """The overlay of a network map for `spec`, or None when the spec draws nothing."""
    if spec.kind == "none":
        return None
    return _with_alpha(render_map(maps, choice_of(spec), spec.colormap, spec.clip_percent, untrained), spec)


def _with_alpha(rendered: RenderedMap, spec: OverlaySpec) -> OverlayImage:
    alpha = np.full((*rendered.values.shape, 1), round(255 * min(1.0, max(0.0, spec.opacity))), np.uint8)
    rgba = np.ascontiguousarray(np.concatenate([rendered.rgb, alpha], axis=2))
    return OverlayImage(rendered, rgba, EXPLANATIONS[spec.kind])
