#!/bin/sh
# SPDX-License-Identifier: MIT
# Benchmark (not a unit test): wall time of a 24-trial sweep with -j 1 and with -j 2.
# With two cores, -j 2 should take about half as long. Each trial is single-threaded BLAS.
#   tests/e2e/sweep_bench.sh [MODLAB] [EPOCHS]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
MODLAB=${1:-${MODLAB:-$here/modlab}}
EPOCHS=${2:-12}
export MODLAB_PLUGIN_PATH=${MODLAB_PLUGIN_PATH:-$here/build-plugins}
export OPENBLAS_NUM_THREADS=1 MODLAB_OFFLINE=1
t=$(mktemp -d /tmp/modlab-bench.XXXXXX)
trap 'rm -rf "$t"' EXIT
cat > "$t/bench.yaml" <<EOF
name: bench
program: $here/recipes/synthetic.lua
method: grid
metric: {name: valid_accuracy, goal: maximize}
parameters:
  lr: {values: [0.02, 0.05, 0.1, 0.2]}
  seed: {values: [1, 2, 3, 4, 5, 6]}
  epochs: {value: $EPOCHS}
EOF
nproc_=$(nproc)
echo "24 trials of recipes/synthetic.lua ($EPOCHS epochs, 4000 examples), $nproc_ cores," \
     "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for j in 1 2; do
    /usr/bin/time -f "%e %U %S" -o "$t/time$j" \
        "$MODLAB" sweep "$t/bench.yaml" --out "$t/j$j" -j $j --quiet > "$t/j$j.log" 2>&1
    read -r wall user sys < "$t/time$j"
    eval "wall_$j=$wall"
    printf -- "-j %d: wall %6.2f s, CPU %6.2f s (user %.2f + sys %.2f): %.2f cores busy, %s trials finished\n" \
        "$j" "$wall" "$(echo "$user + $sys" | bc)" "$user" "$sys" \
        "$(echo "($user + $sys) / $wall" | bc -l)" "$(grep -c '"event":"finished"' "$t/j$j/journal.jsonl")"
done
printf "speed-up -j 2 over -j 1: %.2fx (ideal on an idle 2-core machine: 2x)\n" \
    "$(echo "$wall_1 / $wall_2" | bc -l)"
