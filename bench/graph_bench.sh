#!/bin/sh
# SPDX-License-Identifier: MIT
# `make bench-graph` (issue 20): the quickstart MLP as ml.sequential and as ml.graph, run
# alternately with `modlab run`, REPS times each at THREADS threads; each run's figure is the
# median samples/s of its epochs after the first (timing.jsonl); prints both medians and
# their ratio. A chain must cost the same in either form.
#   graph_bench.sh MODLAB SRCDIR [REPS] [THREADS]
set -eu
modlab=$1 srcdir=$2 reps=${3:-5} threads=${4:-1}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT INT TERM

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

run_one() {   # form -> samples/s of that run
    d=$out/$1-$2
    "$modlab" run "$srcdir/bench/graph_chain.lua" --out "$d" --set form="$1" \
        --set threads="$threads" >/dev/null
    sed -n 's/.*"epoch":\([0-9]*\),.*"samples_per_s":\([0-9.e+]*\).*/\1 \2/p' "$d"/*/timing.jsonl |
        awk '$1 > 1 {print $2}' | median
}

i=1
: >"$out/sequential" && : >"$out/graph"
while [ "$i" -le "$reps" ]; do
    for form in sequential graph; do
        run_one "$form" "$i" >>"$out/$form"
    done
    i=$((i + 1))
done
s=$(median <"$out/sequential") g=$(median <"$out/graph")
echo "graph vs sequential, quickstart MLP, $threads thread(s), median of $reps runs:"
printf '  ml.sequential %10.0f samples/s   (%s)\n' "$s" "$(awk '{printf "%.0f ", $1}' "$out/sequential")"
printf '  ml.graph      %10.0f samples/s   (%s)\n' "$g" "$(awk '{printf "%.0f ", $1}' "$out/graph")"
awk -v s="$s" -v g="$g" 'BEGIN {printf "  ratio graph/sequential %.3f\n", g / s}'
