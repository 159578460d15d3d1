#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs a test program (or modlab itself), under valgrind's memcheck when ML_VALGRIND is set
# (`make check-valgrind`): an invalid access, an uninitialised read or a definitely/indirectly
# lost block makes the process exit 97, which fails the test. One log per process in
# tests/out/valgrind/ (logs go there, not to stderr, because tests compare modlab's output).
if [ -z "${ML_VALGRIND:-}" ]; then
    exec "$@"
fi
logs="${top_builddir:-.}/tests/out/valgrind"
mkdir -p "$logs"
exec "${top_builddir:-.}/libtool" --mode=execute valgrind --error-exitcode=97 \
    --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect --num-callers=30 \
    --suppressions="${top_srcdir:-.}/tests/support/valgrind.supp" \
    --log-file="$logs/%p.log" "$@"
