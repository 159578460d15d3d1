#!/bin/sh
# SPDX-License-Identifier: MIT
# The issue-6 experiment: each variant over seeds 1-3, one run after another, single-threaded
# BLAS. Usage: recipes/graphsync/run_all.sh VARIANT... (default: all five). Extra settings
# go in GS_SET ("--set epochs=20"). Run directories under $MODLAB_RUNS (default ./runs);
# recipes/graphsync/summarize.lua turns their results.json into the README table.
set -e
cd "$(dirname "$0")/../.."
: "${MODLAB_RUNS:=$PWD/runs}"
export MODLAB_RUNS OPENBLAS_NUM_THREADS=1
variants=${*:-spectral none random mlp assign}
for v in $variants; do
  case $v in spectral) scale=10 ;; assign) scale=300 ;; *) scale=1 ;; esac
  for seed in 1 2 3; do
    # shellcheck disable=SC2086
    ./modlab run recipes/graphsync/graphsync.lua --set variant="$v" --set seed="$seed" \
      --set aux_scale="$scale" ${GS_SET:-}
  done
done
