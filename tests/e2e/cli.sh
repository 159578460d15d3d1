# SPDX-License-Identifier: MIT
# The command line contract: usage errors exit 2, recipe errors exit 1 naming the recipe's
# file and line, option and shape mistakes are caught before training and name the layer.
. "$top_srcdir/tests/support/tap.sh"
make_tmpdir
cd "$t" || exit 1

out=$("$MODLAB" --help); ok $? "--help exits 0"
like "$out" "usage: modlab \[GLOBAL OPTIONS\] \[COMMAND \[ARGS\]\]" "--help shows usage"
like "$out" "  run  *run a recipe" "... and the commands"
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
out=$("$MODLAB" run args.lua --set lr=fast 2>&1); is $? 2 "a non-number for a number is bad usage"
like "$out" "args.lua:2: --set lr=fast: wants a number" "naming the recipe line"
out=$("$MODLAB" run args.lua --set 2>&1); is $? 2 "--set without a value is a usage error"
# A --set that names no key, or gives no '=', is bad usage: exit 2, one line saying so
# (it used to be "internal error ... table index is nil", exit 1).
for bad in "=5" "k" "=" "--set==5" "--set=k"; do
    case $bad in --set=*) out=$("$MODLAB" run args.lua "$bad" 2>&1); rc=$? ;;
                 *) out=$("$MODLAB" run args.lua --set "$bad" 2>&1); rc=$? ;; esac
    is "$rc" 2 "--set '$bad' is a usage error (exit 2)"
    like "$(printf '%s\n' "$out" | head -n 1)" "^modlab run: --set wants key=value (got '.*'): the \
key is a name, e.g. --set lr=0.01; see 'modlab run --help'$" "--set '$bad': the first line says what --set wants"
    printf '%s' "$out" | grep -q "internal error\|traceback"
    ok $((! $?)) "--set '$bad': no internal error"
done
out=$("$MODLAB" run args.lua --set "$(printf 'l\033r=1')" 2>&1); is $? 2 \
    "a --set key with a control character is a usage error"

# Integers the recipe hands to ml.train from --set are exact and in range (an epochs of
# 1e99 used to print "epoch 1/-9223372036854775808" and never end).
cat > ints.lua <<'L'
local ml = require "modlab"
local data = assert(ml.dataset("synthetic", { kind = "blobs", size = 64 }))
ml.train {
  model = ml.sequential { ml.layer("linear", { out = 3 }) }, data = data, quiet = true,
  optimizer = ml.optimizer("sgd"), epochs = ml.arg("epochs", 1), batch = 8,
  seed = ml.arg("seed", 1), on_epoch = function(e) assert(e <= 2, "trained past epoch 2") end,
}
L
out=$("$MODLAB" run ints.lua --out "$t/ints" --set epochs=1e99 2>&1); is $? 1 "epochs=1e99 fails"
like "$out" "ints.lua:3: ml.train: 'epochs' must be a whole number in \[1, 2^53\]; got 1e+99" \
    "naming the setting, its value and the range"
out=$("$MODLAB" run ints.lua --out "$t/ints" --set seed=-1 2>&1); is $? 1 "seed=-1 fails"
like "$out" "'seed' must be a whole number in \[0, 2^63)" "naming the seed's range"
out=$("$MODLAB" run ints.lua --out "$t/ints" --set seed=9007199254740993 2>&1)
is $? 2 "a seed that a double cannot hold exactly is bad usage"
like "$out" "ints.lua:6: --set seed=9007199254740993: not exactly representable" \
    "at ml.arg, naming the value"
ok $([ ! -d "$t/ints" ]; echo $?) "none of them started a run directory"
for bad in 0 1e99 1.5 many; do
    out=$("$MODLAB" --threads "$bad" run args.lua 2>&1); is $? 2 "--threads $bad is bad usage"
done
like "$out" "^modlab: --threads wants a whole number in \[1, 1024\]; got 'many'" \
    "naming the range and the value"
# A --set key no ml.arg has read when training starts is a typo, not a silent no-op.
out=$("$MODLAB" run "$top_srcdir/recipes/synthetic.lua" --out "$t/typo" --set lrr=0.1 2>&1)
is $? 2 "--set lrr=0.1 (the recipe reads lr) is bad usage"
like "$out" "synthetic.lua:[0-9]*: --set lrr=0.1: no ml.arg read 'lrr' before training started; did you mean 'lr'?" \
    "naming the key, the recipe line and the closest name"
