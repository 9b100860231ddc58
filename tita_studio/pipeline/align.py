"""Registering sources onto a reference frame before fusion, or refusing when that cannot be done.

Methods (docs/pipeline.md, "Alignment"):
- translation: a median-threshold-bitmap shift (OpenCV AlignMTB: exposure-invariant, whole pixels),
  refined to a sub-pixel shift by ECC (cv2.findTransformECC, MOTION_TRANSLATION).
- homography: SIFT features matched with a ratio test, RANSAC homography, refined by ECC
  (MOTION_HOMOGRAPHY); follows focus breathing and hand-held rotation.
- auto: decided by the kind of input (pipeline.kinds): translation for an exposure bracket (hand-held
  brackets mostly shift, and features are unreliable across exposures), homography for a focus stack,
  none for an infrared/visible pair or anything else (sensor pairs come registered, and a transform
  estimated across sensors is noise).
- none: the sources are taken as registered.

All estimation runs on histogram-equalised luma (monotone tone changes between exposures vanish) at
`max_side`, and the transform is scaled back to full resolution. Every frame is then checked: the
transform must be plausible, the equalised correlation with the reference must not drop and must reach
`min_correlation`. An explicit method refuses (InputError) a frame that fails, never a smeared result.
Under auto a frame is moved only when that clearly improves the match: the move must remove
`residual_cut_per_percent` of the residual (1 - correlation) for every percent of the image diagonal it
moves the frame; otherwise (and when no transform can be estimated) the frame is kept as it is, and the
result's notes say so. The border that is
not covered by every frame is cropped away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from tita_studio.errors import InputError
from tita_studio.pipeline.kinds import SourceKind
from tita_studio.pipeline.source import SourceImage
from tita_studio.pipeline.sources import luminance

METHODS = ("auto", "none", "translation", "homography")


@dataclass(frozen=True)
class AlignConfig:
    """How frames are registered and when a registration is refused."""

    method: str = "auto"  # one of METHODS
    max_side: int = 1024  # estimation size (longest side, pixels); transforms are scaled back up
    mtb_max_bits: int = 6  # AlignMTB searches shifts up to 2**bits pixels at estimation size
    ecc_iterations: int = 100
    ecc_epsilon: float = 1e-5
    ecc_blur: int = 5  # Gaussian size ECC smooths with (odd)
    sift_features: int = 4000
    ratio_test: float = 0.75
    ransac_threshold: float = 2.0  # pixels at estimation size
    min_inliers: int = 25
    max_shift: float = 0.15  # largest corner displacement, as a fraction of the image diagonal
    max_scale_change: float = 0.15  # |scale - 1| allowed for a homography (focus breathing is a few %)
    min_correlation: float = 0.3  # equalised-luma correlation with the reference after alignment
    max_correlation_drop: float = 0.02  # refuse when alignment lowers the correlation by more than this
    min_overlap: float = 0.6  # fraction of the reference kept after cropping to the common area
    residual_cut_per_percent: float = 0.10  # auto: share of (1 - correlation) a move must remove per percent
    # of the image diagonal it moves the frame; smaller gains are noise, and the frame stays where it is


@dataclass
class FrameAlignment:
    """How one frame was registered. `transform` maps reference pixel coordinates to this frame's."""

    index: int
    transform: np.ndarray  # 3x3 float64
    correlation_before: float
    correlation_after: float
    note: str = ""  # why the frame was kept as it is (auto), empty when it was aligned

    @property
    def residual(self) -> float:
        """1 - equalised-luma correlation with the reference after alignment (0: identical)."""
        return 1.0 - self.correlation_after


@dataclass
class AlignmentResult:
    """Aligned, cropped frames and what was done to them."""

    frames: list[np.ndarray]
    method: str  # the method actually used (auto resolved)
    reference: int
    alignments: list[FrameAlignment]  # one per frame, the reference's is the identity
    crop: tuple[int, int, int, int]  # x, y, width, height in reference pixels

    def report(self) -> str:
        """A few lines for the log and the window."""
        x, y, w, h = self.crop
        lines = [f"alignment: {self.method}, reference frame {self.reference}, crop {w}x{h} at ({x}, {y})"]
        for a in self.alignments:
            if a.index == self.reference:
                continue
            if a.note:
                lines.append(f"  frame {a.index}: {a.note}")
                continue
            shift = a.transform[:2, 2]
            lines.append(
                f"  frame {a.index}: shift ({shift[0]:+.2f}, {shift[1]:+.2f}) px, correlation "
                f"{a.correlation_before:.3f} -> {a.correlation_after:.3f}, residual {a.residual:.3f}"
            )
        return "\n".join(lines)

    @property
    def notes(self) -> list[str]:
        """What auto alignment declined to do, one sentence a frame."""
        return [f"frame {a.index}: {a.note}" for a in self.alignments if a.note]


