# SPDX-License-Identifier: MIT
# Failure states are true: a run whose model, summary, metrics, checkpoint, config or meta
# cannot be written fails (exit 1), says which file and why, and meta.json says "failed"
# wherever it can still be written. The full disk is MODLAB_TEST_FAIL_WRITE (core/base/fileio.c):
# writes of the named files fail with ENOSPC where write(2) would.
. "$top_srcdir/tests/support/tap.sh"
make_tmpdir
recipe="$top_srcdir/tests/fixtures/runs/tiny.lua"
n=0
# full_disk FILES [--set ...]: one run with writes of FILES failing; sets $out, $code, $dir.
full_disk() {
    files=$1
    shift
    n=$((n + 1))
    out=$(MODLAB_TEST_FAIL_WRITE=$files "$MODLAB" run "$recipe" --out "$t/r$n" "$@" 2>&1)
    code=$?
    dir=$(ls -d "$t/r$n"/tiny-* 2>/dev/null | head -1)
}
status_of() { sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' "$1" 2>/dev/null; }
error_of() { grep -o '"error":"[^"]*' "$1" 2>/dev/null; }
# run_fails FILE WHAT: the last run exited 1, its output naming FILE and ENOSPC.
run_fails() {
    is "$code" 1 "$2: the run fails"
    like "$out" "$1.*No space left on device" "... naming the file and the errno"
}
no_temps() { is "$(ls "$dir" | grep -c '\.tmp\.')" 0 "$1: no temp file left"; }

full_disk model.safetensors --set checkpoint=false
run_fails "model.safetensors" "model.safetensors not written (checkpoint=false)"
ok $(printf '%s' "$out" | grep -q 'checkpoint not written'; [ $? -ne 0 ]; echo $?) \
   "... and not calling the model a checkpoint"
is "$(status_of "$dir/meta.json")" failed "... meta.json says failed"
is "$(status_of "$dir/summary.json")" failed "... summary.json says failed"
like "$(error_of "$dir/meta.json")" 'model.safetensors' "... meta.json has the error"
ok $([ ! -e "$dir/model.safetensors" ]; echo $?) "... no model.safetensors"
no_temps "model"

full_disk summary.json
run_fails "summary.json" "summary.json not written"
is "$(status_of "$dir/meta.json")" failed "... meta.json says failed"
like "$(error_of "$dir/meta.json")" 'summary.json' "... meta.json has the error"
no_temps "summary"

# A full disk at the first metrics line (the summary after it fails too).
full_disk metrics.jsonl,summary.json
run_fails "metrics.jsonl" "the first metrics line not written"
is "$(status_of "$dir/meta.json")" failed "... meta.json says failed, not running"
like "$(error_of "$dir/meta.json")" 'metrics.jsonl' "... with the metrics error"
ok $([ ! -s "$dir/metrics.jsonl" ]; echo $?) "... metrics.jsonl has no line"
no_temps "metrics"

full_disk timing.jsonl
is "$code" 1 "timing.jsonl not written: the run fails"
is "$(status_of "$dir/meta.json")" failed "... meta.json says failed"

full_disk 'checkpoint.safetensors#2' --set epochs=3
run_fails "checkpoint.safetensors" "the second checkpoint not written"
is "$(status_of "$dir/meta.json")" failed "... meta.json says failed"
no_temps "checkpoint"

full_disk config.json
run_fails "config.json" "config.json not written"
is "$(status_of "$dir/meta.json")" failed "... meta.json still records the failure"
no_temps "config"

full_disk 'meta.json#1'
run_fails "meta.json" "the first meta.json not written"
is "$(status_of "$dir/meta.json")" failed "... a later meta.json write records the failure"
ok $([ ! -e "$dir/metrics.jsonl" ]; echo $?) "... before any training"

full_disk 'meta.json#2'
run_fails "meta.json" "the final meta.json not written"
like "$(status_of "$dir/summary.json")" failed "... summary.json says failed"
no_temps "meta"

# Without the hook the same runs finish.
out=$("$MODLAB" run "$recipe" --out "$t/ok" --set checkpoint=false 2>&1)
is $? 0 "no full disk: the run finishes"
is "$(status_of "$(ls -d "$t"/ok/tiny-*)/meta.json")" finished "... meta.json says finished"
done_testing
