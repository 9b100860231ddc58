"""Deghosting an exposure bracket: where a frame disagrees with the reference frame once the exposure
difference is taken out (something moved), the frame's content is replaced by the reference's, mapped to
that frame's exposure, before fusion.

It decides which pixels feed the fusion, not how they are fused, so it works with every fusion method.

How a disagreement is found (docs/pipeline.md, "Deghosting"):
1. Intensity mapping functions (IMF) between the reference and each frame, per channel, from their joint
   histogram (comparagram) over the whole image: for each reference value, the median of the frame's
   values, made monotone (isotonic regression). Moving objects cover a minority of the pixels, so the
   median follows the static scene. The spread of each histogram row (its interquartile range) says how
   precisely the mapping predicts there (noise, clipping, a sparse row).
2. A pixel disagrees when the frame differs from the reference's prediction by more than the noise floor
   plus `threshold` spreads, in either direction (reference -> frame, and frame -> reference, so that
   a region clipped in one of them is judged from the other).
3. The disagreement map is cleaned (opening, small blobs dropped), grown to cover the object's edges and
   feathered, giving a soft mask in [0, 1].
4. The frame becomes `(1 - mask) * frame + mask * IMF(reference)`: the object stays where the reference
   shows it, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from tita_studio.pipeline.align import AlignmentResult
from tita_studio.pipeline.kinds import SourceKind
from tita_studio.pipeline.source import SourceImage
from tita_studio.pipeline.sources import luminance


@dataclass(frozen=True)
class DeghostConfig:
    """How disagreement is measured and turned into masks; sizes are fractions of the image diagonal."""

    analysis_side: int = 768  # masks are found at this longest side and scaled back up
    bins: int = 128  # reference-value rows of the comparagram
    levels: int = 256  # frame-value columns of the comparagram
    min_row_fraction: float = 2e-4  # a row with fewer pixels than this share cannot predict (spread: unbounded)
    noise: float = 0.04  # disagreement always tolerated (sensor and JPEG noise, resampling)
    threshold: float = 3.0  # further tolerance, in robust standard deviations of the comparagram row
    well_exposed: tuple[float, float] = (0.02, 0.95)  # a pixel predicts only when all its channels are inside
    blur: float = 1.0  # Gaussian sigma (analysis pixels) applied to the frames before comparing
    min_area: float = 2e-4  # blobs smaller than this share of the image are noise, not motion
    grow: float = 0.006  # the mask is grown by this much of the diagonal (edges, motion blur) ...
    feather: float = 0.004  # ... and feathered with a Gaussian of this sigma
    hand_held_shift: float = 0.5  # pixels: an aligned frame moved this much means the camera moved


@dataclass
class ImfCurve:
    """One channel's intensity mapping between two frames, sampled at the comparagram's row centres."""

    centres: np.ndarray  # (bins,) source values
    median: np.ndarray  # (bins,) monotone predicted target values
    spread: np.ndarray  # (bins,) robust standard deviation of the target given the source (inf: unknown)

    def predict(self, values: np.ndarray) -> np.ndarray:
        """Target values for source values."""
        return np.interp(values, self.centres, self.median).astype(np.float32)

    def tolerance(self, values: np.ndarray, cfg: DeghostConfig) -> np.ndarray:
        """Largest difference from the prediction that is still agreement."""
        spread = np.interp(values, self.centres, np.minimum(self.spread, 1.0))
        return (cfg.noise + cfg.threshold * spread).astype(np.float32)


@dataclass
class DeghostResult:
    """Deghosted frames and where each was changed."""

    sources: list[SourceImage]  # same order as given; the reference is unchanged
    masks: list[np.ndarray]  # per frame, float32 (H, W) in [0, 1]; 1: taken from the reference
    reference: int
    notes: list[str] = field(default_factory=list)

    @property
    def ghost_mask(self) -> np.ndarray:
        """Where any frame was replaced: the per-pixel maximum of the masks (float32 (H, W) in [0, 1])."""
        return np.maximum.reduce(self.masks).astype(np.float32)


def deghost_default(kind: SourceKind, alignment: AlignmentResult | None,
                    config: DeghostConfig | None = None) -> bool:
    """Whether deghosting should be on unless the user says otherwise: for a hand-held bracket, i.e. an
    exposure bracket whose alignment moved a frame (a camera on a tripod moves no frame)."""
    return kind is SourceKind.BRACKET and alignment is not None and hand_held(alignment, config)


def hand_held(alignment: AlignmentResult, config: DeghostConfig | None = None) -> bool:
    """Whether alignment had to move any frame by at least `hand_held_shift` pixels (at a corner)."""
    cfg = config or DeghostConfig()
    _, _, w, h = alignment.crop
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], np.float64).T
    for a in alignment.alignments:
        moved = a.transform @ corners
        moved = moved[:2] / moved[2]
        if float(np.abs(moved - corners[:2]).max()) >= cfg.hand_held_shift:
            return True
    return False


def deghost_sources(sources: Sequence[SourceImage], reference: int,
                    config: DeghostConfig | None = None) -> DeghostResult:
    """Replace, in every frame but the reference, what disagrees with the reference (see the module
    docstring). The sources must be registered and of one size (align them first)."""
    cfg = config or DeghostConfig()
    ref = sources[reference]
    shapes = {s.shape for s in sources}
    if len(shapes) != 1:
        raise ValueError("deghosting needs registered sources of one size")
    height, width = ref.shape
    scale = min(1.0, cfg.analysis_side / max(height, width))
    ref_small = _analysis(ref.pixels, scale, cfg)
    out: list[SourceImage] = []
    masks: list[np.ndarray] = []
    notes: list[str] = []
    for index, source in enumerate(sources):
        if index == reference:
            out.append(source)
            masks.append(np.zeros((height, width), np.float32))
            continue
        ref_px, frame_px = _common_channels(ref.pixels, source.pixels)
        small_ref = ref_small if ref_px is ref.pixels else _analysis(ref_px, scale, cfg)
        small_frame = _analysis(frame_px, scale, cfg)
        score = _disagreement(small_ref, small_frame, cfg)
        mask = _soft_mask(score > 1.0, cfg, (height, width))
        forward = [imf(small_ref[..., c], small_frame[..., c], cfg) for c in range(small_ref.shape[2])]
        share = float(mask.mean())
        if share > 0:
            notes.append(f"{source.meta.path.name}: {100 * share:.1f}% of the image taken from the reference (motion)")
        masks.append(mask)
        out.append(_replaced(source, ref_px, frame_px, forward, mask))
    return DeghostResult(out, masks, reference, notes)


def imf(source: np.ndarray, target: np.ndarray, config: DeghostConfig | None = None) -> ImfCurve:
    """Monotone mapping from `source` values to `target` values (float arrays of one shape, [0, 1]),
    estimated from their comparagram: per row the median and interquartile spread, then isotonic."""
    cfg = config or DeghostConfig()
    rows = np.clip((source.ravel() * cfg.bins).astype(np.int64), 0, cfg.bins - 1)
    cols = np.clip((target.ravel() * cfg.levels).astype(np.int64), 0, cfg.levels - 1)
    joint = np.bincount(rows * cfg.levels + cols, minlength=cfg.bins * cfg.levels)
    joint = joint.reshape(cfg.bins, cfg.levels).astype(np.float64)
    counts = joint.sum(axis=1)
    cdf = np.cumsum(joint, axis=1) / np.maximum(counts, 1)[:, None]
    q25, q50, q75 = (_row_quantile(cdf, q, cfg.levels) for q in (0.25, 0.5, 0.75))
    centres = (np.arange(cfg.bins) + 0.5) / cfg.bins
    known = counts >= max(1.0, cfg.min_row_fraction * source.size)
    if not known.any():
        return ImfCurve(centres, centres.copy(), np.full(cfg.bins, np.inf))
    median = np.interp(centres, centres[known], _isotonic(q50[known], counts[known]))
    spread = np.where(known, (q75 - q25) / 1.349, np.inf)
    return ImfCurve(centres, median, spread)


def _row_quantile(cdf: np.ndarray, q: float, levels: int) -> np.ndarray:
    """Quantile `q` of each row's distribution, interpolated within the column it falls in."""
    col = np.argmax(cdf >= q, axis=1)
    rows = np.arange(cdf.shape[0])
    below = np.where(col > 0, cdf[rows, np.maximum(col - 1, 0)], 0.0)
    width = np.maximum(cdf[rows, col] - below, 1e-12)
    return (col + np.clip((q - below) / width, 0.0, 1.0)) / levels


