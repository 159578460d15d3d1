# SPDX-License-Identifier: MIT
# Crash safety and resumable runs: SIGKILL training mid-epoch, mid-checkpoint (between the
# temp file and its rename, via MODLAB_TEST_PAUSE) and at other instants; after each kill
# the run directory holds whole files only (tests/fixtures/crash/check_rundir.lua), and
# `modlab run --resume DIR` ends with the same numbers and model bytes as a run never killed.
. "$top_srcdir/tests/support/tap.sh"
. "$top_srcdir/tests/support/e2e.sh"
make_tmpdir
recipe="$top_srcdir/tests/fixtures/crash/resumable.lua"
check() { "$MODLAB" run "$top_srcdir/tests/fixtures/crash/check_rundir.lua" --set dir="$1" 2>&1; }

# Start a run that stops itself at pause point $1 (MODLAB_TEST_PAUSE), SIGKILL it there;
# $2 is the --out dir, the rest goes to modlab run. Sets $dir to the run directory.
kill_at() {
    point=$1 out=$2
    shift 2
    pause_kill "$point" "$out.log" "$MODLAB" run "$recipe" --out "$out" "$@"
    stopped_there=$?
    dir=$(ls -d "$out"/resumable-* 2>/dev/null | head -1)
    return $stopped_there
}

# The same run, never interrupted.
"$MODLAB" run "$recipe" --out "$t/ref" > "$t/ref.log" 2>&1; ok $? "uninterrupted run"
ref=$(ls -d "$t"/ref/resumable-*)
want=$(grep '^final' "$t/ref.log")
is "$(check "$ref")" "checkpoint=5 metrics=5 timing=5 summary=finished model=yes" \
   "a finished run: checkpoint of epoch 5, 5 metrics rows, summary, model"

# Resume $dir and compare with the reference: final numbers, histories, model bytes.
resumes_to_ref() { # DESCRIPTION
    out=$("$MODLAB" run --resume "$dir" 2>&1)
    ok $? "$1: --resume finishes"
    is "$(printf '%s\n' "$out" | grep '^final')" "$want" "$1: same final loss and accuracy"
    ok $(cmp -s "$dir/model.safetensors" "$ref/model.safetensors"; echo $?) \
       "$1: model.safetensors byte-identical"
    ok $(cmp -s "$dir/checkpoint.safetensors" "$ref/checkpoint.safetensors"; echo $?) \
       "$1: final checkpoint byte-identical"
    ok $(cmp -s "$dir/metrics.jsonl" "$ref/metrics.jsonl"; echo $?) \
       "$1: metrics.jsonl identical (no duplicate or orphan epochs)"
    ok $(cmp -s "$dir/summary.json" "$ref/summary.json"; echo $?) "$1: summary.json identical"
    is "$(awk 'END { print NR }' "$dir/timing.jsonl")" 5 "$1: one timing line per epoch"
}

# (a) mid-epoch: killed while epoch 2 trains, after the first checkpoint.
kill_at mid-epoch:2 "$t/a"; ok $? "(a) stopped in the middle of epoch 2 and killed"
is "$(check "$dir")" "checkpoint=1 metrics=1 timing=1 summary=absent model=no" \
   "(a) after the kill: checkpoint of epoch 1, whole files only"
like "$(cat "$dir/meta.json")" '"status":"running"' "(a) meta.json still says running"
resumes_to_ref "(a)"
like "$(cat "$dir/meta.json")" '"resumed":\[{"from_epoch":2' "(a) meta.json records the resume"

# (b) mid-checkpoint: the epoch-2 checkpoint is written and synced under its temp name
# but not renamed; metrics.jsonl already has epoch 2's row.
kill_at 'before-rename:checkpoint.safetensors#2' "$t/b"
ok $? "(b) stopped between the temp file and the rename of the 2nd checkpoint, killed"
is "$(check "$dir")" "checkpoint=1 metrics=2 timing=2 summary=absent model=no" \
   "(b) after the kill: the old checkpoint (epoch 1) is whole; the row of epoch 2 is ahead"
ok $([ -n "$(ls "$dir" | grep 'checkpoint.safetensors.tmp')" ]; echo $?) \
   "(b) the new checkpoint's temp file is all that is left of it"
resumes_to_ref "(b)"
is "$(ls "$dir" | grep -c '\.tmp')" 0 "(b) the resumed run removed the stale temp file"

