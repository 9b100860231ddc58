"""Restricting an evaluation to the held-out scenes of a holdout TOML (`[holdout]` TASK = [ids]).

An id is "FOLDER/NAME" relative to the datasets root, e.g. "ivf/roadscene/FLIR_00455" or
"mef/merianos/OldHouse", as `tita-studio train --write-holdout` writes them. It is matched against a
dataset folder when FOLDER is the end of that folder's path (so the ids need not know where the datasets
root is), and against an item by its name (a pair's stem, a sequence's folder). Ids that match nothing
are reported, never dropped silently: a held-out list that no longer matches the data would otherwise
quietly evaluate fewer scenes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tita_studio.errors import InputError
from tita_studio.evaluation.datasets import Dataset
from tita_studio.pipeline.formats import READ_SUFFIXES
from tita_studio.toml_file import read_toml


@dataclass(frozen=True)
class SceneId:
    """One held-out id split into its folder components and scene name."""

    text: str  # as written in the file
    folder: tuple[str, ...]
    name: str


@dataclass
class Restriction:
    """What a held-out list did to the datasets."""

    kept: list[Dataset]
    notes: list[str] = field(default_factory=list)


def parse_id(text: str) -> SceneId:
    """A scene id, normalised: slashes of either kind, no "./" or trailing "/", no image suffix on the name."""
    parts = [p for p in PurePosixPath(text.strip().replace("\\", "/")).parts if p not in ("", ".", "/")]
    if len(parts) < 2:
        raise InputError(f"held-out id {text!r}: expected FOLDER/NAME relative to the datasets root, "
                         "e.g. ivf/roadscene/FLIR_00455")
    name = parts[-1]
    if PurePosixPath(name).suffix.lower() in READ_SUFFIXES:
        name = PurePosixPath(name).stem
    return SceneId(text, tuple(parts[:-1]), name)


def read_holdout(path: str | Path) -> list[SceneId]:
    """The ids of a holdout TOML, in file order without repeats; InputError for a missing or malformed file."""
    table = read_toml(path, "no such held-out list").get("holdout")
    if not isinstance(table, dict):
        raise InputError(f"{path}: no [holdout] table (expected [holdout] TASK = [\"FOLDER/NAME\", ...])")
    ids: dict[tuple[tuple[str, ...], str], SceneId] = {}
    for task, values in table.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InputError(f"{path}: holdout.{task} must be a list of strings")
        for value in values:
            scene = parse_id(value)
            ids.setdefault((tuple(p.casefold() for p in scene.folder), scene.name), scene)
    if not ids:
        raise InputError(f"{path}: the held-out list is empty")
    return list(ids.values())


def _folder_matches(dataset: Dataset, folder: tuple[str, ...]) -> bool:
    """Whether the dataset's path ends with `folder` (case-insensitive), as given or with links resolved."""
    wanted = tuple(p.casefold() for p in folder)
    for path in (dataset.path.absolute(), dataset.path.resolve()):
        parts = tuple(p.casefold() for p in path.parts)
        if parts[-len(wanted):] == wanted:
            return True
    return False


def restrict(datasets: Sequence[Dataset], ids: Sequence[SceneId], source: str) -> Restriction:
    """Keep only the held-out items of each dataset; datasets left empty are dropped with a note, and
    InputError when nothing is left.

    Ids whose folder is one of the datasets but whose scene is not there are listed one by one (a renamed
    or missing scene); ids of folders not being evaluated are summed up in one note.
    """
    result = Restriction([])
    matched: set[SceneId] = set()
    for dataset in datasets:
        mine = {s.name: s for s in ids if _folder_matches(dataset, s.folder)}
        items = [item for item in dataset.items if item.name in mine]
        matched.update(mine[item.name] for item in items)
        missing = [s.text for s in mine.values() if s.name not in {item.name for item in items}]
        if missing:
            result.notes.append(f"{dataset.label}: held-out id(s) of {source} not found among its items: "
                                f"{', '.join(missing)}")
        if items:
            dataset.items = items
            result.kept.append(dataset)
        else:
            result.notes.append(f"{dataset.label}: no held-out scene of {source} in this folder; not evaluated")
    elsewhere = [s for s in ids if not any(_folder_matches(d, s.folder) for d in datasets)]
    if elsewhere:
        folders = sorted({"/".join(s.folder) for s in elsewhere})
        result.notes.append(f"{len(elsewhere)} held-out id(s) of {source} are in folders not evaluated here "
                            f"({', '.join(folders)}): they match nothing")
    if not result.kept:
        raise InputError(f"{source}: none of its {len(ids)} held-out id(s) matches a scene of the given dataset "
                         "folders (ids are FOLDER/NAME relative to the datasets root, e.g. ivf/roadscene/FLIR_00455)")
    result.notes.insert(0, f"restricted to the held-out scenes of {source}: {len(matched)} of {len(ids)} id(s) "
                           "found in the given folders")
    return result
