"""The network through OpenVINO on the CPU: one compiled model per input size, cached on disk.

Export (torch.export, then OpenVINO's converter): `FixedSize` runs the studio network on one (height, width)
with its window layout built once outside the graph, so the graph never computes it from the input's shape
(nonzero, range and scatter ops). The token orders are buffers, stored once however many blocks read them.
The shift masks are a third input: as a constant, OpenVINO folds mask + bias into one (windows, heads, 64,
64) tensor per shifted block, 12 MB each at 512 px (the 192 MB of a previous attempt); as an input they cost
nothing. Converted models are saved as OpenVINO IR per size and weights digest, and compiled blobs are kept
by OpenVINO's own cache, both under the user cache folder, so a size is converted and compiled once. The
model is compiled with static shapes (about 10% faster than the traced dynamic ones) and its convolutions
are marked to stay in float32 under the bfloat16 hint (OpenVINO's `precise` runtime attribute, which the CPU
plugin honours): the first ones read the input image, whose rounding to bfloat16 alone costs several dB, and
the last ones write the output. Measured on real 256 px pairs, this lifts bfloat16's agreement with PyTorch
float32 by 4-6 dB at no cost in speed (docs/model.md, "Backends and measured defaults")."""

from __future__ import annotations

import hashlib
import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import numpy as np
import platformdirs
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tita_studio.model.tita import TITA
from tita_studio.model.windows import TokenOrder, WindowGrid

log = logging.getLogger(__name__)

_HINTS = {"float32": "f32", "bfloat16": "bf16"}
EXPORT_VERSION = 3  # in the IR's file name: 3 = torch.export, convolutions kept in float32
KEEP_FLOAT32 = ("Convolution",)  # op types the bfloat16 hint leaves in float32 (see the module docstring)


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("tita-studio", appauthor=False)) / "openvino"


def keep_float32(xml_path: Path, op_types: tuple[str, ...] = KEEP_FLOAT32) -> int:
    """Mark the IR's layers of `op_types` with OpenVINO's `precise` runtime attribute (the IR form of
    ov::disable_fp16_compression, which the CPU plugin also honours for bfloat16); the Python API cannot set
    it on a node, the IR reader turns the attribute into the real one. Returns the number of layers marked."""
    tree = ET.parse(xml_path)
    marked = 0
    for layer in tree.getroot().iter("layer"):
        if layer.get("type") not in op_types:
            continue
        rt_info = layer.find("rt_info")
        if rt_info is None:
            rt_info = ET.Element("rt_info")
            layer.insert(0, rt_info)
        if not any(a.get("name") == "precise" for a in rt_info.iter("attribute")):
            ET.SubElement(rt_info, "attribute", {"name": "precise", "version": "0"})
            marked += 1
    tree.write(xml_path, encoding="utf-8", xml_declaration=True)
    return marked


