"""The one renderer of the network's maps: which values a map shows, its palette, labels and legend.

The command line's `--maps`, the window's overlays and the window's map export all draw through here,
so a map looks the same and means the same everywhere. numpy + OpenCV only (no Qt).

Maps by name (`MAP_NAMES`): oaf (the dominant OAF branch at each pixel, categorical), oaf-share (one
branch's share of the fused features), ipa (IPA cross-attention share), relation (IPA relation score).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tita_studio.atomic import atomic_write
from tita_studio.errors import InputError
from tita_studio.model.maps import OAF_TERMS, STREAMS, FusionMaps

MAP_NAMES = ("oaf", "oaf-share", "ipa", "relation")
GHOST_MAP = "ghost"  # deghosting's mask (pipeline.deghost), drawn like the network's continuous maps
OVERLAY_NAMES = (*MAP_NAMES, GHOST_MAP)
COLORMAPS = {"viridis": cv2.COLORMAP_VIRIDIS, "magma": cv2.COLORMAP_MAGMA, "turbo": cv2.COLORMAP_TURBO,
             "grey": None}
# One colour per OAF branch, in OAF_TERMS order: source A in warm hues, source B in cool ones.
BRANCH_COLOURS = np.array([[230, 85, 13], [253, 174, 107], [255, 230, 140],
                           [49, 130, 189], [107, 174, 214], [198, 219, 239]], dtype=np.uint8)
BRANCH_LABELS = ("high-pass A", "additive A", "multiplicative A", "high-pass B", "additive B", "multiplicative B")
assert len(BRANCH_LABELS) == len(OAF_TERMS) == len(BRANCH_COLOURS)


@dataclass(frozen=True)
class MapChoice:
    """Which map: name (MAP_NAMES), branch `term` (oaf-share), ISF `block` (0: mean over blocks, else
    1-based) and `stream` ("A" or "B") for the IPA maps."""

    name: str
    term: int = 0
    block: int = 0
    stream: str = "A"


@dataclass
class RenderedMap:
    """A map ready to show or save: its values (for read-outs), RGB, range and labels."""

    values: np.ndarray  # (h, w) float32; the branch index for the categorical map
    rgb: np.ndarray  # (h, w, 3) uint8, C-contiguous
    lo: float
    hi: float
    title: str
    categories: tuple[str, ...] = ()  # non-empty for a categorical map
    colormap: str = "viridis"

    def value_text(self, row: int, col: int) -> str:
        """The value at a map pixel in words (a branch name for the categorical map)."""
        v = self.values[row, col]
        return self.categories[int(v)] if self.categories else f"{v:.3f}"


def colormap_lut(name: str) -> np.ndarray:
    """(256, 3) uint8 RGB lookup table of a colormap in COLORMAPS."""
    if name not in COLORMAPS:
        raise InputError(f"unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}")
    ramp = np.arange(256, dtype=np.uint8)[:, None]
    code = COLORMAPS[name]
    if code is None:
        return np.repeat(ramp, 3, axis=1)
    return cv2.applyColorMap(ramp, code)[:, 0, ::-1].copy()


def dominant_branch(maps: FusionMaps) -> np.ndarray:
    """Index (OAF_TERMS order) of the branch contributing most at each pixel, first image, float32."""
    return maps.oaf_contribution[0].argmax(dim=0).float().numpy()


def map_values(maps: FusionMaps, choice: MapChoice) -> tuple[np.ndarray, str]:
    """The values a map shows and its title."""
    if choice.name not in MAP_NAMES:
        raise InputError(f"unknown map {choice.name!r}; choose one of {', '.join(MAP_NAMES)}")
    if choice.name == "oaf":
        return dominant_branch(maps), "Dominant OAF branch"
    if choice.name == "oaf-share":
        return maps.oaf_contribution[0, choice.term].float().numpy(), f"OAF share of {BRANCH_LABELS[choice.term]}"
    blocks = maps.relation.shape[1]
    where = "mean over blocks" if choice.block == 0 else f"block {choice.block}/{blocks}"
    stack = maps.cross_share if choice.name == "ipa" else maps.relation
    s = STREAMS.index(choice.stream)
    chosen = stack[0, :, s].mean(dim=0) if choice.block == 0 else stack[0, choice.block - 1, s]
    label = "IPA cross-attention share" if choice.name == "ipa" else "IPA relation score"
    return chosen.float().numpy(), f"{label}, stream {choice.stream}, {where}"


def render_map(maps: FusionMaps, choice: MapChoice, colormap: str = "viridis", clip_percent: float = 1.0,
               untrained: bool = False) -> RenderedMap:
    """Colour a map: the branch palette for the dominant branch, else `colormap` over the values clipped
    at `clip_percent` from both ends."""
    values, title = map_values(maps, choice)
    if untrained:
        title += " (UNTRAINED weights)"
    if choice.name == "oaf":
        values = np.ascontiguousarray(values, dtype=np.float32)
        rgb = np.ascontiguousarray(BRANCH_COLOURS[values.astype(np.int64)])
        return RenderedMap(values, rgb, 0.0, float(len(OAF_TERMS) - 1), title, BRANCH_LABELS)
    return render_values(values, title, colormap, clip_percent)


def render_values(values: np.ndarray, title: str, colormap: str = "viridis", clip_percent: float = 1.0,
                  value_range: tuple[float, float] | None = None) -> RenderedMap:
    """Colour any continuous map (a network map, the ghost mask) with `colormap` over `value_range`, or
    over its values clipped at `clip_percent` from both ends."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    lo, hi = (value_range if value_range is not None
              else np.percentile(values, [clip_percent, 100 - clip_percent]) if clip_percent > 0
              else (values.min(), values.max()))
    lo, hi = float(lo), float(hi)
    scaled = np.clip((values - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    rgb = np.ascontiguousarray(colormap_lut(colormap)[np.round(scaled * 255).astype(np.uint8)])
    return RenderedMap(values, rgb, lo, hi, title, colormap=colormap)


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.4) -> None:
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 2, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


def with_legend(rendered: RenderedMap, size: tuple[int, int] | None = None) -> np.ndarray:
    """The map (resized to `size` = (height, width) when given, nearest neighbour) with its title and a
    legend at the right: the branch colours for the categorical map, else a colour bar with the range."""
    rgb = rendered.rgb if size is None else cv2.resize(rendered.rgb, (size[1], size[0]),
                                                        interpolation=cv2.INTER_NEAREST)
    h = rgb.shape[0]
    if rendered.categories:
        panel = np.full((h, 130, 3), 40, np.uint8)
        for i, name in enumerate(rendered.categories):
            y = 20 + 22 * i
            if y + 12 > h:
                break
            panel[y - 10 : y + 4, 6:20] = BRANCH_COLOURS[i]
            _text(panel, name, (24, y + 2))
    else:
        panel = np.full((h, 70, 3), 40, np.uint8)
        ramp = colormap_lut(rendered.colormap)[np.linspace(255, 0, max(h - 40, 2)).astype(np.uint8)]
        panel[20 : 20 + ramp.shape[0], 8:24] = ramp[:, None, :]
        _text(panel, f"{rendered.hi:.3g}", (26, 28))
        _text(panel, f"{rendered.lo:.3g}", (26, h - 22))
    out = np.concatenate([rgb, panel], axis=1)
    _text(out, rendered.title, (6, 16), 0.45)
    return out


def write_png(path: Path, rgb: np.ndarray) -> Path:
    """An RGB uint8 image as an 8-bit PNG, written atomically."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    if not ok:
        raise InputError(f"{path}: the PNG encoder failed")
    return atomic_write(path, encoded.tobytes())


def every_map(maps: FusionMaps) -> list[tuple[str, MapChoice]]:
    """(file stem, choice) of every map: the dominant branch, each branch's share, and the IPA maps of
    each stream, as the mean over blocks and per block."""
    out = [("oaf_dominant", MapChoice("oaf"))]
    out += [(f"oaf_share_{term}", MapChoice("oaf-share", term=i)) for i, term in enumerate(OAF_TERMS)]
    for stream in STREAMS:
        for name, stem in (("relation", "ipa_relation"), ("ipa", "ipa_cross_share")):
            out.append((f"{stem}_mean_{stream}", MapChoice(name, block=0, stream=stream)))
            out += [(f"{stem}_block{b}_{stream}", MapChoice(name, block=b, stream=stream))
                    for b in range(1, maps.relation.shape[1] + 1)]
    return out


def maps_npz(maps: FusionMaps) -> bytes:
    """The raw maps (and the branch and stream names) as a compressed .npz."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **maps.to_numpy(), terms=np.array(OAF_TERMS), streams=np.array(STREAMS))
    return buffer.getvalue()