out=$("$MODLAB" run "$top_srcdir/recipes/synthetic.lua" --out "$t/typo" --set zzz=1 2>&1)
like "$out" "no ml.arg read 'zzz' before training started (the recipe reads: .*epochs.*lr" \
    "with nothing close: the names the recipe reads"
ok $([ ! -d "$t/typo" ]; echo $?) "neither started a run directory"
# A mistyped command: usage error with the closest command; -V is --version.
out=$("$MODLAB" rn x.lua 2>&1); is $? 2 "modlab rn: a usage error"
like "$out" "unknown command 'rn'; did you mean 'run'?" "... suggesting run"
like "$("$MODLAB" -V)" "^modlab [0-9]" "modlab -V prints the version"

# Each mistake a new user makes (issue 21), typed as they would: the exit code, the message,
# and never a Lua traceback. no_trace OUT WHAT: fails if OUT holds one.
no_trace() {
    printf '%s' "$1" | grep -q "stack traceback\|internal error"
    ok $((! $?)) "$2: no traceback"
}
for c in run trial plugins sweep report data plugin "plugin new" "sweep export" version; do
    # shellcheck disable=SC2086  # $c is one or two words
    out=$("$MODLAB" $c --help 2>&1); is $? 0 "modlab $c --help exits 0"
    like "$out" "^usage: modlab $c" "modlab $c --help starts with its usage line"
done
out=$("$MODLAB" run -h); like "$out" "--out DIR  *the parent of the run directories" \
    "run --help documents --out as the parent of <name>-<time>/"
like "$out" "--run-dir DIR" "run --help documents --run-dir"
like "$out" "example" "run --help gives an example"
out=$("$MODLAB" help run); is $? 0 "modlab help run exits 0"
is "$out" "$("$MODLAB" run --help)" "modlab help run is run --help"
is "$("$MODLAB" help plugin check)" "$("$MODLAB" plugin check --help)" \
    "modlab help plugin check is plugin check --help"
out=$("$MODLAB" help rnu 2>&1); is $? 2 "help of an unknown command is bad usage"
like "$out" "no command 'rnu'; did you mean 'run'?" "... with a suggestion"
is "$("$MODLAB" -V)" "$("$MODLAB" --version)" "-V is --version"
out=$("$MODLAB" rn x.lua 2>&1); is $? 2 "modlab rn x.lua exits 2"
is "$(printf '%s\n' "$out" | wc -l)" 1 "... in one line"
no_trace "$out" "modlab rn"
out=$("$MODLAB" run nope.lua 2>&1); is $? 2 "run nope.lua exits 2"
is "$out" "modlab run: cannot open recipe 'nope.lua': no such file or directory; see 'modlab run --help'" \
    "... giving the reason"
out=$("$MODLAB" run args.lua --sett lr=1 2>&1); is $? 2 "a mistyped option exits 2"
like "$out" "^modlab run: unknown option '--sett'; did you mean '--set'?" "... suggesting --set"
no_trace "$out" "--sett"
out=$("$MODLAB" sweep x.yaml --jbos 2 2>&1); is $? 2 "sweep --jbos exits 2"
like "$out" "did you mean '--jobs'?" "... suggesting --jobs"
out=$("$MODLAB" sweep x.yaml -j two 2>&1); is $? 2 "sweep -j two exits 2"
like "$out" "^modlab sweep: --jobs wants a whole number in \[1, 4096\]; got 'two'" "... naming the range"
out=$("$MODLAB" sweep x.yaml --launcher slrum 2>&1); is $? 2 "--launcher slrum exits 2"
like "$out" "--launcher is one of local, slurm, got 'slrum'; did you mean 'slurm'?" "... suggesting slurm"
out=$("$MODLAB" trial 2>&1); is $? 2 "trial without arguments exits 2"
like "$out" "^modlab trial: --index I is required" "... naming what is missing"
out=$("$MODLAB" plugin nwe 2>&1); is $? 2 "plugin nwe exits 2"
like "$out" "unknown subcommand 'nwe'; did you mean 'new'?" "... suggesting new"
out=$("$MODLAB" plugin new x --kind layr 2>&1); is $? 2 "plugin new --kind layr exits 2"
like "$out" "did you mean 'layer'?" "... suggesting layer"
out=$("$MODLAB" --frob run x.lua 2>&1); is $? 2 "an unknown global option exits 2"
like "$out" "^modlab: unknown option '--frob'" "... naming it"
out=$("$MODLAB" run args.lua --set lr=abc 2>&1); is $? 2 "--set lr=abc exits 2"
like "$out" "args.lua:2: --set lr=abc: wants a number" "... naming the recipe line"
no_trace "$out" "--set lr=abc"
out=$("$MODLAB" run "$top_srcdir/recipes/synthetic.lua" --out "$t/typo" --set epochs=abc 2>&1)
is $? 2 "--set epochs=abc exits 2"
no_trace "$out" "--set epochs=abc"
out=$("$MODLAB" run "$top_srcdir/recipes/synthetic.lua" --out "$t/typo" --set lrr=0.1 2>&1)
no_trace "$out" "--set lrr"
out=$("$MODLAB" run badopt.lua 2>&1)
no_trace "$out" "a mistyped layer option"
is "$(printf '%s\n' "$out" | wc -l)" 1 "a mistyped layer option: one line"
# (layers are created when ml.train knows their input's shape: the error still names the
# line of ml.layer, not ml.train's)
cat > badrange.lua <<'L'
local ml = require "modlab"
local data = assert(ml.dataset("synthetic", { kind = "blobs", size = 64 }))
local m = ml.sequential {
  ml.layer("linear", { out = 4 }),
  ml.layer("dropout", { p = 1.5 }),
}
ml.train { model = m, data = data, quiet = true, optimizer = ml.optimizer("sgd"), epochs = 1,
  batch = 8 }