def _isotonic(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted least-squares non-decreasing fit (pool adjacent violators)."""
    means: list[float] = []
    sizes: list[float] = []
    lengths: list[int] = []
    for value, weight in zip(values.tolist(), weights.tolist(), strict=True):
        means.append(value)
        sizes.append(weight)
        lengths.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            total = sizes[-2] + sizes[-1]
            means[-2] = (means[-2] * sizes[-2] + means[-1] * sizes[-1]) / total
            sizes[-2] = total
            lengths[-2] += lengths[-1]
            del means[-1], sizes[-1], lengths[-1]
    return np.repeat(means, lengths)


def _common_channels(ref: np.ndarray, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both as RGB, or both as grey when either is grey (a grey frame is compared on luma)."""
    if ref.ndim == frame.ndim:
        return ref, frame
    return (luminance(ref) if ref.ndim == 3 else ref), (luminance(frame) if frame.ndim == 3 else frame)


def _analysis(pixels: np.ndarray, scale: float, cfg: DeghostConfig) -> np.ndarray:
    """(h, w, channels) float32 at analysis size, lightly blurred."""
    image = pixels.astype(np.float32, copy=False)
    if scale < 1.0:
        size = (max(8, round(image.shape[1] * scale)), max(8, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if cfg.blur > 0:
        image = cv2.GaussianBlur(image, (0, 0), cfg.blur)
    return image[..., None] if image.ndim == 2 else image


def _disagreement(ref: np.ndarray, frame: np.ndarray, cfg: DeghostConfig) -> np.ndarray:
    """Per pixel, the larger difference from a luma prediction in units of its tolerance (above 1: a ghost).

    Each direction predicts only from pixels its source shows well: a channel near black or white carries
    no measurement (and the camera's per-channel clipping makes the luma mapping hue-dependent there).
    """
    r, f = luminance(ref), luminance(frame)
    forward, backward = imf(r, f, cfg), imf(f, r, cfg)
    score = np.zeros(r.shape, np.float32)
    for source, target, curve, image in ((r, f, forward, ref), (f, r, backward, frame)):
        usable = (image.min(axis=2) > cfg.well_exposed[0]) & (image.max(axis=2) < cfg.well_exposed[1])
        error = np.abs(target - curve.predict(source)) / curve.tolerance(source, cfg)
        score = np.maximum(score, np.where(usable, error, 0.0))
    return score


def _soft_mask(hits: np.ndarray, cfg: DeghostConfig, size: tuple[int, int]) -> np.ndarray:
    """Clean a boolean disagreement map, grow and feather it, and bring it to `size` (H, W)."""
    h, w = hits.shape
    diagonal = float(np.hypot(h, w))
    binary = cv2.morphologyEx(hits.astype(np.uint8), cv2.MORPH_OPEN,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    keep = np.zeros(count, np.uint8)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= cfg.min_area * h * w
    binary = _holes_filled(keep[labels])
    if not binary.any():
        return np.zeros(size, np.float32)
    radius = max(1, round(cfg.grow * diagonal))
    grown = cv2.dilate(binary, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    soft = cv2.GaussianBlur(grown.astype(np.float32), (0, 0), max(0.5, cfg.feather * diagonal))
    soft = np.maximum(soft, binary.astype(np.float32))
    if (h, w) != size:
        soft = cv2.resize(soft, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    return np.clip(soft, 0.0, 1.0).astype(np.float32)


def _holes_filled(binary: np.ndarray) -> np.ndarray:
    """The mask with enclosed holes filled: a hole inside a moving object is part of it (the object matched
    the background there by chance)."""
    padded = np.pad(binary, 1)
    outside = padded.copy()
    cv2.floodFill(outside, None, (0, 0), 1)
    return (padded | (1 - outside))[1:-1, 1:-1].astype(np.uint8)


def _replaced(source: SourceImage, ref: np.ndarray, frame: np.ndarray, curves: list[ImfCurve],
              mask: np.ndarray) -> SourceImage:
    """The frame with its masked part taken from the reference mapped to the frame's exposure."""
    if not mask.any():
        return source
    ref3 = ref[..., None] if ref.ndim == 2 else ref
    mapped = np.stack([curves[c].predict(ref3[..., c]) for c in range(ref3.shape[2])], axis=-1)
    if frame.ndim == 2:
        mapped = mapped[..., 0]
    weight = mask if frame.ndim == 2 else mask[..., None]
    blended = frame * (1.0 - weight) + mapped * weight
    if source.pixels.ndim == 3 and blended.ndim == 2:  # an RGB frame compared on luma: keep its colour
        gain = blended / np.maximum(luminance(source.pixels), 1e-4)
        blended = source.pixels * np.where(mask > 0, gain, 1.0)[..., None]
    pixels = np.clip(blended, 0.0, 1.0).astype(np.float32)
    return SourceImage(pixels=pixels, meta=source.meta, alpha=source.alpha, intensity=source.intensity)
