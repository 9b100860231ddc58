"""Training data: scenes read once into memory as luma, and a seeded sampler that cuts task-balanced batches.

A scene is one pair (`A/NAME` + `B/NAME`) or one sequence (`seq/NAME/*`, any two frames make a pair).
Frames are sorted brightest first, so a pair drawn from an exposure bracket has the brighter frame as A,
as the dataset convention for MEF pairs says. The task comes from the folder path (ivf, mef, mff).
MIF and PAN are the unseen tasks the model is judged on: a folder of theirs is refused, never read.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from tita_studio.atomic import atomic_save
from tita_studio.errors import InputError, TitaError
from tita_studio.pipeline.align import AlignConfig, align_images
from tita_studio.pipeline.colour import split
from tita_studio.pipeline.formats import READ_SUFFIXES
from tita_studio.pipeline.reading import read_image
from tita_studio.toml_file import read_toml
from tita_studio.training.config import (
    TASKS,
    UNSEEN_TASKS,
    DataConfig,
    DistillConfig,
    SyntheticMEFConfig,
    SyntheticMFFConfig,
)
from tita_studio.training.distill import TeacherCache, teacher_method

log = logging.getLogger(__name__)

_SCALE = 65535.0  # luma is cached as uint16: exact enough for 8- and 16-bit sources, half of float32's memory


def task_of(folder: str) -> str:
    """The task named by a folder path component (ivf, mef, mff, mif, pan); MIF and PAN are refused."""
    parts = [p.upper() for p in Path(folder).parts]
    unseen = [t for t in UNSEEN_TASKS if t in parts]
    if unseen:
        raise InputError(f"{folder}: {unseen[0]} data is an unseen task the model is evaluated on; "
                         f"training on it is refused (train on {', '.join(TASKS)} only)")
    found = [t for t in TASKS if t in parts]
    if len(found) != 1:
        raise InputError(f"{folder}: cannot tell the task; put the folder under one of "
                         f"{', '.join(t.lower() for t in TASKS)}/")
    return found[0]


@dataclass(frozen=True)
class SceneFiles:
    """One scene on disk, before decoding."""

    id: str  # "ivf/roadscene/FLIR_00006": folder + scene name, the key of the held-out list
    task: str
    paths: tuple[Path, ...]
    sequence: bool


@dataclass
class Scene:
    """One decoded scene: luma frames (uint16, same size), brightest first for sequences."""

    id: str
    task: str
    frames: list[np.ndarray]
    registered: bool = False  # frames registered on load (data.align)

    @property
    def shape(self) -> tuple[int, int]:
        return self.frames[0].shape  # type: ignore[return-value]


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in READ_SUFFIXES)


def discover(root: Path, folder: str) -> list[SceneFiles]:
    """List a folder's scenes without decoding anything."""
    task = task_of(folder)
    base = root / folder
    if not base.is_dir():
        raise InputError(f"{base}: no such data folder")
    scenes: list[SceneFiles] = []
    if (base / "A").is_dir():
        b_dir = base / "B"
        for a in _images(base / "A"):
            b = b_dir / a.name
            if not b.is_file():
                log.warning("%s: no matching B/%s; skipped", a, a.name)
                continue
            scenes.append(SceneFiles(f"{folder}/{a.stem}", task, (a, b), False))
    if (base / "seq").is_dir():
        for seq in sorted(p for p in (base / "seq").iterdir() if p.is_dir()):
            frames = _images(seq)
            if len(frames) < 2:
                log.warning("%s: fewer than two frames; skipped", seq)
                continue
            scenes.append(SceneFiles(f"{folder}/{seq.name}", task, tuple(frames), True))
    if not scenes:
        raise InputError(f"{base}: no A/+B/ pairs or seq/ sequences found")
    return scenes


def read_luma(path: Path, max_side: int = 0) -> np.ndarray:
    """Luma (H, W) as uint16, downscaled (area) when its longer side exceeds max_side > 0."""
    luma = split(read_image(path)).luma
    if max_side and max(luma.shape) > max_side:
        scale = max_side / max(luma.shape)
        size = (max(1, round(luma.shape[1] * scale)), max(1, round(luma.shape[0] * scale)))
        luma = cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
    return np.round(np.clip(luma, 0.0, 1.0) * _SCALE).astype(np.uint16)


