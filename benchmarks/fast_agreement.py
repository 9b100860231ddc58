"""How closely the fast full-resolution path agrees with the exact one, on real pairs, and why.

For each pair (an IR/visible pair, a hand-held bracket and a focus pair from ../shared/datasets, native,
and a 192 px centre crop of each upscaled 4x): the exact fusion (PyTorch float32, network at full
resolution) and the fast one (network at 1/--ratio of the pixels, engine/fast.py), compared by PSNR and
SSIM, and by the relative change of Qabf and MEF-SSIM against the sources. "scale limit" is the PSNR,
at the network's reduced size, between the exact result reduced and the network's own output on the
reduced sources: no upsampling of that output can agree better than this, since it is the network that
decides differently at the other scale.

--calibrate K also fits, per image, a correction of the fast result on K exact crops of 128 px (a
least-squares fit of the residual on the sources' detail, their local detail shares and the fast path's
weights) and reports it on the pixels outside the crops: a variant measured and dropped (docs/model.md).

    python benchmarks/fast_agreement.py [--ratio 16] [--only NAME ...] [--calibrate 4]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from tita_studio.engine.fast import FastConfig, linear_model, reduce, reduced_size, upsample_fusion
from tita_studio.engine.runner import EngineConfig, FusionEngine
from tita_studio.metrics import score
from tita_studio.metrics.ssim import ssim_pair
from tita_studio.model.loader import load_model
from tita_studio.pipeline.colour import split
from tita_studio.pipeline.reading import read_image

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PAIRS = {
    "ivf-m3fd": ("ivf/m3fd_sample/A/M3FD_00471.png", "ivf/m3fd_sample/B/M3FD_00471.png"),
    "bracket-lukachuuu": ("mef/lukachuuu_hdr/seq/dataset1/0002.jpg", "mef/lukachuuu_hdr/seq/dataset1/0016.jpg"),
    "focus-cmcguinness": ("mff/cmcguinness_focusstack/seq/Input/step0.jpg",
                          "mff/cmcguinness_focusstack/seq/Input/step5.jpg"),
}
CROP, UPSCALE, CALIBRATION_CROP, MARGIN = 192, 4, 128, 32


def inputs(name: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The native pair and its upscaled centre crop, as luma in [0, 1]."""
    a, b = (split(read_image(DATASETS / p)).luma.astype(np.float32) for p in PAIRS[name])
    h, w = a.shape
    y, x = (h - CROP) // 2, (w - CROP) // 2
    side = CROP * UPSCALE
    crop = tuple(np.clip(cv2.resize(t[y : y + CROP, x : x + CROP], (side, side), interpolation=cv2.INTER_CUBIC),
                         0, 1) for t in (a, b))
    return {"native": (a, b), f"crop x{UPSCALE}": crop}


def psnr(ref: np.ndarray, test: np.ndarray) -> float:
    return 10 * math.log10(1 / float(np.mean((np.clip(ref, 0, 1) - np.clip(test, 0, 1)) ** 2)))


def relative(metric: str, a: np.ndarray, b: np.ndarray, exact: np.ndarray, fast: np.ndarray) -> float:
    want, got = (score([a, b], np.clip(f, 0, 1), [metric])[metric] for f in (exact, fast))
    return 100 * (got - want) / want


def detail_features(a: np.ndarray, b: np.ndarray, weights: list[np.ndarray], sigma: float) -> list[np.ndarray]:
    """The calibration's regressors: each source's detail finer than sigma, weighted by its local share of
    detail energy and by the fast path's weight, plus the detail and the base layers themselves."""
    base = [cv2.GaussianBlur(t, (0, 0), sigma) for t in (a, b)]
    detail = [t - lo for t, lo in zip((a, b), base, strict=True)]
    energy = [cv2.GaussianBlur(d * d, (0, 0), sigma) for d in detail]
    share = energy[0] / (energy[0] + energy[1] + 1e-8)
    return [share * detail[0], (1 - share) * detail[1], weights[0] * detail[0], weights[1] * detail[1],
            *detail, *base, np.ones_like(a)]


