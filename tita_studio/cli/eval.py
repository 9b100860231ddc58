"""`tita-studio eval`: run methods over dataset folders, score them, and write tables and plots.

The work is done by `tita_studio.evaluation`; this module parses arguments and prints.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path

from tita_studio.baselines import DESCRIPTIONS
from tita_studio.cli.options import (
    BACKEND_HELP,
    PRECISION_HELP,
    add_cluster_arguments,
    backend_arg,
    cluster_config,
    precision_arg,
)
from tita_studio.cluster.run import eval_executor
from tita_studio.engine.device import DEVICES
from tita_studio.engine.runner import EngineConfig
from tita_studio.evaluation.report import write_report
from tita_studio.evaluation.run import METHOD_CHOICES, EvaluationConfig, TaskExecutor, evaluate
from tita_studio.metrics.conventions import CONVENTIONS
from tita_studio.metrics.registry import METRICS
from tita_studio.pipeline.fuse import TITA_METHOD

_REDRAW_SECONDS = 0.2


def register(sub: argparse._SubParsersAction) -> None:
    methods = "; ".join([f"{TITA_METHOD}: the TITA network", *(f"{k}: {v}" for k, v in DESCRIPTIONS.items())])
    parser = sub.add_parser(
        "eval", help="evaluate fusion methods on dataset folders",
        description="Fuse every pair and sequence of each dataset folder (A/NAME + B/NAME, seq/NAME/*) with each "
                    "method, score the results, and write a per-image CSV, a markdown table and bar plots. "
                    f"Results already computed are reused from DIR/cache. Methods: {methods}.")
    parser.add_argument("datasets", nargs="+", metavar="DATASET", help="dataset folders, e.g. datasets/ivf/vifb")
    parser.add_argument("--methods", default=",".join(METHOD_CHOICES), metavar="LIST",
                        help=f"comma-separated methods (default: all: {','.join(METHOD_CHOICES)})")
    parser.add_argument("--metrics", metavar="LIST",
                        help="comma-separated metrics (default: the convention's set, plus MEF-SSIM for exposure "
                             f"fusion and sequences); known: {', '.join(METRICS)}")
    parser.add_argument("--convention", choices=CONVENTIONS, default="standard",
                        help="standard (default) or vifb (reproduces VIFB's MATLAB values)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the results and cache")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N items of each dataset")
    parser.add_argument("--holdout", type=Path, metavar="FILE",
                        help="a holdout TOML ([holdout] TASK = [\"ivf/roadscene/NAME\", ...], e.g. "
                             "configs/holdout.toml): evaluate only those scenes of the given folders")
    parser.add_argument("--model", type=Path, metavar="PATH",
                        help="TITA weights (default: models/tita-studio.safetensors; tita is skipped without any)")
    parser.add_argument("--precision", default="float32", type=precision_arg, metavar="PRECISION",
                        help=f"precision of the tita method: {PRECISION_HELP}; default float32")
    parser.add_argument("--backend", default="torch", type=backend_arg, metavar="BACKEND",
                        help=f"runtime of the tita method: {BACKEND_HELP}; default torch (the reference)")
    parser.add_argument("--device", default="auto", choices=DEVICES, help="device of the tita method")
    add_cluster_arguments(parser)
    parser.set_defaults(run=run)


class _Progress:
    """A one-line `\\r` progress report on stderr."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.last = -_REDRAW_SECONDS

    def __call__(self, done: int, total: int, label: str) -> None:
        now = time.monotonic()
        if now - self.last < _REDRAW_SECONDS and done < total:
            return
        self.last = now
        percent = 100.0 * done / total if total else 100.0
        line = f"\r[{done}/{total} {percent:5.1f}% {now - self.start:6.0f}s] {label}"
        sys.stderr.write(f"{line[:100]:<100}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def machine() -> str:
    """The machine in one line, for the report."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{platform.system()} {platform.machine()}, {cpus} CPU cores, Python {platform.python_version()}"


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this evaluation, for the report."""
    words = ["tita-studio", "eval", *map(str, args.datasets), "--methods", args.methods]
    if args.metrics:
        words += ["--metrics", args.metrics]
    if args.convention != "standard":
        words += ["--convention", args.convention]
    words += ["--out", str(args.out)]
    if args.limit is not None:
        words += ["--limit", str(args.limit)]
    if args.holdout is not None:
        words += ["--holdout", str(args.holdout)]
    if args.model is not None:
        words += ["--model", str(args.model)]
    if args.precision != "float32":
        words += ["--precision", args.precision]
    if args.backend != "torch":
        words += ["--backend", args.backend]
    return shlex.join(words)


def _executor(args: argparse.Namespace) -> TaskExecutor | None:
    cluster = cluster_config(args)
    return None if cluster is None else eval_executor(cluster)


def run(args: argparse.Namespace) -> int:
    report = evaluate(args.datasets, args.methods, args.out, metrics=args.metrics, convention=args.convention,
                      limit=args.limit, model=args.model, progress=_Progress(), holdout=args.holdout,
                      config=EvaluationConfig(engine=EngineConfig(device=args.device, precision=args.precision,
                                                                  backend=args.backend)),
                      executor=_executor(args))
    written = write_report(report, args.out, command=command_line(args), machine=machine())
    print(f"{len(report.rows)} result(s): {report.computed} computed, {report.reused} reused from the cache")
    for method, reason in report.skipped.items():
        print(f"{method}: {reason}")
    for path in written:
        print(f"wrote {path}")
    return 0
