"""Network speed and memory, as ratios against measurements made in the same process.

For 256, 512 and 1024 square pairs and each precision: seconds per megapixel, achieved GFLOP/s
(analytic count of the network's multiply-adds, x2), that as a fraction of the peak matmul GFLOP/s
of a large square matmul measured here first, and the speed-up over the reference implementation
(`reference_tita.py`: the published computation written the way the reference writes it, float32)
timed in the same process on the same pair, for sizes up to --reference-max. `--rss` fuses a
24-megapixel pair through the tiled engine in a child process and reports its peak resident memory
and time.

    python benchmarks/bench_model.py [--sizes 256 512 1024] [--precisions float32 bfloat16]
                                     [--reference-max 512] [--rss]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import time

import torch
from reference_tita import ReferenceTITA  # benchmarks/ is on sys.path when run as a script

from tita_studio.engine.allocator import keep_freed_memory
from tita_studio.engine.device import autocast, resolve_device
from tita_studio.model import TITA, TITAConfig


def macs_per_pixel(cfg: TITAConfig) -> int:
    """Multiply-adds per output pixel of the studio/official network (linear layers, attention, convs)."""
    c, h, n, s = cfg.embed_dim, cfg.mlp_hidden, cfg.window_size**2, cfg.shallow_dim
    shallow = 2 * (9 * s + 9 * s * c)
    attention = 2 * n * c  # QK^T and AV over a window of n keys
    swin = 3 * c * c + attention + c * c + 2 * c * h
    relation_out = c if cfg.variant == "official" else 1
    isf_stream = c * c + 2 * c * c + attention + c * c + (2 * c * c + c * relation_out) + 5 * c * c + 2 * c * h
    oaf = 2 * (c * c + 9 * c * 9 + 2 * 9 * c * c + 9 * c) + (2 * c * c + 6 * c)
    tail = 9 * c * s + 9 * s * (s // 2) + 9 * (s // 2)
    swin_blocks = 2 * cfg.extract_depth + cfg.recon_depth
    return shallow + swin_blocks * swin + 2 * cfg.num_isf_blocks * isf_stream + oaf + tail


def peak_gflops(dtype: torch.dtype, device: torch.device, size: int = 2048, reps: int = 5) -> float:
    a = torch.randn(size, size, dtype=dtype, device=device)
    b = torch.randn(size, size, dtype=dtype, device=device)
    a @ b
    _sync(device)
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(device)
    return 2 * size**3 * reps / (time.perf_counter() - t) / 1e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_forward(net: torch.nn.Module, size: int, precision: str, device: torch.device, reps: int) -> float:
    a = torch.rand(1, 1, size, size, device=device)
    b = torch.rand(1, 1, size, size, device=device)
    with torch.inference_mode(), autocast(device, precision):
        net(a[..., :64, :64], b[..., :64, :64])
        best = float("inf")
        for _ in range(reps):
            _sync(device)
            t = time.perf_counter()
            net(a, b)
            _sync(device)
            best = min(best, time.perf_counter() - t)
    return best


def rss_child(side_h: int, side_w: int, precision: str, max_tiles: int) -> None:
    """Runs in a child process: fuse a large pair through the engine, print JSON with time and peak RSS.

    max_tiles > 0 stops (cancels) after that many tiles: every full-size buffer is allocated before the
    first tile and a tile's working set is the same for all tiles, so the peak is reached by then.
    """
    import numpy as np

    from tita_studio.engine.runner import EngineConfig, FusionEngine
    from tita_studio.errors import Cancelled

    rng = np.random.default_rng(0)
    a = rng.random((side_h, side_w), dtype=np.float32)
    b = rng.random((side_h, side_w), dtype=np.float32)
    engine = FusionEngine(TITA(TITAConfig()).eval(), EngineConfig(precision=precision))
    done: list[float] = []
    t = time.perf_counter()
    with contextlib.suppress(Cancelled):
        engine.fuse(a, b, progress=done.append, cancel=lambda: 0 < max_tiles <= len(done))
    seconds = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fraction = done[-1] if done else 0.0
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb, "tiles": len(done), "fraction": fraction}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--precisions", nargs="+", default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--variant", default="studio", choices=["studio", "official"])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--reference-max", type=int, default=512,
                        help="time the reference implementation at sizes up to this (0: never)")
    parser.add_argument("--rss", action="store_true", help="also fuse a 24 MP pair in a child process")
    parser.add_argument("--rss-precision", default="bfloat16")
    parser.add_argument("--rss-tiles", type=int, default=0,
                        help="stop the 24 MP fusion after this many tiles (0: fuse it all)")
    parser.add_argument("--rss-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(int(args.rss_child[0]), int(args.rss_child[1]), args.rss_child[2], int(args.rss_child[3]))
        return
    device = resolve_device(args.device)
    if device.type == "cpu":
        keep_freed_memory()
    precisions = args.precisions or (["float32", "bfloat16"] if device.type == "cpu"
                                     else ["float32", "bfloat16", "float16"])
    cfg = TITAConfig(variant=args.variant)
    net = TITA(cfg).eval().to(device)
    flop_per_px = 2 * macs_per_pixel(cfg)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, {args.variant} variant, "
          f"{flop_per_px / 1e6:.2f} MFLOP per pixel")
    peaks = {}
    for p in precisions:
        dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[p]
        peaks[p] = peak_gflops(dtype, device)
        print(f"peak matmul {p}: {peaks[p]:.0f} GFLOP/s (2048x2048)")
    print(f"{'size':>6} {'precision':>9} {'seconds':>8} {'s/MP':>7} {'GFLOP/s':>8} {'of peak':>8} {'vs ref':>7}")
    reference = None
    for size in args.sizes:
        mp = size * size / 1e6
        ref_seconds = None
        if size <= args.reference_max:
            reference = reference or ReferenceTITA().eval().to(device)
            ref_seconds = time_forward(reference, size, "float32", device, 1)
            print(f"{size:>6} {'reference':>9} {ref_seconds:8.2f} {ref_seconds / mp:7.1f} "
                  f"{flop_per_px * size * size / ref_seconds / 1e9:8.1f} {'':>8} {1:6.1f}x", flush=True)
        for p in precisions:
            seconds = time_forward(net, size, p, device, args.reps)
            gflops = flop_per_px * size * size / seconds / 1e9
            ratio = f"{ref_seconds / seconds:6.1f}x" if ref_seconds else f"{'-':>7}"
            print(f"{size:>6} {p:>9} {seconds:8.2f} {seconds / mp:7.1f} {gflops:8.1f} {gflops / peaks[p]:8.1%} "
                  f"{ratio}", flush=True)
    if args.rss:
        out = subprocess.run([sys.executable, __file__, "--rss-child", "4000", "6000", args.rss_precision,
                              str(args.rss_tiles)], capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"24 MP pair (6000x4000, {args.rss_precision}, tiled): {result['tiles']} tiles "
              f"({result['fraction']:.0%} of the image) in {result['seconds']:.0f} s, peak RSS "
              f"{result['peak_rss_mb']:.0f} MB ({result['peak_rss_mb'] / 3072:.0%} of the 3 GB budget)")


if __name__ == "__main__":
    main()