L
out=$("$MODLAB" run badrange.lua --out "$t/range" 2>&1); is $? 1 "a range error in a layer's create fails"
like "$out" "badrange.lua:5: layer 2 (dropout) with input {4}: dropout: p=1.5 is not a probability" \
    "... naming the recipe line that made the layer"
no_trace "$out" "a range error"
out=$(MODLAB_LOG=debug "$MODLAB" run badopt.lua 2>&1)
like "$out" "stack traceback" "MODLAB_LOG=debug adds the traceback"
# --run-dir: the run goes into exactly that directory, once.
cat > once.lua <<'L'
local ml = require "modlab"
local data = assert(ml.dataset("synthetic", { kind = "blobs", size = 64 }))
ml.train { model = ml.sequential { ml.layer("linear", { out = 3 }) }, data = data,
  quiet = true, optimizer = ml.optimizer("sgd"), epochs = 1, batch = 8 }
L
"$MODLAB" run once.lua --run-dir "$t/exact/run1" >/dev/null 2>&1; ok $? "run --run-dir DIR"
ok $([ -f "$t/exact/run1/summary.json" ]; echo $?) "... writes DIR/summary.json"
out=$("$MODLAB" run once.lua --run-dir "$t/exact/run1" 2>&1); is $? 1 "--run-dir of a finished run fails"
like "$out" "already holds a run" "... saying so"
out=$("$MODLAB" run once.lua --run-dir "$t/a" --out "$t/b" 2>&1); is $? 2 "--run-dir with --out is bad usage"
# A transform's bad value fails before training, naming the ml.transform line (issue 22).
cat > badaug.lua <<'L'
local ml = require "modlab"
local data = assert(ml.dataset("synthetic", { kind = "blobs", size = 64 }))
ml.train { model = ml.sequential { ml.layer("linear", { out = 3 }) }, data = data,
  optimizer = ml.optimizer("sgd"), epochs = 1, batch = 8,
  augment = { ml.transform("gaussian_noise", { std = 0.1 }),
              ml.transform("hflip", { p = 0.5 }) } }
L
out=$("$MODLAB" run badaug.lua --out "$t/aug" 2>&1); is $? 1 "hflip on 2-value examples fails"
like "$out" "badaug.lua:6: augment\[2\] (hflip) for examples of shape 2: .*not images" \
    "... naming the ml.transform line, the position and the examples' shape"
no_trace "$out" "hflip on vectors"
ok $([ ! -d "$t/aug" ]; echo $?) "... before any run directory"
sed -i 's/{ std = 0.1 }/{ std = -1 }/' badaug.lua
out=$("$MODLAB" run badaug.lua --out "$t/aug" 2>&1); is $? 1 "gaussian_noise std=-1 fails"
like "$out" "badaug.lua:5: augment\[1\] (gaussian_noise) .*std" "... naming its line and std"
sed -i 's/{ p = 0.5 }/{ q = 1 }/' badaug.lua
out=$("$MODLAB" run badaug.lua --out "$t/aug" 2>&1); is $? 1 "an unknown transform option fails"
like "$out" "badaug.lua:6: transform hflip: unknown option 'q'" "... at ml.transform"
done_testing
