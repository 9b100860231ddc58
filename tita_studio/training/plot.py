"""The loss and FAMO-weight curves as a PNG, drawn with OpenCV (no plotting dependency for one figure)."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from tita_studio.pipeline.map_render import write_png

_COLOURS = {"IVF": (200, 90, 30), "MEF": (30, 140, 230), "MFF": (60, 170, 60)}  # BGR
_W, _H, _PAD = 900, 300, 60


def read_csv(path: Path) -> dict[str, np.ndarray]:
    """Columns of a log CSV as float arrays (empty dict when the file is missing or empty)."""
    if not path.is_file():
        return {}
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return {}
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def _smooth(y: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(y) < window:
        return y
    kernel = np.ones(window) / window
    head = np.cumsum(y[: window - 1]) / np.arange(1, window)
    return np.concatenate([head, np.convolve(y, kernel, mode="valid")])


def _panel(title: str, x: np.ndarray, series: dict[str, np.ndarray], dots: dict[str, tuple[np.ndarray, np.ndarray]],
           log_y: bool) -> np.ndarray:
    img = np.full((_H, _W, 3), 255, np.uint8)
    values = [v for v in series.values() if len(v)] + [d[1] for d in dots.values() if len(d[1])]
    cv2.putText(img, title, (_PAD, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    if not values or len(x) == 0:
        return img
    allv = np.concatenate(values)
    allv = np.log10(np.clip(allv, 1e-6, None)) if log_y else allv
    lo, hi = float(allv.min()), float(allv.max())
    hi = hi if hi > lo else lo + 1e-6
    x0, x1 = float(x.min()), float(max(x.max(), x.min() + 1))

    def pts(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        ys = np.log10(np.clip(ys, 1e-6, None)) if log_y else ys
        px = _PAD + (xs - x0) / (x1 - x0) * (_W - 2 * _PAD)
        py = _H - _PAD + (ys - lo) / (hi - lo) * -(_H - 2 * _PAD) - 0
        return np.stack([px, py], 1).round().astype(np.int32)

    cv2.rectangle(img, (_PAD, _PAD), (_W - _PAD, _H - _PAD), (160, 160, 160), 1)
    for frac in (0.0, 0.5, 1.0):
        v = lo + frac * (hi - lo)
        label = f"{10**v:.3g}" if log_y else f"{v:.3g}"
        y = int(_H - _PAD - frac * (_H - 2 * _PAD))
        cv2.putText(img, label, (4, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for frac in (0.0, 0.5, 1.0):
        step = x0 + frac * (x1 - x0)
        px = int(_PAD + frac * (_W - 2 * _PAD))
        cv2.putText(img, f"{step:.0f}", (px - 15, _H - _PAD + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                    cv2.LINE_AA)
    for i, (name, ys) in enumerate(series.items()):
        colour = _COLOURS.get(name.split()[0], (0, 0, 0))
        if len(ys) > 1:
            cv2.polylines(img, [pts(x, ys)], False, colour, 2, cv2.LINE_AA)
        cv2.putText(img, name, (_W - _PAD - 260 + 90 * (i % 3), 22 + 16 * (i // 3)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45, colour, 1, cv2.LINE_AA)
    for name, (dx, dy) in dots.items():
        colour = _COLOURS.get(name, (0, 0, 0))
        for p in pts(dx, dy):
            cv2.circle(img, (int(p[0]), int(p[1])), 4, colour, -1, cv2.LINE_AA)
    return img


def plot_curves(train_csv: Path, eval_csv: Path, out: Path, tasks: list[str]) -> Path:
    """Per-task training loss (smoothed; dots: held-out loss of the EMA weights) over FAMO weights per task."""
    train, held = read_csv(train_csv), read_csv(eval_csv)
    x = train.get("step", np.zeros(0))
    window = max(1, len(x) // 50)
    losses = {t: _smooth(train[f"loss_{t}"], window) for t in tasks if f"loss_{t}" in train}
    dots = {t: (held["step"], held[f"loss_{t}"]) for t in tasks if f"loss_{t}" in held}
    weights = {f"{t} weight": train[f"w_{t}"] for t in tasks if f"w_{t}" in train}
    top = _panel(f"task loss (moving average of {window}; dots: held-out, EMA weights)", x, losses, dots, True)
    bottom = _panel("FAMO task weights z = softmax(xi)", x, weights, {}, False)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_png(out, cv2.cvtColor(np.vstack([top, bottom]), cv2.COLOR_BGR2RGB))
