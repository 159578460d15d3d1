# SPDX-License-Identifier: MIT
# SIGINT and SIGTERM during `modlab run` end the run cleanly: meta.json and summary.json say
# "interrupted", no *.tmp.* file is left, a line says how to resume, the exit code is
# 130 (SIGINT) or 143 (SIGTERM), and `modlab run --resume DIR` then ends with the numbers
# of a run never stopped. A sweep trial stopped by the sweep ends "interrupted" the same way.
# The signal lands at an exact instant: the run stops itself there (MODLAB_TEST_PAUSE, a
# SIGSTOP), the test sends the signal and SIGCONT; nothing depends on timing.
. "$top_srcdir/tests/support/tap.sh"
. "$top_srcdir/tests/support/e2e.sh"
make_tmpdir
recipe="$top_srcdir/tests/fixtures/runs/tiny.lua"
# A non-interactive shell starts background jobs with SIGINT ignored (and modlab, like any
# program, keeps a signal its parent ignored): give the runs the default disposition.
env --default-signal=INT true 2>/dev/null || skip_all "env --default-signal is missing (coreutils < 8.31)"
status_of() { sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' "$1" 2>/dev/null; }
stopped() { wait_stop "$1" 600; [ "$state" = T ]; }  # PID: false if it ended first

"$MODLAB" run "$recipe" --out "$t/ref" --set epochs=4 > "$t/ref.log" 2>&1
ok $? "a run never stopped"
want=$(grep '^final' "$t/ref.log")

# signal_at POINT SIGNAL OUT: a run stopped at POINT gets SIGNAL, then continues; sets
# $code, $out (its output) and $dir.
signal_at() {
    MODLAB_TEST_PAUSE=$1 env --default-signal=INT "$MODLAB" run "$recipe" --out "$3" \
        --set epochs=4 > "$3.log" 2>&1 &
    pid=$!
    stopped "$pid"; ok $? "$2 at $1: the run stopped there"
    kill "-$2" "$pid"
    kill -CONT "$pid"
    wait "$pid"
    code=$?
    out=$(cat "$3.log")
    dir=$(ls -d "$3"/tiny-* | head -1)
}
check_interrupted() { # SIGNAL CODE
    is "$code" "$2" "$1: exit $2"
    is "$(status_of "$dir/meta.json")" interrupted "$1: meta.json says interrupted"
    is "$(status_of "$dir/summary.json")" interrupted "$1: summary.json says interrupted"
    is "$(ls "$dir" | grep -c '\.tmp\.')" 0 "$1: no temp file left"
    like "$out" "modlab run --resume $dir" "$1: says how to resume"
    ok $([ ! -e "$dir/model.safetensors" ]; echo $?) "$1: no model.safetensors claims a result"
    res=$("$MODLAB" run --resume "$dir" 2>&1)
    ok $? "$1: --resume finishes"
    is "$(printf '%s\n' "$res" | grep '^final')" "$want" "$1: with the numbers of a run never stopped"
    is "$(status_of "$dir/meta.json")" finished "$1: meta.json then says finished"
}

# SIGINT in the middle of epoch 2 (after the line of epoch 1).
signal_at mid-epoch:2 INT "$t/int"
check_interrupted SIGINT 130
like "$out" "interrupted by SIGINT" "SIGINT: the error names the signal"

# SIGTERM while the second checkpoint is in its temp file: the write completes, the run
# stops before the next epoch.
signal_at 'before-rename:checkpoint.safetensors#2' TERM "$t/term"
check_interrupted SIGTERM 143
is "$(wc -l < "$dir/metrics.jsonl" | tr -d ' ')" 4 "SIGTERM: resumed from epoch 2, four rows"

# Free running: SIGINT once the first epoch line is printed.
env --default-signal=INT "$MODLAB" run "$recipe" --out "$t/free" --set epochs=40 \
    --set size=4000 > "$t/free.log" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q '^epoch 1/40' "$t/free.log" && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"
is $? 130 "SIGINT after the first epoch line: exit 130"
dir=$(ls -d "$t"/free/tiny-*)
is "$(status_of "$dir/meta.json")" interrupted "... meta.json says interrupted"
is "$(ls "$dir" | grep -c '\.tmp\.')" 0 "... no temp file left"

# A sweep's own stop (SIGTERM to the sweep, which sends SIGTERM to its trials) while the
# trial is stopped in a checkpoint's temp file: the trial closes its run as interrupted.
pause_sweep "$t/sw" sig "$recipe" 4 'before-rename:checkpoint.safetensors#2'
trial_pid "$j"
stopped "$tpid"; ok $? "sweep: the trial stopped in its second checkpoint write"
kill -TERM "$spid"
# The sweep signals the trial's process group; the stopped trial holds it pending.
for _ in $(seq 600); do
    pend=$(sed -n 's/^ShdPnd:[[:space:]]*//p; s/^SigPnd:[[:space:]]*//p' "/proc/$tpid/status" \
           2>/dev/null | tr '\n' ' ')
    case $pend in *[1-9a-f]*) break ;; esac
    sleep 0.1
done
kill -CONT "$tpid"
wait "$spid"
is $? 130 "sweep: stopped by its signal"
tdir=$(ls -d "$t"/sw/runs/sig/trials/*)
is "$(status_of "$tdir/meta.json")" interrupted "sweep: the trial's meta.json says interrupted"
is "$(ls "$tdir" | grep -c '\.tmp\.')" 0 "sweep: no temp file left in the trial"
like "$(grep '"event":"interrupted"' "$j")" '"attempt":1' "sweep: the journal records it interrupted"
is "$(grep -c '"event":"failed"' "$j")" 0 "sweep: and not failed"
done_testing
