"""`tita-studio info`: version, device, model and precision, so a bug report says what ran."""

from __future__ import annotations

import argparse
import platform

import torch

from tita_studio import __version__
from tita_studio.engine.backends import openvino_available
from tita_studio.engine.defaults import load_defaults, machine_defaults
from tita_studio.engine.device import native_bfloat16, resolve_device, training_precision
from tita_studio.engine.quality import FAST_ABOVE_PIXELS
from tita_studio.model import TITA, TITAConfig
from tita_studio.model.loader import load_model
from tita_studio.model.weights import read_info
from tita_studio.paths import DEFAULT_WEIGHTS


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("info", help="show version, device, model and precision")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    parser.add_argument("--calibrate", action="store_true",
                        help="measure again which backend, precision and tile size run fastest here (seconds to "
                             "minutes; the result is remembered and used by --precision/--tile/--backend auto)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    print(f"tita-studio {__version__}")
    print(f"python      {platform.python_version()} ({platform.machine()})")
    print(f"torch       {torch.__version__}, {torch.get_num_threads()} CPU threads")
    print(f"device      {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    reduced = "bfloat16" if device.type == "cpu" else "float16"
    hardware = "in hardware" if device.type != "cpu" or native_bfloat16(device) else "emulated, several times slower"
    print(f"precision   float32 (reduced: {reduced}, {hardware})")
    print(f"training    precision auto = {training_precision('auto', device)} here (run.precision in a config)")
    measured = load_defaults(device)
    if args.calibrate:
        net = load_model(DEFAULT_WEIGHTS).net if DEFAULT_WEIGHTS.exists() else TITA(TITAConfig())
        measured = machine_defaults(net, device, recalibrate=True, progress=lambda s: print(f"calibrating: {s}"))
    print(f"defaults    {measured.describe()}" if measured else
          "defaults    not measured yet (at the first fusion with auto settings, or: tita-studio info --calibrate)")
    print(f"openvino    {'installed' if openvino_available() else 'not installed (pip install tita-studio[openvino])'}")
    print(f"fast above  {FAST_ABOVE_PIXELS / 1e6:.0f} MP (--quality auto)")
    if DEFAULT_WEIGHTS.exists():
        print(f"model       {read_info(DEFAULT_WEIGHTS).describe()} in {DEFAULT_WEIGHTS.parent}")
    else:
        print(f"model       the shipped weights are missing ({DEFAULT_WEIGHTS.name}): TITA fusion needs --model")
    return 0
