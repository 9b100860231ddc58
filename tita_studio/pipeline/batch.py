"""A folder of pairs fused one file each: the unit of work that a local run and a cluster run share.

Two folders hold the sources of each pair under the same file stem. A pair whose output exists is
skipped (so a stopped run resumes), each output is written atomically (the temporary file of an attempt
killed mid-write is cleared when the pair is tried again), and a pair that fails is reported with its
reason while the others go on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from tita_studio.atomic import remove_leftovers
from tita_studio.engine.runner import FusionEngine
from tita_studio.engine.tiling import ProgressFn
from tita_studio.errors import InputError, TitaError
from tita_studio.pipeline.formats import READ_SUFFIXES
from tita_studio.pipeline.fuse import FuseOptions, FusionResult, fuse_files
from tita_studio.pipeline.maps_export import write_maps
from tita_studio.pipeline.writing import WriteOptions

FUSED, SKIPPED, FAILED = "fused", "skipped", "failed"


@dataclass(frozen=True)
class PairTask:
    """One output file from two sources."""

    index: int
    sources: tuple[Path, Path]
    output: Path

    @property
    def name(self) -> str:
        return self.sources[0].name


@dataclass(frozen=True)
class BatchSettings:
    """How every pair of a batch is fused and written."""

    options: FuseOptions = field(default_factory=FuseOptions)
    write: WriteOptions = field(default_factory=WriteOptions)
    maps_dir: Path | None = None  # the network's maps of each pair go to maps_dir / output stem


@dataclass
class PairOutcome:
    """What became of one pair."""

    index: int
    name: str
    status: str  # FUSED, SKIPPED or FAILED
    message: str = ""  # the reason of a failure
    seconds: float = 0.0
    result: FusionResult | None = None  # kept only in the process that fused it (not sent back)


def match_pairs(dir_a: Path, dir_b: Path) -> list[tuple[Path, Path]]:
    """(A, B) files with the same stem in two folders, sorted by A's name."""
    for d in (dir_a, dir_b):
        if not d.is_dir():
            raise InputError(f"{d}: not a folder")
    files_b = {p.stem: p for p in dir_b.iterdir() if p.suffix.lower() in READ_SUFFIXES}
    pairs = [(p, files_b[p.stem]) for p in sorted(dir_a.iterdir())
             if p.suffix.lower() in READ_SUFFIXES and p.stem in files_b]
    if not pairs:
        raise InputError(f"no files with the same name in {dir_a} and {dir_b}")
    return pairs


def plan_pairs(dir_a: Path, dir_b: Path, out_dir: Path, ext: str = ".png") -> list[PairTask]:
    """The tasks of a batch, the output folder made."""
    pairs = match_pairs(Path(dir_a), Path(dir_b))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [PairTask(i, (a, b), out_dir / (a.stem + ext)) for i, (a, b) in enumerate(pairs)]


def fuse_pair(task: PairTask, settings: BatchSettings, engine: FusionEngine | None,
              progress: ProgressFn | None = None) -> PairOutcome:
    """Fuse one pair unless its output exists (and `force` is off); a failure is returned, not raised."""
    if task.output.exists() and not settings.write.force:
        return PairOutcome(task.index, task.name, SKIPPED)
    remove_leftovers(task.output)  # an earlier attempt killed mid-write (a lost cluster worker)
    start = time.perf_counter()
    try:
        result, _ = fuse_files(list(task.sources), task.output, settings.options, settings.write, engine,
                               progress=progress)
        if settings.maps_dir is not None and result.maps is not None:
            write_maps(result.maps, settings.maps_dir / task.output.stem,
                       untrained=engine is not None and not engine.trained)
    except TitaError as exc:
        return PairOutcome(task.index, task.name, FAILED, str(exc), time.perf_counter() - start)
    return PairOutcome(task.index, task.name, FUSED, seconds=time.perf_counter() - start, result=result)


def summary_lines(outcomes: list[PairOutcome]) -> list[str]:
    """The closing lines of a batch: counts, then every failure with its reason."""
    count = {s: sum(o.status == s for o in outcomes) for s in (FUSED, SKIPPED, FAILED)}
    lines = [f"{count[FUSED]} fused, {count[SKIPPED]} already done (skipped), {count[FAILED]} failed"]
    lines += [f"  failed: {o.name}: {o.message}" for o in sorted(outcomes, key=lambda o: o.index) if o.status == FAILED]
    return lines
