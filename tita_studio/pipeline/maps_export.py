"""The network's maps as files (`tita-studio fuse --maps DIR`): one PNG with a legend per map, drawn by
the one renderer (map_render), and the raw values as maps.npz. Every file is written atomically."""

from __future__ import annotations

from pathlib import Path

from tita_studio.atomic import atomic_write
from tita_studio.model.maps import FusionMaps
from tita_studio.pipeline.map_render import every_map, maps_npz, render_map, with_legend, write_png


def write_maps(maps: FusionMaps, out_dir: Path, colormap: str = "viridis", clip_percent: float = 1.0,
               untrained: bool = False) -> list[Path]:
    """Write maps.npz plus one PNG per map (see map_render.every_map); returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [atomic_write(out_dir / "maps.npz", maps_npz(maps))]
    for stem, choice in every_map(maps):
        rendered = render_map(maps, choice, colormap, clip_percent, untrained)
        written.append(write_png(out_dir / f"{stem}.png", with_legend(rendered)))
    return written
