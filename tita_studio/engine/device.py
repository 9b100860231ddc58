"""Device and precision choice, in one place so the CLI, the window and the benchmarks agree."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from tita_studio.errors import InputError

PRECISIONS = ("float32", "bfloat16", "float16")
DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str = "auto") -> torch.device:
    """CUDA, then MPS, then CPU for "auto"; an explicit choice that is not available is an error."""
    if name not in DEVICES and not name.startswith("cuda:"):
        raise InputError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("CUDA was requested but no CUDA GPU is available; use --device cpu or auto")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InputError("MPS was requested but is not available on this machine; use --device cpu or auto")
    return torch.device(name)


def check_precision(precision: str, device: torch.device) -> None:
    """float16 autocast is only worth it (and only supported well) on GPUs."""
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision == "float16" and device.type == "cpu":
        raise InputError("float16 is for GPUs; on the CPU use bfloat16 or float32")


@contextlib.contextmanager
def autocast(device: torch.device, precision: str) -> Iterator[None]:
    """Autocast to the chosen reduced precision; a no-op for float32."""
    check_precision(precision, device)
    if precision == "float32":
        yield
        return
    dtype = torch.bfloat16 if precision == "bfloat16" else torch.float16
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield
