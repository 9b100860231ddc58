"""A contact sheet of an evaluation: each scene's sources beside every method's fusion, for the eye.

Metrics can be gamed; halos, noise, colour casts and lost detail are seen. The sheet shows the very
images the evaluation scored: they are read from its result cache (`tita-studio eval --out FOLDER`), never
fused again, so a missing image means that scene or method was not evaluated there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tita_studio.errors import InputError
from tita_studio.evaluation.cache import ResultCache, file_digest
from tita_studio.evaluation.datasets import discover
from tita_studio.evaluation.holdout import parse_id
from tita_studio.evaluation.run import EvaluationConfig, result_key
from tita_studio.pipeline.fuse import TITA_METHOD
from tita_studio.pipeline.reading import read_image


@dataclass(frozen=True)
class SheetLayout:
    """Tile size and lettering of the sheet."""

    tile_height: int = 240
    gap: int = 6
    label_height: int = 22
    font_scale: float = 0.5
    background: float = 1.0  # white


def _display(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] grey or RGB as RGB float32."""
    image = np.clip(np.asarray(image, np.float32), 0.0, 1.0)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return image[..., :3]


def _tile(image: np.ndarray, label: str, width: int, layout: SheetLayout) -> np.ndarray:
    """The image scaled to the tile height and centred in a tile of `width`, its label above."""
    h, w = image.shape[:2]
    scaled_w = max(1, round(w * layout.tile_height / h))
    scaled = cv2.resize(_display(image), (scaled_w, layout.tile_height), interpolation=cv2.INTER_AREA)
    tile = np.full((layout.label_height + layout.tile_height, width, 3), layout.background, np.float32)
    left = (width - scaled_w) // 2
    tile[layout.label_height:, left:left + scaled_w] = scaled
    strip = np.full((layout.label_height, width, 3), round(255 * layout.background), np.uint8)  # putText: 8-bit
    cv2.putText(strip, label, (4, layout.label_height - 6), cv2.FONT_HERSHEY_SIMPLEX, layout.font_scale,
                (0, 0, 0), 1, cv2.LINE_AA)
    tile[:layout.label_height] = strip.astype(np.float32) / 255.0
    return tile


Box = tuple[int, int, int, int]  # top, left, height, width in source pixels


def parse_box(text: str) -> Box:
    """"TOP,LEFT,HEIGHT,WIDTH" in pixels, as the command line takes a detail box."""
    try:
        top, left, height, width = (int(v) for v in text.split(","))
    except ValueError as exc:
        raise InputError(f"detail box {text!r}: expected TOP,LEFT,HEIGHT,WIDTH in pixels") from exc
    if min(top, left) < 0 or min(height, width) < 1:
        raise InputError(f"detail box {text!r}: needs TOP, LEFT >= 0 and a positive HEIGHT and WIDTH")
    return top, left, height, width


def _crop(image: np.ndarray, box: Box, scene: str) -> np.ndarray:
    top, left, height, width = box
    if top + height > image.shape[0] or left + width > image.shape[1]:
        raise InputError(f"{scene}: detail box {box} lies outside its {image.shape[1]}x{image.shape[0]} image")
    return image[top:top + height, left:left + width]


def contact_sheet(out: str | Path, datasets_root: str | Path, scenes: Sequence[str], methods: Sequence[str],
                  model: str | Path | None = None, config: EvaluationConfig | None = None,
                  layout: SheetLayout = SheetLayout(), details: Mapping[str, Box] | None = None) -> np.ndarray:
    """RGB float32 sheet: one row per scene id (FOLDER/NAME), its first and last source, then `methods`.

    `out` is the evaluation's output folder and `model` the weights it ran tita with (needed to find
    tita's images). A scene or method the evaluation has no image of is refused with what to run.
    `details` maps a scene id to a box: that scene gets a second row, the same box of every column
    enlarged to the tile height, where halos, noise and soft detail show.
    """
    cfg = config or EvaluationConfig()
    cache = ResultCache(Path(out) / cfg.cache_dir)
    digest = file_digest(Path(model)) if model is not None and TITA_METHOD in methods else None
    rows: list[list[tuple[np.ndarray, str]]] = []
    for text in scenes:
        scene = parse_id(text)
        dataset = discover(Path(datasets_root).joinpath(*scene.folder), config=cfg.layout)
        item = next((i for i in dataset.items if i.name == scene.name), None)
        if item is None:
            raise InputError(f"{text}: no such scene in {dataset.path}")
        sources = [read_image(item.sources[0]), read_image(item.sources[-1])]
        row = [(s.pixels, f"{scene.name}: {'first' if i == 0 else 'last'} source") for i, s in enumerate(sources)]
        for method in methods:
            found = cache.load(result_key(dataset, item, method, cfg, digest))
            if found is None:
                raise InputError(f"{text}: {out} holds no {method} fusion of it; run tita-studio eval on "
                                 f"{dataset.label} with --methods {method} --out {out}"
                                 + (" --model MODEL (the same weights)" if method == TITA_METHOD else ""))
            row.append((found[1], method))
        rows.append(row)
        if details and text in details:
            rows.append([(_crop(img, details[text], text), f"{label} (detail)") for img, label in row])
    if not rows:
        raise InputError("no scenes given for the contact sheet")
    widths = [max(round(row[col][0].shape[1] * layout.tile_height / row[col][0].shape[0]) for row in rows)
              for col in range(len(rows[0]))]
    lines = []
    for row in rows:
        tiles = [_tile(img, label, widths[col], layout) for col, (img, label) in enumerate(row)]
        gap = np.full((tiles[0].shape[0], layout.gap, 3), layout.background, np.float32)
        lines.append(np.concatenate([t for tile in tiles for t in (tile, gap)][:-1], axis=1))
    spacer = np.full((layout.gap, lines[0].shape[1], 3), layout.background, np.float32)
    return np.concatenate([p for line in lines for p in (line, spacer)][:-1], axis=0)
