# SPDX-License-Identifier: MIT
# Hostile plugins through `modlab plugin check`: each fixture (tests/abi/fx_check.c) crashes,
# exits, aborts, hangs, writes outside a buffer or produces NaN in one call. The check must
# name the entry, the call and what happened, exit 1, and modlab itself must survive (it
# prints its summary line). Then the main process loading a plugin that dies in init: the
# user is told which .so it was. ASan builds stop the child at the bad write itself, so there
# the message is the sanitizer's exit "in <call>" instead of the canary verdict.
. "$top_srcdir/tests/support/tap.sh"
make_tmpdir
cd "$t" || exit 1
ulimit -c 0   # the crashing fixtures must not leave core files
fx="$top_builddir/tests/abi/.libs"
# Generous for the checks that end by themselves (an ASan report on a loaded machine takes
# seconds to symbolize); the hanging fixture gets 2 s below.
export MODLAB_CHECK_TIMEOUT=60

# check STEM PATTERN [ASAN_PATTERN] DESCRIPTION: exit 1, the FAIL line, the summary line.
check() {
    stem=$1 want=$2
    if [ $# -eq 4 ]; then
        [ -n "${ML_ASAN:-}" ] && want=$3
        what=$4
    else
        what=$3
    fi
    out=$("$MODLAB" plugin check "$fx/$stem.so" 2>"$t/$stem.err"); rc=$?
    is "$rc" 1 "$stem: plugin check exits 1 ($what)"
    like "$out" "$want" "$stem: the report says: $what"
    like "$out" "$stem.so: [0-9]* passed, [1-9][0-9]* failed" \
        "$stem: modlab survived and printed its summary"
}

asan_in() { # ENTRY CHECK CALL: the ASan build's verdict
    echo "^FAIL $1 *$2 *the checking process exited with status [0-9]* in $3 (a sanitizer"
}

check fx_initcrash "^FAIL fx_initcrash.so *load *crashed with SIGSEGV (.*) in plugin init" \
    "$(asan_in fx_initcrash.so load "plugin init")" "a crash in init"
check fx_initexit \
    "^FAIL fx_initexit.so *load *called exit(3) in plugin init: a plugin must never" \
    "init calls exit(3)"
check fx_initabort "^FAIL fx_initabort.so *load *crashed with SIGABRT (.*) in plugin init" \
    "init calls abort()"
check fx_crash "^FAIL layer/fx_crash *bounds *crashed with SIGSEGV (.*) in forward" \
    "$(asan_in layer/fx_crash bounds forward)" "a crash in forward"
check fx_overrun \
    "^FAIL layer/fx_overrun *bounds *forward wrote past the end of its output buffer" \
    "$(asan_in layer/fx_overrun bounds forward)" "forward writes past the end of its output"
check fx_underrun \
    "^FAIL layer/fx_underrun *bounds *forward wrote before the start of its output buffer" \
    "$(asan_in layer/fx_underrun bounds forward)" "forward writes before its output"
check fx_ginover \
    "^FAIL layer/fx_ginover *bounds *backward_input wrote past the end of its gin buffer" \
    "$(asan_in layer/fx_ginover bounds backward_input)" "backward_input writes past gin"
check fx_pgradover "^FAIL layer/fx_pgradover *bounds *backward_params wrote past the end of \
the grad buffer of parameter '0.fx_pgradover.scale'" \
    "$(asan_in layer/fx_pgradover bounds backward_params)" \
    "backward_params writes past its parameter's grad"
check fx_nanout \
    "^FAIL layer/fx_nanout *bounds *forward wrote NaN into element 7 of 15 of its output" \
    "forward outputs a NaN"
check fx_optnan \
    "^FAIL optimizer/fx_optnan *step *step 1 wrote NaN into element 2 of 7 of slot 0's value" \
    "an optimizer step produces NaN"
t0=$(date +%s)
export MODLAB_CHECK_TIMEOUT=2
check fx_hang "^FAIL layer/fx_hang *bounds *did not return from forward within 2 s \
(MODLAB_CHECK_TIMEOUT)" "forward never returns"
export MODLAB_CHECK_TIMEOUT=60
took=$(( $(date +%s) - t0 ))
# The hang is endless, so finishing at all shows a timeout fired; the bound shows it was the
# 2 s one, not the 60 s default. Under check-valgrind, modlab's own start-up takes seconds.
limit=6
[ -n "${ML_VALGRIND:-}" ] && limit=45
ok $([ "$took" -le "$limit" ]; echo $?) \
   "fx_hang: stopped after MODLAB_CHECK_TIMEOUT (took ${took} s, limit ${limit} s)"
out=$("$MODLAB" plugin check "$fx/fx_good.so" 2>&1)
ok $? "the clean fixture still passes every check"

# The main process loading a plugin that dies in init names the file on its way out.
for case in "fx_initcrash:crashed with SIGSEGV in plugin init of plugin" \
            "fx_initabort:crashed with SIGABRT (abort) in plugin init of plugin" \
            "fx_initexit:called exit() in plugin init"; do
    stem=${case%%:*} want=${case#*:}
    err=$(MODLAB_PLUGIN_PATH="$fx/$stem.so" "$MODLAB" plugins 2>&1 >/dev/null); rc=$?
    ok $([ "$rc" -ne 0 ]; echo $?) "modlab plugins with $stem on the path fails (exit $rc)"
    # ASan builds: UBSan stops the null store in fx_initcrash before it faults.
    like "$err" "$want $fx/$stem.so\|plugin $fx/$stem.so $want\|sanitizer stopped modlab \
in plugin init of plugin $fx/$stem.so" "$stem: stderr names the plugin being initialised"
done
done_testing
