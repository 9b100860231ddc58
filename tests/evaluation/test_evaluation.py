"""Evaluation: dataset discovery, the result cache, the report files and `tita-studio eval`."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from tita_studio.cli.main import main
from tita_studio.errors import InputError
from tita_studio.evaluation import run as eval_run
from tita_studio.evaluation.cache import entry_key
from tita_studio.evaluation.datasets import discover, task_of
from tita_studio.evaluation.report import CSV_NAME, MARKDOWN_NAME, PLOTS_DIR
from tita_studio.evaluation.run import EvaluationConfig, evaluate, metrics_for

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
VIFB = DATASETS / "ivf" / "vifb"


def write_png(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.round(np.clip(image, 0, 1) * 255).astype(np.uint8))


def scene(seed: int, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.random((size, size)), (0, 0), 1.5)


@pytest.fixture
def tiny_ivf(tmp_path: Path) -> Path:
    """ivf/tiny: two pairs, one unmatched file, and a results/ folder that is not input."""
    root = tmp_path / "ivf" / "tiny"
    for name, seed in (("one", 1), ("two", 2)):
        write_png(root / "A" / f"{name}.png", scene(seed))
        write_png(root / "B" / f"{name}.png", scene(seed + 10))
    write_png(root / "B" / "lonely.png", scene(3))
    write_png(root / "results" / "X" / "one.png", scene(4))
    return root


@pytest.fixture
def tiny_mef(tmp_path: Path) -> Path:
    """mef/tiny: one three-frame bracket."""
    root = tmp_path / "mef" / "tiny"
    base = scene(5)
    for index, gain in enumerate((0.4, 1.0, 1.8)):
        write_png(root / "seq" / "s1" / f"f{index}.png", base * gain)
    return root


def read_rows(out: Path) -> list[dict[str, str]]:
    with (out / CSV_NAME).open() as handle:
        return list(csv.DictReader(handle))


def test_discovery_finds_pairs_and_sequences_and_the_task(tiny_ivf: Path, tiny_mef: Path) -> None:
    pairs = discover(tiny_ivf)
    assert (pairs.task, pairs.label) == ("ivf", "ivf/tiny")
    assert [(i.name, i.kind) for i in pairs.items] == [("one", "pair"), ("two", "pair")]
    assert any("lonely" in note for note in pairs.notes)
    assert [len(i.sources) for i in discover(tiny_mef).items] == [3]
    assert len(discover(tiny_ivf, limit=1).items) == 1
    assert task_of(Path("/somewhere/else"))[0] == "other"


def test_discovery_refuses_a_folder_without_items(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no pairs"):
        discover(tmp_path)
    with pytest.raises(InputError, match="not a dataset folder"):
        discover(tmp_path / "missing")


def test_metrics_follow_the_task_and_the_number_of_sources() -> None:
    cfg = EvaluationConfig()
    assert "MEF-SSIM" in metrics_for(2, "mef", None, "standard", cfg)
    assert "MEF-SSIM" not in metrics_for(2, "ivf", None, "standard", cfg)
    assert "SCD" not in metrics_for(3, "mef", None, "standard", cfg)
    assert metrics_for(3, "mef", ["SCD", "MI"], "standard", cfg) == ["MI"]


def test_cache_key_depends_on_what_produced_the_result(tiny_ivf: Path) -> None:
    a, b = str(tiny_ivf / "A" / "one.png"), str(tiny_ivf / "B" / "one.png")
    key = entry_key((a, b), "gff", {"r": 45}, None)
    assert entry_key((b, a), "gff", {"r": 45}, None) == key
    assert entry_key((a, b), "laplacian", {"r": 45}, None) != key
    assert entry_key((a, b), "gff", {"r": 44}, None) != key
    assert entry_key((a, b), "gff", {"r": 45}, "model-digest") != key
    assert entry_key((a, str(tiny_ivf / "B" / "two.png")), "gff", {"r": 45}, None) != key


def test_a_second_run_reuses_the_cache_and_scores_only_new_metrics(tiny_ivf: Path, tiny_mef: Path,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    cfg = EvaluationConfig(align_sequences="none")  # the generated bracket is registered by construction
    first = evaluate([tiny_ivf, tiny_mef], "average,mertens", out, metrics="MI,Qabf", config=cfg)
    assert (first.computed, first.reused, len(first.rows)) == (6, 0, 6)
    cache_files = sorted((out / "cache").iterdir())
    stamps = {p: p.stat().st_mtime_ns for p in cache_files}
    second = evaluate([tiny_ivf, tiny_mef], "average,mertens", out, metrics="MI,Qabf", config=cfg)
    assert (second.computed, second.reused) == (0, 6)
    assert [r.scores for r in second.rows] == [r.scores for r in first.rows]
    assert {p: p.stat().st_mtime_ns for p in cache_files} == stamps
    third = evaluate([tiny_mef], "mertens", out, metrics="MI,MEF-SSIM", config=cfg)
    assert (third.computed, third.reused) == (0, 1)
    assert third.rows[0].scores["MI"] == first.rows[-1].scores["MI"]
    assert 0.0 < third.rows[0].scores["MEF-SSIM"] <= 1.0


def test_tita_is_skipped_with_a_note_without_weights(tiny_ivf: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eval_run, "DEFAULT_WEIGHTS", tmp_path / "absent.safetensors")
    out = tmp_path / "out"
    assert main(["eval", str(tiny_ivf), "--methods", "tita,average", "--metrics", "EN", "--out", str(out)]) == 0
    assert {row["method"] for row in read_rows(out)} == {"average"}
    assert "| tita | – | skipped: no TITA weights" in (out / MARKDOWN_NAME).read_text()


def test_bad_requests_exit_with_code_2(tiny_ivf: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    assert main(["eval", str(tiny_ivf), "--methods", "average,nonsense", "--out", out]) == 2
    assert main(["eval", str(tiny_ivf), "--methods", "average", "--metrics", "XYZ", "--out", out]) == 2
    assert main(["eval", str(tiny_ivf), "--methods", "tita", "--model", str(tmp_path / "no.pt"), "--out", out]) == 2
    assert main(["eval", str(tiny_ivf), "--limit", "0", "--out", out]) == 2


@pytest.mark.skipif(not VIFB.is_dir(), reason="../shared/datasets is not beside the repository")
def test_eval_command_on_vifb_pairs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "eval"
    args = ["eval", str(VIFB), "--methods", "average,laplacian,gff", "--out", str(out), "--limit", "2"]
    assert main(args) == 0
    assert "6 computed, 0 reused" in capsys.readouterr().out
    rows = read_rows(out)
    assert [(r["item"], r["method"]) for r in rows] == [
        (item, method) for item in ("carLight", "carShadow") for method in ("average", "laplacian", "gff")]
    assert all(r["dataset"] == "ivf/vifb" and r["task"] == "ivf" and float(r["seconds"]) > 0 for r in rows)
    assert all(float(r["Qabf"]) > 0 and r["MI"] for r in rows)
    markdown = (out / MARKDOWN_NAME).read_text()
    assert "## ivf/vifb (ivf, 2 pairs)" in markdown
    table = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| method | s/image | EN ↑") and len(table) == 4
    qabf = table[0].split(" | ").index("Qabf ↑")
    assert table[3].split(" | ")[qabf].startswith("**")  # GFF has the best Qabf on these pairs
    plot = cv2.imread(str(out / PLOTS_DIR / "ivf_vifb.png"))
    assert plot is not None and plot.shape[0] > 200
    stamps = {p: p.stat().st_mtime_ns for p in (out / "cache").iterdir()}
    assert main(args) == 0
    assert "0 computed, 6 reused" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in (out / "cache").iterdir()} == stamps
    assert read_rows(out) == [dict(r, reused="1") for r in rows]


@pytest.mark.skipif(not VIFB.is_dir(), reason="../shared/datasets is not beside the repository")
def test_holdout_restricts_the_evaluation_to_its_scenes(tmp_path: Path) -> None:
    holdout = tmp_path / "holdout.toml"
    holdout.write_text('[holdout]\nIVF = ["ivf/vifb/carShadow", "ivf\\\\vifb\\\\carLight.jpg", "ivf/vifb/nowhere", '
                       '"ivf/vifb/carShadow/", "ivf/roadscene/FLIR_00455"]\nMEF = []\n')
    out = tmp_path / "out"
    assert main(["eval", str(VIFB), "--methods", "average", "--metrics", "EN", "--out", str(out),
                 "--holdout", str(holdout)]) == 0
    assert [(r["item"], r["method"]) for r in read_rows(out)] == [("carLight", "average"), ("carShadow", "average")]
    notes = (out / MARKDOWN_NAME).read_text().split("## Notes")[1]
    assert "2 of 4 id(s) found" in notes
    assert "ivf/vifb: held-out id(s) of holdout.toml not found among its items: ivf/vifb/nowhere" in notes
    assert "1 held-out id(s) of holdout.toml are in folders not evaluated here (ivf/roadscene)" in notes
    report = evaluate([VIFB], "average", out, metrics="EN", holdout=holdout, limit=1)
    assert [r.item for r in report.rows] == ["carLight"]


def test_a_holdout_that_matches_nothing_or_is_malformed_is_refused(tiny_ivf: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    for text, message in (('[holdout]\nIVF = ["ivf/elsewhere/one"]\n', "none of its 1 held-out id"),
                          ('[holdout]\nIVF = ["one"]\n', "expected FOLDER/NAME"),
                          ('IVF = ["ivf/tiny/one"]\n', r"no \[holdout\] table"),
                          ('[holdout]\nIVF = "ivf/tiny/one"\n', "must be a list of strings")):
        holdout = tmp_path / "holdout.toml"
        holdout.write_text(text)
        with pytest.raises(InputError, match=message):
            evaluate([tiny_ivf], "average", out, holdout=holdout)
    assert main(["eval", str(tiny_ivf), "--holdout", str(tmp_path / "absent.toml"), "--out", out]) == 2
    holdout.write_text('[holdout]\nIVF = ["ivf/tiny/two"]\n')
    assert [r.item for r in evaluate([tiny_ivf], "average", out, metrics="EN", holdout=holdout).rows] == ["two"]