# More instants, each deterministic: every epoch's middle and checkpoint rename, the end's
# summary.json, model.safetensors and meta.json renames.
n=0
for point in mid-epoch:1 mid-epoch:3 mid-epoch:5 'before-rename:checkpoint.safetensors' \
             'before-rename:checkpoint.safetensors#4' 'before-rename:checkpoint.safetensors#5' \
             'before-rename:model.safetensors' 'before-rename:summary.json' \
             'before-rename:meta.json#2'; do
    n=$((n + 1))
    kill_at "$point" "$t/k$n"; stopped=$?
    c=$(check "$dir")
    ok $? "kill at $point: whole files only ($c)"
    case $c in
    checkpoint=none*)
        ok $stopped "kill at $point: stopped there"
        out=$("$MODLAB" run --resume "$dir" 2>&1)
        is "$?" 1 "kill at $point: no checkpoint yet, --resume fails"
        like "$out" "no checkpoint.safetensors there" "kill at $point: and says why" ;;
    *)
        out=$("$MODLAB" run --resume "$dir" 2>&1)
        is "$(printf '%s\n' "$out" | grep '^final')" "$want" \
           "kill at $point: --resume ends with the reference numbers"
        ok $(cmp -s "$dir/model.safetensors" "$ref/model.safetensors"; echo $?) \
           "kill at $point: model.safetensors byte-identical" ;;
    esac
done

# A resume killed while it cuts metrics.jsonl back to its checkpoint resumes again.
kill_at mid-epoch:4 "$t/rr"
pause_kill before-rename:metrics.jsonl /dev/null "$MODLAB" run --resume "$dir"
is "$state" T "a resume stopped before renaming its cut metrics.jsonl, killed"
is "$(check "$dir")" "checkpoint=3 metrics=3 timing=3 summary=absent model=no" \
   "... the run directory is still whole"
resumes_to_ref "resume of a killed resume"

# Kills at arbitrary instants (timing-based, so whatever instant they hit).
for delay in 0.3 0.5 0.7 0.9 1.1; do
    "$MODLAB" run "$recipe" --out "$t/d$delay" --set epochs=5 > /dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill_reap "$pid"
    dir=$(ls -d "$t/d$delay"/resumable-* 2>/dev/null | head -1)
    if [ -z "$dir" ]; then
        ok 0 "kill after ${delay}s: before the run directory existed"
        continue
    fi
    c=$(check "$dir")
    ok $? "kill after ${delay}s: whole files only ($c)"
    case $c in checkpoint=none*) continue ;; esac
    out=$("$MODLAB" run --resume "$dir" 2>&1)
    is "$(printf '%s\n' "$out" | grep '^final')" "$want" \
       "kill after ${delay}s: --resume ends with the reference numbers"
done

# A torn last line in metrics.jsonl (a full disk) is skipped with a warning.
kill_at mid-epoch:3 "$t/torn"
printf '{"epoch":3,"train_lo' >> "$dir/metrics.jsonl"
is "$(check "$dir")" "checkpoint=2 metrics=2 timing=2 summary=absent model=no" \
   "torn tail: complete lines still parse"
out=$("$MODLAB" report "$dir" 2>&1); ok $? "torn tail: modlab report still works"
like "$out" "metrics.jsonl:3: unreadable line skipped" "torn tail: the report warns"
resumes_to_ref "torn tail"

# A graph model (a residual, a tied layer, dropout) resumes to the same bytes too.
chain_ref=$ref chain_want=$want
"$MODLAB" run "$recipe" --out "$t/gref" --set graph=true --set eval_every=20 > "$t/gref.log" 2>&1
ok $? "uninterrupted graph run"
ref=$(ls -d "$t"/gref/resumable-*)
want=$(grep '^final' "$t/gref.log")
like "$want" "test_accuracy 0.9" "the graph model learns ($want)"
kill_at mid-epoch:3 "$t/graph" --set graph=true --set eval_every=20
ok $? "graph: stopped in the middle of epoch 3 and killed"
resumes_to_ref "graph"
is "$(wc -l < "$ref/steps.jsonl")" 15 "graph: eval_every=20 wrote 15 evaluations (5 epochs x 60 steps)"
ok $(cmp -s "$dir/steps.jsonl" "$ref/steps.jsonl"; echo $?) \
   "graph: steps.jsonl identical (cut back to the checkpoint, then continued)"
ref=$chain_ref want=$chain_want

# Mistakes: clear errors, exit 2 for usage, 1 for a run that cannot resume.
out=$("$MODLAB" run --resume "$t" 2>&1); is $? 2 "--resume of a non-run directory: usage error"
like "$out" "no config.json there" "... says so"
out=$("$MODLAB" run --resume "$ref" --set lr=1 2>&1); is $? 2 "--resume with --set: usage error"
like "$out" "drop --set, --out and --run-dir" "... says why"
kill_at mid-epoch:3 "$t/other"
cat > "$t/other.lua" <<'LUA'
local ml = require "modlab"
ml.train { model = ml.sequential { ml.layer("linear", { out = 2 }) },
           data = assert(ml.dataset("synthetic", { kind = "spirals", size = 2000 })),
           optimizer = ml.optimizer("adam", { lr = 0.01 }), epochs = 5, batch = 32 }
