"""Every way of running the network, on one real pair, against the reference implementation timed here.

For a --size square crop of a real IR/visible pair (LLVIP): seconds per megapixel of PyTorch float32 and
bfloat16, OpenVINO float32 and bfloat16 (when installed; conversion and compilation happen before the
timing, once per size) and the fast path (the network at 1/--fast-ratio of the pixels), each with its
speed-up over `reference_tita.py` (float32, the published computation) and its agreement (PSNR, SSIM)
with PyTorch float32 at full resolution. Then, in child processes, a 24 MP pair (6000 x 4000, the crop
upscaled) through the fast path and the exact path: wall time and peak resident memory (the exact path
stops after --exact-tiles tiles and its time is extrapolated over all tiles, since every tile costs the
same and all full-size buffers exist before the first one).

ONNX Runtime (optional row, only when `onnxruntime` and `onnx` are importable; neither is a dependency of
tita-studio): the same FixedSize network OpenVINO converts, exported to ONNX float32 (torch.onnx.export,
TorchScript exporter, opset 18) in a child process, whose peak memory is the export's (5.6 GB at 256 px,
so use --size 256 on small machines), then run by the CPU execution provider with the torch thread count
and all graph optimisations. It measured slower than OpenVINO (docs/model.md), so there is no ONNX Runtime
backend; the row is there to measure it again.

    python benchmarks/bench_speed.py [--size 512] [--fast-ratio 16] [--exact-tiles 3] [--no-24mp]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
import torch
from reference_tita import ReferenceTITA  # benchmarks/ is on sys.path when run as a script

from tita_studio.engine.backends import openvino_available
from tita_studio.engine.defaults import cpu_model
from tita_studio.engine.fast import FastConfig
from tita_studio.engine.runner import EngineConfig, FusionEngine
from tita_studio.engine.tiling import TileConfig
from tita_studio.errors import Cancelled
from tita_studio.metrics.ssim import ssim_pair
from tita_studio.model.loader import load_model
from tita_studio.pipeline.colour import split
from tita_studio.pipeline.reading import read_image

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
LARGE = (4000, 6000)
T = TypeVar("T")


def real_pair(size: int) -> tuple[np.ndarray, np.ndarray]:
    """A centred size x size crop of an LLVIP pair (upscaled first when the frame is smaller)."""
    lumas = [split(read_image(DATASETS / "ivf/llvip_train" / d / "train_010001.jpg")).luma for d in ("A", "B")]
    h, w = lumas[0].shape
    scale = max(1.0, size / min(h, w))
    if scale > 1:
        lumas = [cv2.resize(x, (math.ceil(w * scale), math.ceil(h * scale)), interpolation=cv2.INTER_CUBIC)
                 for x in lumas]
        h, w = lumas[0].shape
    y, x = (h - size) // 2, (w - size) // 2
    return tuple(np.clip(t[y : y + size, x : x + size], 0, 1).astype(np.float32) for t in lumas)


def agreement(ref: np.ndarray, test: np.ndarray) -> tuple[float, float]:
    mse = float(np.mean((np.clip(ref, 0, 1) - np.clip(test, 0, 1)) ** 2))
    psnr = math.inf if mse == 0 else 10 * math.log10(1 / mse)
    return psnr, ssim_pair(np.clip(ref, 0, 1) * 255, np.clip(test, 0, 1) * 255)


def timed(fn: Callable[..., T], *args: object) -> tuple[float, T]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def machine() -> str:
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    features = [f for f in ("avx512_bf16", "amx_bf16") if f in flags]
    return (f"{cpu_model()}, {len(os.sched_getaffinity(0))} cores, flags: "
            f"{', '.join(features) or 'no AVX512-BF16, no AMX'}; torch {torch.__version__}, Python "
            f"{platform.python_version()}")


def onnxruntime_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def onnx_child(size: int, path: str) -> None:
    """In a child process: the studio network for size x size inputs exported to ONNX float32."""
    from tita_studio.engine.openvino import FixedSize

    fixed = FixedSize(load_model().net.cpu().eval(), size, size).eval()
    example = torch.rand(1, 1, size, size)
    with torch.no_grad(), torch.autocast("cpu", enabled=False):
        torch.onnx.export(fixed, (example, example, fixed.border_mask), path, input_names=["a", "b", "mask"],
                          output_names=["fused"], opset_version=18, dynamo=False)


def onnxruntime_runner(net: torch.nn.Module, size: int, folder: str
                       ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The ONNX export run by ONNX Runtime's CPU execution provider (graph optimisations on)."""
    import onnxruntime as ort

    from tita_studio.engine.openvino import FixedSize

    path = str(Path(folder) / f"tita-{size}.onnx")
    subprocess.run([sys.executable, __file__, "--onnx-child", str(size), path], check=True, capture_output=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = torch.get_num_threads(), 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    mask = np.ascontiguousarray(FixedSize(net, size, size).border_mask.numpy())

    def run(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return session.run(None, {"a": a[None, None], "b": b[None, None], "mask": mask})[0][0, 0]

    return run


def large_child(mode: str, precision: str, backend: str, exact_tiles: int) -> None:
    """In a child process: one 24 MP fusion (fast, or exact stopped after exact_tiles), JSON on stdout."""
    from tita_studio.engine.tiling import _tiles

    a, b = (cv2.resize(x, (LARGE[1], LARGE[0]), interpolation=cv2.INTER_CUBIC) for x in real_pair(1024))
    engine = FusionEngine(load_model().net, EngineConfig(precision=precision, backend=backend))
    done: list[float] = []
    total = len(_tiles(*LARGE, engine.config.tiles))
    start = time.perf_counter()
    if mode == "fast":
        note = engine.fuse(a, b, quality="fast").note
    else:
        note = f"exact, {total} tiles"
        with contextlib.suppress(Cancelled):
            engine.fuse(a, b, quality="full", progress=done.append, cancel=lambda: 0 < exact_tiles <= len(done))
    seconds = time.perf_counter() - start
    if mode != "fast" and done and len(done) < total:
        seconds = seconds / len(done) * total
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mb": rss, "note": note, "tiles_run": len(done)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--fast-ratio", type=int, default=16, help="full-resolution pixels per network pixel")
    parser.add_argument("--exact-tiles", type=int, default=3, help="24 MP exact path: tiles run (0: all)")
    parser.add_argument("--large-precision", default="bfloat16")
    parser.add_argument("--large-backend", default="torch")
    parser.add_argument("--no-24mp", action="store_true")
    parser.add_argument("--large-child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--onnx-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.onnx_child:
        onnx_child(int(args.onnx_child[0]), args.onnx_child[1])
        return
    if args.large_child:
        mode, precision, backend, tiles = args.large_child
        large_child(mode, precision, backend, int(tiles))
        return
    print(f"machine: {machine()}; {torch.get_num_threads()} torch threads")
    a, b = real_pair(args.size)
    mp = args.size**2 / 1e6
    net = load_model().net
    tiles = TileConfig(tile=max(512, args.size))
    ta, tb = (torch.from_numpy(x)[None, None] for x in (a, b))
    reference = ReferenceTITA().eval()  # its weights do not change its speed
    with torch.inference_mode():
        reference(ta[..., :64, :64], tb[..., :64, :64])
        ref_s, _ = timed(reference, ta, tb)
    rows = [("reference (float32)", ref_s, None)]
    engines = {("torch", p): FusionEngine(net, EngineConfig(precision=p, tiles=tiles)) for p in ("float32", "bfloat16")}
    if openvino_available():
        for p in ("float32", "bfloat16"):
            engines[("openvino", p)] = FusionEngine(net, EngineConfig(precision=p, tiles=tiles, backend="openvino"))
    exact = None
    for (backend, precision), engine in engines.items():
        engine.fuse(a, b)  # warm-up; OpenVINO converts and compiles for this size here (once)
        seconds, out = timed(engine.fuse, a, b)
        exact = out.fused if exact is None else exact
        rows.append((f"{backend} {precision}", seconds, agreement(exact, out.fused)))
    if onnxruntime_available():
        with tempfile.TemporaryDirectory() as folder:
            run = onnxruntime_runner(net, args.size, folder)
            run(a, b)  # warm-up
            seconds, out = timed(run, a, b)
        rows.append(("onnxruntime float32", seconds, agreement(exact, out)))
    fast = FusionEngine(net, EngineConfig(precision="bfloat16", tiles=tiles,
                                          fast=FastConfig(network_pixels=args.size**2 // args.fast_ratio)))
    fast.fuse(a, b, quality="fast")
    seconds, out = timed(fast.fuse, a, b, False, None, None, "fast")
    rows.append((f"fast, bfloat16 ({out.note.split('(')[1].split(',')[0]})", seconds, agreement(exact, out.fused)))
    print(f"\n{args.size} x {args.size} real pair (LLVIP), whole image; agreement with torch float32:\n")
    print("| path | seconds | s/MP | vs reference | PSNR dB | SSIM |\n|---|---:|---:|---:|---:|---:|")
    for name, seconds, agree in rows:
        psnr, ssim = agree if agree else (math.nan, math.nan)
        print(f"| {name} | {seconds:.2f} | {seconds / mp:.1f} | {ref_s / seconds:.1f}x | {psnr:.1f} | {ssim:.4f} |",
              flush=True)
    if args.no_24mp:
        return
    print(f"\n24 MP pair ({LARGE[1]} x {LARGE[0]}, {args.large_backend} {args.large_precision}):\n")
    print("| path | wall seconds | peak RSS MB | how |\n|---|---:|---:|---|")
    for mode in ("fast", "exact"):
        cmd = [sys.executable, __file__, "--large-child", mode, args.large_precision, args.large_backend,
               str(args.exact_tiles)]
        result = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        how = result["note"] + (f" (time extrapolated from {result['tiles_run']})" if result["tiles_run"] else "")
        print(f"| {mode} | {result['seconds']:.0f} | {result['peak_rss_mb']:.0f} | {how} |", flush=True)


if __name__ == "__main__":
    main()
