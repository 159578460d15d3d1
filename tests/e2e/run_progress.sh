# SPDX-License-Identifier: MIT
# What a run and a sweep print while they work (issue 21): the model summary table and
# the resolved configuration at the start of a run (every key with MODLAB_VERBOSE=1), the
# whole run's elapsed time, ETA and best validation, and a sweep's live line. Each is
# checked on a pseudo-terminal (util-linux script: \r-updated lines) and with output to
# files (plain lines, no \r and no escape codes).
. "$top_srcdir/tests/support/tap.sh"
. "$top_srcdir/tests/support/e2e.sh"
command -v script > /dev/null 2>&1 || skip_all "no script(1) (util-linux) for a pseudo-terminal"
sweep_setup sweep/recipe.lua
recipe="$top_srcdir/tests/fixtures/runs/tiny.lua"
esc=$(printf '\033')
cr=$(printf '\r')

# ---- a run, output to files ---------------------------------------------------------
"$MODLAB" run "$recipe" --out "$t/runs" --set epochs=3 > run.out 2> run.err
ok $? "a tiny run with stdout and stderr to files"
dir=$(sed -n 's/.* -> \(.*\)$/\1/p' run.out)
ok $([ -d "$dir" ]; echo $?) "... its run directory is named on stdout"

# The model: linear 2->16, relu, linear 16->2 (tests/fixtures/runs/tiny.lua).
want_params=$(( (2 * 16 + 16) + (16 * 2 + 2) ))
err=$(cat run.err)
like "$err" '^ *node  *layer  *output  *params$' "summary: a header of node, layer, output, params"
like "$err" '^ *input  *-  *2  *-$' "summary: the input row with the example's shape"
like "$err" '^ *1  *linear  *16  *48$' "summary: node 1 linear, 16 out, 48 parameters"
like "$err" '^ *2  *relu  *16  *0$' "summary: node 2 relu, no parameters"
like "$err" '^ *3  *linear  *2  *34$' "summary: node 3 linear, 2 out, 34 parameters"
rows=$(sed -n '/^ *node  *layer/,/^total:/p' run.err | sed '1d;$d' | wc -l | tr -d ' ')
is "$rows" 4 "summary: one row for the input and one per layer, nothing else"
like "$err" "^total: $want_params trainable parameters\$" "summary: the total is $want_params"
is "$(grep -o '"params":[0-9]*' "$dir/meta.json")" "\"params\":$want_params" \
   "... the count meta.json records"
like "$err" '^config: dataset synthetic, epochs 3, batch 16, optimizer adam lr=0.01, seed 1' \
     "config: the short form names the key settings"
like "$err" "^run dir: $dir " "config: and the run directory"
is "$(grep -c '^  [a-z_]* = ' run.err)" 0 "config: no key-by-key listing unless verbose"

# Plain lines: one per epoch, with the whole run's elapsed time, ETA and best validation.
out=$(cat run.out)
is "$(grep -c '^epoch [1-3]/3  loss ' run.out)" 3 "one plain line per epoch"
like "$out" '^epoch 1/3  .*  elapsed [0-9]*:[0-9][0-9]  ETA [0-9]*:[0-9][0-9]  best valid acc 0\.[0-9]\{4\} @1$' \
     "epoch 1's line: elapsed, ETA and the best validation so far (epoch 1)"
like "$out" '^epoch 3/3  .*  ETA 0:00  best valid acc 0\.[0-9]\{4\} @[1-3]$' \
     "the last epoch's line: nothing left (ETA 0:00)"
# The best so far is the highest valid_accuracy of the epochs so far (metrics.jsonl).
best=$(sed -n 's/.*"valid_accuracy":\([0-9.e-]*\).*/\1/p' "$dir/metrics.jsonl" |
       awk '{ if (NR == 1 || $1 > b) { b = $1; e = NR } } END { printf "%.4f @%d", b, e }')
like "$out" "^epoch 3/3 .* best valid acc $best\$" "... and its best is metrics.jsonl's ($best)"
is "$(grep -c "$cr" run.out run.err | awk -F: '{ s += $2 } END { print s }')" 0 \
   "no carriage return in output to files"
is "$(grep -c "$esc" run.out run.err | awk -F: '{ s += $2 } END { print s }')" 0 \
   "no escape code in output to files"

# Verbose: every key of config.json, one a line.
MODLAB_VERBOSE=1 "$MODLAB" run "$recipe" --out "$t/runs" --set epochs=1 > v.out 2> v.err
ok $? "MODLAB_VERBOSE=1: the run finishes"
nkeys=$(grep -c '^  [a-z_]* = ' v.err)
ok $([ "$nkeys" -ge 15 ]; echo $?) "MODLAB_VERBOSE=1 lists the configuration key by key ($nkeys keys)"
like "$(cat v.err)" '^  blas_threads = [0-9]' "... with keys the short form leaves out (blas_threads)"
like "$(cat v.err)" '^  optimizer = {"name":"adam","options":{"lr":0.01' "... the optimizer in full"
MODLAB_VERBOSE=0 "$MODLAB" run "$recipe" --out "$t/runs" --set epochs=1 > /dev/null 2> v0.err
is "$(grep -c '^  [a-z_]* = ' v0.err)" 0 "MODLAB_VERBOSE=0 is not verbose"

