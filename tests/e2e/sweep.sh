# SPDX-License-Identifier: MIT
# modlab sweep end to end: the exact dry-run list, a local run with -j 2 and its journal,
# results and run directories, re-running skips finished trials, failed and crashed trials,
# retries, timeouts, hyperband, unread parameters (warning / strict error), bad files, export.
. "$top_srcdir/tests/support/tap.sh"
. "$top_srcdir/tests/support/e2e.sh"
sweep_setup sweep/recipe.lua


grid_sweep grid.yaml grid recipe.lua valid_accuracy maximize <<'EOF'
  optimizer:
    parameters:
      lr: {values: [0.05, 1e-1]}
  model.width: {values: [8, 16]}
  epochs: {value: 2}
  dropout: {value: 0.5}
modlab:
  repeats: {count: 2, seed_param: seed}
  strict: false
EOF

out=$("$MODLAB" sweep grid.yaml --dry-run 2>&1); ok $? "dry run exits 0"
is "$out" "sweep grid: 8 trials (method grid, 2 repeats) -> $t/runs/grid
   0 d3a9317f75db r0 optimizer.lr=0.05 model.width=8 epochs=2 dropout=0.5 seed=1
   1 6bc4b7954e69 r1 optimizer.lr=0.05 model.width=8 epochs=2 dropout=0.5 seed=2
   2 f45b2f3e577d r0 optimizer.lr=0.05 model.width=16 epochs=2 dropout=0.5 seed=1
   3 acf29787acf0 r1 optimizer.lr=0.05 model.width=16 epochs=2 dropout=0.5 seed=2
   4 0ac6d9bf349c r0 optimizer.lr=0.1 model.width=8 epochs=2 dropout=0.5 seed=1
   5 1f887fab76f2 r1 optimizer.lr=0.1 model.width=8 epochs=2 dropout=0.5 seed=2
   6 e4594d367771 r0 optimizer.lr=0.1 model.width=16 epochs=2 dropout=0.5 seed=1
   7 cb236bc5b444 r1 optimizer.lr=0.1 model.width=16 epochs=2 dropout=0.5 seed=2" \
   "the dry run prints the exact trial list (ids are hashes of the parameters)"
ok $([ ! -e runs/grid ]; echo $?) "the dry run writes nothing"

cp "$top_srcdir/tests/fixtures/sweep/wandb_example.yaml" wandb.yaml
a=$("$MODLAB" sweep wandb.yaml --dry-run 2>&1); b=$("$MODLAB" sweep wandb.yaml --dry-run 2>&1)
is "$a" "$b" "a random W&B sweep: the same trial list every time (fixed sampler seed)"
like "$a" "6 trials (method random, sampler seed 0" "W&B file read unchanged: run_cap 6"
like "$a" "model.depth=[123] " "nested parameters flattened with dots, int min/max are ints"
like "$a" "warning: 'command' is ignored" "W&B command noted as ignored"

out=$("$MODLAB" sweep grid.yaml -j 2 2>&1); rc=$?
is "$rc" 0 "the grid runs with -j 2"
d="$t/runs/grid"
id0=d3a9317f75db
is "$(count '"event":"started"' "$d/journal.jsonl")" 8 "journal: 8 started"
is "$(count '"event":"finished"' "$d/journal.jsonl")" 8 "journal: 8 finished"
max=$(events "$d/journal.jsonl" | awk '$3 == "started" { n++ } $3 == "finished" { n-- } n > m { m = n } END { print m }')
is "$max" 2 "-j 2: two trials run at once, never more"
is "$(wc -l < "$d/results.csv" | tr -d ' ')" 9 "results.csv: a header and 8 rows"
like "$(head -1 "$d/results.csv")" "rank,index,trial,repeat,status,optimizer.lr,model.width,epochs,dropout,seed,valid_accuracy" \
     "results.csv columns: parameters and the metric"