LUA
out=$("$MODLAB" run "$t/other.lua" --resume "$dir" 2>&1)
is $? 1 "--resume with another recipe's model fails"
like "$out" "written for another model" "... naming the mismatch"
sed 's/patience = 0/patience = 1/' "$recipe" > "$t/sched.lua"
out=$("$MODLAB" run "$t/sched.lua" --resume "$dir" 2>&1)
is $? 1 "--resume with other settings (the schedule) fails"
like "$out" "written by a run with other settings" "... and says so"
resumes_to_ref "after refused resumes, the right recipe"
kill_at mid-epoch:2 "$t/twice" --set train_twice=true
out=$("$MODLAB" run --resume "$dir" 2>&1)
is $? 1 "a recipe calling ml.train twice: --resume resumes the first, then refuses"
like "$out" "calls ml.train more than once" "... saying why"

# checkpoint_every=2: checkpoints after epochs 2, 4 and the last; a kill in epoch 4 resumes
# from epoch 2 and still matches.
kill_at mid-epoch:4 "$t/every" --set checkpoint_every=2
is "$(check "$dir")" "checkpoint=2 metrics=3 timing=3 summary=absent model=no" \
   "checkpoint_every=2: killed in epoch 4, the checkpoint is of epoch 2"
out=$("$MODLAB" run --resume "$dir" 2>&1)
is "$(printf '%s\n' "$out" | grep '^final')" "$want" "checkpoint_every=2: same final numbers"
is "$(awk 'END { print NR }' "$dir/metrics.jsonl")" 5 "checkpoint_every=2: 5 rows, none twice"
# checkpoint=false: no checkpoint, so nothing to resume; a bad value is refused.
"$MODLAB" run "$recipe" --out "$t/off" --set checkpoint=false --set epochs=2 > /dev/null 2>&1
dir=$(ls -d "$t"/off/resumable-*)
ok $([ ! -e "$dir/checkpoint.safetensors" ] && [ -s "$dir/model.safetensors" ]; echo $?) \
   "checkpoint=false: a model, no checkpoint"
out=$("$MODLAB" run --resume "$dir" 2>&1)
is $? 1 "checkpoint=false: --resume fails"
like "$out" "ran with checkpoint=false" "... saying why"
out=$("$MODLAB" run "$recipe" --out "$t/bad" --set checkpoint_every=0 2>&1)
like "$out" "'checkpoint_every' (epochs between checkpoints) must be a whole number" \
     "checkpoint_every=0 is refused"

# A sweep trial killed after a checkpoint continues from it when run again (modlab trial),
# keeping a copy of the stopped attempt in attempts/, and ends as the plain run did.
pause_sweep "$t/sw" res "$recipe" 5 mid-epoch:3
trial_pid "$j" 300
wait_stop "$tpid"
is "$state" T "sweep: the trial stopped in epoch 3"
kill -KILL "$tpid" 2>/dev/null
wait "$spid"
out=$("$MODLAB" trial "$t/sw/runs/res" --index 0 2>&1)
ok $? "sweep: modlab trial runs the killed trial again"
like "$(tail -2 "$j")" '"attempt":2,"event":"started".*"resumed":true' \
     "sweep: attempt 2 resumed from the checkpoint"
like "$(tail -1 "$j")" '"attempt":2.*"event":"finished"' "sweep: and finished"
tdir=$(ls -d "$t"/sw/runs/res/trials/*)
ok $(cmp -s "$tdir/model.safetensors" "$ref/model.safetensors"; echo $?) \
   "sweep: the trial's model.safetensors is the uninterrupted run's"
ok $(cmp -s "$tdir/metrics.jsonl" "$ref/metrics.jsonl"; echo $?) "sweep: and its metrics.jsonl"
ok $(ls "$t/sw/runs/res/attempts/" | grep -q -- '-1$'; echo $?) \
   "sweep: attempts/ keeps the stopped attempt"

# With augmentation (issue 22): every training example through a transform drawing from
# its own stream; a killed and resumed run still ends byte-identical to one never stopped,
# and a rerun gives the same bytes.
"$MODLAB" run "$recipe" --out "$t/augref" --set augment=true > "$t/augref.log" 2>&1
ok $? "uninterrupted augmented run"
ref=$(ls -d "$t"/augref/resumable-*)
plain=$want
want=$(grep '^final' "$t/augref.log")
[ -n "$want" ] && [ "$want" != "$plain" ]; ok $? "augmentation changes the numbers"
like "$(cat "$ref/config.json")" '"augment":\[{"name":"gaussian_noise","options":{"std":0.05' \
    "config.json records the transforms"
kill_at mid-epoch:3 "$t/aug" --set augment=true; ok $? "augmented run stopped in epoch 3, killed"
resumes_to_ref "augmented"
"$MODLAB" run "$recipe" --out "$t/augref2" --set augment=true > /dev/null 2>&1
ok $(cmp -s "$ref/model.safetensors" "$(ls -d "$t"/augref2/resumable-*)/model.safetensors"; \
    echo $?) "an augmented rerun: model.safetensors byte-identical"
done_testing
