"""Finding the pairs and sequences of a dataset folder laid out as ../shared/datasets.

Pairs are `A/NAME` + `B/NAME`; sequences are `seq/NAME/*`; a pansharpening folder holds MATLAB files
with a multispectral and a panchromatic array. Other subfolders (VIFB's results/ and metrics/) are not
inputs and are ignored. The task comes from the path (ivf, mef, mff, mif, pan).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tita_studio.errors import InputError
from tita_studio.pipeline.formats import MAT_SUFFIXES, READ_SUFFIXES

TASKS = ("ivf", "mef", "mff", "mif", "pan")


@dataclass(frozen=True)
class LayoutConfig:
    """Folder and array names of the dataset layout."""

    pair_dirs: tuple[str, str] = ("A", "B")
    sequence_dir: str = "seq"
    pan_arrays: tuple[str, str] = ("I_PAN", "I_MS")  # keys of a pansharpening .mat (see pan/*/SOURCE.md)


@dataclass(frozen=True)
class EvalItem:
    """One fusion to evaluate: a pair, a sequence or a pansharpening file."""

    name: str
    kind: str  # "pair", "sequence" or "pan"
    sources: tuple[str, ...]  # what `read_image` takes (a .mat source as "file.mat:KEY")


@dataclass
class Dataset:
    """A dataset folder with its task and the items found in it."""

    path: Path
    label: str  # e.g. "ivf/vifb": the path from the task folder on
    task: str  # one of TASKS, or "other"
    items: list[EvalItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def task_of(path: Path) -> tuple[str, str]:
    """(task, label) from the last path component that names a task; ("other", folder name) if none."""
    parts = path.resolve().parts
    for index in range(len(parts) - 1, -1, -1):
        if parts[index].lower() in TASKS:
            return parts[index].lower(), "/".join(parts[index:])
    return "other", path.resolve().name


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in READ_SUFFIXES)


def discover(path: str | Path, limit: int | None = None, config: LayoutConfig | None = None) -> Dataset:
    """The items of one dataset folder, sorted by name (the first `limit` of them when given)."""
    cfg = config or LayoutConfig()
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a dataset folder")
    task, label = task_of(folder)
    dataset = Dataset(folder, label, task)
    a_dir, b_dir = (folder / d for d in cfg.pair_dirs)
    if a_dir.is_dir() and b_dir.is_dir():
        b_by_stem = {p.stem: p for p in _images(b_dir)}
        a_by_stem = {p.stem: p for p in _images(a_dir)}
        for stem in sorted(a_by_stem):
            if stem in b_by_stem:
                dataset.items.append(EvalItem(stem, "pair", (str(a_by_stem[stem]), str(b_by_stem[stem]))))
        unreadable = sorted(f"{d.name}/{p.name}" for d in (a_dir, b_dir) for p in d.iterdir()
                            if p.is_file() and p.suffix.lower() not in READ_SUFFIXES)
        if unreadable:
            dataset.notes.append(f"{len(unreadable)} file(s) of a type the pipeline does not read, skipped: "
                                 f"{', '.join(unreadable[:5])}{' ...' if len(unreadable) > 5 else ''}")
        unmatched = sorted(set(a_by_stem) ^ set(b_by_stem))
        if unmatched:
            dataset.notes.append(f"without a partner in {cfg.pair_dirs[0]}/ or {cfg.pair_dirs[1]}/, "
                                 f"skipped: {', '.join(unmatched)}")
    seq_dir = folder / cfg.sequence_dir
    if seq_dir.is_dir():
        for sequence in sorted(p for p in seq_dir.iterdir() if p.is_dir()):
            frames = _images(sequence)
            if len(frames) >= 2:
                dataset.items.append(EvalItem(sequence.name, "sequence", tuple(str(f) for f in frames)))
            else:
                dataset.notes.append(f"sequence {sequence.name}: fewer than two frames, skipped")
    if task == "pan":
        for mat in sorted(p for p in folder.iterdir() if p.suffix.lower() in MAT_SUFFIXES):
            dataset.items.append(EvalItem(mat.stem, "pan", tuple(f"{mat}:{key}" for key in cfg.pan_arrays)))
    if not dataset.items:
        raise InputError(f"{folder}: no pairs ({cfg.pair_dirs[0]}/NAME + {cfg.pair_dirs[1]}/NAME), sequences "
                         f"({cfg.sequence_dir}/NAME/*) or pansharpening files found")
    dataset.items.sort(key=lambda item: (item.kind, item.name))
    if limit is not None:
        dataset.items = dataset.items[:limit]
    return dataset
