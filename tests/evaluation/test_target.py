"""Issue #13's target rule on a real evaluation: which methods beat average and Laplacian, and MEF-SSIM."""

from __future__ import annotations

from pathlib import Path

import pytest

from tita_studio.errors import InputError
from tita_studio.evaluation.report import CSV_NAME, write_report
from tita_studio.evaluation.run import evaluate
from tita_studio.evaluation.target import TargetRule, describe, read_results, verdict

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
needs_data = pytest.mark.skipif(not (DATASETS / "ivf" / "vifb").is_dir(),
                                reason="../shared/datasets is not beside the repository")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    """Average, Laplacian and GFF on two VIFB pairs and one real bracket (mef/merianos), in two CSVs."""
    root = tmp_path_factory.mktemp("target")
    for task, folder, methods in (("ivf", "vifb", "average,laplacian,gff"),
                                  ("mef", "merianos", "average,laplacian,mertens,gff")):
        limit = 2 if task == "ivf" else 1
        write_report(evaluate([DATASETS / task / folder], methods, root / task, limit=limit), root / task)
    return read_results([root / "ivf" / CSV_NAME, root / "mef" / CSV_NAME])


@needs_data
def test_gff_beats_average_and_laplacian_on_real_ivf_pairs(results: list[dict[str, str]]) -> None:
    ivf = {v.task: v for v in verdict(results, "gff")}["ivf"]
    assert ivf.scenes == 2
    assert len(ivf.wins["average"]) >= 3 and len(ivf.wins["laplacian"]) >= 3
    assert ivf.target
    # a method never beats itself, so the average fails the rule it is part of
    assert not {v.task: v for v in verdict(results, "average")}["ivf"].target


@needs_data
def test_brackets_need_the_mef_ssim_floor(results: list[dict[str, str]]) -> None:
    mef = {v.task: v for v in verdict(results, "mertens")}["mef"]
    assert mef.mef_ssim is not None and 0.8 < mef.mef_ssim <= 1.0
    strict = verdict(results, "mertens", TargetRule(mef_ssim_floor=mef.mef_ssim + 1e-6))
    assert not {v.task: v for v in strict}["mef"].target
    text = describe(verdict(results, "mertens"), "mertens")
    assert "**MEF** (1 held-out scenes)" in text and "MEF-SSIM" in text


@needs_data
def test_the_bracket_reading_leaves_out_mi_and_fmi_only(results: list[dict[str, str]]) -> None:
    mertens = {v.task: v for v in verdict(results, "mertens")}
    mef = mertens["mef"]
    # on this real bracket Mertens loses MI and FMI to the average, so it fails the rule as written, and wins
    # Qabf and VIF over both with MEF-SSIM above the floor, so it meets the bracket reading
    assert {"MI", "FMI"}.isdisjoint(mef.wins["average"]) and not mef.target
    assert mef.bracket_reading
    assert not {v.task: v for v in verdict(results, "average")}["mef"].bracket_reading  # never beats itself
    # an unreachable floor fails the reading as it fails the target; other tasks have no reading
    assert not {v.task: v for v in verdict(results, "mertens", TargetRule(mef_ssim_floor=1.01))}["mef"].bracket_reading
    assert {v.task: v for v in verdict(results, "gff")}["ivf"].bracket_reading is None
    assert "bracket reading (Qabf and VIF over both, MEF-SSIM floor)" in describe(list(mertens.values()), "mertens")


def test_a_missing_results_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such results file"):
        read_results([tmp_path / "nowhere.csv"])
