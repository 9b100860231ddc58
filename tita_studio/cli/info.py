"""`tita-studio info`: version, device, model and precision, so a bug report says what ran."""

from __future__ import annotations

import argparse
import platform

import torch

from tita_studio import __version__
from tita_studio.engine.device import resolve_device
from tita_studio.model.weights import read_info
from tita_studio.paths import DEFAULT_WEIGHTS


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("info", help="show version, device, model and precision")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    print(f"tita-studio {__version__}")
    print(f"python      {platform.python_version()} ({platform.machine()})")
    print(f"torch       {torch.__version__}, {torch.get_num_threads()} CPU threads")
    print(f"device      {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    precision = "bfloat16" if device.type == "cpu" else "float16"
    print(f"precision   float32 (reduced: {precision} available)")
    if DEFAULT_WEIGHTS.exists():
        print(f"model       {read_info(DEFAULT_WEIGHTS).describe()} in {DEFAULT_WEIGHTS.parent}")
    else:
        print(f"model       the shipped weights are missing ({DEFAULT_WEIGHTS.name}): TITA fusion needs --model")
    return 0
