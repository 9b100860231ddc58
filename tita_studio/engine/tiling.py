"""Any image size with bounded memory: the network runs on overlapping tiles blended with ramps.

Tile origins are multiples of the window size, so windows (and shifted windows) fall on the same
pixels as in a whole-image pass, and only the tile borders differ; linear ramps over the overlap
hide them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from tita_studio.errors import Cancelled, InputError
from tita_studio.model.maps import FusionMaps

ProgressFn = Callable[[float], None]
CancelFn = Callable[[], bool]


@dataclass(frozen=True)
class TileConfig:
    """tile: side of a tile in pixels (multiple of 8); overlap: shared border (>= 32, multiple of 8).

    maps_max_pixels: stitched maps are kept at a reduced resolution beyond this many pixels, since
    the 44 map channels at full resolution would take ~180 bytes per pixel.
    uniform: every tile exactly tile x tile (the last one flush with the image's end, its origin then off
    the 8 px grid) where the image is larger than a tile: a backend compiled per input size (OpenVINO)
    then needs one size instead of up to nine.
    """

    tile: int = 512
    overlap: int = 32
    maps_max_pixels: int = 4_000_000
    uniform: bool = False

    def __post_init__(self) -> None:
        if self.tile % 8 or self.tile < 64:
            raise InputError(f"the tile side must be a multiple of 8 and at least 64; got {self.tile}")
        if self.overlap % 8 or self.overlap < 32 or self.overlap >= self.tile // 2:
            raise InputError(f"the tile overlap must be a multiple of 8, >= 32 and < tile / 2; got {self.overlap}")


def tile_starts(length: int, tile: int, overlap: int, align: int = 8) -> list[int]:
    """Origins along one axis: a step of tile - overlap, the last tile flush with the end (aligned down)."""
    if length <= tile:
        return [0]
    last = (length - tile) // align * align
    starts = list(range(0, last, tile - overlap))
    return [*starts, last]


def _ramp(length: int, start: int, end: int, total: int, overlap: int) -> Tensor:
    """1-D blending weight of a tile covering [start, end) of an axis of size total."""
    w = torch.ones(length)
    ramp = (torch.arange(overlap, dtype=torch.float32) + 0.5) / overlap
    n = min(overlap, length)
    if start > 0:
        w[:n] = torch.minimum(w[:n], ramp[:n])
    if end < total:
        w[-n:] = torch.minimum(w[-n:], ramp[:n].flip(0))
    return w


def _check_cancel(cancel: CancelFn | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("fusion cancelled")


def _spans(total: int, cfg: TileConfig) -> list[tuple[int, int]]:
    """[start, end) of each tile along one axis: each reaches `overlap` into the next one."""
    starts = tile_starts(total, cfg.tile, cfg.overlap)
    if cfg.uniform and total > cfg.tile:
        return [(s, s + cfg.tile) for s in starts[:-1]] + [(total - cfg.tile, total)]
    ends = [nxt + cfg.overlap for nxt in starts[1:]] + [total]
    return list(zip(starts, ends, strict=True))


def _tiles(h: int, w: int, cfg: TileConfig) -> list[tuple[int, int, int, int]]:
    return [(y0, y1, x0, x1) for y0, y1 in _spans(h, cfg) for x0, x1 in _spans(w, cfg)]


def _core(start: int, end: int, starts: list[int], total: int, overlap: int) -> tuple[int, int]:
    """The part of a tile that owns its pixels exclusively (overlaps split in half)."""
    lo = start + overlap // 2 if start > 0 else 0
    nxt = [s for s in starts if s > start]
    hi = nxt[0] + overlap // 2 if nxt else total
    return lo, min(hi, end)


def global_pooled(net: torch.nn.Module, a: Tensor, b: Tensor, cfg: TileConfig, run: Callable,
                  progress: ProgressFn | None, cancel: CancelFn | None) -> Tensor:
    """Whole-image pooled fusion features for the official variant's global OAF weights.

    Each pixel is counted once, from the tile whose core owns it, so the sum equals a whole-image
    pass up to the tiles' context.
    """
    h, w = a.shape[-2:]
    rows, cols = tile_starts(h, cfg.tile, cfg.overlap), tile_starts(w, cfg.tile, cfg.overlap)
    tiles = _tiles(h, w, cfg)
    total, count = None, 0
    for k, (y0, y1, x0, x1) in enumerate(tiles):
        _check_cancel(cancel)
        cy0, cy1 = _core(y0, y1, rows, h, cfg.overlap)
        cx0, cx1 = _core(x0, x1, cols, w, cfg.overlap)
        crop = (cy0 - y0, cx0 - x0, cy1 - cy0, cx1 - cx0)
        s, n = run(lambda ta, tb, crop=crop: net.pooled_features(ta, tb, crop),
                   a[..., y0:y1, x0:x1], b[..., y0:y1, x0:x1])
        total = s if total is None else total + s
        count += n
        if progress:
            progress((k + 1) / len(tiles))
    return total / count


def maps_scale(h: int, w: int, cfg: TileConfig) -> int:
    """Integer down-sampling factor that keeps the stitched maps under cfg.maps_max_pixels."""
    return max(1, math.ceil(math.sqrt(h * w / cfg.maps_max_pixels)))


def fuse_tiles(net: torch.nn.Module, a: Tensor, b: Tensor, cfg: TileConfig, run: Callable,
               want_maps: bool = False, oaf_pooled: Tensor | None = None,
               progress: ProgressFn | None = None, cancel: CancelFn | None = None
               ) -> tuple[Tensor, FusionMaps | None]:
    """Fused (N, 1, H, W) and, when asked, maps stitched at 1/maps_scale resolution.

    run(fn, a_tile, b_tile) executes fn on the device in the chosen precision and returns CPU results.
    """
    n, _, h, w = a.shape
    tiles = _tiles(h, w, cfg)
    fused = torch.zeros(n, 1, h, w)
    weight = torch.zeros(1, 1, h, w)
    scale = maps_scale(h, w, cfg)
    mh, mw = math.ceil(h / scale), math.ceil(w / scale)
    acc: dict[str, Tensor] = {}
    macc = torch.zeros(1, 1, mh, mw)
    for k, (y0, y1, x0, x1) in enumerate(tiles):
        _check_cancel(cancel)
        wt = _ramp(y1 - y0, y0, y1, h, cfg.overlap)[:, None] * _ramp(x1 - x0, x0, x1, w, cfg.overlap)[None, :]
        out = run(lambda ta, tb: net(ta, tb, return_maps=want_maps, oaf_pooled=oaf_pooled),
                  a[..., y0:y1, x0:x1], b[..., y0:y1, x0:x1])
        tile_fused, tile_maps = out if want_maps else (out, None)
        fused[..., y0:y1, x0:x1] += tile_fused * wt
        weight[..., y0:y1, x0:x1] += wt
        if tile_maps is not None:
            _accumulate_maps(acc, macc, tile_maps, wt, (y0, y1, x0, x1), scale, (mh, mw))
        if progress:
            progress((k + 1) / len(tiles))
    fused /= weight
    if not want_maps:
        return fused, None
    return fused, FusionMaps(**{name: t / macc.reshape((1,) * (t.ndim - 2) + (mh, mw)) for name, t in acc.items()})


def _accumulate_maps(acc: dict[str, Tensor], macc: Tensor, maps: FusionMaps, wt: Tensor,
                     box: tuple[int, int, int, int], scale: int, size: tuple[int, int]) -> None:
    y0, y1, x0, x1 = box
    my0, mx0 = y0 // scale, x0 // scale
    my1, mx1 = min(size[0], math.ceil(y1 / scale)), min(size[1], math.ceil(x1 / scale))
    target = (my1 - my0, mx1 - mx0)

    def down(t: Tensor) -> Tensor:
        if scale == 1:
            return t
        flat = t.reshape(-1, 1, *t.shape[-2:])
        return F.interpolate(flat, size=target, mode="area").reshape(*t.shape[:-2], *target)

    wsmall = down(wt)
    macc[..., my0:my1, mx0:mx1] += wsmall
    for name, t in maps.to_tensors().items():
        if name not in acc:
            acc[name] = torch.zeros(*t.shape[:-2], *size)
        acc[name][..., my0:my1, mx0:mx1] += down(t * wt)
