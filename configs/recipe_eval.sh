#!/bin/sh
# Held-out evaluation of finished issue-13 recipe arms (after configs/recipe_arms.sh), one thread:
#   nohup setsid sh configs/recipe_eval.sh base all data supervised mefssim distill > runs/recipe-eval.log 2>&1 &
# Per arm NAME: runs/eval/NAME-old (configs/holdout.toml: the model card's 42 scenes), runs/eval/NAME-new
# (configs/holdout_new.toml: 5 scenes of the new data) and runs/eval/NAME-mif (the unseen MRI + CT/PET task),
# each with results.md. The classical methods are fused once (first arm) and their results copied to the
# other arms' caches; `baselines` as the arm name fuses only the classical methods (runs/eval/baselines-SET),
# e.g. while the arms still train. An arm without its final weights is skipped. NAME=WEIGHTS scores any
# weights file under that name, e.g. a milestone of the long run:
#   sh configs/recipe_eval.sh studio-step1000=runs/studio-6000/tita-studio-ema-step1000.safetensors
cd "$(dirname "$0")/.." || exit 1
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
D=../shared/datasets
METHODS=tita,average,laplacian,mertens,gff
mkdir -p runs/eval
for arm in "$@"; do
    model="runs/recipe-$arm/tita-studio-ema.safetensors" methods=$METHODS
    case $arm in
        *=*) model=${arm#*=} arm=${arm%%=*} ;;
    esac
    if [ "$arm" = baselines ]; then
        model="" methods=${METHODS#tita,}
    elif [ ! -f "$model" ]; then
        echo "$(date -Is) $arm: no $model yet; skipped"
        continue
    fi
    for set in old new mif; do
        out="runs/eval/$arm-$set"
        if [ "$out" != "runs/eval/baselines-$set" ] && [ ! -d "$out/cache" ] && [ -d "runs/eval/baselines-$set/cache" ]; then
            mkdir -p "$out" && cp -r "runs/eval/baselines-$set/cache" "$out/"
        fi
        case $set in
            old) tita-studio eval $D/ivf/roadscene $D/ivf/llvip_train $D/ivf/msrs_samples $D/mef/hdrps \
                     $D/mef/merianos $D/mef/pmef3 $D/mff/mfifb_train --holdout configs/holdout.toml \
                     --methods $methods ${model:+--model "$model"} --out "$out" ;;
            new) tita-studio eval $D/ivf/m3svd_val_frames $D/mef/ericpgz858_vfx $D/mef/holoco_sice \
                     $D/mef/lukachuuu_hdr --holdout configs/holdout_new.toml \
                     --methods $methods ${model:+--model "$model"} --out "$out" ;;
            mif) tita-studio eval $D/mif/ifcnn_md --methods $methods ${model:+--model "$model"} --out "$out" ;;
        esac
        echo "$(date -Is) $arm $set: exit $?"
        if [ ! -d "runs/eval/baselines-$set" ]; then
            mkdir -p "runs/eval/baselines-$set" && cp -r "$out/cache" "runs/eval/baselines-$set/"
        fi
    done
done
