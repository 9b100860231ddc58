#!/bin/sh
# Run issue-13 recipe arms one after another, one torch thread each (re-running resumes every arm from its
# latest checkpoint; a finished arm is skipped; an arm whose runs/ folder is missing is restored from
# checkpoints/, where configs/keep_runs.sh keeps it). Two chains side by side on the 2-core CPU:
#   mkdir -p runs
#   nohup setsid sh configs/recipe_arms.sh supervised base data > runs/recipe-chain1.log 2>&1 &
#   nohup setsid sh configs/recipe_arms.sh distill all mefssim > runs/recipe-chain2.log 2>&1 &
cd "$(dirname "$0")/.." || exit 1
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
for arm in "$@"; do
    if [ ! -d "runs/recipe-$arm" ] && [ -d "checkpoints/recipe-$arm" ]; then
        mkdir -p runs && cp -r "checkpoints/recipe-$arm" "runs/recipe-$arm"
        echo "$(date -Is) recipe_$arm: restored from checkpoints/recipe-$arm"
    fi
    if [ -f "runs/recipe-$arm/tita-studio-ema.safetensors" ]; then
        echo "$(date -Is) recipe_$arm: finished already"
        continue
    fi
    echo "$(date -Is) recipe_$arm: start"
    tita-studio train "configs/recipe_$arm.toml" >> "runs/recipe-$arm.log" 2>&1
    echo "$(date -Is) recipe_$arm: exit $?"
done
