"""Contact sheets show the images an evaluation scored, read back from its cache."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tita_studio.errors import InputError
from tita_studio.evaluation.contact import SheetLayout, contact_sheet, parse_box
from tita_studio.evaluation.run import evaluate
from tita_studio.pipeline.reading import read_image

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
pytestmark = pytest.mark.skipif(not (DATASETS / "ivf" / "vifb").is_dir(),
                                reason="../shared/datasets is not beside the repository")
SCENES = ["ivf/vifb/carLight", "mef/merianos/Flowers"]  # the first item of each folder


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("contact")
    evaluate([DATASETS / "ivf" / "vifb"], "average,gff", out, limit=1)
    evaluate([DATASETS / "mef" / "merianos"], "average,gff", out, limit=1)
    return out


def test_the_sheet_holds_the_sources_and_the_scored_fusions(evaluated: Path) -> None:
    layout = SheetLayout(tile_height=120)
    sheet = contact_sheet(evaluated, DATASETS, SCENES, ["average", "gff"], layout=layout)
    row = layout.label_height + layout.tile_height
    assert sheet.shape[0] == 2 * row + layout.gap and sheet.shape[2] == 3
    # the average tile of the IVF row is the mean of its two sources, scaled: the cached image, not a stand-in
    a, b = (read_image(DATASETS / "ivf/vifb" / d / "carLight.jpg").pixels for d in ("A", "B"))
    grey = [x if x.ndim == 2 else cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in (a, b)]
    width = round(a.shape[1] * layout.tile_height / a.shape[0])
    tiles = sheet[layout.label_height:row]
    columns = [c for c in np.split(np.arange(sheet.shape[1]), np.where(np.all(tiles == 1.0, axis=(0, 2)))[0])
               if len(c) > 1]
    assert len(columns) >= 4  # first source, last source, average, gff
    average_tile = tiles[:, columns[2]].mean(axis=2)
    expected = cv2.resize(0.5 * (grey[0] + grey[1]), (width, layout.tile_height), interpolation=cv2.INTER_AREA)
    inner = average_tile[:, :min(width, average_tile.shape[1]) - 2]
    assert np.abs(inner[:, 2:] - expected[:, 2:inner.shape[1]]).mean() < 0.05


def test_a_method_that_was_not_evaluated_is_refused_with_what_to_run(evaluated: Path) -> None:
    with pytest.raises(InputError, match=r"holds no mertens fusion.*--methods mertens"):
        contact_sheet(evaluated, DATASETS, SCENES[:1], ["mertens"])
    with pytest.raises(InputError, match="no such scene"):
        contact_sheet(evaluated, DATASETS, ["ivf/vifb/nowhere"], ["gff"])


def test_a_detail_box_adds_a_row_of_the_same_pixels_of_every_column(evaluated: Path) -> None:
    layout = SheetLayout(tile_height=100)
    box = parse_box("10,20,50,80")
    sheet = contact_sheet(evaluated, DATASETS, SCENES[:1], ["gff"], layout=layout, details={SCENES[0]: box})
    assert sheet.shape[0] == 2 * (layout.label_height + layout.tile_height) + layout.gap
    # the first detail tile is the visible frame's box, enlarged: compare it with the source itself
    a = read_image(DATASETS / "ivf/vifb/A/carLight.jpg").pixels
    crop = cv2.resize(a[10:60, 20:100], (160, 100), interpolation=cv2.INTER_AREA)
    top = layout.label_height + layout.tile_height + layout.gap + layout.label_height
    first = sheet[top:top + 100]
    left = int(np.argmax(~np.all(first == 1.0, axis=(0, 2))))
    tile = first[:, left:left + 160]
    assert np.abs(tile - (crop if crop.ndim == 3 else crop[..., None])).mean() < 0.02
    with pytest.raises(InputError, match="outside"):
        contact_sheet(evaluated, DATASETS, SCENES[:1], ["gff"], details={SCENES[0]: (0, 0, 5000, 10)})
    for bad in ("1,2,3", "0,0,-1,5", "a,b,c,d"):
        with pytest.raises(InputError, match="detail box"):
            parse_box(bad)
