"""Precision, tile size and backend by measurement on this machine, measured once and remembered.

The fastest settings differ between CPUs (bfloat16 pays only with AVX512-BF16 or AMX; cache sizes move
the best tile), so the first run times a few small fusions (seconds) and keeps the winner in a small
JSON file in the user cache folder, keyed by CPU model, torch version and device. A choice counts only
when its result agrees with float32 PyTorch within AGREEMENT_DB on the calibration pair.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import platformdirs
import torch

from tita_studio.atomic import atomic_write
from tita_studio.engine.allocator import keep_freed_memory
from tita_studio.engine.backends import openvino_available
from tita_studio.engine.device import autocast, resolve_device

log = logging.getLogger(__name__)

FILE_NAME = "machine-defaults.json"
AGREEMENT_DB = 38.0  # the fast path's limit against the exact one; a precision must agree at least as well
CALIBRATION_SIDE = 192  # side of the pair used to compare precisions and backends (seconds, not minutes)
TILE_CANDIDATES = (256, 512)  # 512 keeps a 24 MP fusion under 3 GB (docs/model.md)
OPENVINO_MAX_TILE = 256  # OpenVINO's memory grows with the whole tile (see candidate_runners)
MAX_TILE = {"openvino": OPENVINO_MAX_TILE}  # the largest tile a backend is timed (so converted) and run at
OVERLAP = 32
# in the machine key, so machines measure again once: 2 = OpenVINO among the candidates; 3 = PyTorch timed as
# the engine runs it (allocator tuned, warmed at the timed size)
CALIBRATION_VERSION = 3


def backend_tile(backend: str, tile: int) -> int:
    """The tile side `backend` is timed, converted and run at when `tile` is asked (MAX_TILE caps it)."""
    return min(tile, MAX_TILE.get(backend, tile))


@dataclass(frozen=True)
class MachineDefaults:
    """What runs fastest here within the agreement limit, and what was measured to decide it.

    seconds_per_mp: the chosen settings' seconds per megapixel of output through tiles (overlap counted),
    which also predicts how long an exact fusion takes (engine/quality.py).
    """

    key: str
    backend: str
    precision: str
    tile: int
    seconds_per_mp: float
    measured: dict[str, float]  # "backend/precision/side" -> seconds of one run, and "...dB" agreements

    def precision_for(self, backend: str) -> str:
        """The fastest precision of `backend` that agreed with float32 in the measurement (float32 if none)."""
        best, best_s = "float32", float("inf")
        for key, seconds in self.measured.items():
            parts = key.split("/")
            if len(parts) != 3 or parts[0] != backend:
                continue
            if self.measured.get(f"{key}/dB", 0.0) >= AGREEMENT_DB and seconds < best_s:
                best, best_s = parts[1], seconds
        return best

    def describe(self) -> str:
        tile = backend_tile(self.backend, self.tile)  # what the chosen backend runs
        return (f"{self.backend} {self.precision}, {tile} px tiles, {self.seconds_per_mp:.0f} s/MP "
                f"(measured on {self.key})")


def cache_path() -> Path:
    return Path(platformdirs.user_cache_dir("tita-studio", appauthor=False)) / FILE_NAME


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo, else platform.processor())."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_key(device: torch.device) -> str:
    """CPU model + torch version + device (+ GPU name): what the measurement depends on."""
    where = device.type
    if device.type == "cuda":
        where = f"cuda {torch.cuda.get_device_name(device)}"
    return (f"{cpu_model()} | torch {torch.__version__} | {where} | {torch.get_num_threads()} threads"
            f" | calibration {CALIBRATION_VERSION}")


def load_defaults(device: torch.device | str = "auto") -> MachineDefaults | None:
    """The remembered measurement for this machine, or None when there is none (or it is for another one)."""
    dev = resolve_device(device) if isinstance(device, str) else device
    try:
        data = json.loads(cache_path().read_text())
        entry = data.get(machine_key(dev))
        return None if entry is None else MachineDefaults(**entry)
    except (OSError, ValueError, TypeError):
        return None


def _save(defaults: MachineDefaults) -> None:
    path = cache_path()
    try:
        data = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        data = {}
    data[defaults.key] = asdict(defaults)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(data, indent=1).encode())
    except OSError as exc:
        log.warning("could not remember the measured defaults in %s: %s", path, exc)


def calibration_pair(side: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic pair with smooth shading, edges and texture: one bright, one dark exposure."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    scene = 0.5 + 0.3 * np.sin(6 * x + 2 * y) * np.cos(5 * y)
    scene += 0.15 * ((x > 0.4) & (y < 0.7)) + 0.05 * rng.standard_normal((side, side)).astype(np.float32)
    scene = np.clip(scene, 0, 1)
    return np.clip(scene * 1.8, 0, 1).astype(np.float32), (scene * 0.4).astype(np.float32)


def _psnr(ref: np.ndarray, test: np.ndarray) -> float:
    mse = float(np.mean((np.clip(ref, 0, 1) - np.clip(test, 0, 1)) ** 2))
    return float("inf") if mse == 0 else 10 * float(np.log10(1 / mse))


Runner = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _timed(run: Runner, a: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
    """Seconds of one run after a warm-up run of the same size, as the engine runs every tile but its first:
    kernels chosen and memory pools filled (for OpenVINO, the model for this size converted and compiled,
    once per size and machine). Warmed at 64 px only, a 512 px PyTorch pass on a 2-core EPYC took 1.8x its
    warm time with the allocator tuned (benchmarks/calibration_warmup.py)."""
    run(a, b)
    start = time.perf_counter()
    out = run(a, b)
    return time.perf_counter() - start, out


def calibrate(runners: dict[tuple[str, str], Runner], device: torch.device,
              progress: Callable[[str], None] | None = None) -> MachineDefaults:
    """Pick the backend, precision and tile that run fastest here while agreeing with float32 PyTorch.

    runners[(backend, precision)](a, b) fuses a whole pair in one pass; ("torch", "float32") comes first and
    is the reference. PyTorch's precisions are compared on a small pair, the winner's tile sizes next; other
    backends are timed at one tile size only, the chosen one capped by MAX_TILE (OpenVINO: 256 px), which is
    the one size they will be converted for; per output pixel (overlap counted), so sizes compare fairly.
    `tile` stays PyTorch's best; a capped backend runs its own size (engine/runner.py).
    """

    def say(text: str) -> None:
        if progress:
            progress(text)

    keep_freed_memory()  # the engine tunes the allocator before its first fusion: time what it will run
    a, b = calibration_pair(max(TILE_CANDIDATES))
    measured: dict[str, float] = {}

    def record(backend: str, precision: str, side: int, seconds: float, out: np.ndarray, ref: np.ndarray) -> bool:
        measured[f"{backend}/{precision}/{side}"] = round(seconds, 3)
        agreement = min(_psnr(ref, out), 200.0)
        measured[f"{backend}/{precision}/{side}/dB"] = round(agreement, 1)
        return agreement >= AGREEMENT_DB

    side = CALIBRATION_SIDE
    small = (a[:side, :side], b[:side, :side])
    reference = None
    best: tuple[float, str] | None = None
    for (backend, precision), run in runners.items():
        if backend != "torch":
            continue
        say(f"timing torch {precision}")
        seconds, out = _timed(run, *small)
        reference = out if reference is None else reference
        if record("torch", precision, side, seconds, out, reference) and (best is None or seconds < best[0]):
            best = (seconds, precision)
    assert best is not None  # float32 agrees with itself
    precision = best[1]
    run = runners[("torch", precision)]
    per_mp: dict[int, float] = {}
    outputs: dict[int, np.ndarray] = {}
    for tile in TILE_CANDIDATES:  # ascending; stop once a larger tile is slower per pixel
        say(f"timing {tile} px tiles")
        seconds, outputs[tile] = _timed(run, a[:tile, :tile], b[:tile, :tile])
        measured[f"torch/{precision}/{tile}"] = round(seconds, 3)
        per_mp[tile] = seconds / ((tile - OVERLAP) ** 2 / 1e6)  # each tile adds (tile - overlap)^2 new pixels
        if per_mp[tile] > min(per_mp.values()):
            break
    tile = min(per_mp, key=per_mp.__getitem__)
    choice = ("torch", precision, per_mp[tile])
    references: dict[int, np.ndarray] = {}
    for (backend, other_precision), other in ((k, r) for k, r in runners.items() if k[0] != "torch"):
        side = backend_tile(backend, tile)
        at = (a[:side, :side], b[:side, :side])
        if side not in references:
            same = side == tile and precision == "float32"
            references[side] = outputs[tile] if same else runners[("torch", "float32")](*at)
        say(f"timing {backend} {other_precision} at {side} px (converted once)")
        seconds, out = _timed(other, *at)
        speed = seconds / ((side - OVERLAP) ** 2 / 1e6)
        if record(backend, other_precision, side, seconds, out, references[side]) and speed < choice[2]:
            choice = (backend, other_precision, speed)
    backend, precision, speed = choice
    defaults = MachineDefaults(machine_key(device), backend, precision, tile, round(speed, 2), measured)
    _save(defaults)
    log.info("measured defaults: %s", defaults.describe())
    return defaults


def torch_runner(net: torch.nn.Module, device: torch.device, precision: str) -> Runner:
    """One whole-pair pass of the PyTorch network in `precision`."""

    def run(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ta, tb = (torch.from_numpy(np.ascontiguousarray(x))[None, None].to(device) for x in (a, b))
        with torch.inference_mode(), autocast(device, precision):
            return net(ta, tb).float().cpu()[0, 0].numpy()

    return run


def candidate_runners(net: torch.nn.Module, device: torch.device) -> dict[tuple[str, str], Runner]:
    """Every (backend, precision) the automatic choice may pick; torch float32 first (the reference).

    OpenVINO (float32 and bfloat16) joins on the CPU for the studio variant when the extra is installed. It is
    timed at OPENVINO_MAX_TILE at most (calibrate): converting it at 512 px once took a test process to 13 GB.
    That was the conversion (convert_model's TorchScript trace), which torch.export now does in 0.7 GB at
    256 px; a 24 MP fusion through OpenVINO at 256 px tiles peaks at 1.1 GB (docs/model.md)."""
    reduced = "bfloat16" if device.type == "cpu" else "float16"
    runners = {("torch", p): torch_runner(net, device, p) for p in ("float32", reduced)}
    config = getattr(net, "config", None)
    if device.type == "cpu" and getattr(config, "variant", None) == "studio" and openvino_available():
        from tita_studio.engine.openvino import openvino_runner

        for precision in ("float32", "bfloat16"):
            runners[("openvino", precision)] = openvino_runner(net, precision)  # type: ignore[arg-type]
    return runners


def machine_defaults(net: torch.nn.Module, device: torch.device | str = "auto", recalibrate: bool = False,
                     progress: Callable[[str], None] | None = None) -> MachineDefaults:
    """The remembered defaults for this machine, measured now (seconds) when there are none or when asked."""
    dev = resolve_device(device) if isinstance(device, str) else device
    known = None if recalibrate else load_defaults(dev)
    if known is not None:
        return known
    log.info("measuring the fastest precision, tile size and backend on this machine (once)")
    return calibrate(candidate_runners(net.to(dev).eval(), dev), dev, progress)
