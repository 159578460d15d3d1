# SPDX-License-Identifier: MIT
# Mistakes in a sweep file that the first finished trial shows (issue 18, item 10): a
# metric.name the trial never logged and a parameter the recipe never read stop the sweep
# (modlab.strict, the default) naming what was logged or read, with a "did you mean"; with
# `modlab: {strict: false}` they are warnings printed when that trial ends, not at the end.
. "$top_srcdir/tests/support/tap.sh"
. "$top_srcdir/tests/support/e2e.sh"
sweep_setup


# sweep_stops NAME WHAT: `modlab sweep NAME.yaml -j 1` fails (exit 1); its output in $out.
sweep_stops() {
    out=$("$MODLAB" sweep "$1.yaml" -j 1 2>&1)
    is "$?" 1 "$2: the sweep fails"
}

# A quick recipe; `hold: FILE` makes a trial wait until FILE exists.
cat > quick.lua <<'EOF'
local ml = require "modlab"
local ffi = require "ffi"
pcall(ffi.cdef, "int usleep(unsigned int usec);")
local hold = ml.arg("hold", "none")
if hold ~= "none" then
  for _ = 1, 600 do
    local f = io.open(hold)
    if f then f:close() break end
    ffi.C.usleep(100000)
  end
end
local data = assert(ml.dataset("synthetic", { kind = "spirals", size = 200, seed = 7 }))
ml.train {
  model = ml.sequential { ml.layer("linear", { out = 8 }), ml.layer("relu"),
                          ml.layer("linear", { out = 2 }) },
  data = data, loss = "cross_entropy", batch = 32, seed = 1, save = false,
  optimizer = ml.optimizer("sgd", { lr = ml.arg("optimizer.lr", 0.05) }), epochs = 1,
}
EOF

# metric.name misspelt: an error after the first trial, which names the logged metrics.
grid_sweep metric.yaml metric quick.lua valid_acuracy maximize <<'EOF'
  optimizer.lr: {values: [0.01, 0.02, 0.05, 0.1]}
EOF
sweep_stops metric "a metric no trial logged"
like "$out" "error: trial 0 ([0-9a-f]*): metric.name 'valid_acuracy' was never logged" \
     "... naming the metric and the trial"
like "$out" "it logged: .*train_loss.*valid_accuracy" "... and the names it did log"
like "$out" "did you mean 'valid_accuracy'?" "... with a did-you-mean"
is "$(count '"event":"started"' runs/metric/journal.jsonl)" 1 "... starting no more trials"
like "$out" "stopping the sweep" "... and says so"

# A parameter the recipe never reads: the same.
grid_sweep param.yaml param quick.lua valid_accuracy maximize <<'EOF'
  optimizer.lrr: {values: [0.01, 0.02, 0.05, 0.1]}
EOF
sweep_stops param "a parameter the recipe never reads"
like "$out" "error: trial 0 ([0-9a-f]*): sweep parameter optimizer.lrr never read" \
     "... naming the parameter"
like "$out" "did you mean 'optimizer.lr' for 'optimizer.lrr'?" "... with a did-you-mean"
is "$(count '"event":"started"' runs/param/journal.jsonl)" 1 "... starting no more trials"
is "$(count '"event":"failed"' runs/param/journal.jsonl)" 1 "... the trial is failed, not retried"

# strict: false: both are warnings, printed when the first trial ends: trial 1 waits for a
# file this test creates only after it has seen the warnings.
grid_sweep loose.yaml loose quick.lua valid_acuracy maximize <<EOF
  optimizer.lrr: {value: 0.05}
  hold: {values: [none, "$t/go"]}
modlab: {strict: false}
EOF
"$MODLAB" sweep loose.yaml -j 1 > loose.out 2> loose.err &
pid=$!
wait_for loose.err "warning: trial 0 .*never read" 1
wait_for loose.err "warning: trial 0 .*metric.name 'valid_acuracy'" 1
held=$(cat loose.err)
touch "$t/go"
wait $pid; rc=$?
like "$held" "warning: trial 0 ([0-9a-f]*): metric.name 'valid_acuracy' was never logged.*did you mean 'valid_accuracy'" \
     "strict: false: the metric warning comes when the first trial ends"
like "$held" "warning: trial 0 ([0-9a-f]*): sweep parameter optimizer.lrr never read.*did you mean 'optimizer.lr'" \
     "... and so does the parameter warning"
is "$rc" 0 "... and the sweep goes on and succeeds"
is "$(count '"event":"finished"' runs/loose/journal.jsonl)" 2 "... both trials finished"
is "$(grep -c 'warning: trial [0-9]* .*metric.name' loose.err)" 1 "... each warning said once"
# A metric the recipe logs itself (ml.log) is a metric a sweep can use.
cat > logged.lua <<'EOF2'
local ml = require "modlab"
local data = assert(ml.dataset("synthetic", { kind = "spirals", size = 200, seed = 7 }))
local lr = ml.arg("optimizer.lr", 0.05)
ml.train {
  model = ml.sequential { ml.layer("linear", { out = 2 }) }, data = data, batch = 32,
  optimizer = ml.optimizer("sgd", { lr = lr }), epochs = 2, save = false, quiet = true,
  on_epoch = function(epoch) ml.log { score = lr * 100 + epoch } end,
}
EOF2
grid_sweep logged.yaml logged logged.lua score maximize <<'EOF2'
  optimizer.lr: {values: [0.01, 0.03]}
EOF2
"$MODLAB" sweep logged.yaml -j 1 > logged.out 2>&1
ok $? "a sweep on a metric logged with ml.log runs"
is "$(count '"event":"finished"' runs/logged/journal.jsonl)" 2 "... both trials finish"
like "$(cat runs/logged/journal.jsonl)" '"metric":5[,}]' "... the best trial's metric is its logged score (3 + 2)"
done_testing
