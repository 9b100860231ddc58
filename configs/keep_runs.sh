#!/bin/sh
# Keep training runs in git, so that they survive a new machine (runs/ does not): for each run folder
# named, copy what a resume or the model card needs into checkpoints/NAME and commit that folder alone.
#   sh configs/keep_runs.sh recipe-supervised recipe-distill
# A finished run keeps its EMA weights, logs and curves, and drops its checkpoint; an unfinished one keeps
# checkpoint.pt (about 22 MB: model, EMA, Adam, FAMO, sampler and RNG states, for an exact resume). The
# milestone EMA weights of a long run (tita-studio-ema-stepN.safetensors, 5.5 MB each, written once) are
# kept too, so that a milestone can be scored on another machine.
# Every keep of an unfinished run adds a new 22 MB blob to the history, and a session may submit at most
# 256 MB of diffs: keep unfinished runs at most twice a session (midway and at the end), 4 arms at most.
# configs/recipe_arms.sh restores a run from checkpoints/ when its folder in runs/ is missing.
cd "$(dirname "$0")/.." || exit 1
for name in "$@"; do
    src="runs/$name" dst="checkpoints/$name"
    if [ ! -d "$src" ]; then
        echo "$src: no such run folder; skipped"
        continue
    fi
    if [ ! -f "$src/tita-studio-ema.safetensors" ] && [ ! -f "$src/checkpoint.pt" ]; then
        echo "$src: no checkpoint yet (run.checkpoint_every); skipped"
        continue
    fi
    mkdir -p "$dst"
    for f in train.csv eval.csv config.json curves.png "$src"/tita-studio-ema-step*.safetensors; do
        f=${f#"$src/"}
        [ -f "$src/$f" ] && cp "$src/$f" "$dst/$f"
    done
    if [ -f "$src/tita-studio-ema.safetensors" ]; then
        cp "$src/tita-studio-ema.safetensors" "$dst/"
        git rm -q --cached --ignore-unmatch "$dst/checkpoint.pt" && rm -f "$dst/checkpoint.pt"
    elif [ -f "$src/checkpoint.pt" ]; then
        cp "$src/checkpoint.pt" "$dst/checkpoint.pt"
    fi
    what="finished: EMA weights"
    if [ -f "$dst/checkpoint.pt" ]; then
        what="checkpoint of step $(python -c "import sys, torch
print(torch.load(sys.argv[1], map_location='cpu', weights_only=False)['step'])" "$dst/checkpoint.pt")"
    fi
    echo "$name: kept in $dst ($what)"
done
git add checkpoints && git commit -q -m "checkpoints: keep $*" -- checkpoints && git log --oneline -1
