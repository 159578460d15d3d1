# SPDX-License-Identifier: MIT
# The ABI record check: the public structs' layout and constants against the committed
# tests/abi/abi-record.txt; a difference fails `make check` and says which version to bump.
# Then the checker's own judgement on doctored records (an append, a break, a stale record).
. "$top_srcdir/tests/support/tap.sh"
make_tmpdir
bin="$top_builddir/tests/abi/abi_record"
rec="$top_srcdir/tests/abi/abi-record.txt"
out=$("$bin" "$rec"); rc=$?
ok $rc "the public ABI matches tests/abi/abi-record.txt"
[ $rc -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'

size=$(sed -n 's/^struct ml_host versioned //p' "$rec")
last=$(grep '^field ml_host ' "$rec" | tail -1)
set -- $last   # field ml_host NAME OFFSET SIZE
grep -v "^$last\$" "$rec" |
    sed "s/^struct ml_host versioned $size\$/struct ml_host versioned $4/" > "$t/append.txt"
out=$("$bin" "$t/append.txt"); rc=$?
ok $([ $rc -ne 0 ]; echo $?) "a field appended to ml_host fails the check"
like "$out" "ml_host.$3 appended" "and is recognised as an append"
like "$out" "Bump ML_ABI_MINOR (to [0-9]*)" "and asks for a minor bump"

sed 's/^field ml_view batch \([0-9]*\) 4$/field ml_view batch 99 4/' "$rec" > "$t/break.txt"
out=$("$bin" "$t/break.txt"); rc=$?
ok $([ $rc -ne 0 ]; echo $?) "a moved field fails the check"
like "$out" "BREAK: field ml_view.batch moved" "and is recognised as a break"
like "$out" "bump ML_ABI_MAJOR (to [0-9]*" "and asks for a major bump"

sed 's/^const ML_KIND_DATASET 4$/const ML_KIND_DATASET 9/' "$rec" > "$t/const.txt"
out=$("$bin" "$t/const.txt")
like "$out" "constant ML_KIND_DATASET changed from 9 to 4" "a changed constant is a break"

sed 's/^abi [0-9]* [0-9]*$/abi 0 9/' "$rec" > "$t/stale.txt"
out=$("$bin" "$t/stale.txt")
like "$out" "run \`make abi-record\`" "a bumped version with an old record asks to refresh it"
done_testing
