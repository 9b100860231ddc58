"""The weights in models/: the model card describes the file that is shipped, and that file fuses well.

These guard a release: new weights dropped in without their card, or weights that lost what they learnt
(a bad export, a wrong dtype, a key mapping change), fail here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tita_studio.engine.load import load_engine
from tita_studio.metrics import score
from tita_studio.model.weights import load_weights
from tita_studio.paths import DEFAULT_WEIGHTS, MODELS_DIR, PROJECT_ROOT, RESOURCES_DIR
from tita_studio.pipeline.fuse import FuseOptions, fuse_sources
from tita_studio.pipeline.reading import read_image
from tita_studio.toml_file import read_toml

CARD = MODELS_DIR / "MODEL_CARD.md"


def _card_row(name: str) -> str:
    match = re.search(rf"^\| {name} \| (.+) \|$", CARD.read_text(), re.MULTILINE)
    assert match, f"the model card has no '{name}' row"
    return match.group(1)


def _held_out_lists() -> list[Path]:
    """The held-out lists the card's "held out" row names (configs/*.toml), in its order."""
    names = re.findall(r"`configs/(holdout[\w]*\.toml)`", _card_row("held out"))
    assert names, "the card's 'held out' row names no configs/holdout*.toml"
    return [PROJECT_ROOT / "configs" / name for name in names]


def test_the_card_states_how_the_shipped_file_was_trained() -> None:
    """Steps in all (a run continued from earlier weights counts theirs), this run's wall time, and the
    held-out scenes of every list the card names: the numbers the file itself records."""
    _, info = load_weights(DEFAULT_WEIGHTS)
    assert info.trained and info.config.variant == "studio"
    training = info.training
    steps = int(_card_row("trained").split(" steps")[0].replace(",", ""))
    assert steps == info.total_steps
    hours = float(re.search(r"([\d.]+) h of training wall time", _card_row("trained")).group(1))
    assert hours == pytest.approx(training["wall_time_s"] / 3600, abs=0.05)
    held: dict[str, int] = {}
    for path in _held_out_lists():
        for task, ids in read_toml(path, "no held-out list")["holdout"].items():
            held[task] = held.get(task, 0) + len(ids)
    assert training["data"]["heldout_scenes"] == held
    assert f"{sum(held.values())} whole scenes" in _card_row("held out")
    assert {"mif", "pan"}.isdisjoint(folder.split("/")[0] for folder in training["data"]["folders"])


def test_shipped_weights_fuse_the_demo_pair_better_than_averaging() -> None:
    """On the bundled IR/visible pair the network keeps more edge and visual information than a plain
    average of the sources (the card's tables show the same on every held-out task)."""
    sources = [read_image(RESOURCES_DIR / "demo" / name) for name in ("irvis_visible.png", "irvis_infrared.png")]
    tita = fuse_sources(sources, FuseOptions(method="tita"), engine=load_engine())
    average = fuse_sources(sources, FuseOptions(method="average"))
    pixels = [s.pixels for s in tita.sources]
    ours = score(pixels, tita.image, ["Qabf", "VIF"])
    theirs = score(pixels, average.image, ["Qabf", "VIF"])
    assert ours["Qabf"] > theirs["Qabf"] + 0.05
    assert ours["VIF"] > theirs["VIF"]
