"""The reference TITA network, written the way the reference writes it: the speed baseline.

This is the baseline the benchmarks divide by: the reference's computation written the way the
reference writes it (SwinIR / SwinFusion style), so that "x times faster than the reference" is
measured in the same process, on the same machine, rather than quoted from elsewhere. It computes
exactly what the spec says of the official variant (shared/spec/TITA_MODEL.md); nothing is optimised:
torch.roll for the shift, window partition / reverse with view + permute, explicit attention with
the relative position bias and the -100 shift mask, torch's MultiheadAttention on two-key sequences
built per token for IPA, global-average-pooled OAF weights and an unfolded per-pixel 3x3 low-pass.

Module names follow the reference checkpoint, so `build_reference(state_dict)` loads its weights
directly (only the `attn_mask` buffers, which depend on the input size, are recomputed instead).
Inference only: stochastic depth (a training-time regulariser) is left out.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

DIM, WINDOW, SHIFT, HEADS, HIDDEN = 60, 8, 4, 6, 120


def window_partition(x: Tensor, ws: int) -> Tensor:
    """(B, H, W, C) -> (B * nW, ws, ws, C)."""
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, c)


def window_reverse(windows: Tensor, ws: int, h: int, w: int) -> Tensor:
    """(B * nW, ws, ws, C) -> (B, H, W, C)."""
    b = int(windows.shape[0] / (h * w / ws / ws))
    x = windows.view(b, h // ws, w // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(b, h, w, -1)


def calculate_mask(h: int, w: int, ws: int = WINDOW, shift: int = SHIFT) -> Tensor:
    """The Swin shift mask (nW, N, N): 0 inside a region, -100 between regions that the roll brought together."""
    img_mask = torch.zeros((1, h, w, 1))
    slices = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
    cnt = 0
    for hs in slices:
        for wsl in slices:
            img_mask[:, hs, wsl, :] = cnt
            cnt += 1
    mask_windows = window_partition(img_mask, ws).view(-1, ws * ws)
    attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
    return attn_mask.masked_fill(attn_mask != 0, -100.0).masked_fill(attn_mask == 0, 0.0)


def relative_position_index(ws: int = WINDOW) -> Tensor:
    coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += ws - 1
    rel[:, :, 1] += ws - 1
    rel[:, :, 0] *= 2 * ws - 1
    return rel.sum(-1)


class Mlp(nn.Module):
    def __init__(self, dim_in: int, hidden: int, dim_out: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim_in, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class WindowAttention(nn.Module):
    """Window attention with relative position bias; `cross` takes queries from x and keys/values from y."""

    def __init__(self, cross: bool) -> None:
        super().__init__()
        self.cross = cross
        self.scale = (DIM // HEADS) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * WINDOW - 1) ** 2, HEADS))
        self.register_buffer("relative_position_index", relative_position_index())
        if cross:
            self.q = nn.Linear(DIM, DIM)
            self.kv = nn.Linear(DIM, 2 * DIM)
        else:
            self.qkv = nn.Linear(DIM, 3 * DIM)
        self.proj = nn.Linear(DIM, DIM)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x: Tensor, y: Tensor | None = None, mask: Tensor | None = None) -> Tensor:
        b_, n, c = x.shape
        if self.cross:
            q = self.q(x).reshape(b_, n, 1, HEADS, c // HEADS).permute(2, 0, 3, 1, 4)[0]
            kv = self.kv(y).reshape(b_, n, 2, HEADS, c // HEADS).permute(2, 0, 3, 1, 4)
            k, v = kv[0], kv[1]
        else:
            qkv = self.qkv(x).reshape(b_, n, 3, HEADS, c // HEADS).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        attn = attn + bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(b_ // nw, nw, HEADS, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, HEADS, n, n)
        attn = self.softmax(attn)
        x = (attn @ v).transpose(1, 2).reshape(b_, n, c)
        return self.proj(x)


class SwinTransformerBlock(nn.Module):
    def __init__(self, shift: int) -> None:
        super().__init__()
        self.shift_size = shift
        self.norm1 = nn.LayerNorm(DIM)
        self.attn = WindowAttention(cross=False)
        self.norm2 = nn.LayerNorm(DIM)
        self.mlp = Mlp(DIM, HIDDEN, DIM)

    def forward(self, x: Tensor, x_size: tuple[int, int]) -> Tensor:
        h, w = x_size
        b, _, c = x.shape
        shortcut = x
        x = self.norm1(x).view(b, h, w, c)
        if self.shift_size > 0:
            x = torch.roll(x, shifts=(-self.shift_size, -self.shift_size), dims=(1, 2))
        x_windows = window_partition(x, WINDOW).view(-1, WINDOW * WINDOW, c)
        mask = calculate_mask(h, w).to(x.device) if self.shift_size > 0 else None
        attn_windows = self.attn(x_windows, mask=mask).view(-1, WINDOW, WINDOW, c)
        x = window_reverse(attn_windows, WINDOW, h, w)
        if self.shift_size > 0:
            x = torch.roll(x, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
        x = shortcut + x.view(b, h * w, c)
        return x + self.mlp(self.norm2(x))


class ISFBlock(nn.Module):
    """Window cross-attention both ways, then IPA (MultiheadAttention over [self, other] per token), then MLPs."""

    def __init__(self, shift: int) -> None:
        super().__init__()
        self.shift_size = shift
        self.norm1_A, self.norm1_B = nn.LayerNorm(DIM), nn.LayerNorm(DIM)
        self.attn_A, self.attn_B = WindowAttention(cross=True), WindowAttention(cross=True)
        self.norm2_A, self.norm2_B = nn.LayerNorm(DIM), nn.LayerNorm(DIM)
        self.mlp_A, self.mlp_B = Mlp(DIM, HIDDEN, DIM), Mlp(DIM, HIDDEN, DIM)
        self.cross_attn_0_to_1 = nn.MultiheadAttention(DIM, HEADS)
        self.cross_attn_1_to_0 = nn.MultiheadAttention(DIM, HEADS)
        self.relation_judger = nn.Sequential(Mlp(2 * DIM, DIM, DIM))
        self.k_noise = nn.Embedding(2, DIM)
        self.v_noise = nn.Embedding(2, DIM)

    def ipa(self, x: Tensor, y: Tensor, idx: int, mha: nn.MultiheadAttention) -> Tensor:
        """x attends to [its own key, the other source's key]; sequences of length 2, batch = all tokens."""
        c = x.shape[-1]
        phi = torch.softmax(self.relation_judger(torch.cat([x, y], dim=-1)), dim=-1)
        which = torch.tensor([idx], device=x.device)
        n_k, n_v = self.k_noise(which), self.v_noise(which)
        k_self = n_k + x - x * phi
        k_other = n_v + x + x * phi
        query = x.reshape(1, -1, c)
        key = torch.cat([k_self.reshape(1, -1, c), k_other.reshape(1, -1, c)], dim=0)
        value = torch.cat([x.reshape(1, -1, c), y.reshape(1, -1, c)], dim=0)
        out, _ = mha(query, key, value)  # need_weights=True (default): explicit softmax path
        return x + out.reshape(x.shape)

    def forward(self, a: Tensor, b: Tensor, x_size: tuple[int, int]) -> tuple[Tensor, Tensor]:
        h, w = x_size
        n, _, c = a.shape
        shortcut_a, shortcut_b = a, b
        a = self.norm1_A(a).view(n, h, w, c)
        b = self.norm1_B(b).view(n, h, w, c)
        if self.shift_size > 0:
            a = torch.roll(a, shifts=(-self.shift_size, -self.shift_size), dims=(1, 2))
            b = torch.roll(b, shifts=(-self.shift_size, -self.shift_size), dims=(1, 2))
        a_windows = window_partition(a, WINDOW).view(-1, WINDOW * WINDOW, c)
        b_windows = window_partition(b, WINDOW).view(-1, WINDOW * WINDOW, c)
        mask = calculate_mask(h, w).to(a.device) if self.shift_size > 0 else None
        x = self.attn_A(a_windows, b_windows, mask=mask).view(-1, WINDOW, WINDOW, c)
        y = self.attn_B(b_windows, a_windows, mask=mask).view(-1, WINDOW, WINDOW, c)
        x = window_reverse(x, WINDOW, h, w)
        y = window_reverse(y, WINDOW, h, w)
        if self.shift_size > 0:
            x = torch.roll(x, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
            y = torch.roll(y, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
        x, y = x.view(n, h * w, c), y.view(n, h * w, c)
        x_new = self.ipa(x, y, 0, self.cross_attn_0_to_1)
        y_new = self.ipa(y, x, 1, self.cross_attn_1_to_0)
        a = shortcut_a + x_new
        b = shortcut_b + y_new
        a = a + self.mlp_A(self.norm2_A(a))
        b = b + self.mlp_B(self.norm2_B(b))
        return a, b


class BasicLayer(nn.Module):
    def __init__(self, block: type[nn.Module], depth: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([block(0 if i % 2 == 0 else SHIFT) for i in range(depth)])

    def forward(self, *streams_and_size):  # (x, x_size) or (a, b, x_size)
        *streams, x_size = streams_and_size
        for blk in self.blocks:
            streams = blk(*streams, x_size)
            streams = streams if isinstance(streams, tuple) else (streams,)
        return streams if len(streams) > 1 else streams[0]


class RSTB(nn.Module):
    """Only the group of blocks: TITA has no conv or outer residual around it."""

    def __init__(self, block: type[nn.Module], depth: int = 4) -> None:
        super().__init__()
        self.residual_group = BasicLayer(block, depth)

    def forward(self, *args):
        return self.residual_group(*args)


class PatchEmbed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(DIM)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x.flatten(2).transpose(1, 2))


def patch_unembed(x: Tensor, x_size: tuple[int, int]) -> Tensor:
    return x.transpose(1, 2).view(x.shape[0], DIM, x_size[0], x_size[1])


class FAFB(nn.Module):
    """One source's operators: HPF (per-pixel adaptive 3x3 low-pass subtracted), ADD, MUL."""

    def __init__(self) -> None:
        super().__init__()
        self.channel_compressor = nn.Conv2d(DIM, DIM, 1)
        self.ahpf_generator = nn.Sequential(nn.Conv2d(DIM, 9, 3, 1, 1), nn.Softmax(dim=1))
        self.residual_generator = nn.Sequential(nn.Conv2d(DIM, DIM, 3, 1, 1))
        self.weight_generator = nn.Sequential(nn.Conv2d(DIM, DIM, 3, 1, 1))
        hamming = torch.from_numpy(np.outer(np.hamming(3), np.hamming(3))).float()
        self.register_buffer("hamming_highpass", hamming.view(1, 1, 3, 3))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        n, c, h, w = x.shape
        xc = self.channel_compressor(x)
        kernel = self.ahpf_generator(xc) * self.hamming_highpass.view(1, 9, 1, 1)
        kernel = kernel / kernel.sum(dim=1, keepdim=True)
        patches = F.unfold(F.pad(x, (1, 1, 1, 1), mode="reflect"), kernel_size=3).view(n, c, 9, h, w)
        low = (patches * kernel.unsqueeze(1)).sum(dim=2)
        return x - low, x + self.residual_generator(xc), x * self.weight_generator(xc)


class ReferenceTITA(nn.Module):
    """The official TITA, reference layout; forward(a, b) on (N, 1, H, W) luma in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_first1_A = nn.Conv2d(1, 30, 3, 1, 1)
        self.conv_first2_A = nn.Conv2d(30, DIM, 3, 1, 1)
        self.conv_first1_B = nn.Conv2d(1, 30, 3, 1, 1)  # built by the reference, never called
        self.conv_first2_B = nn.Conv2d(30, 30, 3, 1, 1)  # idem
        self.lrelu = nn.LeakyReLU(negative_slope=0.2)
        self.patch_embed = PatchEmbed()
        self.layers_Ex_A = nn.ModuleList([RSTB(SwinTransformerBlock)])
        self.layers_Ex_B = nn.ModuleList([RSTB(SwinTransformerBlock)])
        self.norm_Ex_A, self.norm_Ex_B = nn.LayerNorm(DIM), nn.LayerNorm(DIM)
        self.layers_Fusion = nn.ModuleList([RSTB(ISFBlock), RSTB(ISFBlock)])
        self.norm_Fusion_A, self.norm_Fusion_B = nn.LayerNorm(DIM), nn.LayerNorm(DIM)
        self.fafb_A, self.fafb_B = FAFB(), FAFB()
        self.weight_gen = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), Mlp(2 * DIM, DIM, 6))
        self.layers_Re = nn.ModuleList([RSTB(SwinTransformerBlock)])
        self.norm_Re = nn.LayerNorm(DIM)
        self.conv_last1 = nn.Conv2d(DIM, 30, 3, 1, 1)
        self.conv_last2 = nn.Conv2d(30, 15, 3, 1, 1)
        self.conv_last3 = nn.Conv2d(15, 1, 3, 1, 1)

    def forward_extract(self, x: Tensor, layers: nn.ModuleList, norm: nn.LayerNorm) -> Tensor:
        x_size = (x.shape[2], x.shape[3])
        x = self.patch_embed(x)
        for layer in layers:
            x = layer(x, x_size)
        return patch_unembed(norm(x), x_size)

    def forward_fusion(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        x_size = (a.shape[2], a.shape[3])
        a, b = self.patch_embed(a), self.patch_embed(b)
        for layer in self.layers_Fusion:
            a, b = layer(a, b, x_size)
        return patch_unembed(self.norm_Fusion_A(a), x_size), patch_unembed(self.norm_Fusion_B(b), x_size)

    def oaf(self, xa: Tensor, xb: Tensor) -> Tensor:
        w = torch.softmax(self.weight_gen(torch.cat([xa, xb], dim=1)), dim=1)  # (N, 6): one vector per image
        terms = [*self.fafb_A(xa), *self.fafb_B(xb)]
        return sum(w[:, i].view(-1, 1, 1, 1) * t for i, t in enumerate(terms))

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        h, w = a.shape[2], a.shape[3]
        pad_h, pad_w = (WINDOW - h % WINDOW) % WINDOW, (WINDOW - w % WINDOW) % WINDOW
        a = F.pad(a, (0, pad_w, 0, pad_h), mode="reflect")  # the mean (0) and range (1) are no-ops
        b = F.pad(b, (0, pad_w, 0, pad_h), mode="reflect")
        a = self.lrelu(self.conv_first2_A(self.lrelu(self.conv_first1_A(a))))
        b = self.lrelu(self.conv_first2_A(self.lrelu(self.conv_first1_A(b))))  # A's convs, as the reference
        a = self.forward_extract(a, self.layers_Ex_A, self.norm_Ex_A)
        b = self.forward_extract(b, self.layers_Ex_B, self.norm_Ex_B)
        a, b = self.forward_fusion(a, b)
        x = self.forward_extract(self.oaf(a, b), self.layers_Re, self.norm_Re)
        x = self.lrelu(self.conv_last1(x))
        x = self.lrelu(self.conv_last2(x))
        x = self.conv_last3(x)
        return x[:, :, :h, :w]


def build_reference(state_dict: Mapping[str, Tensor]) -> nn.Module:
    """A ReferenceTITA in eval mode with a reference state dict loaded (strictly, bar the size-dependent masks)."""
    if "params" in state_dict and isinstance(state_dict["params"], Mapping):
        state_dict = state_dict["params"]
    state = {k.removeprefix("module."): torch.as_tensor(v) for k, v in state_dict.items()
             if not k.endswith("attn_mask")}
    net = ReferenceTITA()
    net.load_state_dict(state)
    return net.eval()
