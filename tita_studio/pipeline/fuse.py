"""One fusion, files or arrays in, result out: the function both the command line and the window call.

Flow: sizes matched -> kind of input (pipeline.kinds: order and reference follow from it) -> alignment
-> luma / chroma split -> luma fused (TITA or a classical method) -> chroma fused by the spec rule ->
recombined.

More than two sources (TITA fuses pairs): the sources are put in a canonical order (exposure order for
a bracket, file-name order otherwise), and fused as a balanced binary tree of neighbouring runs, each
pair with the brighter frame as A (the MEF convention TITA was trained with). A canonical order makes
the result independent of the order the files were given in; the tree halves the run of sources at each
level, so every frame is fused the same number of times, give or take one (`merge_plan`), where a left
fold would let the last frame decide half of the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from tita_studio.engine.runner import FusionEngine
from tita_studio.engine.tiling import CancelFn, ProgressFn
from tita_studio.errors import Cancelled, InputError
from tita_studio.model.maps import FusionMaps
from tita_studio.pipeline.align import AlignConfig, AlignmentResult, align_sources, resolve_method
from tita_studio.pipeline.colour import fuse_chroma, recombine, split
from tita_studio.pipeline.deghost import DeghostConfig, deghost_default, deghost_sources
from tita_studio.pipeline.exposure import with_relative_ev
from tita_studio.pipeline.kinds import AUTO, Classification, SourceKind, classify
from tita_studio.pipeline.reading import read_image
from tita_studio.pipeline.source import SourceImage
from tita_studio.pipeline.sources import match_sizes
from tita_studio.pipeline.writing import WriteOptions, check_output, write_image

log = logging.getLogger(__name__)

STRATEGIES = ("tree", "fold")
TITA_METHOD = "tita"  # the network, as a method name beside the classical baselines


@dataclass(frozen=True)
class FuseOptions:
    """What to fuse and how. method: "tita" or a classical baseline name."""

    method: str = TITA_METHOD
    kind: str = AUTO  # auto (classify the sources) or a pipeline.kinds.SourceKind value
    align: str = "auto"  # auto | none | translation | homography (auto follows the kind; see align.py)
    resize: bool = False
    want_maps: bool = False
    strategy: str = "tree"  # how N > 2 sources are reduced to pairs: tree | fold
    preview_max_side: int | None = None  # fuse a downscaled copy (fast preview)
    quality: str = "auto"  # TITA path: full | fast | auto (by size: engine.quality.default_quality)
    align_config: AlignConfig = field(default_factory=AlignConfig)
    deghost: bool | None = False  # replace what moved by the reference's content (brackets; deghost.py);
    # None: on for a hand-held bracket (deghost.deghost_default), off otherwise
    deghost_config: DeghostConfig = field(default_factory=DeghostConfig)
    reference: int | None = None  # reference frame (index into the sources as given); None: the kind's choice


@dataclass
class FusionResult:
    """The fused image and everything the window and the reports show about it."""

    image: np.ndarray  # float32 in [0, 1], (H, W) grey or (H, W, 3) RGB
    luma: np.ndarray  # float32 (H, W), the fused luma in [0, 1]
    sources: list[SourceImage]  # as fused: resized, aligned and cropped, in fusion order
    reference: int  # index into `sources` of the frame whose metadata the output keeps
    method: str
    classification: Classification  # the kind of input (indices in it refer to the sources as given)
    maps: FusionMaps | None = None  # maps of the last (root) TITA pair, at 1 / maps_scale resolution
    pair_lumas: tuple[np.ndarray, np.ndarray] | None = None  # the root pair's inputs (A, B), for inspection
    maps_scale: int = 1
    alignment: AlignmentResult | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    ghost_mask: np.ndarray | None = None  # with deghost: float32 (H, W) in [0, 1], 1 where the reference was used


def _downscaled(source: SourceImage, max_side: int) -> SourceImage:
    h, w = source.shape
    scale = max_side / max(h, w)
    if scale >= 1:
        return source
    size = (max(8, round(w * scale)), max(8, round(h * scale)))

    def resample(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else cv2.resize(a, size, interpolation=cv2.INTER_AREA)

    return SourceImage(resample(source.pixels), source.meta, resample(source.alpha), resample(source.intensity))


class _Steps:
    """Splits one progress bar over several sub-tasks of known relative cost."""

    def __init__(self, progress: ProgressFn | None, weights: Sequence[float]) -> None:
        self.progress, self.weights = progress, list(weights)
        self.total = sum(self.weights) or 1.0

    def sub(self, i: int) -> ProgressFn:
        start = sum(self.weights[:i]) / self.total
        span = self.weights[i] / self.total

        def report(f: float) -> None:
            if self.progress:
                self.progress(min(1.0, start + span * f))

        return report


def _check_strategy(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise InputError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")


def merge_plan(count: int, strategy: str) -> list[tuple[int, int]]:
    """The pairwise fusions that reduce `count` ordered sources to one, in the order they run.

    Slots 0..count-1 are the sources; fusion k reads two slots and writes slot count + k, so the last
    fusion is the root. "tree" splits the run of sources into halves (the brighter half one larger when
    the count is odd) and fuses each half first: no frame sits more than one level deeper than another.
    "fold" fuses each next source with everything fused so far.
    """
    _check_strategy(strategy)
    plan: list[tuple[int, int]] = []

    def merge(a: int, b: int) -> int:
        plan.append((a, b))
        return count + len(plan) - 1

    if strategy == "fold":
        slot = 0
        for i in range(1, count):
            slot = merge(slot, i)
        return plan

    def halves(lo: int, hi: int) -> int:
        if hi - lo == 1:
            return lo
        mid = lo + (hi - lo + 1) // 2
        return merge(halves(lo, mid), halves(mid, hi))

    halves(0, count)
    return plan


def _fuse_lumas_tita(lumas: list[np.ndarray], engine: FusionEngine, options: FuseOptions,
                     progress: ProgressFn | None, cancel: CancelFn | None
                     ) -> tuple[np.ndarray, FusionMaps | None, int, tuple[np.ndarray, np.ndarray], str]:
    """Pairwise reduction in the given (canonical) order; maps, inputs and quality note of the last pair."""
    plan = merge_plan(len(lumas), options.strategy)
    steps = _Steps(progress, [1.0] * len(plan))
    slots: list[np.ndarray | None] = list(lumas)
    maps, scale, note, root = None, 1, "", (lumas[0], lumas[1])
    for done, (i, j) in enumerate(plan):
        a, b = slots[i], slots[j]
        slots[i] = slots[j] = None  # each slot is read once: full-resolution intermediates go as soon as used
        last = done == len(plan) - 1
        out = engine.fuse(a, b, want_maps=options.want_maps and last, progress=steps.sub(done),
                          cancel=cancel, quality=options.quality)
        slots.append(np.clip(out.fused, 0.0, 1.0))
        if last:
            maps, scale, note, root = out.maps, out.maps_scale, out.note, (a, b)
    return slots[-1], maps, scale, root, note


def fuse_sources(sources: Sequence[SourceImage], options: FuseOptions | None = None,
                 engine: FusionEngine | None = None, progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None) -> FusionResult:
    """Fuse N >= 2 decoded sources. `engine` is needed for the network (engine.load.load_engine)."""
    opts = options or FuseOptions()
    if len(sources) < 2:
        raise InputError("fusion needs at least two sources; got " + str(len(sources)))
    _check_strategy(opts.strategy)  # before the alignment, not after it
    start = time.perf_counter()
    srcs = match_sizes(sources, resize=opts.resize)
    if opts.preview_max_side:
        srcs = [_downscaled(s, opts.preview_max_side) for s in srcs]
    kind = _with_reference(classify(srcs, opts.kind), opts.reference, len(srcs))
    log.info("input: %s", kind.describe())
    srcs = [srcs[i] for i in kind.order]
    reference = kind.order.index(kind.reference)
    srcs = with_relative_ev(srcs, reference)
    notes = [f"input: {kind.describe()}"]
    alignment = None
    align_cfg = replace(opts.align_config, method=opts.align)
    if resolve_method(opts.align, kind.kind) != "none":
        srcs, alignment = align_sources(srcs, reference, align_cfg, kind=kind.kind)
        log.info(alignment.report())
        notes += [f"alignment: {note}" for note in alignment.notes]
    if cancel is not None and cancel():
        raise Cancelled("fusion cancelled")
    ghost_mask = None
    if opts.deghost or (opts.deghost is None and deghost_default(kind.kind, alignment, opts.deghost_config)):
        srcs, ghost_mask, deghost_notes = _deghosted(srcs, reference, kind, opts)
        notes += deghost_notes
    parts = [split(s) for s in srcs]
    lumas = [p.luma for p in parts]
    maps, scale, root = None, 1, None
    if opts.method == TITA_METHOD:
        if engine is None:
            raise InputError("the tita method needs a loaded model (engine.load.load_engine)")
        if not engine.trained:
            notes.append("the TITA weights in use are UNTRAINED: the result is not a real fusion")
        luma, maps, scale, root, quality_note = _fuse_lumas_tita(lumas, engine, opts, progress, cancel)
        notes.append(f"quality: {quality_note}")
    else:
        luma = np.clip(_baseline(opts.method)(lumas), 0.0, 1.0).astype(np.float32)
        if progress:
            progress(1.0)
    image = np.clip(recombine(luma, fuse_chroma([p.chroma for p in parts])), 0.0, 1.0).astype(np.float32)
    return FusionResult(image=image, luma=luma, sources=list(srcs), reference=reference, method=opts.method,
                        classification=kind, maps=maps, pair_lumas=root, maps_scale=scale, alignment=alignment,
                        seconds=time.perf_counter() - start, notes=notes, ghost_mask=ghost_mask)


def _with_reference(kind: Classification, reference: int | None, count: int) -> Classification:
    """The classification with the user's reference frame, when one is chosen."""
    if reference is None:
        return kind
    if not 0 <= reference < count:
        raise InputError(f"reference frame {reference} does not exist; choose 0 to {count - 1} (the sources as given)")
    return replace(kind, reference=reference)