def weights_digest(net: nn.Module) -> str:
    """A short digest of the network's weights and config: the converted models' cache key."""
    h = hashlib.sha256(repr(getattr(net, "config", "")).encode())
    for name, t in sorted(net.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


class FixedSize(nn.Module):
    """The studio network's plain fusion for one input size, window layout held as buffers."""

    def __init__(self, net: TITA, height: int, width: int) -> None:
        super().__init__()
        if net.config.variant != "studio":
            raise ValueError("the OpenVINO export covers the studio variant (per-pixel OAF weights) only")
        self.net, self.height, self.width = net, height, width
        ph, pw = net.padded_size(height, width)
        grid = WindowGrid.build(ph, pw, net.config.window_size, net.config.shift_size, torch.device("cpu"))
        self.ws, self.shift, self.padded, self.n_interior = grid.ws, grid.shift, (ph, pw), grid.n_interior
        self.register_buffer("plain_index", grid.plain_order.index)
        self.register_buffer("plain_inverse", grid.plain_order.inverse)
        self.register_buffer("shifted_index", grid.shifted_order.index)
        self.register_buffer("shifted_inverse", grid.shifted_order.inverse)
        self.border_mask = grid.border_mask  # passed as the third input (see the module docstring)

    def forward(self, a: Tensor, b: Tensor, border_mask: Tensor) -> Tensor:
        ph, pw = self.padded
        if (ph, pw) != (self.height, self.width):
            pad = (0, pw - self.width, 0, ph - self.height)
            a, b = F.pad(a, pad, mode="reflect"), F.pad(b, pad, mode="reflect")
        grid = WindowGrid(ph, pw, self.ws, self.shift, TokenOrder(self.plain_index, self.plain_inverse),
                          TokenOrder(self.shifted_index, self.shifted_inverse), self.n_interior, border_mask)
        cl = torch.channels_last
        net = self.net
        xa, xb, _ = net.interact(*net.encode(a.contiguous(memory_format=cl), b.contiguous(memory_format=cl), grid),
                                 grid, False)
        xf, _, _ = net.oaf(xa, xb, None, False)
        return net.reconstruct(xf, grid)[..., : self.height, : self.width].float()


class OpenVINONet:
    """Callable like the network's plain fusion: (N=1, 1, H, W) pairs in, the fused luma out."""

    def __init__(self, net: TITA, precision: str = "float32", threads: int | None = None) -> None:
        import openvino as ov

        if precision not in _HINTS:
            raise ValueError(f"the OpenVINO backend runs float32 or bfloat16; got {precision}")
        self.net, self.precision = net.cpu().eval(), precision
        self.core = ov.Core()
        cache_dir().mkdir(parents=True, exist_ok=True)
        self.core.set_property({"CACHE_DIR": str(cache_dir() / "compiled")})
        self.config = {"INFERENCE_PRECISION_HINT": _HINTS[precision], "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            self.config["INFERENCE_NUM_THREADS"] = threads
        self.digest = weights_digest(self.net)
        self._compiled: dict[tuple[int, int], tuple[object, np.ndarray]] = {}

    def _model_path(self, height: int, width: int) -> Path:
        import openvino as ov

        version = ov.__version__.split("-")[0]
        return cache_dir() / f"tita-{self.digest}-{height}x{width}-v{EXPORT_VERSION}-ov{version}.xml"

    def compiled(self, height: int, width: int) -> tuple[object, np.ndarray]:
        """The compiled model for this input size and its shift-mask input: from memory, else the IR on disk,
        else converted now."""
        key = (height, width)
        if key not in self._compiled:
            import openvino as ov

            path = self._model_path(height, width)
            fixed = FixedSize(self.net, height, width).eval()
            if not path.exists():
                log.info("converting the network for %d x %d inputs to OpenVINO (once per size)", height, width)
                a, b = torch.rand(1, 1, height, width), torch.rand(1, 1, height, width)
                # Exported in float32 whatever the caller's autocast: the precision is OpenVINO's hint.
                # torch.export traces with fake tensors: 0.46 GB at 128 px, where convert_model's own
                # TorchScript trace took 3.6 GB (and over 9 GB at 256 px).
                with torch.no_grad(), torch.autocast("cpu", enabled=False):
                    model = ov.convert_model(torch.export.export(fixed, (a, b, fixed.border_mask)))
                tmp = path.with_suffix(".tmp.xml")
                ov.save_model(model, tmp, compress_to_fp16=False)
                keep_float32(tmp)
                tmp.with_suffix(".bin").replace(path.with_suffix(".bin"))
                tmp.replace(path)
            mask = np.ascontiguousarray(fixed.border_mask.numpy())
            model = self.core.read_model(path)
            model.reshape({model.inputs[0]: [1, 1, height, width], model.inputs[1]: [1, 1, height, width],
                           model.inputs[2]: list(mask.shape)})  # static shapes: faster kernels
            self._compiled[key] = (self.core.compile_model(model, "CPU", self.config), mask)
        return self._compiled[key]

    def __call__(self, a: Tensor, b: Tensor, return_maps: bool = False, oaf_pooled: Tensor | None = None) -> Tensor:
        if return_maps or oaf_pooled is not None:
            raise ValueError("the OpenVINO backend computes the fused image only; maps run through PyTorch")
        if a.shape[0] != 1:
            raise ValueError("the OpenVINO backend fuses one pair at a time")
        h, w = a.shape[-2:]
        model, mask = self.compiled(int(h), int(w))
        inputs = [np.ascontiguousarray(t.detach().float().cpu().numpy()) for t in (a, b)]
        out = model([*inputs, mask])[0]  # type: ignore[operator]
        return torch.from_numpy(np.array(out, dtype=np.float32, copy=True))


def openvino_runner(net: TITA, precision: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A whole-pair runner for the calibration in engine/defaults.py."""
    ov_net = OpenVINONet(net, precision)

    def run(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ta, tb = (torch.from_numpy(np.ascontiguousarray(x))[None, None] for x in (a, b))
        return ov_net(ta, tb)[0, 0].numpy()

    return run
