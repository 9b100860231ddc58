"""`tita-studio fuse`: sources in, one fused file out; or a folder of pairs, resumable."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from tita_studio.cli.options import (
    BACKEND_HELP,
    PRECISION_HELP,
    add_cluster_arguments,
    backend_arg,
    cluster_config,
    precision_arg,
    quality_arg,
    tile_arg,
)
from tita_studio.cli.progress import ProgressLine
from tita_studio.cluster.run import fuse_pairs_on_cluster
from tita_studio.engine.device import DEVICES
from tita_studio.engine.load import load_engine
from tita_studio.engine.runner import EngineConfig, FusionEngine
from tita_studio.engine.tiling import TileConfig
from tita_studio.errors import InputError
from tita_studio.pipeline.align import METHODS as ALIGN_METHODS
from tita_studio.pipeline.batch import FAILED, BatchSettings, fuse_pair, plan_pairs, summary_lines
from tita_studio.pipeline.formats import TIFF_COMPRESSIONS
from tita_studio.pipeline.fuse import STRATEGIES, TITA_METHOD, FuseOptions, FusionResult, fuse_files
from tita_studio.pipeline.kinds import KIND_CHOICES
from tita_studio.pipeline.maps_export import write_maps
from tita_studio.pipeline.writing import WriteOptions, write_image

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fuse", help="fuse two or more images into one file",
                       description="Fuse registered (or alignable) sources: a bracket, a focus stack, "
                                   "an IR/visible pair, ... The output keeps the reference source's EXIF/ICC.")
    p.add_argument("sources", nargs="*", metavar="SRC", help="source images (two or more)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file (.png, .tif, .jpg); with --pairs, an output folder")
    p.add_argument("--pairs", nargs=2, metavar=("DIR_A", "DIR_B"),
                   help="fuse every pair of files with the same name in two folders (resumable)")
    p.add_argument("--method", default="tita", help="tita (default) or a classical baseline (see `info`)")
    p.add_argument("--model", type=Path, help="TITA Studio .safetensors weights or a reference .pth checkpoint")
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--precision", default="auto", type=precision_arg, metavar="PRECISION",
                   help=f"{PRECISION_HELP}; default auto")
    p.add_argument("--tile", type=tile_arg, default=None, metavar="PX",
                   help="tile side in pixels (multiple of 8) or auto (default: the size measured fastest here)")
    p.add_argument("--backend", default="auto", type=backend_arg, metavar="BACKEND",
                   help=f"{BACKEND_HELP}; default auto")
    p.add_argument("--kind", default="auto", choices=KIND_CHOICES,
                   help="what the sources are (default auto: decided from the pixels, and printed); "
                        "order, reference frame and automatic alignment follow it")
    p.add_argument("--align", default="auto", choices=ALIGN_METHODS,
                   help="auto (default): translation for brackets, homography for focus stacks, none for "
                        "IR/visible and other pairs; a frame is moved only when that clearly helps")
    p.add_argument("--resize", action="store_true", help="resample smaller sources to the largest")
    p.add_argument("--strategy", default="tree", choices=STRATEGIES, help="how more than two sources are paired")
    p.add_argument("--deghost", action=argparse.BooleanOptionalAction, default=False,
                   help="exposure brackets: where something moved between frames, use the reference frame's "
                        "content (mapped to each frame's exposure) so it appears once (default off)")
    p.add_argument("--reference", metavar="SRC",
                   help="the reference frame (alignment target, deghosting, metadata): one of the sources, by "
                        "file name or position 1..N (default: chosen by the kind, the middle exposure of a bracket)")
    p.add_argument("--ghost-mask", type=Path, metavar="FILE",
                   help="with --deghost, also write the ghost mask (white: taken from the reference) as an image")
    p.add_argument("--maps", type=Path, metavar="DIR", help="also write the network's maps (PNG + .npz) here")
    p.add_argument("--bit-depth", type=int, choices=(8, 16), help="output bit depth (default: as the reference)")
    p.add_argument("--quality", default="auto", type=quality_arg, metavar="QUALITY",
                   help="fast: the network at about 1 MP, its decision carried to full resolution (minutes "
                        "become seconds on a CPU); full: the network at full resolution (exact); auto (default): "
                        "fast above 2 MP")
    p.add_argument("--jpeg-quality", type=int, default=95, help="JPEG quality (default 95)")
    p.add_argument("--tiff-compression", default="deflate", choices=tuple(TIFF_COMPRESSIONS),
                   help="lossless compression of a TIFF output (default deflate)")
    p.add_argument("--ext", default=".png", help="output extension with --pairs (default .png)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output (never a source)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar (default: when stderr is a terminal)")
    add_cluster_arguments(p)
    p.set_defaults(run=run)


def _engine_config(args: argparse.Namespace) -> EngineConfig:
    tiles = None if args.tile is None else TileConfig(tile=args.tile)
    return EngineConfig(device=args.device, precision=args.precision, tiles=tiles, backend=args.backend)


def _engine(args: argparse.Namespace) -> FusionEngine | None:
    if args.method != TITA_METHOD:
        return None
    engine = load_engine(args.model, _engine_config(args))
    log.info("model: %s on %s (%s, %s, %s px tiles)", engine.description, engine.device, engine.backend,
             engine.config.precision, engine.config.tiles.tile)
    return engine


def _report(result: FusionResult, out: Path) -> None:
    for note in result.notes:
        print(f"note: {note}")
    if result.alignment is not None:
        print(result.alignment.report())
    names = ", ".join(s.meta.path.name for s in result.sources)
    print(f"{out}: {result.method} fusion of {names} in {result.seconds:.1f} s")


def _fuse_one(paths: list[Path], out: Path, args: argparse.Namespace, engine: FusionEngine | None,
              options: FuseOptions, write: WriteOptions, label: str) -> FusionResult:
    bar = ProgressLine(label, args.progress)
    try:
        result, written = fuse_files(paths, out, options, write, engine, progress=bar)
    finally:
        bar.close()
    if args.maps is not None and result.maps is not None:
        write_maps(result.maps, args.maps, untrained=engine is not None and not engine.trained)
    if args.ghost_mask is not None and result.ghost_mask is not None:
        write_image(args.ghost_mask, result.ghost_mask, WriteOptions(bit_depth=8, force=args.force))
    _report(result, written)
    return result


def _reference(args: argparse.Namespace) -> int | None:
    """--reference as an index into the sources as given: a source's file name (or path) or its position."""
    if args.reference is None:
        return None
    if args.pairs:
        raise InputError("--reference names one of the sources; it does not apply to --pairs")
    chosen = args.reference
    for i, source in enumerate(args.sources):
        if chosen in (source, Path(source).name):
            return i
    if chosen.isdigit() and 1 <= int(chosen) <= len(args.sources):
        return int(chosen) - 1
    raise InputError(f"--reference {chosen}: not one of the sources; give a file name or a position 1 to "
                     f"{len(args.sources)}")


