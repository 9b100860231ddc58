"""`tita-studio score` through the command-line entry point."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tita_studio.cli.main import main
from tita_studio.metrics import score

VIFB = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "ivf" / "vifb"
needs_vifb = pytest.mark.skipif(not (VIFB / "A").is_dir(), reason=f"VIFB data not available at {VIFB}")


def _rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if image.ndim == 3 else image


@needs_vifb
@pytest.mark.parametrize("convention", ["standard", "vifb"])
def test_json_matches_the_library(capsys, convention: str) -> None:
    paths = [VIFB / "A" / "running.jpg", VIFB / "B" / "running.jpg", VIFB / "results" / "GFF" / "running.jpg"]
    code = main(["score", str(paths[0]), str(paths[1]), "--fused", str(paths[2]),
                 "--convention", convention, "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    expected = score([_rgb(paths[0]), _rgb(paths[1])], _rgb(paths[2]), convention=convention)
    assert printed == pytest.approx(expected, rel=1e-12)
    assert list(printed) == list(expected)


@needs_vifb
def test_table_with_chosen_metrics(capsys) -> None:
    a, b, f = VIFB / "A" / "fight.jpg", VIFB / "B" / "fight.jpg", VIFB / "results" / "ADF" / "fight.jpg"
    assert main(["score", str(a), str(b), "--fused", str(f), "--metrics", "en,Qabf,mef-ssim"]) == 0
    out = capsys.readouterr().out
    assert "standard convention" in out
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["EN", "Qabf", "MEF-SSIM"]


def test_mef_ssim_is_added_for_three_sources(tmp_path, capsys) -> None:
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (64, 64)), (0, 0), 2)
    paths = []
    for i, gain in enumerate((0.5, 1.0, 1.5, 1.1)):
        paths.append(tmp_path / f"{i}.png")
        cv2.imwrite(str(paths[-1]), np.clip(base * gain, 0, 255).astype(np.uint8))
    assert main(["score", *map(str, paths[:3]), "--fused", str(paths[3]), "--json"]) == 0
    values = json.loads(capsys.readouterr().out)
    assert "MEF-SSIM" in values and "SCD" not in values


def test_unreadable_file_exits_2_naming_it(tmp_path, capsys) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), np.zeros((64, 64), np.uint8))
    assert main(["score", str(good), str(good), "--fused", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "broken.png" in err and "decode" in err
    assert main(["score", str(good), str(tmp_path / "missing.png"), "--fused", str(good)]) == 2
    assert "missing.png: no such file" in capsys.readouterr().err


def test_unknown_metric_exits_2(tmp_path, capsys) -> None:
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), np.zeros((64, 64), np.uint8))
    assert main(["score", str(good), str(good), "--fused", str(good), "--metrics", "EN,bogus"]) == 2
    assert "unknown metric 'bogus'" in capsys.readouterr().err


def test_size_mismatch_and_bad_float_name_the_file(tmp_path, capsys) -> None:
    small, big, hdr = tmp_path / "small.png", tmp_path / "big.png", tmp_path / "hdr.tiff"
    cv2.imwrite(str(small), np.zeros((64, 64), np.uint8))
    cv2.imwrite(str(big), np.zeros((64, 80), np.uint8))
    cv2.imwrite(str(hdr), np.full((64, 64), 3.5, np.float32))
    assert main(["score", str(small), str(big), "--fused", str(small)]) == 2
    assert "big.png is 80x64" in capsys.readouterr().err
    assert main(["score", str(small), str(small), "--fused", str(hdr)]) == 2
    assert "hdr.tiff: float images must lie in [0, 1]" in capsys.readouterr().err
