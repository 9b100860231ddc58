"""Issue #13's target, checked on evaluation results: does a method beat the classical ones it is shown beside?

Per task (IVF, MEF, MFF), over the held-out scenes of every results.csv given (pooled scene by scene, so
two held-out lists count as one):
- target: beat average AND Laplacian on at least 3 of MI, FMI, Qabf and VIF (means), and on exposure
  brackets MEF-SSIM >= 0.965;
- stretch: at least GFF on 3 of those 4, and MEF-SSIM above Mertens.
On brackets the rule as written is out of reach of every method measured (the plain average has by far the
highest MI and FMI, the measures of how much of each frame is kept as it is), so the verdict also gives the
bracket reading: Qabf and VIF above both baselines, with the MEF-SSIM floor. Which reading holds is the
issue owner's decision; both are printed.
Kept apart from the evaluation itself so the card, the script and the tests read one rule.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tita_studio.errors import InputError

METRICS = ("MI", "FMI", "Qabf", "VIF")
TASKS = ("ivf", "mef", "mff")
MEF_SSIM = "MEF-SSIM"


@dataclass(frozen=True)
class TargetRule:
    """The numbers of the rule, in one place."""

    must_beat: tuple[str, ...] = ("average", "laplacian")
    wins_needed: int = 3
    mef_ssim_floor: float = 0.965
    stretch_method: str = "gff"
    stretch_mef_method: str = "mertens"
    bracket_reading: tuple[str, ...] = ("Qabf", "VIF")  # on brackets: these over both baselines, with the floor


@dataclass
class TaskVerdict:
    """One task's means and what they say."""

    task: str
    scenes: int
    means: dict[str, dict[str, float]]  # method -> metric -> mean over the scenes
    wins: dict[str, list[str]] = field(default_factory=dict)  # rival -> metrics the method beats it on
    mef_ssim: float | None = None
    target: bool = False
    stretch: bool = False
    bracket_reading: bool | None = None  # MEF only: the rule with MI and FMI left out (see the module doc)


def read_results(paths: Iterable[Path]) -> list[dict[str, str]]:
    """The rows of results.csv files (tita-studio eval --out), one dict per (scene, method)."""
    rows: list[dict[str, str]] = []
    for path in paths:
        if not Path(path).is_file():
            raise InputError(f"{path}: no such results file (run tita-studio eval --out FOLDER first)")
        with open(path, newline="") as fh:
            rows.extend(csv.DictReader(fh))
    return rows


def _means(rows: Sequence[dict[str, str]], task: str) -> tuple[int, dict[str, dict[str, float]]]:
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    scenes = set()
    for row in rows:
        if row["task"].lower() != task:
            continue
        scenes.add((row["dataset"], row["item"]))
        for metric in (*METRICS, MEF_SSIM):
            text = row.get(metric, "")
            if text not in ("", None) and math.isfinite(float(text)):
                values[row["method"]][metric].append(float(text))
    means = {m: {k: sum(v) / len(v) for k, v in per.items() if v} for m, per in values.items()}
    return len(scenes), means


def verdict(rows: Sequence[dict[str, str]], method: str = "tita", rule: TargetRule = TargetRule()
            ) -> list[TaskVerdict]:
    """The target and stretch check of `method` for every task present in the rows."""
    out = []
    for task in TASKS:
        scenes, means = _means(rows, task)
        if method not in means:
            continue
        mine = means[method]
        v = TaskVerdict(task, scenes, means)
        for rival in (*rule.must_beat, rule.stretch_method):
            if rival in means and rival != method:
                v.wins[rival] = [m for m in METRICS if m in mine and m in means[rival]
                                 and (mine[m] > means[rival][m] if rival in rule.must_beat
                                      else mine[m] >= means[rival][m])]
        beats = all(len(v.wins.get(r, [])) >= rule.wins_needed for r in rule.must_beat)
        v.mef_ssim = mine.get(MEF_SSIM)
        mef_ok = task != "mef" or (v.mef_ssim is not None and v.mef_ssim >= rule.mef_ssim_floor)
        v.target = beats and mef_ok
        if task == "mef":
            v.bracket_reading = mef_ok and all(set(rule.bracket_reading) <= set(v.wins.get(r, []))
                                               for r in rule.must_beat)
        above_mertens = task != "mef" or (v.mef_ssim is not None and v.mef_ssim
                                          > means.get(rule.stretch_mef_method, {}).get(MEF_SSIM, math.inf))
        at_least = method == rule.stretch_method or len(v.wins.get(rule.stretch_method, [])) >= rule.wins_needed
        v.stretch = at_least and above_mertens
        out.append(v)
    return out


def describe(verdicts: Sequence[TaskVerdict], method: str = "tita", rule: TargetRule = TargetRule()) -> str:
    """A markdown table of the means and one line per task with the verdict."""
    lines = []
    for v in verdicts:
        cols = [*METRICS, *([MEF_SSIM] if v.task == "mef" else [])]
        lines += [f"**{v.task.upper()}** ({v.scenes} held-out scenes)", "",
                  "| method | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
        for name, per in v.means.items():
            cells = [f"{per[c]:.4g}" if c in per else "" for c in cols]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        wins = "; ".join(f"{'beats' if r in rule.must_beat else 'at least'} {r} on {len(w)} ({', '.join(w) or 'none'})"
                         for r, w in v.wins.items())
        floor = f"; MEF-SSIM {v.mef_ssim:.4f} (target >= {rule.mef_ssim_floor})" if v.task == "mef" else ""
        reading = "" if v.bracket_reading is None else (
            f"; bracket reading ({' and '.join(rule.bracket_reading)} over both, MEF-SSIM floor) "
            f"{'MET' if v.bracket_reading else 'not met'}")
        lines += ["", f"{method}: {wins}{floor}: target {'MET' if v.target else 'not met'}, "
                      f"stretch {'met' if v.stretch else 'not met'}{reading}", ""]
    return "\n".join(lines)
