"""Contact sheet of held-out fusions for the model card: sources, TITA, GFF, Mertens, ... per scene.

Reads the images an evaluation scored from its output folder (run `tita-studio eval ... --out FOLDER`
first, e.g. `sh configs/recipe_eval.sh NAME`), so nothing is fused again:

    python benchmarks/contact_sheet.py runs/eval/NAME-old --model runs/recipe-NAME/tita-studio-ema.safetensors \\
        --scenes ivf/roadscene/FLIR_05893 mef/pmef3/Cafe mff/mfifb_train/tsai_06 -o models/contact_sheet.png \
        [--detail mef/pmef3/Cafe=100,100,200,250 ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tita_studio.evaluation.contact import SheetLayout, contact_sheet, parse_box
from tita_studio.pipeline.writing import WriteOptions, write_image

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("eval_out", type=Path, help="the evaluation's --out folder")
    parser.add_argument("--scenes", nargs="+", required=True, help="held-out ids FOLDER/NAME")
    parser.add_argument("--methods", default="tita,gff,mertens")
    parser.add_argument("--model", type=Path, help="the weights the evaluation ran tita with")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--height", type=int, default=240, help="tile height in pixels")
    parser.add_argument("--detail", action="append", default=[], metavar="SCENE=TOP,LEFT,HEIGHT,WIDTH",
                        help="add a row of that pixel box of every column for the scene (repeatable)")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--force", action="store_true", help="replace an existing output")
    args = parser.parse_args()
    details = {scene: parse_box(box) for scene, _, box in (d.partition("=") for d in args.detail)}
    sheet = contact_sheet(args.eval_out, args.datasets, args.scenes, args.methods.split(","), args.model,
                          layout=SheetLayout(tile_height=args.height), details=details)
    write_image(args.output, sheet, WriteOptions(force=args.force, jpeg_quality=90))
    print(f"wrote {args.output} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
