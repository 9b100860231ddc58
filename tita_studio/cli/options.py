"""Argument types shared by the subcommands, so every command accepts the same spellings."""

from __future__ import annotations

import argparse

from tita_studio.cluster.ray_pool import LOCAL, ClusterConfig
from tita_studio.engine.backends import check_backend
from tita_studio.engine.device import canonical_or_auto
from tita_studio.engine.quality import check_quality
from tita_studio.engine.tiling import TileConfig
from tita_studio.errors import InputError

PRECISION_HELP = "float32 (fp32), bfloat16 (bf16), float16 (fp16, GPUs only) or auto (measured fastest here)"
BACKEND_HELP = ("torch (the reference), openvino (CPU; pip install 'tita-studio[openvino]') or auto (openvino "
                "where installed and measured faster here)")


def precision_arg(text: str) -> str:
    """argparse type: any accepted spelling of a precision, as its canonical name, or auto."""
    try:
        return canonical_or_auto(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def tile_arg(text: str) -> int | None:
    """argparse type: a tile side (multiple of 8, >= 64) or auto (None: the size measured fastest here)."""
    if text.strip().lower() == "auto":
        return None
    try:
        tile = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--tile must be auto or a number of pixels; got {text!r}") from None
    try:
        return TileConfig(tile=tile).tile  # the one check of a tile side
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def backend_arg(text: str) -> str:
    """argparse type: torch, openvino or auto; openvino only when installed."""
    try:
        return check_backend(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def quality_arg(text: str) -> str:
    """argparse type: fast, full or auto; a number gets the JPEG option's new name."""
    if text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"--quality now chooses the fusion path (fast, full or auto); for a "
                                         f"JPEG quality of {text} use --jpeg-quality {text}")
    try:
        return check_quality(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """--cluster, --cluster-cpus and --worker-cpus, the same for every command that can spread its work."""
    parser.add_argument("--cluster", metavar="local|ADDRESS",
                        help="spread the work over Ray workers: 'local' starts Ray on this machine, an address "
                             "joins a running cluster (needs pip install -e '.[cluster]'; docs/cluster.md)")
    parser.add_argument("--cluster-cpus", type=int, metavar="N", help="with --cluster local: cores Ray may use")
    parser.add_argument("--worker-cpus", type=int, default=1, metavar="N",
                        help="with --cluster: cores (torch threads) per CPU worker (default 1)")


def cluster_config(args: argparse.Namespace) -> ClusterConfig | None:
    """The cluster the arguments name, or None without --cluster."""
    if not args.cluster:
        if args.cluster_cpus is not None:
            raise InputError("--cluster-cpus applies only with --cluster local")
        return None
    if args.cluster_cpus is not None and args.cluster != LOCAL:
        raise InputError("--cluster-cpus applies only with --cluster local (a running cluster has its own)")
    return ClusterConfig(args.cluster, args.cluster_cpus, args.worker_cpus)