# Tied weights: the second application shows no parameters of its own, so rows add up.
cat > tied.lua <<'L'
local ml = require "modlab"
local data = assert(ml.dataset("synthetic", { kind = "spirals", size = 64, seed = 3 }))
local lin = ml.layer("linear", { out = 2 })
ml.train { model = ml.graph(function(x) return ml.layer("linear", { out = 2 })(lin(lin(x))) end),
           data = data, optimizer = ml.optimizer("sgd", { lr = 0.1 }), epochs = 1, batch = 16 }
L
"$MODLAB" run tied.lua --out "$t/runs" > /dev/null 2> tied.err; ok $? "a graph with tied weights runs"
like "$(cat tied.err)" '^ *2  *linear (tied to 1)  *2  *-$' "summary: the tied node names the node it shares"
sum=$(sed -n '/^ *node  *layer/,/^total:/p' tied.err | sed '1d;$d' | awk '$NF != "-" { s += $NF } END { print s }')
is "$sum" 12 "summary: the rows add up to 2 linear layers of 2x2+2"
like "$(cat tied.err)" '^total: 12 trainable parameters$' "... which is the total"

# ---- a run on a pseudo-terminal -----------------------------------------------------
script -qfec "'$MODLAB' run '$recipe' --out '$t/runs' --set epochs=3 --set size=2000" /dev/null \
    > pty.out 2>&1
ok $? "the run on a pseudo-terminal finishes"
pty=$(tr '\r' '\n' < pty.out)
like "$pty" "^epoch 1/3 \[[= ]*\] *[0-9]*% loss .* | elapsed [0-9]*:[0-9][0-9]  ETA [0-9]*:[0-9][0-9]  best -$esc\[K" \
     "terminal: epoch 1's bar carries elapsed and ETA, and no best before a validation"
like "$pty" "^epoch 2/3 \[[= ]*\] 100% .* | elapsed [0-9]*:[0-9][0-9]  ETA [0-9]*:[0-9][0-9]  best valid acc 0\.[0-9]\{4\} @1$esc\[K" \
     "terminal: epoch 2's bar carries the best validation of epoch 1"
ok $(grep -q "${cr}epoch 3/3 \[" pty.out; echo $?) "terminal: the bar is redrawn with \\r"
like "$pty" '^total: 82 trainable parameters' "terminal: the summary is there too"

# ---- a sweep, output to files, then on a pseudo-terminal ----------------------------
grid_sweep live.yaml live recipe.lua valid_accuracy maximize <<'EOF'
  model.width: {values: [4, 8]}
  fail: {values: ["no", "error"]}
  epochs: {value: 2}
EOF
"$MODLAB" sweep live.yaml -j 2 > sweep.out 2> sweep.err
is $? 1 "a sweep with two failing trials exits 1"
is "$(grep -c '^sweep: [0-9] of 4 done, [0-2] running, [0-2] failed, 0 pruned, ETA ' sweep.err)" 4 \
   "one plain live line per trial ended"
best=$(sed -n 's/.*finished trial .* valid_accuracy=\([0-9.]*\)$/\1/p' sweep.out | sort -g | tail -1)
like "$(tail -1 sweep.err)" "^sweep: 4 of 4 done, 0 running, 2 failed, 0 pruned, ETA 0:00, best so far valid_accuracy=$best\$" \
     "the last one: all done, 2 failed, the best finished trial's metric ($best)"
like "$(head -1 sweep.err)" "^sweep: 1 of 4 done" "the first after the first trial ended"
is "$(grep -c "$cr" sweep.out sweep.err | awk -F: '{ s += $2 } END { print s }')" 0 \
   "sweep: no carriage return in output to files"
is "$(grep -c "$esc" sweep.out sweep.err | awk -F: '{ s += $2 } END { print s }')" 0 \
   "sweep: no escape code in output to files"

rm -rf runs/live
script -qfec "'$MODLAB' sweep live.yaml -j 2" /dev/null > sweep.pty 2>&1
is $? 1 "the sweep on a pseudo-terminal exits 1 as well"
ok $(grep -q "${cr}sweep: 4 of 4 done, 0 running, 2 failed, 0 pruned, ETA 0:00, best so far valid_accuracy=0\.[0-9]*$esc\[K" sweep.pty; echo $?) \
   "terminal: the live line is redrawn with \\r up to 4 of 4 done"
ok $(grep -q "${cr}sweep: 0 of 4 done, [12] running, 0 failed, 0 pruned, ETA -, best so far valid_accuracy=-$esc\[K" sweep.pty; echo $?) \
   "terminal: before any trial ends: no ETA and no best yet"
# The launcher's own lines are whole: each starts a line of its own (the live line is
# cleared before it), never glued after the live line's text.
ok $(grep -q "valid_accuracy=[-0-9.]*$esc\[K$cr$esc\[K\[[0-9:]*\] " sweep.pty; echo $?) \
   "terminal: the live line is cleared before the launcher prints a line"
done_testing