def run(args: argparse.Namespace) -> int:
    options = FuseOptions(method=args.method, kind=args.kind, align=args.align, resize=args.resize,
                          want_maps=args.maps is not None and args.method == TITA_METHOD, strategy=args.strategy,
                          quality=args.quality, deghost=args.deghost, reference=_reference(args))
    write = WriteOptions(bit_depth=args.bit_depth, jpeg_quality=args.jpeg_quality, force=args.force,
                         tiff_compression=args.tiff_compression)
    if not args.pairs:
        if len(args.sources) < 2:
            raise InputError("fuse needs at least two sources (or --pairs DIR_A DIR_B)")
        _fuse_one([Path(s) for s in args.sources], Path(args.output), args, _engine(args), options, write, "fusing")
        return 0
    if args.sources:
        raise InputError("give either source files or --pairs, not both")
    tasks = plan_pairs(Path(args.pairs[0]), Path(args.pairs[1]), Path(args.output), args.ext)
    settings = BatchSettings(options, write, args.maps)
    cluster = cluster_config(args)
    if cluster is not None:
        outcomes = fuse_pairs_on_cluster(tasks, settings, args.model, _engine_config(args), cluster)
    else:
        engine = _engine(args)
        outcomes = []
        for task in tasks:
            bar = ProgressLine(f"[{task.index + 1}/{len(tasks)}] {task.output.stem}", args.progress)
            try:
                outcome = fuse_pair(task, settings, engine, progress=bar)
            finally:
                bar.close()
            if outcome.result is not None:
                _report(outcome.result, task.output)
            outcomes.append(outcome)
    for line in summary_lines(outcomes):
        print(line)
    return 1 if any(o.status == FAILED for o in outcomes) else 0