def register(frames: list[np.ndarray], bracket: bool, scene_id: str = "", cache: Path | None = None
             ) -> list[np.ndarray] | None:
    """Frames (uint16 luma, one size) registered onto the middle one and cropped to their common area.

    Hand-held brackets and focus stacks shift between shots; a pair cut from unregistered frames teaches
    ghosting. Uses the pipeline's alignment (translation for brackets, homography for focus stacks) and
    its checks; a scene it refuses gives None (skipped), never a smeared pair. With `cache`, the result
    (or the refusal) is stored once per set of frames and read back afterwards, so a resumed run gets the
    very frames it started with even when the pipeline's alignment has changed since.
    """
    # an explicit method (the folder names the task): a frame that cannot be registered is refused, where
    # auto would keep it as it is; training pairs must not ghost
    method = "translation" if bracket else "homography"
    path = None
    if cache is not None:
        h = hashlib.sha256(method.encode())
        for f in frames:
            h.update(f"{f.shape}".encode())
            h.update(np.ascontiguousarray(f).tobytes())
        path = Path(cache) / f"{h.hexdigest()[:32]}.npz"
        if path.is_file():
            with np.load(path) as stored:
                if "refused" in stored:
                    log.warning("%s: alignment refused (cached); scene skipped", scene_id)
                    return None
                return [stored[f"f{i}"] for i in range(len(frames))]
    lumas = [f.astype(np.float32) / np.float32(_SCALE) for f in frames]
    try:
        result = align_images(lumas, len(lumas) // 2, AlignConfig(method=method))
        out: list[np.ndarray] | None = [np.round(np.clip(f, 0.0, 1.0) * _SCALE).astype(np.uint16)
                                        for f in result.frames]
    except InputError as exc:
        log.warning("%s: alignment refused (%s); scene skipped", scene_id, exc)
        out = None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"refused": np.zeros(0)} if out is None else {f"f{i}": f for i, f in enumerate(out)}
        atomic_save(path, lambda handle: np.savez(handle, **arrays))  # two arms may register a scene at once
    return out


def _decode(files: SceneFiles, max_side: int, min_side: int, align: bool = False, align_cache: str = ""
            ) -> Scene | None:
    """Decode one scene; unusable frames are dropped with a warning, an unusable scene gives None."""
    frames: list[np.ndarray] = []
    for path in files.paths:
        try:
            frames.append(read_luma(path, max_side))
        except TitaError as exc:
            log.warning("%s: unreadable frame skipped (%s)", path, exc)
            frames.append(np.empty((0, 0), np.uint16))
    shapes = [f.shape for f in frames if f.size]
    if not shapes:
        log.warning("%s: no readable frame; scene skipped", files.id)
        return None
    common = max(set(shapes), key=shapes.count)
    kept = []
    for path, frame in zip(files.paths, frames, strict=True):
        if frame.size and frame.shape != common:
            log.warning("%s: size %s differs from the scene's %s; frame skipped", path, frame.shape, common)
        elif frame.size:
            kept.append(frame)
    if len(kept) < 2 or (not files.sequence and len(kept) != 2):
        log.warning("%s: fewer than two usable frames of one size; scene skipped", files.id)
        return None
    if files.sequence:
        kept.sort(key=lambda f: -float(f.mean()))
    if align:
        registered = register(kept, files.task == "MEF", files.id, Path(align_cache) if align_cache else None)
        if registered is None:
            return None
        kept, common = registered, registered[0].shape
    if min(common) < min_side:
        log.warning("%s: %s is smaller than the %d-pixel crop; scene skipped", files.id, common, min_side)
        return None
    return Scene(files.id, files.task, kept, align)


def load_scenes(root: Path, folders: Iterable[str], min_side: int, max_side: int = 0,
                exclude: frozenset[str] = frozenset(), only: frozenset[str] | None = None,
                threads: int = 2, align: Iterable[str] = (), align_cache: str = "") -> list[Scene]:
    """Decode the folders' scenes (in threads: the decoders release the GIL), skipping `exclude`.

    Sequences of the folders (or scene ids) in `align` are registered (see `register`)."""
    aligned = set(align)
    files = [(s, (folder in aligned or s.id in aligned) and s.sequence)
             for folder in folders for s in discover(root, folder)
             if s.id not in exclude and (only is None or s.id in only)]
    with ThreadPoolExecutor(max(1, threads)) as pool:
        scenes = list(pool.map(lambda f: _decode(f[0], max_side, min_side, f[1], align_cache), files))
    return [s for s in scenes if s is not None]


