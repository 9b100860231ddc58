"""Device and precision choice, in one place so the CLI, the window and the benchmarks agree."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from tita_studio.errors import InputError

PRECISIONS = ("float32", "bfloat16", "float16")
# The names PyTorch users type (Lightning's "bf16-mixed", Accelerate's "fp16", ...) for each precision.
_ALIASES = {
    "float32": ("fp32", "f32", "32", "32-true", "float", "single", "full"),
    "bfloat16": ("bf16", "bf16-mixed", "bf16-true", "brain"),
    "float16": ("fp16", "f16", "16", "16-mixed", "16-true", "half"),
}
_CANONICAL = {alias: name for name, aliases in _ALIASES.items() for alias in (name, *aliases)}


def canonical_precision(name: str) -> str:
    """The precision's canonical name (float32, bfloat16, float16) from any accepted spelling."""
    key = str(name).strip().lower()
    if key not in _CANONICAL:
        spellings = "; ".join(f"{n} ({', '.join(a[:2])})" for n, a in _ALIASES.items())
        raise InputError(f"unknown precision {name!r}; choose one of {spellings}")
    return _CANONICAL[key]
def canonical_or_auto(name: str) -> str:
    """"auto" (measured on this machine: engine/defaults.py) or the precision's canonical name."""
    return "auto" if str(name).strip().lower() == "auto" else canonical_precision(name)


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


def check_precision(precision: str, device: torch.device) -> str:
    """The canonical name of `precision`; float16 autocast is only worth it (and only supported well) on
    GPUs."""
    name = canonical_precision(precision)
    if name == "float16" and device.type == "cpu":
        raise InputError("float16 is for GPUs; on the CPU use bfloat16 or float32")
    return name


def native_bfloat16(device: torch.device) -> bool:
    """Whether this device computes bfloat16 in hardware. Without it (an AVX2-only CPU) PyTorch emulates
    bfloat16, and a training step took 8x its float32 time (AMD EPYC, benchmarks/bench_train.py)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":  # torch.cpu's probes are private: a torch without them counts as no support
        probes = (getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
        return any(bool(probe()) for probe in probes if probe is not None)
    return False


def training_precision(precision: str, device: torch.device) -> str:
    """A training run's autocast precision: "auto" is bfloat16 where the hardware has it (half the
    activation memory; on an AVX512-BF16 Xeon a step cost the same as float32), float32 elsewhere."""
    if str(precision).strip().lower() == "auto":
        return "bfloat16" if native_bfloat16(device) else "float32"
    return check_precision(precision, device)


@contextlib.contextmanager
def autocast(device: torch.device, precision: str) -> Iterator[None]:
    """Autocast to the chosen reduced precision; a no-op for float32."""
    name = check_precision(precision, device)
    if name == "float32":
        yield
        return
    dtype = torch.bfloat16 if name == "bfloat16" else torch.float16
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield
