"""`tita-studio fuse` and `info` from the outside: exit codes, files written or not, messages."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tita_studio.cli.main import main
from tita_studio.evaluation.datasets import discover
from tita_studio.model import TITA, TITAConfig
from tita_studio.model.weights import save_weights
from tita_studio.pipeline.fuse import FuseOptions, fuse_sources
from tita_studio.pipeline.kinds import SourceKind
from tita_studio.pipeline.reading import read_image
from tita_studio.pipeline.writing import WriteOptions, write_image


@pytest.fixture
def pair(tmp_path, datasets):
    """A small crop of a real IR/visible pair (RoadScene), written as PNG."""
    folder = datasets / "ivf" / "roadscene"
    name = sorted(p.name for p in (folder / "A").iterdir())[0]
    paths = []
    for sub in ("A", "B"):
        src = read_image(folder / sub / name)
        out = tmp_path / f"{sub}.png"
        write_image(out, src.pixels[:64, :80], WriteOptions(bit_depth=8), meta=src.meta)
        paths.append(out)
    return paths


@pytest.fixture
def model(tmp_path):
    torch.manual_seed(0)
    return save_weights(TITA(TITAConfig()), tmp_path / "untrained.safetensors", trained=False)


def test_fuse_with_a_model_writes_image_and_maps(pair, model, tmp_path, capsys):
    out, maps = tmp_path / "fused.png", tmp_path / "maps"
    assert main(["fuse", *map(str, pair), "-o", str(out), "--model", str(model), "--maps", str(maps)]) == 0
    fused = read_image(out)
    assert fused.shape == (64, 80) and fused.pixels.ndim == 3  # the visible frame's colour survives
    assert (maps / "maps.npz").exists() and (maps / "oaf_dominant.png").exists()
    assert len(list(maps.glob("ipa_cross_share_block*_A.png"))) == 8
    assert "UNTRAINED" in capsys.readouterr().out


def test_fuse_pairs_is_resumable(pair, tmp_path, capsys):
    dir_a, dir_b, out = tmp_path / "va", tmp_path / "ir", tmp_path / "out"
    for d, p in ((dir_a, pair[0]), (dir_b, pair[1])):
        d.mkdir()
        (d / "scene.png").write_bytes(p.read_bytes())
    (dir_a / "broken.png").write_bytes(b"not a png")
    (dir_b / "broken.png").write_bytes(b"not a png")
    args = ["fuse", "--pairs", str(dir_a), str(dir_b), "-o", str(out), "--method", "laplacian"]
    assert main(args) == 1  # one pair failed
    text = capsys.readouterr().out
    assert "1 fused, 0 already done (skipped), 1 failed" in text and "broken.png" in text
    assert (out / "scene.png").exists() and not (out / "broken.png").exists()
    main(args)
    assert "0 fused, 1 already done (skipped), 1 failed" in capsys.readouterr().out


def test_a_writer_killed_mid_write_leaves_nothing_once_the_pair_is_fused_again(pair, tmp_path, capsys):
    dir_a, dir_b, out = tmp_path / "va", tmp_path / "ir", tmp_path / "out"
    for d, p in ((dir_a, pair[0]), (dir_b, pair[1])):
        d.mkdir()
        (d / "scene.png").write_bytes(p.read_bytes())
    out.mkdir()
    (out / "scene.png.x").write_bytes(b"another target's file")
    other = out / ".scene.png.x.abcd1234.part"  # the temporary file of another target, "scene.png.x"
    other.write_bytes(b"")
    writer = subprocess.Popen([sys.executable, "-c", (  # a real writer, killed outright half-way
        "import sys, time\n"
        "from tita_studio.atomic import atomic_save\n"
        "def write(handle):\n"
        "    handle.write(b'half'); handle.flush(); print('writing', flush=True); time.sleep(60)\n"
        f"atomic_save({str(out / 'scene.png')!r}, write)\n")], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "writing"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert [p.name for p in out.glob(".scene.png.*.part") if p != other]  # what SIGKILL left behind
    assert main(["fuse", "--pairs", str(dir_a), str(dir_b), "-o", str(out), "--method", "laplacian"]) == 0
    assert "1 fused" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [other.name, "scene.png", "scene.png.x"]
    assert read_image(out / "scene.png").shape == (64, 80)


@pytest.mark.parametrize(("case", "message"), [
    ("single", "at least two"),
    ("missing", "no such file"),
    ("corrupt", "broken.png"),
    ("sizes", "differ in size"),
    ("unknown_model", "cannot be read as a PyTorch checkpoint"),
    ("unknown_bin", "neither TITA Studio weights"),
    ("onto_source", "is one of the source files"),
    ("no_weights", "shipped TITA weights are missing"),
])
def test_bad_input_exits_2_and_writes_nothing(pair, tmp_path, capsys, case, message, monkeypatch):
    out = tmp_path / "out.png"
    srcs = [str(p) for p in pair]
    extra: list[str] = ["--method", "average"]
    if case == "single":
        srcs = srcs[:1]
    elif case == "missing":
        srcs[1] = str(tmp_path / "absent.png")
    elif case == "corrupt":
        broken = tmp_path / "broken.png"
        broken.write_bytes(pair[1].read_bytes()[:200])
        srcs[1] = str(broken)
    elif case == "sizes":
        small = tmp_path / "small.png"
        write_image(small, np.zeros((32, 32), np.float32))
        srcs[1] = str(small)
    elif case == "unknown_model":
        junk = tmp_path / "model.pth"
        junk.write_bytes(b"\x00" * 64)
        extra = ["--model", str(junk)]
    elif case == "unknown_bin":
        junk = tmp_path / "model.bin"
        junk.write_bytes(b"\x00" * 64)
        extra = ["--model", str(junk)]
    elif case == "onto_source":
        out = pair[0]
    elif case == "no_weights":
        import tita_studio.model.loader as loader

        monkeypatch.setattr(loader, "DEFAULT_WEIGHTS", tmp_path / "none.safetensors")
        extra = []
    before = sorted(p.name for p in tmp_path.iterdir())
    original = pair[0].read_bytes()
    assert main(["fuse", *srcs, "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1  # one readable line, no traceback
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert pair[0].read_bytes() == original


def test_info_names_the_device(capsys):
    assert main(["info"]) == 0
    assert "device" in capsys.readouterr().out


@pytest.mark.parametrize("native", [False, True])
def test_info_says_what_training_precision_auto_picks(capsys, monkeypatch, native: bool):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert main(["info", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert f"precision auto = {'bfloat16' if native else 'float32'} here" in out
    assert ("in hardware" in out) == native and ("emulated" in out) == (not native)


def _ivf_folders() -> list[str]:
    root = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "ivf"
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


@pytest.mark.parametrize("folder", _ivf_folders())
def test_registered_ir_visible_pairs_are_never_moved(datasets, folder):
    """Default options on real IR/visible pairs (up to 3 a folder): full size, no alignment, the visible
    frame as the reference, whichever frame is brighter."""
    for item in discover(datasets / "ivf" / folder, 3).items:
        sources = [read_image(s) for s in item.sources]
        result = fuse_sources(sources, FuseOptions(method="average"))
        assert result.classification.kind is SourceKind.IR_VISIBLE, (item.name, result.classification.describe())
        assert result.alignment is None
        assert result.image.shape[:2] == sources[0].shape
        assert result.sources[result.reference].meta.path == sources[0].meta.path  # A is the visible frame


def test_default_fuse_keeps_a_night_llvip_pair_at_full_size(datasets, tmp_path, capsys):
    """The reported case: `tita-studio fuse VIS IR -o out.png` on LLVIP moved and cropped the infrared frame.
    Default options at 1280x1024; a classical method, since the alignment decision comes before the fusion
    method and a full-size CPU fusion by the network takes minutes."""
    a, b = (datasets / "ivf/llvip_train" / d / "train_010005.jpg" for d in ("A", "B"))
    out = tmp_path / "fused.png"
    assert main(["fuse", str(a), str(b), "-o", str(out), "--method", "laplacian"]) == 0
    assert read_image(out).shape == read_image(a).shape == (1024, 1280)
    printed = capsys.readouterr().out
    assert "infrared/visible pair" in printed and "alignment:" not in printed
