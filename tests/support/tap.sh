# SPDX-License-Identifier: MIT
# TAP helpers for shell tests: source it, call ok/like/..., end with done_testing.
tap_n=0
tap_failed=0
ok() { # ok STATUS DESCRIPTION  (STATUS 0 = pass)
    tap_n=$((tap_n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $tap_n - $2"
    else echo "not ok $tap_n - $2"; tap_failed=$((tap_failed + 1)); fi
}
like() { # like TEXT PATTERN DESCRIPTION
    if printf '%s' "$1" | grep -q -- "$2"; then ok 0 "$3"
    else ok 1 "$3"; printf '%s\n' "$1" | sed 's/^/#   /' | head -20; echo "#   lacks: $2"; fi
}
is() { # is GOT WANT DESCRIPTION
    if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3"; echo "#   got '$1', want '$2'"; fi
}
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
done_testing() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }
# Skips the whole test when this valgrind cannot read the build's debug info: Debian 12's
# valgrind 3.19 gives up on clang 14's DWARF 5 ("Possibly corrupted debuginfo file").
valgrind_reads() {
    if "$top_builddir/libtool" --mode=execute valgrind -q "$1" --version 2>&1 |
        grep -q 'debuginfo reader: Possibly corrupted'; then
        why="$(valgrind --version) cannot read this build's debug info (clang's DWARF 5)"
        skip_all "$why; configure with CFLAGS='-g -gdwarf-4 -O2' to run it"
    fi
}
make_tmpdir() { t=$(mktemp -d /tmp/modlab-test.XXXXXX) && trap 'rm -rf "$t"' EXIT; }  # sets $t
# The skips of a test that runs valgrind's memcheck itself, then its $t (make_tmpdir).
memcheck_setup() {
    command -v valgrind >/dev/null || skip_all "valgrind not installed"
    [ -n "${ML_ASAN:-}" ] && skip_all "ASan build: valgrind cannot run sanitized binaries"
    [ -n "${ML_VALGRIND:-}" ] && skip_all "check-valgrind runs every test under valgrind"
    valgrind_reads "$MODLAB"
    make_tmpdir
}
# memcheck COMMAND...: COMMAND under memcheck (through libtool, for uninstalled programs);
# exit status 9 on any error or a definitely or indirectly lost block.
memcheck() {
    "$top_builddir/libtool" --mode=execute valgrind --leak-check=full \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=9 "$@"
}
