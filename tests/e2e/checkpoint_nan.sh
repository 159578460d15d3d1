# SPDX-License-Identifier: MIT
# NaN weights in a checkpoint are refused: `modlab run --resume` of a finished run whose
# checkpoint.safetensors holds a NaN fails naming the tensor and the file, and leaves
# model.safetensors as it was; loading a model.safetensors holding NaN fails the same way.
. "$top_srcdir/tests/support/tap.sh"
make_tmpdir
recipe="$top_srcdir/tests/fixtures/crash/resumable.lua"

# Overwrite the first float of file $1's data section (the first tensor's element 0)
# with the bytes of $2 (a printf format): the header length is the 8-byte LE prefix.
poke() {
    hlen=$(od -An -tu8 -N8 "$1" | tr -d ' ')
    printf "$2" | dd of="$1" bs=1 seek=$((8 + hlen)) conv=notrunc status=none
}

"$MODLAB" run "$recipe" --out "$t/runs" > "$t/run.log" 2>&1; ok $? "a finished run"
dir=$(ls -d "$t"/runs/resumable-*)
cp "$dir/model.safetensors" "$t/model.before"
poke "$dir/checkpoint.safetensors" '\000\000\300\177'   # 0x7fc00000: a quiet NaN

out=$("$MODLAB" run --resume "$dir" 2>&1)
is $? 1 "--resume with a NaN in the checkpoint fails"
like "$out" "checkpoint.safetensors: tensor '[^']*' holds NaN (element 0 of" \
     "naming the file, the tensor and the value"
ok $(cmp -s "$dir/model.safetensors" "$t/model.before"; echo $?) \
   "model.safetensors is not rewritten"

# The model file itself, with +Inf, loaded for evaluation.
cp "$t/model.before" "$t/inf.safetensors"
poke "$t/inf.safetensors" '\000\000\200\177'            # 0x7f800000: +Inf
cat > "$t/eval.lua" <<'L'
local ml = require "modlab"
local data = assert(ml.dataset("synthetic", { kind = "spirals", size = 100 }))
local model = ml.sequential { ml.layer("linear", { out = 32 }), ml.layer("relu"),
                              ml.layer("dropout", { p = 0.1 }), ml.layer("linear", { out = 2 }) }
ml.evaluate { model = model, data = data, checkpoint = ml.arg("checkpoint") }
print("loaded")
L
out=$("$MODLAB" run "$t/eval.lua" --set checkpoint="$t/inf.safetensors" 2>&1)
is $? 1 "loading a model.safetensors holding +Inf fails"
like "$out" "inf.safetensors: tensor '[^']*' holds Inf (element 0 of" "naming file and tensor"
done_testing
