"""The README's library example runs as written, on small crops of the bundled demo pair."""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np

from tita_studio.paths import RESOURCES_DIR
from tita_studio.pipeline.reading import read_image

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_library_example_fuses_saves_and_writes_maps(tmp_path: Path, capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    example = next(b for b in blocks if "fuse_sources" in b)
    for name, demo in (("visible.png", "irvis_visible.png"), ("infrared.png", "irvis_infrared.png")):
        image = cv2.imread(str(RESOURCES_DIR / "demo" / demo), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(tmp_path / name), image[80:176, 300:428])  # 128 x 96: seconds on a CPU
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        exec(compile(example, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert capsys.readouterr().out.startswith("infrared/visible pair")
    fused = read_image(tmp_path / "fused.png")
    visible = read_image(tmp_path / "visible.png")
    assert fused.shape == visible.shape and fused.pixels.ndim == 3
    assert not np.array_equal(fused.pixels, visible.pixels)
    assert (tmp_path / "maps" / "maps.npz").exists() and (tmp_path / "maps" / "oaf_dominant.png").exists()