def resolve_method(requested: str, kind: SourceKind | None) -> str:
    """The method `requested` stands for: auto follows the kind of input (see the module docstring)."""
    if requested not in METHODS:
        raise InputError(f"unknown alignment '{requested}' (use {', '.join(METHODS)})")
    if requested != "auto":
        return requested
    if kind is None:
        raise InputError("automatic alignment needs the kind of input (pipeline.kinds.classify); "
                         "or name a method")
    return {SourceKind.BRACKET: "translation", SourceKind.FOCUS_STACK: "homography"}.get(kind, "none")


def align_images(
    images: Sequence[np.ndarray], reference: int, config: AlignConfig | None = None, *,
    kind: SourceKind | None = None,
) -> AlignmentResult:
    """Register float images (grey or RGB, [0, 1], one size) onto `images[reference]` and crop.

    `kind` (pipeline.kinds) decides what auto does. Raises InputError when an explicitly requested
    method cannot register a frame convincingly.
    """
    cfg = config or AlignConfig()
    method = resolve_method(cfg.method, kind)
    shapes = {img.shape[:2] for img in images}
    if len(shapes) != 1:
        raise InputError("alignment needs sources of one size; resize them first")
    height, width = next(iter(shapes))
    identity = np.eye(3)
    if method == "none" or len(images) < 2:
        alignments = [FrameAlignment(i, identity, 1.0, 1.0) for i in range(len(images))]
        return AlignmentResult(list(images), "none", reference, alignments, (0, 0, width, height))
    auto = cfg.method == "auto"
    scale = min(1.0, cfg.max_side / max(height, width))
    small = [_equalised(img, scale) for img in images]
    alignments = []
    for index, frame in enumerate(small):
        if index == reference:
            alignments.append(FrameAlignment(index, identity, 1.0, 1.0))
            continue
        estimate = _translation if method == "translation" else _homography
        try:
            warp_small = estimate(small[reference], frame, cfg, index)
            alignments.append(_checked(index, small[reference], frame, warp_small, scale, (height, width), cfg,
                                       auto))
        except InputError as exc:
            if not auto:
                raise
            before = _correlation(small[reference], frame, np.eye(3))
            reason = str(exc).removeprefix("alignment: ").split("; ")[0]
            alignments.append(FrameAlignment(index, identity, before, before,
                                             f"kept as it is: {reason.removeprefix(f'frame {index} ')}"))
    crop = _common_crop([a.transform for a in alignments], (height, width))
    _, _, w, h = crop
    if w * h < cfg.min_overlap * width * height:
        raise InputError(
            f"alignment: the frames overlap on only {100 * w * h / (width * height):.0f}% of the reference "
            f"(at least {100 * cfg.min_overlap:.0f}% needed); are these frames of one scene?"
        )
    frames = [warp(img, a.transform, crop) for img, a in zip(images, alignments, strict=True)]
    return AlignmentResult(frames, method, reference, alignments, crop)


def align_sources(
    sources: Sequence[SourceImage], reference: int, config: AlignConfig | None = None, *,
    kind: SourceKind | None = None,
) -> tuple[list[SourceImage], AlignmentResult]:
    """`align_images` on sources, warping their alpha and multiband intensity the same way."""
    result = align_images([s.pixels for s in sources], reference, config, kind=kind)
    _, _, w, h = result.crop
    aligned = []
    for source, frame, alignment in zip(sources, result.frames, result.alignments, strict=True):
        extra = {
            name: None if plane is None else warp(plane, alignment.transform, result.crop)
            for name, plane in (("alpha", source.alpha), ("intensity", source.intensity))
        }
        meta = replace(source.meta, width=w, height=h)
        aligned.append(SourceImage(pixels=frame, meta=meta, **extra))
    return aligned, result


