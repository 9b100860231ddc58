"""Overlays for the window: a map from the one renderer (pipeline.map_render) with the opacity and the
words the overlay panel shows. numpy only, no Qt.

Names are shared by the overlay menu and `tita-studio gui --overlay NAME` (map_render.MAP_NAMES).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tita_studio.app.config import OverlaySpec
from tita_studio.model.maps import FusionMaps
from tita_studio.pipeline.map_render import MAP_NAMES, MapChoice, RenderedMap, render_map

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
    if name not in (*MAP_NAMES, "none"):
        raise ValueError(f"unknown overlay {name!r}; choose one of {', '.join(MAP_NAMES)}")
    spec = replace(base or OverlaySpec(), kind=name)
    return replace(spec, opacity=0.6) if name != "none" and spec.opacity == 0 else spec


def choice_of(spec: OverlaySpec) -> MapChoice:
    """The renderer's map choice for an overlay spec."""
    return MapChoice(spec.kind, spec.term, spec.block, spec.stream)


def compute_overlay(maps: FusionMaps, spec: OverlaySpec, untrained: bool = False) -> OverlayImage | None:
    """The overlay for `spec`, or None when the spec draws nothing."""
    if spec.kind == "none":
        return None
    rendered = render_map(maps, choice_of(spec), spec.colormap, spec.clip_percent, untrained)
    alpha = np.full((*rendered.values.shape, 1), round(255 * min(1.0, max(0.0, spec.opacity))), np.uint8)
    rgba = np.ascontiguousarray(np.concatenate([rendered.rgb, alpha], axis=2))
    return OverlayImage(rendered, rgba, EXPLANATIONS[spec.kind])
