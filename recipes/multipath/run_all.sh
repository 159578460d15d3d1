#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs experiments.txt for the given seeds, split over WORKERS processes (this one is
# worker W, 0-based): seed by seed, so an interrupted sweep still has whole seeds.
#   OPENBLAS_NUM_THREADS=1 MODLAB_RUNS=runs/multipath \
#       [ONLY=REGEX] recipes/multipath/run_all.sh W WORKERS "1 2 3" [EPOCHS, default 5]
set -eu
w=$1 workers=$2 seeds=$3 epochs=${4:-5}
here=$(dirname "$0")
top=$here/../..
# ONLY=REGEX (optional) keeps the configurations whose name matches, e.g. ONLY=cross_conv.
mapfile -t lines < <(grep -v '^#' "$here/experiments.txt" | grep . |
                     awk -v re="${ONLY:-.}" '$1 ~ re')
job=0
for seed in $seeds; do
  for line in "${lines[@]}"; do
    read -r name args <<<"$line"
    if [ $((job % workers)) -eq "$w" ]; then
      sets=()
      for a in $args; do sets+=(--set "$a"); done
      "$top/modlab" run "$here/mp_cnn.lua" "${sets[@]}" --set seed="$seed" \
        --set epochs="$epochs" --set name="${name}_s$seed" || echo "FAILED $name seed $seed"
    fi
    job=$((job + 1))
  done
done
