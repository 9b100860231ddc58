"""FusionEngine: a network kept on its device, fusing luma pairs of any size with progress and cancel."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from tita_studio.engine.allocator import keep_freed_memory
from tita_studio.engine.backends import check_backend
from tita_studio.engine.defaults import backend_tile, machine_defaults
from tita_studio.engine.device import autocast, canonical_or_auto, check_precision, resolve_device
from tita_studio.engine.fast import FastConfig, describe, reduce, reduced_size, resize_maps, upsample_fusion
from tita_studio.engine.quality import resolve_quality
from tita_studio.engine.tiling import CancelFn, ProgressFn, TileConfig, fuse_tiles, global_pooled, maps_scale
from tita_studio.errors import InputError
from tita_studio.model.maps import FusionMaps
from tita_studio.model.tita import TITA, AttentionProbe

log = logging.getLogger(__name__)

MIN_TILE = 128


@dataclass(frozen=True)
class EngineConfig:
    """Where and how the network runs."""

    device: str = "auto"
    precision: str = "float32"  # or "auto": the fastest that agrees, measured here once (engine/defaults.py)
    tiles: TileConfig | None = field(default_factory=TileConfig)  # None: the tile size measured fastest here
    threads: int | None = None  # CPU threads for torch; None keeps torch's default (one per core)
    fast: FastConfig = field(default_factory=FastConfig)  # how quality "fast" runs
    backend: str = "torch"  # torch (the reference) | openvino (CPU, optional extra) | auto (measured faster here)


@dataclass
class LumaFusion:
    """The fused luma (H, W) float32, unclamped, the maps at 1/maps_scale resolution, and how it was made."""

    fused: np.ndarray
    maps: FusionMaps | None
    maps_scale: int
    quality: str = "full"
    note: str = "full (network at full resolution)"


def _to_cpu(obj: Any) -> Any:
    if isinstance(obj, Tensor):
        return obj.detach().float().cpu()
    if isinstance(obj, FusionMaps):
        return obj.map(_to_cpu)
    if isinstance(obj, tuple):
        return tuple(_to_cpu(o) for o in obj)
    return obj


def _as_tensor(x: np.ndarray, name: str) -> Tensor:
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D luma array; got shape {arr.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr))[None, None]


def _measured(config: EngineConfig, net: TITA, device: torch.device) -> EngineConfig:
    """`config` with its "auto" backend and precision and its None tiles replaced by this machine's measurement."""
    backend = check_backend(config.backend)
    if backend == "openvino" and (device.type != "cpu" or net.config.variant != "studio"):
        raise InputError("the openvino backend runs the studio variant on the CPU; use --backend torch")
    if backend == "auto" and (device.type != "cpu" or net.config.variant != "studio"):
        backend = "torch"
    auto_precision = canonical_or_auto(config.precision) == "auto"
    if backend != "auto" and not auto_precision and config.tiles is not None:
        return replace(config, backend=backend)
    measured = machine_defaults(net, device)
    backend = measured.backend if backend == "auto" else backend
    precision = measured.precision_for(backend) if auto_precision else config.precision
    tiles = config.tiles or TileConfig(tile=measured.tile)
    return replace(config, backend=backend, precision=precision, tiles=tiles)


def _uniform_for_openvino(config: EngineConfig) -> EngineConfig:
    """OpenVINO compiles per input size: its tiles are all one size (TileConfig.uniform)."""
    if config.backend != "openvino" or config.tiles is None:
        return config
    tile = backend_tile(config.backend, config.tiles.tile)
    if tile != config.tiles.tile:
        log.info("openvino runs tiles of at most %d px (memory); %d asked", tile, config.tiles.tile)
    return replace(config, tiles=replace(config.tiles, tile=tile, uniform=True))


