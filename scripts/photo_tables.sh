#!/usr/bin/env bash
# The tables of docs/photos.md from the development faces, in one resumable command:
# the split (the last 100 faces by sorted name held out), the prepared data at x8/x4/x2, the
# four reduced models (degradation-trained x8, x4, x2 and the bicubic-trained x4 of the grid, on
# the degraded flagfiles' schedule),
# then the three tables (clean, JPEG 90, the grid of unseen degradations) as JSON.
#
#   bash scripts/photo_tables.sh FACES WORK
#
# FACES: a folder with images/ and info.json (../shared/faces); WORK: where everything is
# written (runs/photo_tables, say). Run it again after an interruption: a finished step is
# kept (a prepared folder with its manifest, a table's JSON), a training resumes from its
# newest checkpoint. Environment:
#   KERAS_BACKEND   tensorflow (default) or jax (a GPU machine without TensorFlow)
#   JOBS            trainings at once (default 4; on TensorFlow each then uses THREADS threads)
#   THREADS         TensorFlow threads per training (default 1)
#   TRAIN_FLAGS     flags added to every training (say --num_train_steps=2 for a smoke run)
#   MEASURE_FLAGS   flags added to every table (say --last=2 --sizes=16 --upscales=2)
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: bash scripts/photo_tables.sh FACES WORK (FACES holds images/ and info.json)" >&2
    exit 2
fi
REPO=$(cd "$(dirname "$0")/.." && pwd)
BACKEND=${KERAS_BACKEND:-tensorflow}
JOBS=${JOBS:-4}
THREADS=${THREADS:-1}
for path in "$1/images" "$1/info.json"; do
    [[ -e $path ]] || { echo "photo_tables.sh: $path does not exist; FACES must hold images/ and info.json" >&2; exit 2; }
done
mkdir -p "$2"
FACES=$(cd "$1" && pwd)  # absolute: the commands below run in the repository
WORK=$(cd "$2" && pwd)
cd "$REPO"

# 1. The split: the last 100 names (sorted) are the held-out faces of every table.
if [[ ! -f $WORK/train_info.json || ! -f $WORK/holdout_info.json ]]; then
    python - "$FACES/info.json" "$WORK" <<'EOF'
import json, os, sys
from dic_tf.utils import atomic
with open(sys.argv[1]) as f:
    info = json.load(f)
names = sorted(info)
if len(names) <= 100:
    sys.exit(f"photo_tables.sh: {sys.argv[1]} has {len(names)} faces; expected more than the 100 held out.")
for part, chosen in (("train_info.json", names[:-100]), ("holdout_info.json", names[-100:])):
    atomic.write_file(os.path.join(sys.argv[2], part),
                      json.dumps({name: info[name] for name in chosen}).encode("utf-8"))
EOF
fi

# 2. Prepared faces: the same 128x128 HR at each scale, the LR made for that scale.
for scale in 8 4 2; do
    for part in train:train_info.json:4 val:holdout_info.json:1; do
        IFS=: read -r folder annotations shards <<<"$part"
        out=$WORK/faces_x$scale/$folder
        [[ -f $out/manifest.json ]] && continue
        python prepare_data.py --images_dir="$FACES/images" --annotations="$WORK/$annotations" \
            --output_dir="$out" --num_shards="$shards" --scale="$scale" --noprogress
    done
done

# 3. The four trainings (JOBS at a time); each resumes from its newest checkpoint.
threads=()
[[ $BACKEND == tensorflow ]] && threads=(--intra_op_threads="$THREADS" --inter_op_threads=1)
train() {  # name flagfile scale
    python train.py --flagfile="configs/$2" --train_data="$WORK/faces_x$3/train" \
        --val_data="$WORK/faces_x$3/val" --train_dir="$WORK/$1" --checkpoint_every=50 \
        --noprogress ${threads[@]+"${threads[@]}"} ${TRAIN_FLAGS:-} >>"$WORK/$1.log" 2>&1
}
runs=("deg_x8 real_faces_degraded.flags 8" "deg_x4 real_faces_degraded_x4.flags 4"
      "deg_x2 real_faces_degraded_x2.flags 2"
      "bic_x4 real_faces_x4.flags 4 --num_train_steps=1000 --val_every=250 --learning_rate=5e-4 --lr_milestones=500,750")
pids=()
# Stopping this script stops its trainings (background jobs of a script ignore Ctrl-C).
trap 'kill "${pids[@]}" 2>/dev/null; exit 130' INT TERM
for run in "${runs[@]}"; do
    read -r name flagfile scale extra <<<"$run"
    # shellcheck disable=SC2086
    TRAIN_FLAGS="${extra:-} ${TRAIN_FLAGS:-}" train "$name" "$flagfile" "$scale" &
    pids+=($!)
    while (( $(jobs -rp | wc -l) >= JOBS )); do sleep 5; done
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
if (( failed )); then
    echo "photo_tables.sh: a training failed; see $WORK/*.log" >&2
    exit 1
fi

# 4. The tables (a table already written is kept), each as JSON and as the Markdown it prints.
measure() {  # name, then flags
    local name=$1
    shift
    [[ -f $WORK/$name.json ]] && return 0
    # shellcheck disable=SC2086
    python scripts/measure_photo_faces.py --images_dir="$FACES/images" \
        --annotations="$WORK/holdout_info.json" --output="$WORK/$name.json" "$@" ${MEASURE_FLAGS:-} \
        | tee "$WORK/$name.md"
}
degraded=(--checkpoint="$WORK/deg_x8" --checkpoint="$WORK/deg_x4" --checkpoint="$WORK/deg_x2"
          --label=x8 --label=x4 --label=x2)
measure photo_faces "${degraded[@]}"
measure photo_grid --checkpoint="$WORK/bic_x4" --checkpoint="$WORK/deg_x4" --label=bicubic-trained \
    --label=degradation-trained --sizes=32 --upscales=4 --degradations=grid
measure photo_faces_jpeg90 "${degraded[@]}" --degradations=jpeg90
echo "photo_tables.sh: the tables are in $WORK (photo_faces, photo_grid, photo_faces_jpeg90: .json and .md)"
