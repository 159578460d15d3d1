# SPDX-License-Identifier: MIT
# Files modlab writes read the same in Python: a standard-library + numpy reader
# (tests/python/read_safetensors.py) and, when installed, the `safetensors` package itself.
. "$top_srcdir/tests/support/tap.sh"
# The first Python 3 with numpy: $PYTHON3, python3 on PATH, then Debian's (python3-numpy).
py=
for c in ${PYTHON3:-} python3 /usr/bin/python3; do
    if command -v "$c" > /dev/null 2>&1 && "$c" -c "import numpy" > /dev/null 2>&1; then
        py=$c
        break
    fi
done
[ -n "$py" ] || skip_all "no python3 with numpy (apt-get install python3-numpy)"
make_tmpdir
reader="$top_srcdir/tests/python/read_safetensors.py"
ut="$top_builddir/tests/unit"
show_diff() { diff "$1" "$2" | head -10 | sed 's/^/#   /'; }

"$ut/core/formats/test_safetensors" --write "$t/sample.safetensors" > "$t/c.txt"
ok $? "C writes the sample file"
"$py" "$reader" "$t/sample.safetensors" > "$t/py.txt" 2> "$t/py.err"
ok $? "Python ($py) reads it"
sed 's/^/# /' "$t/py.err"
ok $(cmp -s "$t/c.txt" "$t/py.txt"; echo $?) "same metadata, names, shapes and values (%.9g)"
show_diff "$t/c.txt" "$t/py.txt"
is "$(grep -c '^tensor' "$t/py.txt")" 4 "four tensors seen by Python"
like "$(cat "$t/py.txt")" \
     "tensor special \"quoted\" é \[4, 1, 2\] -0 inf -inf 1.40129846e-45" \
     "special values (-0, inf, denormal) and a UTF-8 name survive"

"$ut/core/runtime/test_checkpoint" --write "$t/model.safetensors" > "$t/cm.txt"
ok $? "C saves a model checkpoint"
"$py" "$reader" "$t/model.safetensors" > "$t/pm.txt" 2> "$t/pm.err"
ok $? "Python reads the checkpoint"
sed 's/^/# /' "$t/pm.err"
grep '^tensor' "$t/pm.txt" > "$t/pmt.txt"
ok $(cmp -s "$t/cm.txt" "$t/pmt.txt"; echo $?) "every parameter equal to the model's (%.9g)"
show_diff "$t/cm.txt" "$t/pmt.txt"
like "$(cat "$t/pm.txt")" \
     'meta modlab.layers = \["layer/linear@1.0.0", "layer/relu@1.0.0", "layer/ckstate@1.2.0"' \
     "modlab.layers readable from Python"

"$py" "$reader" --write "$t/numpy.safetensors" > "$t/np.txt" 2> "$t/np.err"
ok $? "Python writes a file (header not in data order, unpadded, metadata last)"
sed 's/^/# /' "$t/np.err"
"$ut/core/formats/test_safetensors" --dump "$t/numpy.safetensors" > "$t/npc.txt"
ok $? "C reads the Python-written file"
ok $(cmp -s "$t/np.txt" "$t/npc.txt"; echo $?) "C sees the same metadata, names, shapes, values"
show_diff "$t/np.txt" "$t/npc.txt"

# A training run's checkpoint (recipes/synthetic.lua) is readable from Python as written.
"$MODLAB" run "$top_srcdir/recipes/synthetic.lua" --out "$t/run" > /dev/null 2>&1
ok $? "synthetic recipe runs"
ckpt=$(ls "$t"/run/*/model.safetensors 2> /dev/null)
"$py" "$reader" "$ckpt" > "$t/run.txt" 2> "$t/run.err"
ok $? "Python reads the run's model.safetensors"
sed 's/^/# /' "$t/run.err"
like "$(cat "$t/run.txt")" '^tensor 0.linear.weight \[64, 2\] ' \
     "first layer's weight, shape [64, 2]"
like "$(cat "$t/run.txt")" '^meta modlab.layers = \["layer/linear@' "layer list in the metadata"

if "$py" -c "import safetensors" > /dev/null 2>&1; then
    "$py" "$reader" --library "$t/sample.safetensors" > "$t/lib.txt"
    ok $? "safetensors package reads the sample"
    ok $(cmp -s "$t/c.txt" "$t/lib.txt"; echo $?) "safetensors package sees the same values"
    "$py" "$reader" --library "$t/model.safetensors" | grep '^tensor' > "$t/libm.txt"
    ok $(cmp -s "$t/cm.txt" "$t/libm.txt"; echo $?) "safetensors package reads the checkpoint"
else
    tap_n=$((tap_n + 1))
    echo "ok $tap_n # SKIP python safetensors package not installed (Debian 12 has none)"
fi
done_testing
