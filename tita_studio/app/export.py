"""Writing what the window shows: the fused image (EXIF kept), the maps as PNG, a short report. No Qt."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from tita_studio.app.config import FusionSettings, OverlaySpec
from tita_studio.app.overlays import choice_of
from tita_studio.atomic import atomic_write
from tita_studio.pipeline.fuse import FusionResult
from tita_studio.pipeline.map_render import MAP_NAMES, render_map, with_legend, write_png
from tita_studio.pipeline.writing import WriteOptions, write_image


def export_image(path: Path, result: FusionResult, bit_depth: int | None) -> Path:
    """The fused image; keeps the reference source's EXIF/ICC and refuses to overwrite a source."""
    meta = result.sources[result.reference].meta
    return write_image(path, result.image, WriteOptions(bit_depth=bit_depth, force=True), meta=meta,
                       sources=[s.meta.path for s in result.sources])


def export_overlays(folder: Path, result: FusionResult, spec: OverlaySpec, untrained: bool) -> list[Path]:
    """Each overlay (at the current block, stream and colormap) as a PNG at the result size with its
    legend, drawn by the one map renderer and written atomically."""
    if result.maps is None:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    size = result.image.shape[:2]
    written = []
    for name in MAP_NAMES:
        rendered = render_map(result.maps, choice_of(replace(spec, kind=name)), spec.colormap, spec.clip_percent,
                              untrained)
        written.append(write_png(folder / f"map_{name}.png", with_legend(rendered, size)))
    return written


def report_text(result: FusionResult, settings: FusionSettings, engine: str,
                metrics: dict[str, dict[str, float]], overlays: Sequence[str] = ()) -> str:
    """A small Markdown report: sources, settings, model, timing, notes and metrics."""
    lines = ["# TITA Studio fusion report", "", "## Sources"]
    lines += [f"- {s.describe()}" for s in result.sources]
    lines += ["", "## Settings",
              f"- method: {result.method}", f"- alignment: {settings.align}",
              f"- model: {engine}", f"- device / precision: {settings.device} / {settings.precision}",
              f"- time: {result.seconds:.2f} s",
              f"- output size: {result.image.shape[1]}x{result.image.shape[0]}"]
    if result.alignment is not None:
        lines.append(f"- alignment result: {result.alignment.report()}")
    if result.notes:
        lines += ["", "## Notes"] + [f"- {n}" for n in result.notes]
    if metrics:
        names = list(next(iter(metrics.values())))
        lines += ["", "## Metrics", "", "| method | " + " | ".join(names) + " |",
                  "|---" * (len(names) + 1) + "|"]
        for method, row in metrics.items():
            cells = ["n/a" if math.isnan(row[n]) else f"{row[n]:.4f}" for n in names]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
    if overlays:
        lines += ["", "## Maps"] + [f"- {o}" for o in overlays]
    return "\n".join(lines) + "\n"


def export_report(path: Path, text: str) -> Path:
    return atomic_write(path, text.encode("utf-8"))