is "$(cut -d, -f5 "$d/results.csv" | sort | uniq -c | tr -s ' ')" " 8 finished
 1 status" "every row finished"
sorted=$(cut -d, -f11 "$d/results.csv" | sed 1d)
is "$sorted" "$(printf '%s\n' "$sorted" | sort -g -r)" "rows sorted by the goal (maximize)"
is "$(wc -l < "$d/results_by_config.csv" | tr -d ' ')" 5 "results_by_config.csv: 4 configs"
like "$out" "mean over repeats" "the summary shows the mean over repeats"
n=0; for m in "$d"/trials/*/meta.json; do grep -q '"status":"finished"' "$m" && n=$((n + 1)); done
is "$n" 8 "8 trial run directories with meta.json finished"
like "$(cat "$d"/trials/$id0/config.json)" '"optimizer.lr":0.05' "trial 0 got its parameters"
like "$(cat "$d"/trials/$id0/log.txt)" "sweep parameter dropout never read" \
     "a parameter the recipe never reads: a warning in the trial log"
like "$out" "warning: sweep parameter dropout never read" "... and in the sweep summary"

lines=$(wc -l < "$d/journal.jsonl")
out=$("$MODLAB" sweep grid.yaml -j 2 2>&1); rc=$?
is "$rc" 0 "re-running the same command succeeds"
like "$out" "8 trials, 8 done, 0 to run" "... and runs nothing"
is "$(wc -l < "$d/journal.jsonl")" "$lines" "... and adds no journal line"
out=$("$MODLAB" trial "$d" --index 3 2>&1); rc=$?
is "$rc" 0 "modlab trial on a finished trial exits 0"
like "$out" "already finished: nothing to do" "... and does nothing"
out=$("$MODLAB" sweep pending "$d"); is "$out" "" "sweep pending: nothing left"

# strict (the default): an unread parameter fails the first trial and stops the sweep
# (more in tests/e2e/sweep_checks.sh).
sed 's/^  strict: false/  strict: true/; s/^name: grid/name: strict/' grid.yaml > strict.yaml
out=$("$MODLAB" sweep strict.yaml 2>&1); rc=$?
is "$rc" 1 "strict: the sweep fails"
like "$(cat runs/strict/logs/*.log)" "error: sweep parameter dropout never read.*strict" \
     "strict: the trial's error names the parameter"
is "$(count '"event":"failed"' runs/strict/journal.jsonl)" 1 "strict: the first trial failed"
is "$(count '"event":"started"' runs/strict/journal.jsonl)" 1 "... and no other trial started"

# Failures: a recipe error and a crash are marked failed, the others go on; retries.
grid_sweep fail.yaml fail recipe.lua valid_loss minimize <<'EOF'
  fail: {values: ["no", error, crash]}
  epochs: {value: 1}
  size: {value: 200}
modlab: {retries: 1, workers: 2}
EOF
out=$("$MODLAB" sweep fail.yaml 2>&1); rc=$?
is "$rc" 1 "a sweep with failed trials exits 1"
is "$(count '"event":"finished"' runs/fail/journal.jsonl)" 1 "the other trial finished"
is "$(count '"event":"failed"' runs/fail/journal.jsonl)" 4 "two failures, each tried twice (retries: 1)"
like "$(grep crash runs/fail/results.csv)" "failed" "the crashed trial is failed in results.csv"
like "$(cat runs/fail/journal.jsonl)" '"signal":9' "the crash is recorded with its signal"
like "$(cat runs/fail/journal.jsonl)" '"error":"the recipe failed' "the recipe error is recorded"
out=$("$MODLAB" sweep fail.yaml 2>&1)
like "$out" "3 trials, 1 done, 2 to run" "re-running re-runs only the failed trials"
like "$(events runs/fail/journal.jsonl)" " 3 started" "... as attempt 3"

# A per-trial timeout.
cat > slow.yaml <<'EOF'
program: recipe.lua
method: grid
parameters:
  sleep: {value: 30}
modlab: {timeout: 1s}
EOF
out=$("$MODLAB" sweep slow.yaml --out slow 2>&1); rc=$?
is "$rc" 1 "a trial over its timeout fails the sweep"
like "$(cat slow/journal.jsonl)" '"error":"timed out after 1s","event":"killed"' "... marked killed"

# Hyperband: with one worker, a trial that learns nothing stops at the first rung.
cat > hb.yaml <<'EOF'
program: recipe.lua
method: grid
metric: {name: valid_loss, goal: minimize}
parameters:
  optimizer.lr: {values: [0.1, 1.0e-6]}
  epochs: {value: 5}
  epoch_sleep: {value: 0.3}
early_terminate: {type: hyperband, min_iter: 1, eta: 2}
EOF
out=$("$MODLAB" sweep hb.yaml --out hb 2>&1); rc=$?
is "$rc" 0 "a sweep with early termination succeeds"
is "$(count '"event":"finished"' hb/journal.jsonl)" 1 "the learning trial finished"
is "$(count '"event":"pruned"' hb/journal.jsonl)" 1 "the other one was pruned"
like "$(grep pruned hb/journal.jsonl)" "hyperband: below the top 1/2 at iteration 1" "... at rung 1"
short=$(for m in hb/trials/*/metrics.jsonl; do wc -l < "$m"; done | sort -n | head -1)
ok $([ "${short:-9}" -lt 5 ]; echo $?) \
   "the pruned trial logged fewer than 5 epochs"
