# SPDX-License-Identifier: MIT
# What the end-to-end shell tests share beyond TAP (tests/support/tap.sh, sourced first):
# sweep journals and sweep files, and processes stopped at a MODLAB_TEST_PAUSE point.
# Each helper is written once here, so a fix to one reaches every test that uses it.

# ---- sweeps ------------------------------------------------------------------------------

# sweep_setup [RECIPE]: a fresh $t as the working directory and MODLAB_RUNS="$t/runs";
# RECIPE (a path below tests/fixtures) is copied in under its own name.
sweep_setup() {
    make_tmpdir
    [ -z "${1:-}" ] || cp "$top_srcdir/tests/fixtures/$1" "$t/" || exit 1
    cd "$t" || exit 1
    export MODLAB_RUNS="$t/runs"
}

# Journal lines as "trial attempt event" (keys are sorted, so the order is fixed).
events() { sed -n 's/.*"attempt":\([0-9]*\),.*"event":"\([a-z]*\)".*"trial":"\([0-9a-f]*\)".*/\3 \1 \2/p' "$1"; }
# count PATTERN FILE: lines of FILE matching PATTERN (0 when FILE does not exist yet).
count() { if [ -f "$2" ]; then grep -c -- "$1" "$2"; else echo 0; fi; }
# wait_for FILE PATTERN N [TENTHS]: wait until FILE has at least N lines matching PATTERN,
# at most TENTHS tenths of a second (600: a bound, not a test; the checks that follow fail).
wait_for() {
    i=0
    while [ "$(count "$2" "$1")" -lt "$3" ] && [ $i -lt "${4:-600}" ]; do
        sleep 0.1
        i=$((i + 1))
    done
}
# Journal events of one trial id.
trial_events() { grep "\"trial\":\"$2\"" "$1" | sed -n 's/.*"event":"\([a-z]*\)".*/\1/p'; }

# grid_sweep FILE NAME PROGRAM METRIC GOAL: writes a grid sweep file with that name, program
# and metric; stdin holds its parameters (indented two spaces) and any keys after them, so
# a test shows only what it varies.
grid_sweep() {
    {
        printf 'name: %s\nprogram: %s\nmethod: grid\n' "$2" "$3"
        printf 'metric: {name: %s, goal: %s}\nparameters:\n' "$4" "$5"
        cat
    } > "$1"
}

# ---- processes stopped at a pause point ---------------------------------------------------

# The state letter of process $1 (field 3 of /proc/PID/stat; T = stopped), empty once gone.
proc_state() { awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null; }
# wait_stop PID [TENTHS]: wait until the process is stopped (MODLAB_TEST_PAUSE raises
# SIGSTOP) or has ended, at most TENTHS tenths of a second (300); sets $state to its state.
wait_stop() {
    state=
    for _ in $(seq "${2:-300}"); do
        state=$(proc_state "$1")
        [ "$state" = T ] || [ -z "$state" ] && break
        sleep 0.1
    done
}
# kill_reap PID: SIGKILL a child of this shell (stopped or not) and reap it.
kill_reap() {
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
# pause_sweep DIR NAME RECIPE EPOCHS POINT: a grid sweep NAME of one trial (RECIPE, copied
# into DIR, with epochs EPOCHS) started in the background in DIR, its runs in DIR/runs and
# MODLAB_TEST_PAUSE=POINT; sets $spid (the sweep itself) and $j (its journal).
pause_sweep() {
    mkdir "$1" && cp "$3" "$1/" || exit 1
    printf 'name: %s\nprogram: %s\nmethod: grid\nparameters:\n  epochs: {value: %s}\n' \
        "$2" "${3##*/}" "$4" > "$1/s.yaml"
    (cd "$1" && MODLAB_RUNS="$1/runs" MODLAB_TEST_PAUSE=$5 exec "$MODLAB" sweep s.yaml \
        > sweep.log 2>&1) &
    spid=$!
    j="$1/runs/$2/journal.jsonl"
}
# trial_pid JOURNAL [TENTHS]: wait (at most TENTHS tenths of a second, 600) until the
# journal names a trial's pid; sets $tpid to the first one (empty if none came).
trial_pid() {
    tpid=
    for _ in $(seq "${2:-600}"); do
        tpid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$1" 2>/dev/null | head -1)
        [ -n "$tpid" ] && break
        sleep 0.1
    done
}
# pause_kill POINT LOG COMMAND...: run COMMAND until it stops itself at pause point POINT
# (MODLAB_TEST_PAUSE), output to LOG, then SIGKILL it; true when it did stop there.
pause_kill() {
    point=$1 log=$2
    shift 2
    MODLAB_TEST_PAUSE=$point "$@" > "$log" 2>&1 &
    pid=$!
    wait_stop "$pid"
    kill_reap "$pid"
    [ "$state" = T ]
}
