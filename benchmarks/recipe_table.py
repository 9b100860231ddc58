"""Issue #13's comparison table: every arm's held-out means and verdict, one row per arm and task.

Each argument names an arm and its results.csv files (the old and the new held-out lists of
`configs/recipe_eval.sh`, pooled scene by scene); the classical methods' rows come from the first arm's
files. The rule is tita_studio/evaluation/target.py's.

    python benchmarks/recipe_table.py base=runs/eval/base-old/results.csv,runs/eval/base-new/results.csv \\
        distill=runs/eval/distill-old/results.csv,runs/eval/distill-new/results.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tita_studio.evaluation.target import MEF_SSIM, METRICS, TargetRule, TaskVerdict, read_results, verdict

CLASSICAL = ("average", "laplacian", "mertens", "gff")


def _arm(text: str) -> tuple[str, list[Path]]:
    name, sep, paths = text.partition("=")
    if not sep or not name or not paths:
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME=RESULTS.csv[,RESULTS.csv...]")
    return name, [Path(p) for p in paths.split(",")]


def _cells(v: TaskVerdict, method: str) -> list[str]:
    per = v.means.get(method, {})
    return [f"{per[m]:.4g}" if m in per else "" for m in (*METRICS, MEF_SSIM)]


def table(arms: list[tuple[str, list[Path]]], rule: TargetRule | None = None) -> str:
    """Markdown: per task, the classical methods, then each arm with its wins and verdict."""
    rule = rule or TargetRule()
    judged = {name: {v.task: v for v in verdict(read_results(paths), "tita", rule)} for name, paths in arms}
    lines = ["| task | method | " + " | ".join((*METRICS, MEF_SSIM)) + " | wins vs average / Laplacian | target |",
             "|---|---|" + "---:|" * (len(METRICS) + 1) + "---|---|"]
    for task in ("ivf", "mef", "mff"):
        first = next((j[task] for j in judged.values() if task in j), None)
        if first is None:
            continue
        for method in CLASSICAL:
            if method in first.means:
                lines.append(f"| {task.upper()} | {method} | " + " | ".join(_cells(first, method)) + " | | |")
        for name, per_task in judged.items():
            v = per_task.get(task)
            if v is None:
                continue
            wins = " / ".join(str(len(v.wins[r])) if r in v.wins else "-" for r in rule.must_beat)
            verdict_text = "MET" if v.target else "not met"
            if v.bracket_reading is not None:
                verdict_text += f" (bracket reading {'MET' if v.bracket_reading else 'not met'})"
            lines.append(f"| {task.upper()} | **{name}** | " + " | ".join(_cells(v, "tita")) +
                         f" | {wins} | {verdict_text} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arms", nargs="+", type=_arm, metavar="NAME=CSV[,CSV]")
    print(table(parser.parse_args().arms))


if __name__ == "__main__":
    main()
