"""Deghosting measured on brackets with known motion (docs/pipeline.md, "Deghosting").

A textured patch cut from another scene is inserted into a static real bracket at a different place in each
frame, exposure-consistent (scaled like the frame: sRGB-linearised, times the frame's exposure ratio to the
reference, re-encoded). Then, per scene and fusion method:
- the ideal is the fusion of the bracket with the object at the reference frame's place in every frame;
- ghost area: pixels in the boxes where the other frames show the object (outside the reference's box)
  where the fused result differs from the ideal by more than `--tolerance` (any channel), without and with
  deghosting, also in objects (one object = the patch's silhouette); and the same count over the rest of the
  image (what the mask changed that did not need it, and real motion in the scene: waves, leaves);
- the object itself: PSNR inside the reference frame's object box against the ideal (the deghosted frames
  show the reference's object mapped through the estimated IMF, the ideal an sRGB-linear exposure scaling);
- PSNR outside the objects: fused result against the fusion of the static bracket, on pixels more than
  12 px from every inserted object, without and with deghosting (lower with deghosting only where the
  mask takes pixels that did not change, or where the scene itself moved: waves, leaves);
- mask share: the ghost mask's mean, and its share outside the objects (grown by 12 px).

Example: python benchmarks/deghost_motion.py ../shared/datasets/mef/merianos --methods mertens average
`--figure docs/images/deghost.jpg --real-scene DIR` also draws the first scene (without deghosting, with it,
the ghost mask in red) and a real hand-held bracket the same way.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from tita_studio.engine.load import load_engine
from tita_studio.pipeline.fuse import FuseOptions, fuse_sources
from tita_studio.pipeline.kinds import classify
from tita_studio.pipeline.reading import read_image
from tita_studio.pipeline.source import SourceImage
from tita_studio.pipeline.sources import luminance


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def exposure_ratio(frame: np.ndarray, ref: np.ndarray) -> float:
    """Median ratio of linearised values where both frames are well exposed."""
    f, r = srgb_to_linear(luminance(frame)), srgb_to_linear(luminance(ref))
    ok = (luminance(frame) > 0.08) & (luminance(frame) < 0.92) & (luminance(ref) > 0.08) & (luminance(ref) < 0.92)
    return float(np.median(f[ok] / np.maximum(r[ok], 1e-4))) if ok.sum() > 100 else 1.0


def ellipse_alpha(side: int) -> np.ndarray:
    """An anti-aliased disc: the object's silhouette."""
    big = np.zeros((side * 4, side * 4), np.uint8)
    cv2.ellipse(big, (side * 2, side * 2), (side * 2 - 4, int(side * 1.6)), 0, 0, 360, 255, -1)
    return cv2.resize(big, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


def insert(frame: np.ndarray, patch: np.ndarray, alpha: np.ndarray, gain: float, xy: tuple[int, int]) -> np.ndarray:
    """The patch, exposed like `frame` (gain: frame's exposure over the reference's), pasted at xy."""
    out = frame.copy()
    x, y = xy
    side = patch.shape[0]
    exposed = linear_to_srgb(srgb_to_linear(patch) * gain)
    a = alpha[..., None] if out.ndim == 3 else alpha
    region = out[y : y + side, x : x + side]
    out[y : y + side, x : x + side] = region * (1 - a) + exposed * a
    return out


def places(n: int, width: int, height: int, side: int) -> list[tuple[int, int]]:
    """Non-overlapping positions along a line across the middle, one a frame."""
    xs = np.linspace(side * 0.2, width - side * 1.2, n).astype(int)
    return [(int(x), (height - side) // 2) for x in xs]


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    err = float(((a - b) ** 2)[where].mean())
    return float("inf") if err == 0 else 10 * np.log10(1.0 / err)


def small(source: SourceImage, max_side: int) -> SourceImage:
    h, w = source.shape
    scale = min(1.0, max_side / max(h, w))
    size = (round(w * scale), round(h * scale))
    return SourceImage(cv2.resize(source.pixels, size, interpolation=cv2.INTER_AREA), source.meta)


def scene_case(folder: Path, donor: Path, max_side: int, patch_share: float):
    """Static frames, frames with the moving object, frames with the object at the reference's place."""
    frames = [small(read_image(p), max_side) for p in sorted(folder.iterdir()) if p.suffix.lower() in (".jpg", ".png")]
    kind = classify(frames, "bracket")
    ref = kind.reference
    h, w = frames[0].shape
    side = int(min(h, w) * patch_share)
    donor_img = small(read_image(donor), max_side).pixels
    dy, dx = (donor_img.shape[0] - side) // 2, (donor_img.shape[1] - side) // 2
    patch = donor_img[dy : dy + side, dx : dx + side]
    if patch.ndim == 2:
        patch = np.repeat(patch[..., None], 3, axis=2)
    alpha = ellipse_alpha(side)
    spots = places(len(frames), w, h, side)
    gains = [exposure_ratio(f.pixels, frames[ref].pixels) for f in frames]
    moving, still = [], []
    for i, f in enumerate(frames):
        moving.append(SourceImage(insert(f.pixels, patch, alpha, gains[i], spots[i]), f.meta))
        still.append(SourceImage(insert(f.pixels, patch, alpha, gains[i], spots[ref]), f.meta))
    truth = np.zeros((h, w), bool)
    for i in range(len(frames)):
        x, y = spots[i]
        truth[y : y + side, x : x + side] |= alpha > 0.5
    return frames, moving, still, ref, spots, side, alpha, truth


def figure_row(before: np.ndarray, after: np.ndarray, mask: np.ndarray, width: int) -> np.ndarray:
    """Without deghosting | with it | with it, the mask in red; scaled to `width` pixels in all."""
    overlay = after.copy()
    overlay[..., 0] = np.maximum(overlay[..., 0], 0.8 * mask)
    row = np.hstack([before, np.ones((before.shape[0], 4, 3), np.float32), after,
                     np.ones((before.shape[0], 4, 3), np.float32), overlay])
    return cv2.resize(row, (width, round(row.shape[0] * width / row.shape[1])), interpolation=cv2.INTER_AREA)


def real_row(scene: Path, method: str, engine, max_side: int, width: int) -> np.ndarray:
    """A real bracket fused (auto alignment) without and with deghosting."""
    frames = [read_image(p) for p in sorted(scene.iterdir()) if p.suffix.lower() in (".jpg", ".png")]
    opts = FuseOptions(method=method, preview_max_side=max_side)
    before = fuse_sources(frames, opts, engine).image
    after = fuse_sources(frames, replace(opts, deghost=True), engine)
    return figure_row(before, after.image, after.ghost_mask, width)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+", type=Path, help="folders holding seq/NAME/ brackets")
    parser.add_argument("--methods", nargs="+", default=["mertens"], help="fusion methods (tita needs --model)")
    parser.add_argument("--model", type=Path, help="weights for the tita method (default: the shipped ones)")
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--patch", type=float, default=0.2, help="object side as a share of the short side")
    parser.add_argument("--tolerance", type=float, default=0.05, help="difference that counts as a ghost pixel")
    parser.add_argument("--limit", type=int, default=0, help="scenes per folder (0: all)")
    parser.add_argument("--figure", type=Path, help="write a before/after/mask figure here (JPEG)")
    parser.add_argument("--real-scene", type=Path, help="a real hand-held bracket for the figure's second row")
    args = parser.parse_args()
    scenes = []
    for d in args.datasets:
        found = sorted(p for p in (d / "seq").iterdir() if p.is_dir())
        scenes += found[: args.limit] if args.limit else found
    engine = load_engine(args.model) if "tita" in args.methods else None
    print("| scene | frames | method | ghost px before | after | ghost objects before | after | elsewhere before | "
          "after | object PSNR | PSNR outside, no deghost | deghost | mask share | outside objects | deghost s |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    totals: dict[str, list[tuple[float, ...]]] = {}
    figure_rows: list[np.ndarray] = []
    for k, scene in enumerate(scenes):
        donor_scene = scenes[(k + 1) % len(scenes)]
        donor = sorted(p for p in donor_scene.iterdir() if p.suffix.lower() in (".jpg", ".png"))[0]
        frames, moving, still, ref, spots, side, alpha, truth = scene_case(scene, donor, args.max_side, args.patch)
        object_px = float((alpha > 0.5).sum())
        margin = cv2.dilate(truth.astype(np.uint8), np.ones((25, 25), np.uint8)) == 0
        x0, y0 = spots[ref]
        ref_box = np.zeros_like(truth)
        ref_box[y0 : y0 + side, x0 : x0 + side] = True
        other_boxes = np.zeros_like(truth)
        for x, y in spots:
            other_boxes[y : y + side, x : x + side] = True
        other_boxes &= ~ref_box
        rest = ~other_boxes & ~ref_box
        for method in args.methods:
            off = FuseOptions(method=method, kind="bracket", align="none")
            on = FuseOptions(method=method, kind="bracket", align="none", deghost=True)
            static = fuse_sources(frames, off, engine).image
            ideal = fuse_sources(still, off, engine).image
            before = fuse_sources(moving, off, engine).image
            start = time.perf_counter()
            after_result = fuse_sources(moving, on, engine)
            seconds = time.perf_counter() - start
            after = after_result.image
            wrong_before = np.abs(before - ideal).max(axis=-1) > args.tolerance
            wrong_after = np.abs(after - ideal).max(axis=-1) > args.tolerance
            ghost_before, ghost_after = int((wrong_before & other_boxes).sum()), int((wrong_after & other_boxes).sum())
            mask = after_result.ghost_mask
            if args.figure is not None and not figure_rows:
                figure_rows.append(figure_row(before, after, mask, 1200))
            row = (ghost_before / object_px, ghost_after / object_px, float((wrong_before & rest).sum()),
                   float((wrong_after & rest).sum()), psnr(after, ideal, ref_box),
                   psnr(before, static, margin), psnr(after, static, margin), float(mask.mean()),
                   float(mask[margin].sum() / mask.size))
            totals.setdefault(method, []).append(row)
            print(f"| {scene.parent.parent.name}/{scene.name} | {len(frames)} | {method} | {ghost_before} | "
                  f"{ghost_after} | {row[0]:.2f} | {row[1]:.2f} | {row[2]:.0f} | {row[3]:.0f} | {row[4]:.1f} | "
                  f"{row[5]:.1f} | {row[6]:.1f} | {100 * row[7]:.1f}% | {100 * row[8]:.1f}% | {seconds:.1f} |",
                  flush=True)
    for method, rows in totals.items():
        m = np.array(rows).mean(axis=0)
        print(f"| mean ({len(rows)} scenes) | | {method} | | | {m[0]:.2f} | {m[1]:.2f} | {m[2]:.0f} | {m[3]:.0f} | "
              f"{m[4]:.1f} | {m[5]:.1f} | {m[6]:.1f} | {100 * m[7]:.1f}% | {100 * m[8]:.1f}% | |")
    if args.figure is not None:
        if args.real_scene is not None:
            figure_rows.append(real_row(args.real_scene, args.methods[0], engine, 1024, 1200))
        sheet = np.vstack([r for row in figure_rows for r in (row, np.ones((4, 1200, 3), np.float32))][:-1])
        cv2.imwrite(str(args.figure), np.clip(np.rint(sheet[..., ::-1] * 255), 0, 255).astype(np.uint8),
                    [cv2.IMWRITE_JPEG_QUALITY, 85])
    return 0


if __name__ == "__main__":
    sys.exit(main())
