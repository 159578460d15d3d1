#!/bin/sh
# SPDX-License-Identifier: MIT
# fuzz-smoke: every fuzz target on its seed corpus (fuzz/corpus/<t>), its regression inputs
# (fuzz/regress/<t>) and FUZZ_SMOKE_RUNS deterministic mutations; one TAP point per target.
# A crash, a sanitizer report, a leak (modlab's allocator, checked by the targets) or a
# wrong accept fails the point; the failing input is kept under fuzz/out/ for replaying.
# Standalone builds use fuzz/standalone_driver.c; --enable-fuzz builds run libFuzzer for the
# same number of executions on a scratch copy of the corpus.
. "$top_srcdir/tests/support/tap.sh"
src=$top_srcdir/fuzz
out=$top_builddir/fuzz/out
# Sanitizer builds run the dataset readers at well under 100 inputs/s on this machine (ASan
# maps and unmaps zlib's 768 KB of buffers and the text reader's word table per input), so
# they get fewer mutations to keep make check's time reasonable.
if [ -n "${ML_ASAN:-}${FUZZ_LIBFUZZER:-}" ]; then runs=${FUZZ_SMOKE_RUNS:-300}
else runs=${FUZZ_SMOKE_RUNS:-4000}; fi
all="idx cifar10 text safetensors checkpoint manifest sweep opts json lua_json tar"
targets=${FUZZ_TARGETS:-$all}
mkdir -p "$out"

for t in $targets; do
    bin=$top_builddir/fuzz/fuzz_$t
    dirs=$src/corpus/$t
    [ -d "$src/regress/$t" ] && dirs="$dirs $src/regress/$t"
    log=$out/$t.log
    start=$(date +%s)
    if [ -n "${FUZZ_LIBFUZZER:-}" ]; then
        # libFuzzer adds what it finds to its first directory: a scratch one, never the corpus.
        rm -rf "$out/scratch-$t" && mkdir -p "$out/scratch-$t"
        # shellcheck disable=SC2086
        "$bin" -runs="$runs" -seed=1 -rss_limit_mb=2048 -timeout=20 \
            -artifact_prefix="$out/" "$out/scratch-$t" $dirs > "$log" 2>&1
    else
        # shellcheck disable=SC2086
        "$bin" -runs="$runs" -seed=1 -timeout=20 -artifact_prefix="$out/" $dirs > "$log" 2>&1
    fi
    rc=$?
    ok $rc "fuzz_$t: corpus, regressions and $runs mutations ($(( $(date +%s) - start )) s)"
    if [ $rc -ne 0 ]; then
        tail -n 25 "$log" | sed 's/^/#   /'
        echo "#   full log: $log"
    fi
done
done_testing
