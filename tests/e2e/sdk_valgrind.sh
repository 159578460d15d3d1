# SPDX-License-Identifier: MIT
# valgrind's memcheck over the conformance suite itself (in process, --no-fork), on the
# in-tree nn plugin and the ABI 1.0 fixture: no invalid accesses, no leaked blocks.
. "$top_srcdir/tests/support/tap.sh"
memcheck_setup
for so in "$top_builddir/build-plugins/nn.so" "$top_builddir/tests/abi/.libs/fx_abi10.so"; do
    memcheck "$MODLAB" plugin check "$so" --no-fork > "$t/vg.log" 2>&1
    is $? 0 "valgrind: plugin check $(basename "$so") passes with no errors and no leaks"
    grep -E 'ERROR SUMMARY|definitely lost|passed' "$t/vg.log" | sed 's/^/# /'
done
done_testing
