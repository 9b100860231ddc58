"""What kind of input a set of sources is: the one decision that order, reference frame, alignment and
metrics all follow.

Kinds: an infrared/visible pair, an exposure bracket, a focus stack, or other (e.g. medical scans). The
decision is made from the pixels, never from the order the files were given in, and it comes with its
reason in words so the command line and the window can show it. A user can always override it.

Cues, measured on small copies of the frames (docs/pipeline.md, "What kind of input"):
- grey: the channels are equal within JPEG noise, judged on mid-tone pixels (a black or blown-out frame
  has no colour to judge, so it is neither grey nor colour);
- scan-like: the frames of a pair lie on a large black background, as medical scans do;
- multispectral: a source with more bands than RGB (pansharpening);
- brightness ratio of the brightest to the darkest frame;
- rank correlation: the correlation of histogram-equalised lumas, high when one frame's brightness is a
  monotone function of the other's (exposures, focus), low across sensors;
- focus difference: local sharpness, normalised by local contrast so exposure does not change it,
  differs between frames in both directions (each frame is sharp somewhere else).
Frames of one scene at one exposure with no clear focus difference are taken as a focus stack: that is
how they are aligned and ordered, and nothing else is decided by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from tita_studio.errors import InputError
from tita_studio.pipeline.source import SourceImage
from tita_studio.pipeline.sources import exposure_order, luminance, middle_exposure, name_order


class SourceKind(StrEnum):
    """The kinds of input the pipeline treats differently."""

    IR_VISIBLE = "ir-visible"
    BRACKET = "bracket"
    FOCUS_STACK = "focus-stack"
    OTHER = "other"

    @property
    def label(self) -> str:
        """The words the UI shows."""
        return _LABELS[self]


_LABELS = {
    SourceKind.IR_VISIBLE: "infrared/visible pair",
    SourceKind.BRACKET: "exposure bracket",
    SourceKind.FOCUS_STACK: "focus stack",
    SourceKind.OTHER: "other",
}
AUTO = "auto"
KIND_CHOICES: tuple[str, ...] = (AUTO, *(k.value for k in SourceKind))
# The kind a dataset folder's task names (../shared/datasets layout: ivf/, mef/, mff/, mif/, pan/).
KIND_OF_TASK = {"ivf": SourceKind.IR_VISIBLE, "mef": SourceKind.BRACKET, "mff": SourceKind.FOCUS_STACK,
                "mif": SourceKind.OTHER, "pan": SourceKind.OTHER}


@dataclass(frozen=True)
class KindConfig:
    """Thresholds of the classification; each was set on ../shared/datasets (docs/pipeline.md)."""

    analysis_side: int = 384  # frames are judged at this longest side
    midtones: tuple[float, float] = (0.04, 0.96)  # luma range whose pixels show colour (or its absence)
    min_midtone_fraction: float = 0.01  # fewer mid-tone pixels than this: grey or colour cannot be told
    grey_mean_spread: float = 1.0 / 255  # mean max-min channel spread of a grey frame (JPEG noise)
    grey_p99_spread: float = 6.0 / 255  # and its 99th percentile
    black_level: float = 0.02  # luma below this is background black
    scan_black_grey: float = 0.15  # two grey frames, one at least this black: scans on a black background
    scan_black_any: float = 0.25  # any two frames both at least this black: scans too (e.g. PET + MRI)
    bracket_ratio: float = 2.0  # brightness ratio above which frames are exposures, whatever else
    exposure_ratio: float = 1.15  # above this, frames are exposures unless their focus clearly differs
    min_rank_correlation: float = 0.45  # two grey frames correlating less come from different sensors
    sharpness_cells: int = 12  # focus is compared on a grid of this many cells per side
    sharpness_ratio: float = 1.6  # a frame this much sharper in a cell counts as in focus there
    min_focus_difference: float = 0.04  # fraction of cells sharper in each direction: a focus stack


@dataclass(frozen=True)
class Classification:
    """The kind of a set of sources, why, and what follows from it for order and reference."""

    kind: SourceKind
    reason: str
    order: tuple[int, ...]  # canonical fusion order (indices into the sources as given)
    reference: int  # the frame whose metadata and geometry the output keeps (index as given)
    overridden: bool = False

    def describe(self) -> str:
        """One line for logs, reports and the window."""
        how = "set by the user" if self.overridden else self.reason
        return f"{self.kind.label} ({how})"


def parse_kind(name: str | SourceKind | None) -> SourceKind | None:
    """A kind from its name; None or "auto" means: decide from the pixels."""
    if name is None or isinstance(name, SourceKind):
        return name
    key = str(name).strip().lower().replace("_", "-")
    if key == AUTO:
        return None
    aliases = {"ivf": SourceKind.IR_VISIBLE, "ir": SourceKind.IR_VISIBLE, "mef": SourceKind.BRACKET,
               "exposure": SourceKind.BRACKET, "mff": SourceKind.FOCUS_STACK, "focus": SourceKind.FOCUS_STACK}
    if key in aliases:
        return aliases[key]
    try:
        return SourceKind(key)
    except ValueError:
        raise InputError(f"unknown kind {name!r}; choose one of {', '.join(KIND_CHOICES)}") from None


def classify(sources: Sequence[SourceImage], kind: str | SourceKind | None = None,
             config: KindConfig | None = None) -> Classification:
    """Classify the sources (or take the user's `kind`), with the canonical order and reference."""
    cfg = config or KindConfig()
    if len(sources) < 2:
        raise InputError("fusion needs at least two sources; got " + str(len(sources)))
    forced = parse_kind(kind)
    frames = [_Frame.of(s, cfg) for s in sources]
    found, reason = (forced, "set by the user") if forced is not None else _decide(frames, cfg)
    order, reference = _roles(sources, frames, found)
    return Classification(found, reason, order, reference, overridden=forced is not None)


@dataclass
class _Frame:
    """A source reduced to what the decision needs."""

    luma: np.ndarray  # float32 at analysis size
    grey: bool | None  # None: too few mid-tone pixels to tell
    black: float  # fraction of background-black pixels
    mean: float
    multiband: bool  # a multispectral source (more bands than RGB)

    @classmethod
    def of(cls, source: SourceImage, cfg: KindConfig) -> _Frame:
        pixels = _small(source.pixels, cfg.analysis_side)
        luma = luminance(pixels) if source.intensity is None else _small(source.intensity, cfg.analysis_side)
        return cls(luma, _appears_grey(pixels, luma, cfg), float((luma < cfg.black_level).mean()),
                   max(float(luma.mean(dtype=np.float64)), 1e-4), source.meta.band_rule is not None)


def _small(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = side / max(h, w)
    if scale >= 1.0:
        return image.astype(np.float32, copy=False)
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    return cv2.resize(image.astype(np.float32, copy=False), size, interpolation=cv2.INTER_AREA)


def _appears_grey(pixels: np.ndarray, luma: np.ndarray, cfg: KindConfig) -> bool | None:
    if pixels.ndim == 2:
        return True
    low, high = cfg.midtones
    mid = (luma > low) & (luma < high)
    if mid.mean() < cfg.min_midtone_fraction:
        return None
    spread = (pixels.max(axis=2) - pixels.min(axis=2))[mid]
    return bool(spread.mean() <= cfg.grey_mean_spread and np.percentile(spread, 99) <= cfg.grey_p99_spread)


def _decide(frames: list[_Frame], cfg: KindConfig) -> tuple[SourceKind, str]:
    shapes = {f.luma.shape for f in frames}
    if len(shapes) > 1:  # sizes matched later; judge at the first frame's analysis size
        target = frames[0].luma.shape[::-1]
        for f in frames:
            f.luma = cv2.resize(f.luma, target, interpolation=cv2.INTER_AREA)
    ratio = max(f.mean for f in frames) / min(f.mean for f in frames)
    if any(f.multiband for f in frames):
        return SourceKind.OTHER, "a multispectral source (more bands than RGB)"
    if len(frames) == 2:
        a, b = frames
        if (a.grey and b.grey and max(a.black, b.black) >= cfg.scan_black_grey) or (
                min(a.black, b.black) >= cfg.scan_black_any):
            return SourceKind.OTHER, (f"frames on a black background ({100 * a.black:.0f}% and {100 * b.black:.0f}% "
                                      "black), as medical scans are")
        if {a.grey, b.grey} == {True, False}:
            return SourceKind.IR_VISIBLE, "one frame is colour, the other grey (equal channels)"
        correlation = _rank_correlation(a.luma, b.luma)
        if a.grey and b.grey and correlation < cfg.min_rank_correlation:
            return SourceKind.IR_VISIBLE, (f"two grey frames whose brightness is not a function of each other's "
                                           f"(rank correlation {correlation:.2f})")
    if ratio > cfg.bracket_ratio:
        return SourceKind.BRACKET, f"the brightest frame is {ratio:.1f}x as bright as the darkest"
    focus = _focus_difference(frames, cfg)
    if focus >= cfg.min_focus_difference:
        return SourceKind.FOCUS_STACK, (f"each frame is sharp where another is not ({100 * focus:.0f}% of the "
                                        "image each way)")
    if ratio > cfg.exposure_ratio:
        return SourceKind.BRACKET, (f"the brightest frame is {ratio:.2f}x as bright as the darkest, with the same "
                                    "focus")
    return SourceKind.FOCUS_STACK, f"frames of one scene at one exposure (brightness ratio {ratio:.2f})"


def _rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of histogram-equalised lumas: 1 when one is a monotone function of the other."""
    ea, eb = (cv2.equalizeHist(np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)).astype(np.float32) for x in (a, b))
    ea -= ea.mean()
    eb -= eb.mean()
    denominator = float(np.sqrt((ea * ea).sum() * (eb * eb).sum()))
    return float((ea * eb).sum() / denominator) if denominator > 0 else 0.0


def _cell_sharpness(luma: np.ndarray, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: high-frequency energy over local contrast (exposure-invariant), and whether the cell has
    enough contrast and no clipping to be judged."""
    detail = np.abs(luma - cv2.GaussianBlur(luma, (0, 0), 1.5))
    smooth = cv2.GaussianBlur(luma, (0, 0), 4.0)
    h, w = luma.shape
    ys = np.linspace(0, h, cells + 1).astype(int)
    xs = np.linspace(0, w, cells + 1).astype(int)
    sharp = np.zeros((cells, cells), np.float32)
    valid = np.zeros((cells, cells), bool)
    for i in range(cells):
        for j in range(cells):
            region = (slice(ys[i], ys[i + 1]), slice(xs[j], xs[j + 1]))
            values, base = luma[region], smooth[region]
            spread = float(base.std()) + float(detail[region].mean())
            clipped = float(((values < 0.02) | (values > 0.98)).mean())
            valid[i, j] = spread > 0.01 and clipped < 0.05
            sharp[i, j] = float(detail[region].mean()) / max(spread, 1e-4)
    return sharp, valid


def _focus_difference(frames: list[_Frame], cfg: KindConfig) -> float:
    """The smaller of the two fractions of cells where one frame is clearly sharper than the other,
    maximised over the pairs of frames (first/last by position and neighbours)."""
    maps = [_cell_sharpness(f.luma, cfg.sharpness_cells) for f in frames]
    pairs = {(0, len(frames) - 1), *((i, i + 1) for i in range(len(frames) - 1))}
    best = 0.0
    for i, j in pairs:
        (sa, va), (sb, vb) = maps[i], maps[j]
        valid = va & vb
        if valid.sum() < 4:
            continue
        ratio = np.log(np.maximum(sa[valid], 1e-6) / np.maximum(sb[valid], 1e-6))
        limit = np.log(cfg.sharpness_ratio)
        both_ways = min(float((ratio > limit).mean()), float((ratio < -limit).mean()))
        best = max(best, both_ways)
    return best


def _roles(sources: Sequence[SourceImage], frames: Sequence[_Frame], kind: SourceKind) -> tuple[tuple[int, ...], int]:
    """Canonical order and reference: visible first and the reference for IR/visible; brightest first and
    the middle exposure for a bracket; file names and the middle frame otherwise."""
    if kind is SourceKind.BRACKET:
        return tuple(exposure_order(sources)[::-1]), middle_exposure(sources)
    by_name = name_order(sources)
    if kind is SourceKind.IR_VISIBLE and len(sources) == 2:
        visible_first = sorted(by_name, key=lambda i: frames[i].grey is True)
        return tuple(visible_first), visible_first[0]
    return tuple(by_name), by_name[(len(by_name) - 1) // 2]