def warp(image: np.ndarray, transform: np.ndarray, crop: tuple[int, int, int, int]) -> np.ndarray:
    """Resample `image` into reference coordinates (transform: reference -> image) and crop."""
    x, y, w, h = crop
    if np.allclose(transform, np.eye(3)):
        return np.ascontiguousarray(image[y : y + h, x : x + w])
    to_crop = transform @ np.array([[1.0, 0, x], [0, 1.0, y], [0, 0, 1.0]])
    out = cv2.warpPerspective(image.astype(np.float32, copy=False), to_crop, (w, h),
                              flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    return np.clip(out, 0.0, 1.0)


def _equalised(image: np.ndarray, scale: float) -> np.ndarray:
    """8-bit histogram-equalised luma at estimation size: tone differences between exposures vanish."""
    luma = luminance(image)
    if scale < 1.0:
        size = (max(1, round(luma.shape[1] * scale)), max(1, round(luma.shape[0] * scale)))
        luma = cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
    return cv2.equalizeHist(np.clip(np.rint(luma * 255), 0, 255).astype(np.uint8))


def _translation(ref: np.ndarray, frame: np.ndarray, cfg: AlignConfig, index: int) -> np.ndarray:
    """MTB whole-pixel shift, then ECC sub-pixel refinement (kept only if ECC converges)."""
    mtb = cv2.createAlignMTB(cfg.mtb_max_bits)
    dx, dy = mtb.calculateShift(ref, frame)
    warp_matrix = np.array([[1, 0, -dx], [0, 1, -dy]], np.float32)
    refined = _ecc(ref, frame, warp_matrix, cv2.MOTION_TRANSLATION, cfg)
    return _to3x3(refined if refined is not None else warp_matrix)


def _homography(ref: np.ndarray, frame: np.ndarray, cfg: AlignConfig, index: int) -> np.ndarray:
    """SIFT + RANSAC homography, refined by ECC (kept only if ECC converges)."""
    sift = cv2.SIFT_create(nfeatures=cfg.sift_features)
    kp_ref, desc_ref = sift.detectAndCompute(ref, None)
    kp_frame, desc_frame = sift.detectAndCompute(frame, None)
    if desc_ref is None or desc_frame is None or len(kp_ref) < cfg.min_inliers or len(kp_frame) < cfg.min_inliers:
        raise InputError(f"alignment: frame {index} has too little texture to find a homography; "
                         "try translation or none")
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(desc_ref, desc_frame, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < cfg.ratio_test * p[1].distance]
    if len(good) < cfg.min_inliers:
        raise InputError(f"alignment: frame {index} shares only {len(good)} features with the reference "
                         f"({cfg.min_inliers} needed); try translation or none")
    pts_ref = np.float32([kp_ref[m.queryIdx].pt for m in good])
    pts_frame = np.float32([kp_frame[m.trainIdx].pt for m in good])
    matrix, inliers = cv2.findHomography(pts_ref, pts_frame, cv2.RANSAC, cfg.ransac_threshold)
    count = int(inliers.sum()) if inliers is not None else 0
    if matrix is None or count < cfg.min_inliers:
        raise InputError(f"alignment: no consistent homography for frame {index} ({count} inlier features, "
                         f"{cfg.min_inliers} needed); try translation or none")
    refined = _ecc(ref, frame, matrix.astype(np.float32), cv2.MOTION_HOMOGRAPHY, cfg)
    return refined.astype(np.float64) if refined is not None else matrix


def _ecc(ref: np.ndarray, frame: np.ndarray, init: np.ndarray, motion: int, cfg: AlignConfig) -> np.ndarray | None:
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, cfg.ecc_iterations, cfg.ecc_epsilon)
    try:
        _, matrix = cv2.findTransformECC(ref.astype(np.float32), frame.astype(np.float32), init.copy(), motion,
                                         criteria, None, cfg.ecc_blur)
    except cv2.error:
        return None
    return matrix


def _to3x3(matrix: np.ndarray) -> np.ndarray:
    out = np.eye(3)
    out[: matrix.shape[0], :] = matrix
    return out