def _deghosted(srcs: list[SourceImage], reference: int, kind: Classification,
               opts: FuseOptions) -> tuple[list[SourceImage], np.ndarray | None, list[str]]:
    """Deghosted sources, the ghost mask and notes; only exposure brackets are deghosted (in a focus stack
    the frames differ by focus, in a sensor pair by modality: neither is motion)."""
    if kind.kind is not SourceKind.BRACKET:
        return srcs, None, [f"deghosting skipped: only exposure brackets are deghosted (this is {kind.kind.label})"]
    result = deghost_sources(srcs, reference, opts.deghost_config)
    share = float(result.ghost_mask.mean())
    notes = [f"deghost: {note}" for note in result.notes] or ["deghost: no motion found"]
    log.info("deghost: %.1f%% of the image follows the reference frame", 100 * share)
    return result.sources, result.ghost_mask, notes


def _baseline(name: str) -> Callable[[Sequence[np.ndarray]], np.ndarray]:
    from tita_studio.baselines import BASELINES

    if name not in BASELINES:
        raise InputError(f"unknown method {name!r}; choose {TITA_METHOD} or one of {', '.join(BASELINES)}")
    return BASELINES[name]


def fuse_files(paths: Sequence[str | Path], output: str | Path, options: FuseOptions | None = None,
               write: WriteOptions | None = None, engine: FusionEngine | None = None,
               progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> tuple[FusionResult, Path]:
    """Read, fuse and write atomically; the output keeps the reference source's EXIF/ICC."""
    check_output(output, write or WriteOptions(), paths)
    sources = [read_image(p) for p in paths]
    result = fuse_sources(sources, options, engine, progress, cancel)
    if cancel is not None and cancel():
        raise Cancelled("fusion cancelled; nothing was written")
    meta = result.sources[result.reference].meta
    written = write_image(output, result.image, write, meta=meta, sources=list(paths))
    return result, written
