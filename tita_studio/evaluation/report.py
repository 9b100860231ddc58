"""The files an evaluation leaves behind: a per-image CSV, a markdown table and bar plots.

Plots are drawn with OpenCV (no plotting library is a dependency).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tita_studio.evaluation.run import EvalReport, Row, mean_std
from tita_studio.metrics.registry import METRICS

CSV_NAME = "results.csv"
MARKDOWN_NAME = "results.md"
PLOTS_DIR = "plots"
_KIND_NAMES = {"pair": "pair", "sequence": "sequence", "pan": "pansharpening file"}


@dataclass(frozen=True)
class PlotConfig:
    """Geometry and colours of the bar plots."""

    panel_size: tuple[int, int] = (320, 230)  # width, height of one metric's panel
    columns: int = 4
    legend_height: int = 40
    margin: int = 28
    font_scale: float = 0.45
    # BGR, distinguishable and print-safe (Okabe-Ito)
    palette: tuple[tuple[int, int, int], ...] = ((178, 114, 0), (0, 159, 230), (115, 158, 0), (66, 228, 240),
                                                 (0, 94, 213), (167, 121, 204), (233, 180, 86), (0, 0, 0))


@dataclass
class Group:
    """Rows summarised together: one dataset, or every dataset of a task."""

    title: str
    slug: str
    rows: list[Row]


def metric_names(rows: Sequence[Row]) -> list[str]:
    """Metrics in the order they were first scored."""
    return list(dict.fromkeys(name for row in rows for name in row.scores))


def groups(report: EvalReport) -> list[Group]:
    """One group per dataset, plus one per task when a task has several datasets."""
    result = []
    for dataset in report.datasets:
        rows = [r for r in report.rows if r.dataset == dataset.label]
        counts = [f"{n} {kind if n == 1 else kind + 's'}" for kind in _KIND_NAMES.values()
                  if (n := sum(_KIND_NAMES[i.kind] == kind for i in dataset.items))]
        result.append(Group(f"{dataset.label} ({dataset.task}, {', '.join(counts)})",
                            dataset.label.replace("/", "_"), rows))
    tasks = [d.task for d in report.datasets]
    for task in dict.fromkeys(tasks):
        if tasks.count(task) > 1:
            labels = [d.label for d in report.datasets if d.task == task]
            result.append(Group(f"task {task} (all of {', '.join(labels)})", f"task_{task}",
                                [r for r in report.rows if r.task == task]))
    return result


def summary(rows: Sequence[Row], methods: Sequence[str]) -> dict[str, dict[str, tuple[float, float, int]]]:
    """{method: {metric or "seconds": (mean, std, count)}}."""
    table: dict[str, dict[str, tuple[float, float, int]]] = {}
    for method in methods:
        mine = [r for r in rows if r.method == method]
        if not mine:
            continue
        table[method] = {"seconds": mean_std([r.seconds for r in mine])}
        for name in metric_names(rows):
            table[method][name] = mean_std([r.scores.get(name) for r in mine])
    return table


def best_methods(table: dict[str, dict[str, tuple[float, float, int]]], metric: str) -> set[str]:
    """Methods whose mean is the best for `metric` (all of them on a tie)."""
    means = {m: v[metric][0] for m, v in table.items() if not math.isnan(v[metric][0])}
    if len(means) < 2:
        return set()
    target = max(means.values()) if METRICS[metric].higher_is_better else min(means.values())
    return {m for m, v in means.items() if v == target}


def _cell(mean: float, std: float, bold: bool) -> str:
    if math.isnan(mean):
        return "n/a"
    text = f"{mean:.4g} ± {std:.3g}"
    return f"**{text}**" if bold else text


def markdown(report: EvalReport, command: str | None = None, machine: str | None = None) -> str:
    """Mean ± std per dataset (and task) and method, best mean in bold, seconds per image."""
    out = io.StringIO()
    out.write("# Evaluation\n\n")
    if command:
        out.write(f"Command: `{command}`\n\n")
    if machine:
        out.write(f"Machine: {machine}\n\n")
    out.write(f"Convention: {report.convention}. Cells: mean ± standard deviation over the images; best mean in "
              "**bold**; ↑ higher is better, ↓ lower is better. s/image: fusion time (reading, alignment, fusion, "
              f"colour) per image, from the run that computed it. {report.computed} result(s) computed, "
              f"{report.reused} reused from the cache.\n")
    for group in groups(report):
        table = summary(group.rows, report.methods)
        out.write(f"\n## {group.title}\n\n")
        if not table:
            out.write("No results.\n")
            continue
        names = metric_names(group.rows)
        arrows = ["↑" if METRICS[n].higher_is_better else "↓" for n in names]
        out.write("| method | s/image | " + " | ".join(f"{n} {a}" for n, a in zip(names, arrows, strict=True)) + " |\n")
        out.write("|---|---:|" + "---:|" * len(names) + "\n")
        best = {n: best_methods(table, n) for n in names}
        for method, values in table.items():
            cells = [_cell(*values[n][:2], method in best[n]) for n in names]
            out.write(f"| {method} | {values['seconds'][0]:.3g} | " + " | ".join(cells) + " |\n")
        for method, reason in report.skipped.items():
            out.write(f"| {method} | – | {reason} |" + " – |" * (len(names) - 1) + "\n")
    notes = [*report.notes, *(f"{d.label}: {note}" for d in report.datasets for note in d.notes)]
    if notes:
        out.write("\n## Notes\n\n" + "".join(f"- {note}\n" for note in notes))
    return out.getvalue()


def write_csv(report: EvalReport, path: Path) -> None:
    """One row per method and image, every metric in its own column (empty when not scored)."""
    names = metric_names(report.rows)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["dataset", "task", "item", "sources", "method", "seconds", "reused", *names])
        for r in report.rows:
            values = ["" if r.scores.get(n) is None else repr(r.scores[n]) for n in names]
            writer.writerow([r.dataset, r.task, r.item, r.sources, r.method, f"{r.seconds:.4f}", int(r.reused),
                             *values])


def _text(canvas: np.ndarray, text: str, origin: tuple[int, int], cfg: PlotConfig, colour=(40, 40, 40)) -> None:
    cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, cfg.font_scale, colour, 1, cv2.LINE_AA)


def _y(value: float, low: float, high: float, top: int, bottom: int) -> int:
    """Pixel row of `value` on an axis from `low` (at `bottom`) to `high` (at `top`)."""
    return round(bottom - (value - low) / (high - low) * (bottom - top))


def bar_plot(title: str, table: dict[str, dict[str, tuple[float, float, int]]], names: Sequence[str],
             config: PlotConfig | None = None) -> np.ndarray:
    """A BGR image: one panel per metric, one bar per method (mean) with a whisker (std)."""
    cfg = config or PlotConfig()
    methods = list(table)
    width, height = cfg.panel_size
    rows = max(1, math.ceil(len(names) / cfg.columns))
    canvas = np.full((cfg.legend_height + rows * height, cfg.columns * width, 3), 255, np.uint8)
    _text(canvas, title, (8, 16), cfg)
    x = 8
    for index, method in enumerate(methods):
        colour = cfg.palette[index % len(cfg.palette)]
        cv2.rectangle(canvas, (x, 24), (x + 12, 34), colour, -1)
        _text(canvas, method, (x + 16, 34), cfg)
        x += 30 + 9 * len(method)
    for position, name in enumerate(names):
        left = (position % cfg.columns) * width
        top = cfg.legend_height + (position // cfg.columns) * height
        direction = "higher is better" if METRICS[name].higher_is_better else "lower is better"
        _text(canvas, f"{name} ({direction})", (left + 8, top + 18), cfg)
        stats = [table[m][name] for m in methods]
        finite = [(mean, std) for mean, std, _ in stats if not math.isnan(mean)]
        if not finite:
            continue
        low = min(0.0, *(mean - std for mean, std in finite))
        high = max(0.0, *(mean + std for mean, std in finite))
        high = high if high > low else low + 1.0
        plot_top, plot_bottom = top + cfg.margin + 10, top + height - cfg.margin
        slot = (width - 2 * cfg.margin) / max(1, len(methods))
        span = (low, high, plot_top, plot_bottom)
        zero = _y(0.0, *span)
        cv2.line(canvas, (left + cfg.margin, zero), (left + width - cfg.margin, zero), (120, 120, 120), 1)
        for index, (mean, std, _) in enumerate(stats):
            if math.isnan(mean):
                continue
            x0 = int(left + cfg.margin + index * slot + 0.15 * slot)
            x1 = int(left + cfg.margin + (index + 1) * slot - 0.15 * slot)
            cv2.rectangle(canvas, (x0, min(zero, _y(mean, *span))), (x1, max(zero, _y(mean, *span))),
                          cfg.palette[index % len(cfg.palette)], -1)
            centre = (x0 + x1) // 2
            cv2.line(canvas, (centre, _y(mean - std, *span)), (centre, _y(mean + std, *span)), (60, 60, 60), 1)
            _text(canvas, f"{mean:.3g}", (x0, top + height - 8), cfg)
    return canvas


def write_report(report: EvalReport, out: str | Path, command: str | None = None, machine: str | None = None,
                 config: PlotConfig | None = None) -> list[Path]:
    """Write the CSV, the markdown table and one plot per group into `out`; returns the paths written."""
    folder = Path(out)
    (folder / PLOTS_DIR).mkdir(parents=True, exist_ok=True)
    written = [folder / CSV_NAME, folder / MARKDOWN_NAME]
    write_csv(report, written[0])
    written[1].write_text(markdown(report, command, machine))
    for group in groups(report):
        table = summary(group.rows, report.methods)
        if not table:
            continue
        path = folder / PLOTS_DIR / f"{group.slug}.png"
        if not cv2.imwrite(str(path), bar_plot(group.title, table, metric_names(group.rows), config)):
            raise OSError(f"{path}: could not be written")
        written.append(path)
    return written
