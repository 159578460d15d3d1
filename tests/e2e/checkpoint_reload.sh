# SPDX-License-Identifier: MIT
# A run's model.safetensors, loaded into a freshly built model, evaluates to exactly the
# accuracy the run reported.
. "$top_srcdir/tests/support/tap.sh"
make_tmpdir
"$MODLAB" run "$top_srcdir/recipes/synthetic.lua" --set epochs=3 --out "$t/runs" > "$t/out" 2>&1
ok $? "train a model"
dir=$(ls -d "$t"/runs/synthetic-*)
ok $([ -s "$dir/model.safetensors" ]; echo $?) "the run saved model.safetensors"
cat > "$t/reload.lua" <<'L'
local ml = require "modlab"
local data = assert(ml.dataset("synthetic", { kind = "spirals", size = 4000, noise = 0.1, seed = 7 }))
local model = ml.sequential {
  ml.layer("linear", { out = 64 }), ml.layer("relu"), ml.layer("linear", { out = 64 }),
  ml.layer("relu"), ml.layer("linear", { out = 2 }),
}
local r = ml.evaluate { model = model, data = data, split = "test",
                        checkpoint = ml.arg("checkpoint") }
print(("%.17g"):format(r.accuracy))
L
got=$("$MODLAB" run "$t/reload.lua" --set checkpoint="$dir/model.safetensors" 2>&1)
ok $? "reload and evaluate"
want=$(sed 's/.*"test_accuracy":\([0-9.e-]*\).*/\1/' "$dir/summary.json")
ok $(awk -v a="$got" -v b="$want" 'BEGIN { exit !(a == b) }'; echo $?) \
   "reloaded test accuracy $got equals the run's $want"
cat > "$t/wrong.lua" <<'L'
local ml = require "modlab"
local data = assert(ml.dataset("synthetic", { kind = "spirals", size = 100 }))
local model = ml.sequential { ml.layer("linear", { out = 32 }), ml.layer("relu"),
                              ml.layer("linear", { out = 2 }) }
ml.evaluate { model = model, data = data, checkpoint = ml.arg("checkpoint") }
L
out=$("$MODLAB" run "$t/wrong.lua" --set checkpoint="$dir/model.safetensors" 2>&1)
is $? 1 "a checkpoint of another architecture is refused"
like "$out" "model.safetensors" "naming the file"
done_testing
