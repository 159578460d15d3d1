# SPDX-License-Identifier: MIT
# valgrind's memcheck over a whole recipe run (the FFI, plugins, trainer, run directory):
# no invalid accesses and no leaked blocks.
. "$top_srcdir/tests/support/tap.sh"
command -v valgrind >/dev/null || skip_all "valgrind not installed"
[ -n "${ML_ASAN:-}" ] && skip_all "ASan build: valgrind cannot run sanitized binaries"
[ -n "${ML_VALGRIND:-}" ] && skip_all "check-valgrind runs every test under valgrind"
valgrind_reads "$MODLAB"
make_tmpdir
"$top_builddir/libtool" --mode=execute valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=9 "$MODLAB" run "$top_srcdir/recipes/synthetic.lua" --set epochs=1 \
    --out "$t/runs" > "$t/vg.log" 2>&1
is $? 0 "valgrind finds no errors and no leaks in a recipe run"
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost' "$t/vg.log" | sed 's/^/# /'
done_testing