def _checked(index: int, ref: np.ndarray, frame: np.ndarray, warp_small: np.ndarray, scale: float,
             shape: tuple[int, int], cfg: AlignConfig, auto: bool = False) -> FrameAlignment:
    """Scale a transform to full size and refuse it when it is implausible or does not help; under
    `auto`, keep the frame as it is when the gain is too small for the distance moved."""
    to_small = np.array([[scale, 0, 0.5 * scale - 0.5], [0, scale, 0.5 * scale - 0.5], [0, 0, 1.0]])
    transform = np.linalg.inv(to_small) @ warp_small @ to_small
    transform /= transform[2, 2]
    height, width = shape
    corners = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float64)
    moved = cv2.perspectiveTransform(corners[None], transform)[0]
    displacement = float(np.linalg.norm(moved - corners, axis=1).max())
    diagonal = float(np.hypot(width, height))
    area_ratio = abs(cv2.contourArea(moved.astype(np.float32)) / cv2.contourArea(corners.astype(np.float32)))
    if displacement > cfg.max_shift * diagonal or abs(np.sqrt(area_ratio) - 1) > cfg.max_scale_change:
        raise InputError(
            f"alignment: frame {index} would move by up to {displacement:.0f} px (scale {np.sqrt(area_ratio):.3f}); "
            "that is not a small camera motion, so the frames are not fused; check the inputs or use --align none"
        )
    before = _correlation(ref, frame, np.eye(3))
    after = _correlation(ref, frame, warp_small)
    if after < cfg.min_correlation or after < before - cfg.max_correlation_drop:
        raise InputError(
            f"alignment: frame {index} still differs from the reference after alignment (correlation "
            f"{before:.3f} -> {after:.3f}); refusing to write a smeared result; try another --align method"
        )
    percent = 100.0 * displacement / diagonal
    if auto and after - before < max(0.0, cfg.residual_cut_per_percent * percent * (1.0 - before)):
        return FrameAlignment(index, np.eye(3), before, before,
                              f"kept as it is: moving it by up to {displacement:.0f} px ({percent:.1f}% of the "
                              f"diagonal) would change the correlation only from {before:.3f} to {after:.3f}")
    return FrameAlignment(index, transform, before, after)


def _correlation(ref: np.ndarray, frame: np.ndarray, warp_small: np.ndarray) -> float:
    """Zero-mean normalised correlation of equalised lumas where the warped frame has data."""
    size = (ref.shape[1], ref.shape[0])
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    moved = cv2.warpPerspective(frame.astype(np.float32), warp_small, size, flags=flags)
    valid = cv2.warpPerspective(np.ones_like(frame, np.uint8), warp_small, size,
                                flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
    mask = cv2.erode(valid, np.ones((3, 3), np.uint8)) > 0
    if mask.sum() < 16:
        return 0.0
    a = ref.astype(np.float32)[mask]
    b = moved[mask]
    a = a - a.mean()
    b = b - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def _common_crop(transforms: Sequence[np.ndarray], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The largest axis-aligned rectangle (greedy shrink, exact for shifts) covered by every frame."""
    height, width = shape
    valid = np.ones(shape, bool)
    ones = np.ones(shape, np.uint8)
    for transform in transforms:
        if np.allclose(transform, np.eye(3)):
            continue
        covered = cv2.warpPerspective(ones, transform, (width, height),
                                      flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
        valid &= cv2.erode(covered, np.ones((3, 3), np.uint8)) > 0
    if not valid.any():
        return 0, 0, 0, 0
    integral = cv2.integral(valid.astype(np.uint8))

    def invalid(top: int, bottom: int, left: int, right: int) -> int:
        inside = integral[bottom, right] - integral[top, right] - integral[bottom, left] + integral[top, left]
        return (bottom - top) * (right - left) - int(inside)

    rows = np.flatnonzero(valid.any(axis=1))
    cols = np.flatnonzero(valid.any(axis=0))
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    while bottom > top and right > left and invalid(top, bottom, left, right) > 0:
        edges = {
            "top": invalid(top, top + 1, left, right) / (right - left),
            "bottom": invalid(bottom - 1, bottom, left, right) / (right - left),
            "left": invalid(top, bottom, left, left + 1) / (bottom - top),
            "right": invalid(top, bottom, right - 1, right) / (bottom - top),
        }
        worst = max(edges, key=lambda side: edges[side])
        if worst == "top":
            top += 1
        elif worst == "bottom":
            bottom -= 1
        elif worst == "left":
            left += 1
        else:
            right -= 1
    return left, top, right - left, bottom - top