def calibrated(engine: FusionEngine, a: np.ndarray, b: np.ndarray, fast: np.ndarray, weights: list[np.ndarray],
               sigma: float, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The fast result corrected by a per-image fit on `count` exact crops, and the mask of those crops."""
    h, w = a.shape
    features = detail_features(a, b, weights, sigma)
    n = math.ceil(math.sqrt(count))
    rows, targets, mask = [], [], np.zeros((h, w), bool)
    for i in range(count):
        y = int(min(h - CALIBRATION_CROP, max(0, (i // n + 0.5) * h / n - CALIBRATION_CROP / 2)))
        x = int(min(w - CALIBRATION_CROP, max(0, (i % n + 0.5) * w / n - CALIBRATION_CROP / 2)))
        y0, x0 = max(0, y - MARGIN), max(0, x - MARGIN)
        y1, x1 = min(h, y + CALIBRATION_CROP + MARGIN), min(w, x + CALIBRATION_CROP + MARGIN)
        exact = engine.fuse(a[y0:y1, x0:x1], b[y0:y1, x0:x1]).fused
        inner = (slice(y, y + CALIBRATION_CROP), slice(x, x + CALIBRATION_CROP))
        targets.append((exact[y - y0 : y - y0 + CALIBRATION_CROP, x - x0 : x - x0 + CALIBRATION_CROP]
                        - fast[inner]).ravel())
        rows.append(np.stack([f[inner].ravel() for f in features], 1))
        mask[inner] = True
    x_, y_ = np.concatenate(rows), np.concatenate(targets)
    theta = np.linalg.solve(x_.T @ x_ + 1e-3 * len(y_) * np.eye(x_.shape[1]), x_.T @ y_)
    return fast + sum(t * f for t, f in zip(theta, features, strict=True)), mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ratio", type=int, default=16, help="full-resolution pixels per network pixel")
    parser.add_argument("--only", nargs="*", choices=sorted(PAIRS), default=sorted(PAIRS))
    parser.add_argument("--calibrate", type=int, default=0, metavar="K", help="also the K-crop calibration")
    args = parser.parse_args()
    torch.manual_seed(0)
    engine = FusionEngine(load_model().net, EngineConfig(precision="float32", backend="torch"))
    print("| pair | exact at | PSNR dB | SSIM | Qabf | MEF-SSIM | scale limit dB | calibrated, outside crops dB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name in args.only:
        for label, (a, b) in inputs(name).items():
            start = time.perf_counter()
            h, w = a.shape
            exact = engine.fuse(a, b).fused
            config = FastConfig(network_pixels=h * w // args.ratio)
            lh, lw = reduced_size(h, w, config.network_pixels)
            a_low, b_low = reduce(a, lh, lw), reduce(b, lh, lw)
            low = engine.fuse(a_low, b_low).fused
            fast = upsample_fusion(a, b, a_low, b_low, low, config)
            limit = psnr(reduce(exact, lh, lw), low)
            cell = ""
            if args.calibrate:
                pa, pb, _ = (cv2.resize(t, (w, h)) for t in linear_model(a_low, b_low, low, config.radius, config.eps))
                corrected, mask = calibrated(engine, a, b, fast, [pa, pb], math.sqrt(h * w / (lh * lw)),
                                             args.calibrate)
                cell = f"{psnr(exact[~mask], fast[~mask]):.2f} -> {psnr(exact[~mask], corrected[~mask]):.2f}"
            print(f"| {name} {label} | {w} x {h} | {psnr(exact, fast):.1f} "
                  f"| {ssim_pair(np.clip(exact, 0, 1) * 255, np.clip(fast, 0, 1) * 255):.3f} "
                  f"| {relative('Qabf', a, b, exact, fast):+.1f}% | {relative('MEF-SSIM', a, b, exact, fast):+.1f}% "
                  f"| {limit:.1f} | {cell} |", flush=True)
            print(f"  ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
