#!/bin/sh
# SPDX-License-Identifier: MIT
# How long report.html of a 100-trial sweep takes to open in headless Chromium (issue 11:
# under 2 s). A measurement, not a test: `make bench-report`, or
#   bench/report_load.sh [--modlab PATH] [--reps N] [SWEEP_DIR]
# Without SWEEP_DIR it runs a real 100-trial random sweep of recipes/synthetic.lua (2-4
# epochs each, about a minute on 2 quiet cores) into bench/out/report-sweep100/. Each
# repetition is a fresh browser (network off) and reads the page's own self-check:
# script_start_ms (navigation start -> the inlined library parsed and run) and rendered_ms
# (navigation start -> every plot drawn). Prints each repetition, then the medians and the
# load average, because these machines are shared.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
modlab=${MODLAB:-$here/modlab}
reps=5
dir=
while [ $# -gt 0 ]; do
    case "$1" in
        --modlab) modlab=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        -*) echo "usage: $0 [--modlab PATH] [--reps N] [SWEEP_DIR]" >&2; exit 2 ;;
        *) dir=$1; shift ;;
    esac
done
. "$here/tests/e2e/report_chromium.sh"
if [ -z "$chromium" ]; then
    echo "no chromium: apt-get install chromium (./bootstrap installs it)" >&2
    exit 1
fi
if [ -z "$dir" ]; then
    dir=$here/bench/out/report-sweep100
    mkdir -p "$here/bench/out"
    cat > "$here/bench/out/report-sweep100.yaml" <<Y
name: report-sweep100
program: $here/recipes/synthetic.lua
method: random
metric: {name: valid_accuracy, goal: maximize}
parameters:
  lr: {min: 0.003, max: 0.5, distribution: log_uniform_values}
  epochs: {values: [2, 3, 4]}
modlab: {trials: 100, workers: 1, sampler: {seed: 7}}
Y
    "$modlab" sweep "$here/bench/out/report-sweep100.yaml" --out "$dir" -q > /dev/null
fi
"$modlab" report "$dir"
trials=$(($(wc -l < "$dir/results.csv") - 1))
size=$(wc -c < "$dir/report.html")
profile=$(mktemp -d /tmp/rp_bench_profile.XXXXXX)
trap 'rm -rf "$profile"' EXIT
echo "report.html of $trials trials, $size bytes"
: > "$profile/times"
i=0
while [ "$i" -lt "$reps" ]; do
    i=$((i + 1))
    # No --virtual-time-budget: the page draws synchronously while it loads, and virtual
    # time would make performance.now() meaningless.
    chromium_run "$profile/p$i" --dump-dom "file://$dir/report.html" 2> /dev/null |
        selfcheck_of > "$profile/check"
    status=$(sed -n 's/^status //p' "$profile/check")
    start=$(sed -n 's/^script_start_ms //p' "$profile/check")
    done_ms=$(sed -n 's/^rendered_ms //p' "$profile/check")
    plots=$(grep -c '^plot ' "$profile/check" || true)
    echo "rep $i: library ready ${start} ms, all $plots plots drawn ${done_ms} ms ($status)"
    echo "$start $done_ms" >> "$profile/times"
done
median() {
    sort -n | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo "median: library ready $(cut -d' ' -f1 "$profile/times" | median) ms," \
     "all drawn $(cut -d' ' -f2 "$profile/times" | median) ms (goal: < 2000 ms)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