is "$(cat hb/trials/*/meta.json | grep -c '"status":"pruned"')" 1 \
   "the pruned trial's meta.json says pruned"
is "$(cat hb/trials/*/meta.json | grep -c '"status":"running"')" 0 "no meta.json says running"

# Without a watching sweep (what Slurm array tasks do): `sweep plan`, then `modlab trial`
# runs by hand; each trial compares itself at the rungs with what the others logged.
out=$("$MODLAB" sweep plan hb.yaml --out hbt 2>&1)
like "$out" "2 trials, 0 done, 2 to run" "sweep plan writes the directory and runs nothing"
ok $([ -s hbt/sweep.json ] && [ ! -e hbt/journal.jsonl ]; echo $?) "... sweep.json, no journal"
"$MODLAB" trial hbt --index 0 > /dev/null 2>&1; is "$?" 0 "trial 0 by hand: finished"
out=$("$MODLAB" trial hbt --index 1 2>&1); rc=$?
is "$rc" 1 "trial 1 by hand stops early"
like "$(grep '"event":"pruned"' hbt/journal.jsonl)" "hyperband: below the top 1/2 at iteration 1" \
     "... journaled as pruned at rung 1 by the trial itself"
"$MODLAB" trial hbt --index 1 > /dev/null 2>&1; is "$?" 0 "a pruned trial counts as done"

