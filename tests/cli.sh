# SPDX-License-Identifier: MIT
# The command line contract: usage errors exit 2, recipe errors exit 1 naming the recipe's
# file and line, option and shape mistakes are caught before training and name the layer.
. "$top_srcdir/tests/tap.sh"
make_tmpdir
cd "$t" || exit 1

out=$("$MODLAB" --help); ok $? "--help exits 0"
like "$out" "modlab run RECIPE.lua" "--help shows usage"
out=$("$MODLAB" frobnicate 2>&1); is $? 2 "unknown command exits 2"
like "$out" "unknown command 'frobnicate'" "and says so"
out=$("$MODLAB" run 2>&1); is $? 2 "run without a recipe exits 2"
out=$("$MODLAB" run nope.lua 2>&1); is $? 2 "missing recipe exits 2"
like "$out" "cannot open recipe 'nope.lua'" "and names it"
out=$("$MODLAB" version); ok $? "version exits 0"
like "$out" '"abi":"1\.[0-9][0-9]*"' "version reports the ABI"

out=$("$MODLAB" plugins); ok $? "plugins exits 0"
like "$out" "layer *linear *1.0.0 *1\.[0-9][0-9]*" "plugins lists kind, name, version, ABI"
like "$out" "optimizer *sgd" "plugins lists optimizers"
out=$("$MODLAB" plugins --describe linear); ok $? "describe exits 0"
like "$out" "out *int *(required) *number of output features" "describe documents options"
out=$("$MODLAB" plugins --describe nosuch 2>&1); is $? 1 "describe of an unknown entry fails"

cat > runtime.lua <<'L'
local x = nil
print(x.field)
L
out=$("$MODLAB" run runtime.lua 2>&1); is $? 1 "a Lua error in a recipe exits 1"
like "$out" "runtime.lua:2:" "and names the recipe's file and line"

cat > badopt.lua <<'L'
local ml = require "modlab"
local l = ml.layer("linear", { out = 10, outs = 3 })
L
out=$("$MODLAB" run badopt.lua 2>&1); is $? 1 "unknown layer option fails"
like "$out" "badopt.lua:2: layer linear: unknown option 'outs'" "naming file, line, layer, option"

cat > badtype.lua <<'L'
local ml = require "modlab"
local l = ml.layer("linear", { out = "ten" })
L
out=$("$MODLAB" run badtype.lua 2>&1); is $? 1 "wrong option type fails"
like "$out" "badtype.lua:2: layer linear: option 'out' wants an integer, got a string 'ten'" \
     "naming the option and the types"

cat > badlayer.lua <<'L'
local ml = require "modlab"
local l = ml.layer("linaer", { out = 3 })
L
out=$("$MODLAB" run badlayer.lua 2>&1); is $? 1 "unknown layer fails"
like "$out" "no layer named 'linaer' (known: .*linear" "listing the known layers"

cat > badshape.lua <<'L'
local ml = require "modlab"
local data = assert(ml.dataset("synthetic", { kind = "blobs", size = 64 }))
local run = ml.train {
  model = ml.sequential { ml.layer("linear", { out = 1 }) },
  data = data, optimizer = ml.optimizer("sgd"), epochs = 1, batch = 8,
}
L
out=$("$MODLAB" run badshape.lua --out "$t/runs" 2>&1); is $? 1 "loss/shape mismatch fails"
like "$out" "cross_entropy: predictions need a last dimension of at least 2" "before training"
ok $([ ! -d "$t/runs" ]; echo $?) "no run directory was started"

cat > args.lua <<'L'
local ml = require "modlab"
print(ml.arg("lr", 0.1) * 2, ml.arg("name", "x"), ml.arg("flag", false))
L
out=$("$MODLAB" run args.lua --set lr=0.25 --set name=abc --set flag=true 2>&1)
is "$out" "0.5	abc	true" "--set values reach ml.arg with the default's type"
out=$("$MODLAB" run args.lua --set lr=fast 2>&1); is $? 1 "a non-number for a number fails"
like "$out" "args.lua:2: --set lr=fast: wants a number" "naming the recipe line"
out=$("$MODLAB" run args.lua --set 2>&1); is $? 2 "--set without a value is a usage error"
done_testing
