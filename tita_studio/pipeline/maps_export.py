"""The network's maps as files: colour-mapped PNGs with a legend, and the raw values as .npz."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tita_studio.atomic import atomic_write
from tita_studio.model.maps import OAF_TERMS, STREAMS, FusionMaps
from tita_studio.pipeline.writing import WriteOptions, encode_image

# A categorical palette (RGB) for the dominant OAF term: A in warm hues, B in cool ones.
TERM_COLOURS = np.array([[228, 26, 28], [255, 127, 0], [255, 221, 51],
                         [55, 126, 184], [77, 175, 74], [152, 78, 163]], dtype=np.uint8)


@dataclass(frozen=True)
class MapStyle:
    """How maps are drawn: colormap, clipping percentiles and legend size."""

    colormap: int = cv2.COLORMAP_VIRIDIS
    low_percentile: float = 1.0
    high_percentile: float = 99.0
    legend_width: int = 70


def colourise(values: np.ndarray, style: MapStyle | None = None) -> tuple[np.ndarray, float, float]:
    """RGB uint8 image of a 2-D map, clipped to its percentiles; returns the value range used."""
    st = style or MapStyle()
    lo, hi = (float(v) for v in np.percentile(values, [st.low_percentile, st.high_percentile]))
    hi = hi if hi > lo else lo + 1e-6
    scaled = np.clip((values - lo) / (hi - lo), 0, 1)
    bgr = cv2.applyColorMap((scaled * 255).astype(np.uint8), st.colormap)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), lo, hi


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.4) -> None:
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 2, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


def with_colourbar(rgb: np.ndarray, lo: float, hi: float, title: str, style: MapStyle | None = None) -> np.ndarray:
    """The map with a vertical colour bar and its value range at the right."""
    st = style or MapStyle()
    h = rgb.shape[0]
    panel = np.full((h, st.legend_width, 3), 40, np.uint8)
    ramp = np.linspace(255, 0, max(h - 40, 2)).astype(np.uint8)[:, None]
    bar = cv2.cvtColor(cv2.applyColorMap(ramp, st.colormap), cv2.COLOR_BGR2RGB)
    panel[20 : 20 + bar.shape[0], 8:24] = np.repeat(bar, 16, axis=1)
    _text(panel, f"{hi:.3g}", (26, 28))
    _text(panel, f"{lo:.3g}", (26, h - 22))
    out = np.concatenate([rgb, panel], axis=1)
    _text(out, title, (6, 16), 0.45)
    return out


def dominant_term(maps: FusionMaps) -> np.ndarray:
    """Index (0..5, OAF_TERMS order) of the term contributing most at each pixel, first image."""
    return maps.oaf_contribution[0].argmax(0).numpy()


def dominant_legend(index: np.ndarray) -> np.ndarray:
    """The categorical dominant-term map with a legend of the six terms."""
    rgb = TERM_COLOURS[index]
    h = rgb.shape[0]
    panel = np.full((h, 90, 3), 40, np.uint8)
    for i, name in enumerate(OAF_TERMS):
        y = 20 + 22 * i
        if y + 12 > h:
            break
        panel[y - 10 : y + 4, 6:20] = TERM_COLOURS[i]
        _text(panel, name, (24, y + 2))
    return np.concatenate([rgb, panel], axis=1)


def _png(path: Path, rgb: np.ndarray) -> None:
    data = encode_image(".png", rgb.astype(np.float32) / 255.0, WriteOptions(bit_depth=8), None)
    atomic_write(path, data)


def export_maps(maps: FusionMaps, out_dir: Path, style: MapStyle | None = None) -> list[Path]:
    """Write maps.npz plus one PNG per map: OAF weights and contributions, the dominant term, and
    the IPA relation and cross share of every block and their mean over blocks."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    npz = out_dir / "maps.npz"
    buffer = _npz_bytes(maps)
    atomic_write(npz, buffer)
    written.append(npz)

    def save(name: str, values: np.ndarray, title: str) -> None:
        rgb, lo, hi = colourise(values, style)
        path = out_dir / f"{name}.png"
        _png(path, with_colourbar(rgb, lo, hi, title, style))
        written.append(path)

    path = out_dir / "oaf_dominant.png"
    _png(path, dominant_legend(dominant_term(maps)))
    written.append(path)
    for i, term in enumerate(OAF_TERMS):
        save(f"oaf_weight_{term}", maps.oaf_weights[0, i].numpy(), f"OAF weight {term}")
        save(f"oaf_contribution_{term}", maps.oaf_contribution[0, i].numpy(), f"OAF share {term}")
    for s, stream in enumerate(STREAMS):
        save(f"ipa_relation_mean_{stream}", maps.relation[0, :, s].mean(0).numpy(), f"IPA relation {stream} mean")
        save(f"ipa_cross_share_mean_{stream}", maps.cross_share[0, :, s].mean(0).numpy(), f"IPA cross {stream} mean")
        for blk in range(maps.relation.shape[1]):
            save(f"ipa_relation_block{blk + 1}_{stream}", maps.relation[0, blk, s].numpy(),
                 f"IPA relation {stream} block {blk + 1}")
            save(f"ipa_cross_share_block{blk + 1}_{stream}", maps.cross_share[0, blk, s].numpy(),
                 f"IPA cross {stream} block {blk + 1}")
    return written


def _npz_bytes(maps: FusionMaps) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **maps.to_numpy(), terms=np.array(OAF_TERMS), streams=np.array(STREAMS))
    return buffer.getvalue()
