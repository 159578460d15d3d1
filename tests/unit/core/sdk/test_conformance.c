/* SPDX-License-Identifier: MIT */
/* The conformance suite against fixtures: a clean plugin passes everything; a wrong
 * gradient, a leak (plain and on the failure path), an overrun, a crash and optimizer state
 * kept in `self` each fail the right check with a message; the ABI 1.0 plugin passes. */
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include <modlab/sdk.h>

static char fixdir[PATH_MAX];

static ml_check_report *check(const char *stem, uint32_t flags)
{
    char path[PATH_MAX + 64];
    ml_err err;
    snprintf(path, sizeof path, "%s/%s.so", fixdir, stem);
    ml_check_report *r = ml_plugin_check(path, NULL, flags, &err);
    if (!r)
        tap_diag("%s: %s", stem, err.msg);
    for (int32_t i = 0; r && i < ml_check_count(r); i++)
        tap_diag("%-4s %-22s %-10s %s", ml_check_verdict(r, i) == ML_CHECK_PASS ? "ok"
                 : ml_check_verdict(r, i) == ML_CHECK_FAIL ? "FAIL" : "skip",
                 ml_check_entry(r, i), ml_check_name(r, i), ml_check_detail(r, i));
    return r;
}

/* ok(msg matches the extended regex re), with the message shown when it does not. */
static void like_re(const char *msg, const char *re, const char *fmt, ...) ML_PRINTF(3, 4);
static void like_re(const char *msg, const char *re, const char *fmt, ...)
{
    char name[256];
    regex_t rx;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int matched = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) == 0 && msg &&
                  regexec(&rx, msg, 0, NULL, 0) == 0;
    regfree(&rx);
    if (!ok(matched, "%s", name))
        tap_diag("  message '%s' does not match /%s/", msg ? msg : "(null)", re);
}

/* Index of the result (entry, name), or -1. */
static int32_t find(const ml_check_report *r, const char *entry, const char *name)
{
    for (int32_t i = 0; r && i < ml_check_count(r); i++)
        if (!strcmp(ml_check_entry(r, i), entry) && !strcmp(ml_check_name(r, i), name))
            return i;
    return -1;
}

static void expect(const ml_check_report *r, const char *entry, const char *name,
                   int verdict, const char *detail_has, const char *what)
{
    int32_t i = find(r, entry, name);
    ok(i >= 0 && ml_check_verdict(r, i) == verdict, "%s: %s %s is %s", what, entry, name,
       verdict == ML_CHECK_PASS ? "ok" : verdict == ML_CHECK_FAIL ? "FAIL" : "skip");
    if (detail_has)
        like_re(i >= 0 ? ml_check_detail(r, i) : "(missing)", detail_has,
                "%s: the message says so", what);
}

int main(void)
{
    const char *top = getenv("top_builddir");
    ml_check_report *r;
    if (!top) {
        ok(0, "top_builddir is set");
        return done_testing();
    }
    snprintf(fixdir, sizeof fixdir, "%.2000s/tests/abi/.libs", top);

    r = check("fx_good", 0);   /* in process: also shows the checker leaves nothing behind */
    is_int(ml_check_failures(r), 0, "a correct layer passes every check");
    static const char *layer_checks[] = {"abi", "options", "gradient", "bounds", "save/load",
                                         "leaks"};
    for (size_t i = 0; i < sizeof layer_checks / sizeof *layer_checks; i++)
        expect(r, "layer/fx_good", layer_checks[i], ML_CHECK_PASS, NULL, "fx_good");
    expect(r, "fx_good.so", "reload", ML_CHECK_PASS, NULL, "fx_good");
    ml_check_report_free(r);

    r = check("fx_badgrad", ML_CHECK_FORK);
    expect(r, "layer/fx_badgrad", "gradient", ML_CHECK_FAIL,
           "input \\(backward_input\\) gradient is wrong: max relative error",
           "wrong gradient");
    ok(ml_check_failures(r) == 1, "only the gradient check fails for it");
    ml_check_report_free(r);

    r = check("fx_oomleak", ML_CHECK_FORK);
    expect(r, "layer/fx_oomleak", "leaks", ML_CHECK_FAIL,
           "when allocation [0-9]+ of create fails, 1 block stays allocated",
           "leak on failure");
    ok(find(r, "layer/fx_oomleak", "gradient") >= 0 &&
       ml_check_verdict(r, find(r, "layer/fx_oomleak", "gradient")) == ML_CHECK_PASS,
       "its gradient still checks out");
    ml_check_report_free(r);

    r = check("fx_optstate", ML_CHECK_FORK);
    expect(r, "optimizer/fx_optstate", "step", ML_CHECK_PASS, NULL, "stateful optimizer");
    expect(r, "optimizer/fx_optstate", "save/load", ML_CHECK_FAIL,
           "keep all per-parameter state in slots", "stateful optimizer");
    ml_check_report_free(r);

    r = check("fx_abi10", ML_CHECK_FORK);
    is_int(ml_check_failures(r), 0, "the ABI 1.0 plugin passes every check");
    expect(r, "layer/fx_abi10_dense", "gradient", ML_CHECK_PASS, "2 cases", "ABI 1.0 layer");
    expect(r, "optimizer/fx_abi10_sgd", "save/load", ML_CHECK_PASS, NULL, "ABI 1.0 optimizer");
    expect(r, "dataset/fx_abi10_blobs", "read", ML_CHECK_PASS, NULL, "ABI 1.0 dataset");
    ml_check_report_free(r);

    /* Plugins that fail one check, each in a forked child, and what the message says. */
    static const struct {
        const char *fixture, *entry, *check, *why, *what, *timeout;
    } fails[] = {
        {"fx_leak", "layer/fx_leak", "leaks",
         "1 block \\(100 bytes\\) still allocated after destroy", "leaking plugin", NULL},
        /* Canaries say "wrote outside"; an ASan build aborts the child inside the check. */
        {"fx_overrun", "layer/fx_overrun", "bounds",
         "forward wrote past the end of its output buffer|sanitizer", "overrun", NULL},
        /* A crash does not take the checker down: it is blamed on the running check, and
         * the message names the signal and the call. */
        {"fx_crash", "layer/fx_crash", "bounds",
         "crashed with SIGSEGV \\(.*\\) in forward|status [0-9]+ in forward \\(a sanitizer",
         "crash", NULL},
        /* The running check fails; the message says it timed out, and in which call. */
        {"fx_hang", "layer/fx_hang", "bounds",
         "did not return from forward within 2 s \\(MODLAB_CHECK_TIMEOUT\\)", "hang", "2"},
        {"no_such_plugin", "no_such_plugin.so", "load", "cannot open", "missing file", NULL},
    };
    for (size_t i = 0; i < sizeof fails / sizeof fails[0]; i++) {
        if (fails[i].timeout)
            setenv("MODLAB_CHECK_TIMEOUT", fails[i].timeout, 1);
        r = check(fails[i].fixture, ML_CHECK_FORK);
        unsetenv("MODLAB_CHECK_TIMEOUT");
        expect(r, fails[i].entry, fails[i].check, ML_CHECK_FAIL, fails[i].why, fails[i].what);
        ml_check_report_free(r);
    }

    is_int(ml_mem_live_blocks(), 0, "the checker itself leaves nothing allocated");
    return done_testing();
}
