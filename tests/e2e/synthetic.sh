# SPDX-License-Identifier: MIT
# The foundation's vertical slice: recipes/synthetic.lua trains to > 95% in seconds with no
# files, writes a complete run directory, and two runs with one seed give the same metrics.
. "$top_srcdir/tests/support/tap.sh"
make_tmpdir
out=$("$MODLAB" run "$top_srcdir/recipes/synthetic.lua" --out "$t/a" 2>&1); ok $? "recipe runs"
acc=$(printf '%s\n' "$out" | sed -n 's/^test accuracy //p')
ok $(awk -v a="$acc" 'BEGIN { exit !(a > 0.95) }'; echo $?) "test accuracy $acc > 0.95"
dir=$(ls -d "$t"/a/synthetic-*)
for f in config.json meta.json metrics.jsonl timing.jsonl summary.json log.txt; do
    ok $([ -s "$dir/$f" ]; echo $?) "run directory has $f"
done
like "$(cat "$dir/meta.json")" '"status":"finished"' "meta.json says finished"
like "$(cat "$dir/summary.json")" '"test_accuracy":0.9' "summary.json has the test accuracy"
is "$(wc -l < "$dir/metrics.jsonl")" 20 "one metrics line per epoch"
"$MODLAB" run "$top_srcdir/recipes/synthetic.lua" --out "$t/b" > /dev/null 2>&1
ok $(cmp -s "$dir/metrics.jsonl" "$(ls -d "$t"/b/synthetic-*)/metrics.jsonl"; echo $?) \
   "same seed, identical metrics.jsonl"
"$MODLAB" run "$top_srcdir/recipes/synthetic.lua" --out "$t/c" --set seed=2 > /dev/null 2>&1
ok $(! cmp -s "$dir/metrics.jsonl" "$(ls -d "$t"/c/synthetic-*)/metrics.jsonl"; echo $?) \
   "another seed, other numbers"
done_testing
