#!/bin/sh
# SPDX-License-Identifier: MIT
# `make bench-graph` (issue 20): the quickstart MLP as ml.sequential and as ml.graph under
# ml.train, and as a loop of ml.trainer's pieces, run in turn with `modlab run`, REPS times
# each at THREADS threads; each run's figure is the median samples/s of its epochs after
# the first (timing.jsonl, or the loop's own lines of the same form); prints the medians
# and the ratios to ml.sequential. A chain must cost the same in either form, and the loop
# at least 95% of ml.train.
#   graph_bench.sh MODLAB SRCDIR [REPS] [THREADS]
set -eu
modlab=$1 srcdir=$2 reps=${3:-5} threads=${4:-1}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT INT TERM

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

run_one() {   # form -> samples/s of that run
    d=$out/$1-$2
    "$modlab" run "$srcdir/bench/graph_chain.lua" --out "$d" --set form="$1" \
        --set threads="$threads" >"$d.out"
    [ "$1" = loop ] && timing=$d.out || timing=$(echo "$d"/*/timing.jsonl)
    sed -n 's/.*"epoch":\([0-9]*\),.*"samples_per_s":\([0-9.e+]*\).*/\1 \2/p' "$timing" |
        awk '$1 > 1 {print $2}' | median
}

forms="sequential graph loop"
for form in $forms; do : >"$out/$form"; done
i=1
while [ "$i" -le "$reps" ]; do
    for form in $forms; do
        run_one "$form" "$i" >>"$out/$form"
    done
    i=$((i + 1))
done
s=$(median <"$out/sequential")
echo "quickstart MLP, $threads thread(s), median of $reps runs (samples/s; ratio to ml.sequential):"
for form in $forms; do
    v=$(median <"$out/$form")
    printf '  %-10s %9.0f  %.3f   (%s)\n' "$form" "$v" "$(awk -v a="$v" -v b="$s" \
        'BEGIN {print a / b}')" "$(awk '{printf "%.0f ", $1}' "$out/$form")"
done