# ---- held-out list ----------------------------------------------------------------------------
def read_holdout(path: Path) -> frozenset[str]:
    """The held-out scene ids of a holdout TOML file ([holdout] TASK = [ids])."""
    table = read_toml(path, "no such held-out list (tita-studio train CONFIG --write-holdout makes one)"
                      ).get("holdout", {})
    return frozenset(i for ids in table.values() for i in ids)


def read_holdouts(cfg: DataConfig) -> frozenset[str]:
    """All held-out ids of a data config: `holdout` and every `holdout_extra` list."""
    out = read_holdout(Path(cfg.holdout))
    for extra in cfg.holdout_extra:
        out |= read_holdout(Path(extra))
    return out


def make_holdout(root: Path, folders: Iterable[str], fraction: float = 0.1, seed: int = 0
                 ) -> dict[str, list[str]]:
    """Pick about `fraction` of each task's scenes (whole scenes), seeded, for a fixed held-out list."""
    by_task: dict[str, list[str]] = {}
    for folder in folders:
        for s in discover(root, folder):
            by_task.setdefault(s.task, []).append(s.id)
    rng = np.random.default_rng(seed)
    chosen = {}
    for task in TASKS:
        ids = sorted(by_task.get(task, []))
        n = max(1, round(fraction * len(ids))) if len(ids) >= 2 else 0
        chosen[task] = sorted(ids[i] for i in rng.choice(len(ids), n, replace=False)) if n else []
    return chosen


def write_holdout(path: Path, chosen: dict[str, list[str]], note: str) -> None:
    """Write the held-out list as TOML (one id per line, so diffs stay readable)."""
    lines = [f"# {line}" for line in note.splitlines()] + ["", "[holdout]"]
    for task, ids in chosen.items():
        lines.append(f"{task} = [")
        lines += [f'    "{i}",' for i in ids]
        lines.append("]")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---- batches --------------------------------------------------------------------------------
@dataclass
class Batch:
    """Sources (N, 1, c, c) float32 in [0, 1], the task index of each sample and its scene id.

    `target`: ground truth where the sample has one (synthetic pairs), `teacher`: a classical fusion of the
    same crop (distillation); each (N, 1, c, c) with a (N,) bool mask of the samples that have one.
    """

    a: torch.Tensor
    b: torch.Tensor
    task: torch.Tensor
    scene_ids: list[str] = field(default_factory=list)
    target: torch.Tensor | None = None
    has_target: torch.Tensor | None = None
    teacher: torch.Tensor | None = None
    has_teacher: torch.Tensor | None = None


def _crop(frames: list[np.ndarray], top: int, left: int, size: int) -> list[np.ndarray]:
    return [f[top : top + size, left : left + size].astype(np.float32) / np.float32(_SCALE) for f in frames]