class FusionEngine:
    """Owns the network on its device; `fuse(a, b)` works on numpy luma arrays of any size."""

    def __init__(self, net: TITA, config: EngineConfig | None = None, description: str = "",
                 trained: bool = True) -> None:
        config = config or EngineConfig()
        self.description = description or f"TITA ({net.config.variant} variant)"
        self.trained = trained
        self.device = resolve_device(config.device)
        config = _uniform_for_openvino(_measured(config, net, self.device))
        self.config = replace(config, precision=check_precision(config.precision, self.device))
        self.backend = config.backend
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        if self.device.type == "cpu":
            keep_freed_memory()
        self.net = net.to(self.device).eval()
        self.openvino = None
        if self.backend == "openvino":
            from tita_studio.engine.openvino import OpenVINONet

            self.openvino = OpenVINONet(self.net, self.config.precision, self.config.threads)

    @property
    def variant(self) -> str:
        return self.net.config.variant

    def _run(self, fn: Callable, a: Tensor, b: Tensor) -> Any:
        with torch.inference_mode(), autocast(self.device, self.config.precision):
            return _to_cpu(fn(a.to(self.device), b.to(self.device)))

    def fuse(self, a: np.ndarray, b: np.ndarray, want_maps: bool = False,
             progress: ProgressFn | None = None, cancel: CancelFn | None = None, quality: str = "full"
             ) -> LumaFusion:
        """Fuse two registered luma images in [0, 1]; retries with smaller tiles on GPU out-of-memory.

        quality: "full" runs the network at full resolution (exact); "fast" runs it at
        `config.fast.network_pixels` and carries its decision to full resolution (engine/fast.py);
        "auto" picks by size (engine/quality.py: default_quality).
        """
        ta, tb = _as_tensor(a, "a"), _as_tensor(b, "b")
        if ta.shape != tb.shape:
            raise ValueError(f"sources differ in size: {tuple(ta.shape[-2:])} vs {tuple(tb.shape[-2:])}")
        h, w = ta.shape[-2:]
        if resolve_quality(quality, h, w) == "fast" and h * w > self.config.fast.network_pixels:
            return self._fuse_fast(ta[0, 0].numpy(), tb[0, 0].numpy(), want_maps, progress, cancel)
        tiles = self.config.tiles
        while True:
            try:
                return self._fuse(ta, tb, tiles, want_maps, progress, cancel)
            except torch.OutOfMemoryError:
                if tiles.tile // 2 < MIN_TILE:
                    raise
                torch.cuda.empty_cache()
                tiles = replace(tiles, tile=tiles.tile // 2)
                log.warning("out of device memory; retrying with %d px tiles", tiles.tile)

    def _fuse_fast(self, a: np.ndarray, b: np.ndarray, want_maps: bool, progress: ProgressFn | None,
                   cancel: CancelFn | None) -> LumaFusion:
        h, w = a.shape
        lh, lw = reduced_size(h, w, self.config.fast.network_pixels)
        a_low, b_low = reduce(a, lh, lw), reduce(b, lh, lw)

        def network_progress(f: float) -> None:
            if progress:
                progress(0.97 * f)  # the network is nearly all of the time

        low = self.fuse(a_low, b_low, want_maps, network_progress, cancel, quality="full")
        fused = upsample_fusion(a, b, a_low, b_low, low.fused, self.config.fast)
        maps, scale = None, 1
        if low.maps is not None:
            scale = max(1, math.ceil(math.sqrt(h * w / self.config.tiles.maps_max_pixels)))
            maps = resize_maps(low.maps, math.ceil(h / scale), math.ceil(w / scale))
        if progress:
            progress(1.0)
        return LumaFusion(fused, maps, scale, "fast", describe((lh, lw), h, w))

    def _fuse(self, ta: Tensor, tb: Tensor, tiles: TileConfig, want_maps: bool,
              progress: ProgressFn | None, cancel: CancelFn | None) -> LumaFusion:
        h, w = ta.shape[-2:]
        pooled = None
        main_progress = progress
        several_tiles = h > tiles.tile or w > tiles.tile
        if self.variant == "official" and several_tiles:
            # Global OAF weights need the whole image's pooled features: one extra pass (~3/4 of a fusion).
            def first(f: float) -> None:
                if progress:
                    progress(0.4 * f)

            def second(f: float) -> None:
                if progress:
                    progress(0.4 + 0.6 * f)

            pooled = global_pooled(self.net, ta, tb, tiles, self._run, first, cancel).to(self.device)
            main_progress = second
        # OpenVINO computes the fused image only; maps (and the official variant) run through PyTorch.
        net = self.openvino if self.openvino is not None and not want_maps else self.net
        fused, maps = fuse_tiles(net, ta, tb, tiles, self._run, want_maps, pooled, main_progress, cancel)
        return LumaFusion(fused[0, 0].numpy(), maps, maps_scale(h, w, tiles))

    def attention_at(self, a: np.ndarray, b: np.ndarray, block: int, row: int, col: int,
                     stream: str = "A", context: int = 128) -> AttentionProbe:
        """Window cross-attention of one pixel, computed on a window-aligned crop with `context` px around it."""
        ta, tb = _as_tensor(a, "a"), _as_tensor(b, "b")
        h, w = ta.shape[-2:]
        if not (0 <= row < h and 0 <= col < w):
            raise ValueError(f"pixel ({row}, {col}) is outside the {h} x {w} image")
        ws = self.net.config.window_size
        y0, x0 = max(0, row - context) // ws * ws, max(0, col - context) // ws * ws
        y1, x1 = min(h, max(row + context, y0 + ws)), min(w, max(col + context, x0 + ws))
        probe = self._run(lambda pa, pb: self.net.attention_at(pa, pb, block, row - y0, col - x0, stream),
                          ta[..., y0:y1, x0:x1], tb[..., y0:y1, x0:x1])
        probe.weights = probe.weights.float().cpu()
        probe.rows = probe.rows + y0
        probe.cols = probe.cols + x0
        return probe
