"""The TITA network: shallow convs, Swin extraction, ISF interaction, OAF adaptation, reconstruction."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tita_studio.model.blocks import BlockMaps, ISFBlock, SwinBlock
from tita_studio.model.config import TITAConfig
from tita_studio.model.maps import FusionMaps
from tita_studio.model.oaf import OAF
from tita_studio.model.windows import WindowGrid


class ShallowConvs(nn.Module):
    """conv3x3 1 -> 30, LeakyReLU, conv3x3 30 -> C, LeakyReLU."""

    def __init__(self, cfg: TITAConfig) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, cfg.shallow_dim, 3, padding=1)
        self.conv2 = nn.Conv2d(cfg.shallow_dim, cfg.embed_dim, 3, padding=1)
        self.slope = cfg.leaky_slope

    def forward(self, x: Tensor) -> Tensor:
        x = F.leaky_relu(self.conv1(x), self.slope)
        return F.leaky_relu(self.conv2(x), self.slope)


class Tail(nn.Module):
    """conv3x3 C -> 30 -> 15 -> 1 with LeakyReLU between; no final activation."""

    def __init__(self, cfg: TITAConfig) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cfg.embed_dim, cfg.shallow_dim, 3, padding=1)
        self.conv2 = nn.Conv2d(cfg.shallow_dim, cfg.shallow_dim // 2, 3, padding=1)
        self.conv3 = nn.Conv2d(cfg.shallow_dim // 2, 1, 3, padding=1)
        self.slope = cfg.leaky_slope

    def forward(self, x: Tensor) -> Tensor:
        x = F.leaky_relu(self.conv1(x), self.slope)
        x = F.leaky_relu(self.conv2(x), self.slope)
        return self.conv3(x)


@dataclass
class AttentionProbe:
    """One query pixel's window cross-attention over the other source, for one ISF block.

    weights: (heads, ws, ws), each head summing to 1. rows / cols: the image coordinates of the key
    window (shifted windows wrap around; coordinates past the input size fall in the padding).
    """

    weights: Tensor
    rows: Tensor
    cols: Tensor
    block: int
    stream: str


def _tokens(x: Tensor) -> Tensor:
    """NCHW -> NHWC (a free view when x is channels-last)."""
    return x.permute(0, 2, 3, 1)


def _image(x: Tensor) -> Tensor:
    """NHWC -> NCHW channels-last view, which the convolutions take without copying."""
    return x.permute(0, 3, 1, 2)


class TITA(nn.Module):
    """Fuses two registered single-channel images in [0, 1]: `net(a, b)` with a, b of shape (N, 1, H, W)."""

    def __init__(self, config: TITAConfig | None = None) -> None:
        super().__init__()
        cfg = config or TITAConfig()
        self.config = cfg
        c, eps = cfg.embed_dim, cfg.layer_norm_eps

        def drop_rates(depth: int) -> list[float]:
            """Stochastic depth as in SwinFusion: 0 to drop_path over each stage (both sources' alike)."""
            return torch.linspace(0, cfg.drop_path, depth).tolist()

        def swin_stage(depth: int) -> nn.ModuleList:
            return nn.ModuleList(SwinBlock(cfg, i % 2 == 1, rate) for i, rate in enumerate(drop_rates(depth)))

        self.shallow_a = ShallowConvs(cfg)
        # The reference builds a second pair of shallow convs for B but calls A's for both sources.
        self.shallow_b = None if cfg.variant == "official" else ShallowConvs(cfg)
        self.embed_norm = nn.LayerNorm(c, eps=eps)
        self.extract_a = swin_stage(cfg.extract_depth)
        self.extract_b = swin_stage(cfg.extract_depth)
        self.extract_norm_a = nn.LayerNorm(c, eps=eps)
        self.extract_norm_b = nn.LayerNorm(c, eps=eps)
        self.isf = nn.ModuleList(
            ISFBlock(cfg, (i % cfg.fusion_depth) % 2 == 1, rate)
            for i, rate in enumerate(drop_rates(cfg.num_isf_blocks))
        )
        self.fusion_norm_a = nn.LayerNorm(c, eps=eps)
        self.fusion_norm_b = nn.LayerNorm(c, eps=eps)
        self.oaf = OAF(c, per_pixel=cfg.variant == "studio")
        self.recon = swin_stage(cfg.recon_depth)
        self.recon_norm = nn.LayerNorm(c, eps=eps)
        self.tail = Tail(cfg)

    # ---- geometry -------------------------------------------------------------------------
    def padded_size(self, height: int, width: int) -> tuple[int, int]:
        ws = self.config.window_size
        return height + (-height) % ws, width + (-width) % ws

    def _prepare(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor, WindowGrid]:
        if a.ndim != 4 or a.shape[1] != 1 or a.shape != b.shape:
            raise ValueError(f"TITA takes two (N, 1, H, W) tensors of one shape; got {tuple(a.shape)} "
                             f"and {tuple(b.shape)}")
        h, w = a.shape[-2:]
        ws = self.config.window_size
        if min(h, w) < ws:
            raise ValueError(f"images must be at least {ws} x {ws} pixels; got {h} x {w}")
        ph, pw = self.padded_size(h, w)
        if (ph, pw) != (h, w):
            a = F.pad(a, (0, pw - w, 0, ph - h), mode="reflect")
            b = F.pad(b, (0, pw - w, 0, ph - h), mode="reflect")
        grid = WindowGrid.build(ph, pw, ws, self.config.shift_size, a.device)
        cl = torch.channels_last
        return a.contiguous(memory_format=cl), b.contiguous(memory_format=cl), grid

    # ---- stages ---------------------------------------------------------------------------
    def encode(self, a: Tensor, b: Tensor, grid: WindowGrid) -> tuple[Tensor, Tensor]:
        """Shallow features and per-source extraction; returns NHWC tokens ready for interaction."""
        ta = self.embed_norm(_tokens(self.shallow_a(a)))
        tb = self.embed_norm(_tokens((self.shallow_b or self.shallow_a)(b)))
        for blk in self.extract_a:
            ta = blk(ta, grid)
        for blk in self.extract_b:
            tb = blk(tb, grid)
        return self.embed_norm(self.extract_norm_a(ta)), self.embed_norm(self.extract_norm_b(tb))

    def interact(self, ta: Tensor, tb: Tensor, grid: WindowGrid, want_maps: bool
                 ) -> tuple[Tensor, Tensor, list[BlockMaps]]:
        maps: list[BlockMaps] = []
        for blk in self.isf:
            ta, tb, m = blk(ta, tb, grid, want_maps)
            if m is not None:
                maps.append(m)
        return _image(self.fusion_norm_a(ta)), _image(self.fusion_norm_b(tb)), maps

    def reconstruct(self, xf: Tensor, grid: WindowGrid) -> Tensor:
        t = self.embed_norm(_tokens(xf))
        for blk in self.recon:
            t = blk(t, grid)
        return self.tail(_image(self.recon_norm(t)))

    # ---- public ---------------------------------------------------------------------------
    def forward(self, a: Tensor, b: Tensor, return_maps: bool = False, oaf_pooled: Tensor | None = None
                ) -> Tensor | tuple[Tensor, FusionMaps]:
        """Fused luma (N, 1, H, W), unclamped; with return_maps, also the FusionMaps.

        oaf_pooled: for the official variant on tiles, the (N, 2C) whole-image pooled features
        (see `pooled_features`), so every tile uses the global OAF weights of the whole image.
        """
        h, w = a.shape[-2:]
        a, b, grid = self._prepare(a, b)
        xa, xb, block_maps = self.interact(*self.encode(a, b, grid), grid, return_maps)
        xf, oaf_w, oaf_c = self.oaf(xa, xb, oaf_pooled, return_maps)
        fused = self.reconstruct(xf, grid)[..., :h, :w].float().contiguous()
        if not return_maps:
            return fused
        maps = FusionMaps(
            oaf_weights=oaf_w,
            oaf_contribution=oaf_c,
            relation=torch.stack([torch.stack([m.relation_a, m.relation_b], 1) for m in block_maps], 1),
            cross_share=torch.stack([torch.stack([m.share_a, m.share_b], 1) for m in block_maps], 1),
        )
        return fused, maps.crop(0, 0, h, w)

    def pooled_features(self, a: Tensor, b: Tensor, crop: tuple[int, int, int, int] | None = None
                        ) -> tuple[Tensor, int]:
        """Sum over pixels of the fusion-stage features [X_A, X_B] (N, 2C), and the pixel count.

        crop (top, left, height, width) restricts the sum to part of the input (a tile's interior),
        so sums over tiles add up to the whole image's global average pool.
        """
        a, b, grid = self._prepare(a, b)
        xa, xb, _ = self.interact(*self.encode(a, b, grid), grid, False)
        if crop is None:
            crop = (0, 0, xa.shape[2], xa.shape[3])
        top, left, hh, ww = crop
        feats = torch.cat([xa, xb], 1)[..., top : top + hh, left : left + ww]
        return feats.float().sum((2, 3)), hh * ww

    def attention_at(self, a: Tensor, b: Tensor, block: int, row: int, col: int, stream: str = "A"
                     ) -> AttentionProbe:
        """Window cross-attention of pixel (row, col) of `stream` over the other source, ISF block `block`."""
        if not 0 <= block < len(self.isf):
            raise ValueError(f"block must be in 0..{len(self.isf) - 1}; got {block}")
        if stream not in ("A", "B"):
            raise ValueError(f"stream must be 'A' or 'B'; got {stream!r}")
        a, b, grid = self._prepare(a, b)
        if not (0 <= row < grid.height and 0 <= col < grid.width):
            raise ValueError(f"pixel ({row}, {col}) is outside the image")
        ta, tb = self.encode(a, b, grid)
        for blk in self.isf[:block]:
            ta, tb, _ = blk(ta, tb, grid)
        blk = self.isf[block]
        ws, n = grid.ws, grid.ws * grid.ws
        order = grid.order(blk.shifted)
        pos = int(torch.nonzero(order.index == row * grid.width + col)[0, 0])
        win, token = divmod(pos, n)
        wa, wb = blk.windows(ta, tb, grid)
        query, other, attn = (wa, wb, blk.attn_A) if stream == "A" else (wb, wa, blk.attn_B)
        border = blk.shifted and win >= grid.n_interior
        mask = grid.border_mask[win - grid.n_interior] if border else None
        span = slice(win * n, (win + 1) * n)
        probs = attn.probabilities(query[0, span], other[0, span], mask)
        keys = order.index[span].view(ws, ws).cpu()
        return AttentionProbe(probs[:, token].reshape(-1, ws, ws).float(), keys[:, 0] // grid.width,
                              keys[0, :] % grid.width, block, stream)