def synthetic_focus_pair(sharp: np.ndarray, rng: np.random.Generator, cfg: SyntheticMFFConfig, size: int
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Two complementary defocused versions of a sharp float32 patch: blur where a smooth mask says.

    `sharp` carries a margin of (sharp.shape[0] - size) / 2 pixels so the blur has real context.
    """
    sigma = float(rng.uniform(cfg.sigma_min, cfg.sigma_max))
    blurred = cv2.GaussianBlur(sharp, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    m = (sharp.shape[0] - size) // 2
    sharp, blurred = sharp[m : m + size, m : m + size], blurred[m : m + size, m : m + size]
    cells = rng.random((cfg.mask_cells + 1, cfg.mask_cells + 1)).astype(np.float32)
    mask = cv2.resize(cells, (size, size), interpolation=cv2.INTER_CUBIC)
    mask = np.clip((mask - 0.5) * 4.0 + 0.5, 0.0, 1.0)
    return mask * sharp + (1 - mask) * blurred, (1 - mask) * sharp + mask * blurred


def synthetic_exposure_pair(frame: np.ndarray, rng: np.random.Generator, cfg: SyntheticMEFConfig
                            ) -> tuple[np.ndarray, np.ndarray]:
    """An over- and an under-exposed shot (A, B) of a well-exposed float32 frame, which is their target.

    Linear light (gamma 2.2), times 2**ev and 2**-ev' (ev, ev' drawn in [ev_min, ev_max]), read noise,
    clipping to [0, 1] (lost highlights / shadows), a random gamma response, 8-bit quantisation.
    """
    linear = np.clip(frame, 0.0, 1.0).astype(np.float32) ** np.float32(2.2)
    ev_over, ev_under = rng.uniform(cfg.ev_min, cfg.ev_max, 2)
    gamma = float(rng.uniform(cfg.gamma_min, cfg.gamma_max))
    shots = []
    for gain in (2.0**ev_over, 2.0**-ev_under):
        x = linear * np.float32(gain)
        if cfg.noise > 0:
            x = x + rng.normal(0.0, cfg.noise, x.shape).astype(np.float32)
        x = np.clip(x, 0.0, 1.0) ** np.float32(1.0 / gamma)
        shots.append((np.round(x * 255.0) / 255.0).astype(np.float32))
    return shots[0], shots[1]


def _augment(pair: list[np.ndarray], k: int, flip: bool) -> list[np.ndarray]:
    """One of the 8 flips/rotations of the square, the same for both sources."""
    out = [np.rot90(x, k) for x in pair]
    return [np.ascontiguousarray(x[:, ::-1] if flip else x) for x in out]


class BatchSampler:
    """Task-balanced random batches from in-memory scenes; all randomness from one seeded generator.

    Its state (`state_dict`) is the generator's, so a resumed run draws the batches an uninterrupted
    run would have drawn.
    """

    def __init__(self, scenes: list[Scene], batch_size: int, crop: int, seed: int,
                 synthetic: SyntheticMFFConfig | None = None, sharp: list[Scene] | None = None,
                 synthetic_mef: SyntheticMEFConfig | None = None, well_exposed: list[Scene] | None = None,
                 distill: DistillConfig | None = None) -> None:
        self.by_task = {t: [s for s in scenes if s.task == t] for t in TASKS}
        self.synthetic = synthetic if synthetic is not None and synthetic.enabled and sharp else None
        self.sharp = sharp or []
        self.synthetic_mef = synthetic_mef if synthetic_mef is not None and synthetic_mef.enabled and well_exposed \
            else None
        self.well_exposed = well_exposed or []
        self.distill = distill if distill is not None and distill.enabled else None
        self.teachers = TeacherCache(Path(distill.cache)) if self.distill is not None and distill else None
        self.teach = self.distill is not None  # the trainer turns it off once the distillation weight is 0
        self.tasks = [t for t in TASKS if self.by_task[t] or (t == "MFF" and self.synthetic)
                      or (t == "MEF" and self.synthetic_mef)]
        if not self.tasks:
            raise InputError("no usable training scenes (all skipped or held out)")
        self.batch_size = batch_size
        self.crop = crop
        self.rng = np.random.default_rng(seed)
        if self.synthetic is not None:
            self.margin = math.ceil(3 * self.synthetic.sigma_max)

    def state_dict(self) -> dict[str, Any]:
        return {"bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["bit_generator"]

    def digest(self) -> str:
        """SHA-256 of the training scenes' ids and frame shapes, and of the sharp images: a resumed run must
        draw from the same scenes (the held-out list and the data folders decide them)."""
        h = hashlib.sha256()
        for s in [*(s for t in TASKS for s in self.by_task[t]), *self.sharp]:
            registered = ":registered" if s.registered else ""  # nothing added otherwise: old digests hold
            h.update(f"{s.task}:{s.id}:{len(s.frames)}:{s.shape}{registered}\n".encode())
        for s in self.well_exposed:  # nothing added when synthetic exposure pairs are off: old digests hold
            registered = ":registered" if s.registered else ""
            h.update(f"well-exposed:{s.id}:{len(s.frames)}:{s.shape}{registered}\n".encode())
        return h.hexdigest()

    def _real(self, task: str) -> tuple[list[np.ndarray], str]:
        """A real pair, and as third image the teacher's fusion of it when distilling (no extra draws)."""
        rng, c = self.rng, self.crop
        scene = self.by_task[task][rng.integers(len(self.by_task[task]))]
        i, j = sorted(rng.choice(len(scene.frames), 2, replace=False)) if len(scene.frames) > 2 else (0, 1)
        h, w = scene.shape
        top, left = int(rng.integers(h - c + 1)), int(rng.integers(w - c + 1))
        frames = [scene.frames[i], scene.frames[j]]
        method = teacher_method(self.distill, task) if self.distill is not None and self.teach else ""
        if method and self.teachers is not None:
            frames.append(self.teachers.fused(frames[0], frames[1], method))
        return _crop(frames, top, left, c), scene.id

    def _synthetic_exposure(self) -> tuple[list[np.ndarray], str]:
        """Over- and under-exposed shots of a well-exposed crop, and the crop itself as the target."""
        assert self.synthetic_mef is not None
        rng, c = self.rng, self.crop
        scene = self.well_exposed[rng.integers(len(self.well_exposed))]
        frame = scene.frames[len(scene.frames) // 2] if len(scene.frames) > 2 else scene.frames[0]
        h, w = frame.shape
        top, left = int(rng.integers(h - c + 1)), int(rng.integers(w - c + 1))
        (target,) = _crop([frame], top, left, c)
        over, under = synthetic_exposure_pair(target, rng, self.synthetic_mef)
        return [over, under, target], f"synthetic-exposure:{scene.id}"

    def _synthetic(self) -> tuple[list[np.ndarray], str]:
        assert self.synthetic is not None
        rng, c = self.rng, self.crop
        scene = self.sharp[rng.integers(len(self.sharp))]
        frame = scene.frames[len(scene.frames) // 2] if len(scene.frames) > 2 else scene.frames[0]
        h, w = frame.shape
        size = min(c + 2 * self.margin, h, w)
        top, left = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
        (patch,) = _crop([frame], top, left, size)
        if size < c + 2 * self.margin:
            patch = cv2.copyMakeBorder(patch, 0, c + 2 * self.margin - size, 0, c + 2 * self.margin - size,
                                       cv2.BORDER_REFLECT)
        m = self.margin
        target = patch[m : m + c, m : m + c]  # the sharp image both defocused versions come from
        return [*synthetic_focus_pair(patch, rng, self.synthetic, c), target], f"synthetic:{scene.id}"

    def sample(self, task: str) -> tuple[list[np.ndarray], str]:
        """One augmented pair of `task` (+ its target or teacher crop); synthetic pairs mixed in as configured.

        Returns [A, B] or [A, B, extra]: the id says which extra (a synthetic pair's is its ground truth,
        a real pair's the teacher's fusion).
        """
        use_synthetic = task == "MFF" and self.synthetic is not None and (
            not self.by_task["MFF"] or self.rng.random() < self.synthetic.fraction)
        use_exposure = task == "MEF" and self.synthetic_mef is not None and (
            not self.by_task["MEF"] or self.rng.random() < self.synthetic_mef.fraction)
        if use_synthetic:
            pair, sid = self._synthetic()
        elif use_exposure:
            pair, sid = self._synthetic_exposure()
        else:
            pair, sid = self._real(task)
        return _augment(pair, int(self.rng.integers(4)), bool(self.rng.integers(2))), sid

    def next_batch(self) -> Batch:
        """A batch whose tasks differ in count by at most one (which task gets the extra is random)."""
        order = self.rng.permutation(len(self.tasks))
        task_idx = np.resize(order, self.batch_size)
        pairs, ids = zip(*(self.sample(self.tasks[t]) for t in task_idx), strict=True)
        a = torch.from_numpy(np.stack([p[0] for p in pairs]))[:, None]
        b = torch.from_numpy(np.stack([p[1] for p in pairs]))[:, None]
        batch = Batch(a, b, torch.from_numpy(task_idx.astype(np.int64)), list(ids))
        synthetic = [len(p) > 2 and i.startswith("synthetic") for p, i in zip(pairs, ids, strict=True)]
        taught = [len(p) > 2 and not i.startswith("synthetic") for p, i in zip(pairs, ids, strict=True)]
        for name, mask in (("target", synthetic), ("teacher", taught)):
            if any(mask):
                extra = np.stack([p[2] if m else np.zeros_like(p[0]) for p, m in zip(pairs, mask, strict=True)])
                setattr(batch, name, torch.from_numpy(extra)[:, None])
                setattr(batch, f"has_{name}", torch.tensor(mask))
        return batch


def fixed_crops(scenes: list[Scene], tasks: list[str], per_task: int, crop: int, seed: int) -> Batch | None:
    """The same crops every time (own generator): the held-out evaluation set."""
    rng = np.random.default_rng(seed)
    a, b, idx, ids = [], [], [], []
    for t_i, task in enumerate(tasks):
        pool = [s for s in scenes if s.task == task]
        for n in range(per_task if pool else 0):
            scene = pool[n % len(pool)]
            i, j = sorted(rng.choice(len(scene.frames), 2, replace=False))
            h, w = scene.shape
            top, left = int(rng.integers(h - crop + 1)), int(rng.integers(w - crop + 1))
            fa, fb = _crop([scene.frames[i], scene.frames[j]], top, left, crop)
            a.append(fa)
            b.append(fb)
            idx.append(t_i)
            ids.append(scene.id)
    if not a:
        return None
    return Batch(torch.from_numpy(np.stack(a))[:, None], torch.from_numpy(np.stack(b))[:, None],
                 torch.tensor(idx, dtype=torch.int64), ids)


@dataclass
class TrainingData:
    """What the trainer needs from the data config: the sampler and the held-out crops."""

    sampler: BatchSampler
    heldout: Batch | None
    summary: dict[str, Any]


def _pool(root: Path, folders: tuple[str, ...], train: list[Scene], cfg: DataConfig, holdout: frozenset[str],
          common: dict[str, Any]) -> list[Scene]:
    """Training scenes of `folders` (decoded already, or decoded now when not training folders)."""
    known = {s.id for s in train}
    extra = [f for f in folders if f not in cfg.folders]
    pool = [s for f in folders for s in train if s.id.startswith(f + "/")]
    return pool + load_scenes(root, extra, exclude=holdout | frozenset(known), **common)


def build_data(cfg: DataConfig, batch_size: int, seed: int, eval_per_task: int, eval_seed: int,
               eval_folders: tuple[str, ...] = (), distill: DistillConfig | None = None) -> TrainingData:
    """Read the held-out lists, decode the training and held-out scenes, and build the sampler.

    `eval_folders` (default: the training folders) name the folders whose held-out scenes are scored, so
    arms trained on different folders can be scored on the same crops.
    """
    root = Path(cfg.root)
    for folder in (*cfg.folders, *cfg.synthetic_mff.folders, *cfg.synthetic_mef.folders, *eval_folders):
        task_of(folder)  # refuse MIF / PAN before decoding anything
    if not cfg.folders and not cfg.synthetic_mff.enabled:
        raise InputError("data.folders is empty: nothing to train on")
    holdout = read_holdouts(cfg)
    common = {"min_side": cfg.crop, "max_side": cfg.max_side, "threads": cfg.load_threads,
              "align": cfg.align, "align_cache": cfg.align_cache}
    train = load_scenes(root, cfg.folders, exclude=holdout, **common)
    sharp: list[Scene] = []
    if cfg.synthetic_mff.enabled:
        sharp = _pool(root, cfg.synthetic_mff.folders, train, cfg, holdout, common)
        if not sharp:
            raise InputError("data.synthetic_mff is enabled but its folders hold no usable sharp images")
    well: list[Scene] = []
    if cfg.synthetic_mef.enabled:
        well = _pool(root, cfg.synthetic_mef.folders, train, cfg, holdout, common)
        if not well:
            raise InputError("data.synthetic_mef is enabled but its folders hold no usable frames")
    sampler = BatchSampler(train, batch_size, cfg.crop, seed, cfg.synthetic_mff, sharp, cfg.synthetic_mef, well,
                           distill)
    held = load_scenes(root, eval_folders or cfg.folders, only=holdout, **common) if eval_per_task else []
    heldout = fixed_crops(held, sampler.tasks, eval_per_task, cfg.crop, eval_seed) if held else None
    summary = {
        "folders": list(cfg.folders),
        "tasks": sampler.tasks,
        "train_scenes": {t: len(sampler.by_task[t]) for t in sampler.tasks},
        "heldout_scenes": {t: sum(s.task == t for s in held) for t in sampler.tasks},
        "synthetic_mff": {"folders": list(cfg.synthetic_mff.folders), "sharp_images": len(sharp),
                          "fraction": cfg.synthetic_mff.fraction} if sampler.synthetic else None,
    }
    if sampler.synthetic_mef is not None:
        summary["synthetic_mef"] = {"folders": list(cfg.synthetic_mef.folders), "frames": len(well),
                                    "fraction": cfg.synthetic_mef.fraction}
    return TrainingData(sampler, heldout, summary)
