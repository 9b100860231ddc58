"""Writing what the window shows: the fused image (EXIF kept), the maps as PNG, a short report. No Qt."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from tita_studio.app.config import FusionSettings, OverlaySpec
from tita_studio.app.overlays import OVERLAY_NAMES, compute_overlay
from tita_studio.pipeline.fuse import FusionResult
from tita_studio.pipeline.writing import WriteOptions, write_image


def export_image(path: Path, result: FusionResult, bit_depth: int | None) -> Path:
    """The fused image; keeps the reference source's EXIF/ICC and refuses to overwrite a source."""
    meta = result.sources[result.reference].meta
    return write_image(path, result.image, WriteOptions(bit_depth=bit_depth, force=True), meta=meta,
                       sources=[s.meta.path for s in result.sources])


def export_maps(folder: Path, result: FusionResult, spec: OverlaySpec, untrained: bool) -> list[Path]:
    """Each overlay (at the current block, stream and colormap) as an opaque PNG at the result size."""
    if result.maps is None:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    h, w = result.image.shape[:2]
    written = []
    for name in OVERLAY_NAMES:
        overlay = compute_overlay(result.maps, replace(spec, kind=name, opacity=1.0),
                                  untrained)
        rgb = cv2.resize(overlay.rgba[..., :3], (w, h), interpolation=cv2.INTER_NEAREST)
        out = folder / f"map_{name}.png"
        cv2.imwrite(str(out), np.ascontiguousarray(rgb[..., ::-1]))
        written.append(out)
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
    path.write_text(text, encoding="utf-8")
    return path
