#!/bin/sh
# SPDX-License-Identifier: MIT
# The long fuzzing run of docs/fuzzing.md: each libFuzzer target (a --enable-fuzz build) in
# turn, for FUZZ_RUNS executions or FUZZ_MAX_TIME seconds, whichever comes first, under nice,
# with a 2 GB RSS limit. Run it from the build directory (or through `make fuzz-long`):
#   FUZZ_RUNS=1000000 FUZZ_MAX_TIME=1800 sh /path/to/src/fuzz/run-long.sh
# Each target grows its own corpus in fuzz/out/long/<t>/corpus (the committed seeds are read,
# never written), logs to fuzz/out/long/<t>.log, and leaves crash-*/leak-*/timeout-*/oom-*
# files in fuzz/out/long/<t>/. The table of results goes to fuzz/out/long/summary.md.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(dirname "$here")}
top_builddir=${top_builddir:-.}
runs=${FUZZ_RUNS:-1000000}
max_time=${FUZZ_MAX_TIME:-1800}
all="idx cifar10 text safetensors checkpoint manifest sweep opts json lua_json"
targets=${FUZZ_TARGETS:-$all}
out=$top_builddir/fuzz/out/long
MODLAB_PLUGIN_PATH=${MODLAB_PLUGIN_PATH:-$top_builddir/build-plugins}
export MODLAB_PLUGIN_PATH
mkdir -p "$out"
sum=$out/summary.md
{
    echo "Long run started $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname):" \
        "-runs=$runs -max_total_time=$max_time -rss_limit_mb=2048, one target at a time"
    echo
    echo "| target | executions | time (s) | exec/s | cov | ft | corpus (files/bytes)" \
        "| crashes |"
    echo "|---|---|---|---|---|---|---|---|"
} > "$sum"

for t in $targets; do
    bin=$top_builddir/fuzz/fuzz_$t
    if ! "$bin" -help=1 2>&1 | grep -q libFuzzer; then
        echo "run-long: $bin is not a libFuzzer binary; build with CC=clang ./configure" \
             "--enable-fuzz && make" >&2
        exit 2
    fi
    mkdir -p "$out/$t/corpus"
    dirs="$top_srcdir/fuzz/corpus/$t"
    [ -d "$top_srcdir/fuzz/regress/$t" ] && dirs="$dirs $top_srcdir/fuzz/regress/$t"
    log=$out/$t.log
    start=$(date +%s)
    # shellcheck disable=SC2086
    nice -n 10 "$bin" -runs="$runs" -max_total_time="$max_time" -rss_limit_mb=2048 \
        -timeout=25 -print_final_stats=1 -artifact_prefix="$out/$t/" \
        "$out/$t/corpus" $dirs > "$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    # The last status line: "#N  DONE   cov: C ft: F corp: K/SIZE exec/s: E rss: ..."
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    execs=$(grep 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    eps=$(grep 'stat::average_exec_per_sec' "$log" | awk '{print $2}')
    cov=$(printf '%s' "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(printf '%s' "$last" | sed -n 's/.*corp: \([^ ]*\).*/\1/p')
    crashes=$(find "$out/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
        -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    echo "| $t | ${execs:-?} | $secs | ${eps:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} |" \
         "$crashes (exit $rc) |" >> "$sum"
done
echo "Finished $(date -u '+%Y-%m-%d %H:%M UTC')" >> "$sum"
cat "$sum"