# The ranking value: best, and mean of the last k, as the file says.
for how in "best" "mean_last_k, k: 2"; do
    printf 'program: recipe.lua\nmethod: grid\nmetric: {name: valid_loss, goal: minimize}\nparameters:\n  epochs: {value: 4}\nmodlab: {metric_summary: %s}\n' "$how" > how.yaml
    "$MODLAB" sweep how.yaml --out how --quiet > /dev/null 2>&1
    got=$(sed -n 2p how/results.csv | cut -d, -f7)
    want=$(sed 's/.*"valid_loss":\([-0-9.e]*\).*/\1/' how/trials/*/metrics.jsonl | awk -v how="$how" '
        { v[NR] = $1 } END {
            if (how == "best") { b = v[1]; for (i = 2; i <= NR; i++) if (v[i] < b) b = v[i]; printf "%.17g\n", b }
            else printf "%.17g\n", (v[NR - 1] + v[NR]) / 2 }')
    ok $(awk -v a="$got" -v b="$want" 'BEGIN { d = a - b; exit !(d < 1e-12 && d > -1e-12) }'; echo $?) \
       "metric_summary $how: $got from metrics.jsonl ($want)"
    rm -rf how
done

# metric.target: once a trial reaches it, no new trial starts (W&B semantics).
cat > target.yaml <<'EOF'
program: recipe.lua
method: grid
metric: {name: valid_accuracy, goal: maximize, target: 0.1}
parameters:
  optimizer.lr: {values: [0.05, 0.1, 0.2]}
  epochs: {value: 1}
EOF
out=$("$MODLAB" sweep target.yaml --out target 2>&1); rc=$?
is "$rc" 0 "a sweep that reaches its target exits 0"
is "$(count '"event":"started"' target/journal.jsonl)" 1 "no trial started after the target was reached"
like "$out" "reached the target valid_accuracy=0.1" "... and it says so"
out=$("$MODLAB" sweep target.yaml --out target 2>&1); rc=$?
like "$rc $out" "^0 .*nothing more to run" "re-running a sweep that reached its target runs nothing"

# Bad files: errors with file, line and column, exit 2.
printf 'program: recipe.lua\nmethod: grid\nparameters:\n  lr: {values: []}\n' > empty.yaml
out=$("$MODLAB" sweep empty.yaml 2>&1); rc=$?
is "$rc" 2 "an empty grid is a usage error"
like "$out" "empty.yaml:4:16: values of parameter 'lr' is empty" "... with file:line:col"
printf 'program: recipe.lua\nmethod: grid\nparameters:\n  lr: {values: [1]}\nmodlab: {workers: two}\n' > type.yaml
out=$("$MODLAB" sweep type.yaml 2>&1)
like "$out" "type.yaml:5:19: modlab.workers must be an integer" "a wrong type: file:line:col"
printf 'program: recipe.lua\nmethod: grid\nparameters:\n  lr: [1, 2\n' > broken.yaml
out=$("$MODLAB" sweep broken.yaml 2>&1)
like "$out" "broken.yaml:[0-9]*:[0-9]*: " "malformed YAML: file:line:col"
printf 'program: missing.lua\nmethod: grid\nparameters:\n  lr: {values: [1]}\n' > noprog.yaml
out=$("$MODLAB" sweep noprog.yaml 2>&1); rc=$?
like "$rc $out" "2 .*program 'missing.lua' not found" "a missing program is named"
out=$("$MODLAB" sweep grid.yaml -j 0 2>&1); is "$?" 2 "-j 0 is a usage error"

# Export for W&B strips modlab: and nothing else.
"$MODLAB" sweep export grid.yaml --format wandb > exported.yaml; ok $? "sweep export runs"
is "$(cat exported.yaml)" "$(sed '/^modlab:/,$d' grid.yaml)" "export drops the modlab: block"
"$MODLAB" sweep export wandb.yaml --format wandb | cmp -s - wandb.yaml
ok $? "export of a pure W&B file gives it back unchanged"
python3 "$top_srcdir/tests/python/validate_wandb.py" wandb.yaml exported.yaml > schema.log 2>&1
case $? in
    0) ok 0 "the W&B example and the exported grid validate against W&B's sweep schema" ;;
    77) ok 0 "# SKIP python3-jsonschema or python3-yaml missing: no W&B schema check" ;;
    *) ok 1 "W&B schema check"; sed 's/^/#   /' schema.log ;;
esac
python3 "$top_srcdir/tests/python/validate_wandb.py" grid.yaml > schema.log 2>&1
case $? in
    1) like "$(cat schema.log)" "'modlab' was unexpected" "... while the file with modlab: does not (hence export)" ;;
    77) ok 0 "# SKIP python3-jsonschema or python3-yaml missing" ;;
    *) ok 1 "the file with modlab: should fail W&B's schema" ;;
esac
done_testing
