# SPDX-License-Identifier: MIT
# Crash safety of sweeps: kill -9 the sweep mid-run and re-run the command (no finished trial
# runs again, no journal line lost or duplicated, results.csv complete); Ctrl-C stops cleanly
# and leaves a state that resumes.
. "$top_srcdir/tests/support/tap.sh"
. "$top_srcdir/tests/support/e2e.sh"
sweep_setup sweep/recipe.lua

grid_sweep s.yaml resume recipe.lua valid_accuracy maximize <<'EOF'
  optimizer.lr: {values: [0.02, 0.05, 0.1, 0.2]}
  model.width: {values: [8, 16, 32]}
  epochs: {value: 3}
  epoch_sleep: {value: 0.1}
EOF
d="$t/runs/resume"
MODLAB_RUNS="$t/runs" "$MODLAB" sweep s.yaml -j 2 > first.log 2>&1 &
pid=$!
wait_for "$d/journal.jsonl" '"event":"finished"' 4 300
kill -9 $pid
wait $pid 2>/dev/null
sleep 0.3   # the trials die with the sweep (PR_SET_PDEATHSIG)
ok $(! pgrep -f "modlab trial $d" > /dev/null; echo $?) "kill -9 of the sweep ends its trials"
cp "$d/journal.jsonl" before.jsonl
n_before=$(wc -l < before.jsonl)
finished_before=$(events before.jsonl | awk '$3 == "finished" { print $1 }' | sort)
nf=$(printf '%s\n' "$finished_before" | grep -c .)
ok $([ "$nf" -ge 4 ] && [ "$nf" -lt 12 ]; echo $?) "killed mid-run: $nf of 12 trials finished"

out=$(MODLAB_RUNS="$t/runs" "$MODLAB" sweep s.yaml -j 2 2>&1); rc=$?
is "$rc" 0 "re-running the same command completes the sweep"
like "$out" "12 trials, $nf done, $((12 - nf)) to run" "... running only what did not finish"
ok $(head -n "$n_before" "$d/journal.jsonl" | cmp -s - before.jsonl; echo $?) \
   "no journal line lost or changed: the old journal is a prefix of the new one"
again=0
for id in $finished_before; do
    tail -n +"$((n_before + 1))" "$d/journal.jsonl" | grep -q "\"trial\":\"$id\"" && again=$((again + 1))
done
is "$again" 0 "no finished trial ran again"
is "$(events "$d/journal.jsonl" | sort | uniq -d)" "" "no journal line duplicated (trial, attempt, event)"
is "$(events "$d/journal.jsonl" | awk '$3 == "finished" { print $1 }' | sort | uniq -c | awk '$1 != 1' | wc -l | tr -d ' ')" 0 \
   "every trial finished exactly once"
is "$(count '"event":"finished"' "$d/journal.jsonl")" 12 "12 finished lines"
is "$(sed 1d "$d/results.csv" | grep -c ',finished,')" 12 "results.csv complete: 12 finished rows"
ok $(sed 1d "$d/results.csv" | cut -d, -f9 | grep -q '^$'; [ $? -ne 0 ]; echo $?) \
   "every row has its metric"
interrupted=$(events before.jsonl | awk '$3 == "started" { s[$1] = 1 } $3 == "finished" { delete s[$1] } END { for (k in s) print k }')
if [ -n "$interrupted" ]; then
    id=$(printf '%s\n' "$interrupted" | head -1)
    like "$(events "$d/journal.jsonl" | grep "^$id ")" "$id 2 finished" \
         "a trial killed mid-run ran again as attempt 2"
    ok $([ -d "$d/attempts" ] && ls "$d/attempts" | grep -q "^$id-1$"; echo $?) \
       "... and its first attempt's directory was kept in attempts/"
fi

# Ctrl-C (SIGINT): the running trials stop, are journaled as interrupted, the exit is 130.
rm -rf "$t/runs"
MODLAB_RUNS="$t/runs" "$MODLAB" sweep s.yaml -j 2 > int.log 2>&1 &
pid=$!
wait_for "$d/journal.jsonl" '"event":"finished"' 2 300
wait_for "$d/journal.jsonl" '"event":"started"' 4 300
kill -INT $pid
wait $pid; rc=$?
is "$rc" 130 "Ctrl-C: the sweep exits 130"
ok $(! pgrep -f "modlab trial $d" > /dev/null; echo $?) "Ctrl-C: no trial left running"
n_int=$(count '"event":"interrupted"' "$d/journal.jsonl")
ok $([ "$n_int" -ge 1 ]; echo $?) "Ctrl-C: $n_int running trial(s) journaled as interrupted"
like "$(cat int.log)" "re-run .modlab sweep s.yaml. to resume" "Ctrl-C: says how to resume"
is "$(events "$d/journal.jsonl" | awk '$3 == "started" { s[$1] = 1 } $3 != "started" { delete s[$1] } END { for (k in s) print k }')" "" \
   "Ctrl-C: every started trial has an end line"
out=$(MODLAB_RUNS="$t/runs" "$MODLAB" sweep "$d" --resume -j 2 2>&1); rc=$?
is "$rc" 0 "sweep DIR --resume completes it"
is "$(count '"event":"finished"' "$d/journal.jsonl")" 12 "... 12 finished"
out=$("$MODLAB" sweep "$t/nothing" --resume 2>&1); is "$?" 2 "--resume of nothing is a usage error"
done_testing
