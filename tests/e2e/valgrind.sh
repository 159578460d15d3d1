# SPDX-License-Identifier: MIT
# valgrind's memcheck over a whole recipe run (the FFI, plugins, trainer, run directory):
# no invalid accesses and no leaked blocks.
. "$top_srcdir/tests/support/tap.sh"
memcheck_setup
memcheck "$MODLAB" run "$top_srcdir/recipes/synthetic.lua" --set epochs=1 \
    --out "$t/runs" > "$t/vg.log" 2>&1
is $? 0 "valgrind finds no errors and no leaks in a recipe run"
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost' "$t/vg.log" | sed 's/^/# /'
done_testing
