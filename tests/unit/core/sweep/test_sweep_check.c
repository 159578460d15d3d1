/* SPDX-License-Identifier: MIT */
/* The sweep planner's checks (issue 18): checked integer arithmetic over the full int64
 * range, no infinity or NaN in any plan (each rejected naming the key), quantised draws
 * inside [min, max], and sweep names that can never be a path. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/json.h"
#include <modlab/modlab.h>
#include "sweep_test.h"
#include "tap.h"
#include <modlab/sweep.h>

/* Load text and expect a rejection whose message holds every one of the NULL-ended wants. */
static void bad(const char *text, const char *name, ...)
{
    ml_err err = {0};
    ml_sweep *s = load(text, &err);
    int good = !s && err.code != 0;
    va_list ap;
    va_start(ap, name);
    for (const char *w; (w = va_arg(ap, const char *));)
        if (!strstr(err.msg, w)) {
            good = 0;
            tap_diag("want '%s'", w);
        }
    va_end(ap);
    ok(good, "%s", name);
    if (!good)
        tap_diag("got %s", s ? "(loaded)" : err.msg);
    ml_sweep_free(s);
}

/* trials[i].params[0] */
static const ml_json *param0(const ml_json_doc *d, size_t i)
{
    const ml_json *t = mli_json_at(mli_json_get(mli_json_root(d), "trials"), i);
    return mli_json_at(mli_json_get(t, "params"), 0);
}

static void test_int64_range(void)
{
    bad("method: grid\nprogram: r.lua\nparameters:\n"
        "  n: {min: -9223372036854775808, max: 9223372036854775807}\n",
        "grid over the full int64 range: an error, not SIGFPE", "parameter 'n'",
        "grid", NULL);
    bad("method: grid\nprogram: r.lua\nparameters:\n"
        "  n: {min: 0, max: 9223372036854775807}\n",
        "grid over [0, INT64_MAX]: an error", "parameter 'n'", NULL);
    /* As doubles both are 2^63: the check must compare the integers. */
    bad("method: random\nprogram: r.lua\nrun_cap: 2\nparameters:\n"
        "  n: {min: 9223372036854775807, max: 9223372036854775806}\n",
        "int min above max by one near INT64_MAX: an error", "parameter 'n'", "above", NULL);

    ml_err err = {0};
    ml_sweep *s = load("method: random\nprogram: r.lua\nrun_cap: 200\nparameters:\n"
                       "  n: {min: -9223372036854775808, max: 9223372036854775807}\n", &err);
    ok(s != NULL, "random over the full int64 range loads");
    if (!s) {
        tap_diag("%s", err.msg);
        return;
    }
    ml_json_doc *d = plan_of(s);
    size_t n = (size_t)ml_sweep_ntrials(s), neg = 0, pos = 0, small = 0, ints = 0;
    for (size_t i = 0; d && i < n; i++) {
        const ml_json *v = param0(d, i);
        ints += v->is_int;
        neg += v->is_int && v->i < 0;
        pos += v->is_int && v->i > 0;
        small += v->is_int && v->i > -(INT64_C(1) << 62) && v->i < (INT64_C(1) << 62);
    }
    is_int((long)n, 200, "... 200 distinct draws (none repeats another)");
    ok(ints == n && neg > 50 && pos > 50 && small > 50 && small < n,
       "... integers spread over both signs and both halves (%zu < 0, %zu > 0, %zu inside "
       "+-2^62)", neg, pos, small);
    mli_json_free(d);
    ml_sweep_free(s);

    s = load("method: random\nprogram: r.lua\nrun_cap: 300\nparameters:\n"
             "  n: {min: -3, max: 3}\n", &err);
    int in = s != NULL, seen[7] = {0};
    d = s ? plan_of(s) : NULL;
    for (size_t i = 0; d && i < (size_t)ml_sweep_ntrials(s); i++) {
        int64_t v = param0(d, i)->i;
        in = in && v >= -3 && v <= 3;
        if (v >= -3 && v <= 3)
            seen[v + 3] = 1;
    }
    int all = 1;
    for (int k = 0; k < 7; k++)
        all = all && seen[k];
    ok(in && all, "a small int range: every value of [-3, 3] drawn, none outside");
    mli_json_free(d);
    ml_sweep_free(s);

    bad("method: grid\nprogram: r.lua\nparameters:\n  x: {values: [1]}\nmodlab:\n"
        "  repeats: {count: 2, seed_param: seed, base_seed: 9223372036854775807}\n",
        "base_seed + repeat overflowing int64: an error", "base_seed", NULL);
}

/* Random sweep files (after test_non_finite's head) whose plan would hold an infinity or a
 * NaN: the rest of the file, the check's name, and the words the error must hold. */
static const struct {
    const char *rest, *name, *want[2];
} non_finite[] = {
    {"parameters:\n  x: {min: -1.7e308, max: 1.7e308}\n",
     "uniform over +-1.7e308 (max - min = inf): an error", {"parameter 'x'"}},
    {"parameters:\n  x: {distribution: q_uniform, min: 0, max: 10, q: 1e-300}\n",
     "q: 1e-300 (quantisation count overflows): an error", {"q of parameter 'x'"}},
    {"parameters:\n  x: {distribution: q_uniform, min: 0.3, max: 0.4, q: 1}\n",
     "q_uniform with no multiple of q in [min, max]: an error", {"parameter 'x'"}},
    {"parameters:\n  x: {distribution: log_uniform, min: 0, max: 1000}\n",
     "log_uniform with exp(max) = inf: an error", {"parameter 'x'"}},
    {"parameters:\n  x: {distribution: log_uniform_values, min: 0, max: 1}\n",
     "log_uniform_values with min 0 (log 0 = -inf): an error", {"min of parameter 'x'"}},
    {"parameters:\n  x: {distribution: normal, mu: 1e308, sigma: 1e308}\n",
     "normal with mu, sigma near DBL_MAX: an error", {"parameter 'x'"}},
    {"parameters:\n  x: {distribution: log_normal, mu: 0, sigma: 100}\n",
     "log_normal whose draws can overflow: an error", {"parameter 'x'"}},
    {"parameters:\n  x: {distribution: q_normal, mu: 0, sigma: 1e10, q: 1e-300}\n",
     "q_normal with a quantisation count overflow: an error", {"parameter 'x'"}},
    {"metric: {name: a}\nearly_terminate: {type: hyperband, min_iter: 1, eta: 1e308}\n"
     "parameters:\n  x: {values: [1]}\n",
     "hyperband eta: 1e308 (rungs = inf): an error", {"early_terminate", "eta"}},
    {"metric: {name: a}\nearly_terminate: {type: hyperband, max_iter: 9, s: 1000000, eta: 3}\n"
     "parameters:\n  x: {values: [1]}\n",
     "hyperband max_iter / eta^s below one iteration: an error", {"early_terminate"}},
};

static void test_non_finite(void)
{
    const char *head = "method: random\nprogram: r.lua\nrun_cap: 5\n";
    char t[512];
    for (size_t i = 0; i < sizeof non_finite / sizeof non_finite[0]; i++) {
        snprintf(t, sizeof t, "%s%s", head, non_finite[i].rest);
        bad(t, non_finite[i].name, non_finite[i].want[0], non_finite[i].want[1], NULL);
    }
    static const char *const timeouts[] = { "inf", "infinity", "1e308d", "nan", "0x10", NULL };
    for (size_t i = 0; timeouts[i]; i++) {
        snprintf(t, sizeof t, "%sparameters:\n  x: {values: [1]}\nmodlab: {timeout: '%s'}\n",
                 head, timeouts[i]);
        char name[80];
        snprintf(name, sizeof name, "timeout '%s': an error", timeouts[i]);
        bad(t, name, "timeout", NULL);
    }

    /* Near the edges but finite: accepted, and the plan is valid JSON. */
    ml_err err = {0};
    snprintf(t, sizeof t, "%sparameters:\n  x: {min: 1.0e308, max: 1.7e308}\n"
             "  y: {distribution: log_uniform, min: -700, max: 700}\n", head);
    ml_sweep *s = load(t, &err);
    ml_json_doc *d = s ? plan_of(s) : NULL;
    ok(d != NULL, "huge but finite ranges: accepted, the plan parses");
    if (!s)
        tap_diag("%s", err.msg);
    mli_json_free(d);
    ml_sweep_free(s);
}

/* Every draw of `spec` (a parameter x, 1000 random trials) within [lo, hi], and a multiple
 * of q when q > 0. */
static void in_range(const char *spec, double lo, double hi, double q, const char *name)
{
    char t[512];
    ml_err err = {0};
    snprintf(t, sizeof t, "method: random\nprogram: r.lua\nrun_cap: 1000\n"
             "parameters:\n  x: %s\n  i: {min: 0, max: 1000000000}\n", spec);
    ml_sweep *s = load(t, &err);
    ml_json_doc *d = s ? plan_of(s) : NULL;
    size_t n = s ? (size_t)ml_sweep_ntrials(s) : 0, out = 0, off = 0;
    double worst = 0;
    for (size_t i = 0; d && i < n; i++) {
        double v = param0(d, i)->num;
        if (!(v >= lo && v <= hi)) {
            out++;
            worst = v;
        }
        if (q > 0 && fabs(v / q - round(v / q)) > 1e-6)
            off++;
    }
    ok(d && n == 1000 && out == 0 && off == 0, "%s: 1000 draws in [%g, %g]%s", name, lo, hi,
       q > 0 ? ", multiples of q" : "");
    if (!d || out || off)
        tap_diag("%s; %zu outside (e.g. %g), %zu not multiples", s ? "loaded" : err.msg, out,
                 worst, off);
    mli_json_free(d);
    ml_sweep_free(s);
}

static void test_quantised(void)
{
    in_range("{distribution: q_log_uniform_values, min: 0.1, max: 10, q: 1}", 0.1, 10, 1,
             "q_log_uniform_values min 0.1 q 1 (used to draw 0)");
    in_range("{distribution: q_log_uniform_values, min: 1.5, max: 9.5, q: 1}", 1.5, 9.5, 1,
             "q_log_uniform_values, min and max between multiples");
    in_range("{distribution: q_uniform, min: 0.6, max: 2.9, q: 0.5}", 0.6, 2.9, 0.5,
             "q_uniform, min and max between multiples");
    in_range("{distribution: q_uniform, min: -1, max: 1, q: 0.25}", -1, 1, 0.25,
             "q_uniform over [-1, 1], q 0.25");
    in_range("{distribution: log_uniform_values, min: 0.001, max: 0.1}", 0.001, 0.1, 0,
             "log_uniform_values");
    in_range("{distribution: log_uniform, min: -5, max: 2}", exp(-5), exp(2), 0,
             "log_uniform");
    in_range("{min: -1.7e308, max: -1.0e308}", -1.7e308, -1.0e308, 0, "uniform near -DBL_MAX");
    in_range("{distribution: q_normal, mu: 0, sigma: 5, q: 2}", -1e9, 1e9, 2,
             "q_normal, multiples of q");
}

static void test_names(void)
{
    static const char *const evil[] = {
        "../../escaped-sweep", "a/b", "..", ".hidden", "-rf", "a..b", "lr-$(touch X)",
        "'a b'", "\"x\\ny\"", "\"tab\\there\"", NULL
    };
    char t[512];
    for (size_t i = 0; evil[i]; i++) {
        char name[120];
        snprintf(t, sizeof t, "name: %s\nmethod: grid\nprogram: r.lua\nparameters:\n"
                 "  x: {values: [1]}\n", evil[i]);
        snprintf(name, sizeof name, "sweep name %s: an error naming the key and the set",
                 evil[i]);
        bad(t, name, "name", "A-Za-z0-9", NULL);
    }
    char longname[200];
    memset(longname, 'a', 150);
    longname[150] = 0;
    snprintf(t, sizeof t, "name: %s\nmethod: grid\nprogram: r.lua\nparameters:\n"
             "  x: {values: [1]}\n", longname);
    bad(t, "a 150-character sweep name: an error", "name", NULL);
    ml_err err = {0};
    ml_sweep *s = load("name: lr-sweep_2.v1\nmethod: grid\nprogram: r.lua\nparameters:\n"
                       "  x: {values: [1]}\n", &err);
    ok(s != NULL, "a name of letters, digits, '.', '_' and '-' loads");
    ml_sweep_free(s);
    ok(ml_sweep_check_name("ok-name_1.2", "name", &err) == 0 &&
       ml_sweep_check_name("../x", "name", &err) == ML_ERR_FORMAT &&
       ml_sweep_check_name("", "name", &err) == ML_ERR_FORMAT,
       "ml_sweep_check_name: the same rule for names made elsewhere (file stems)");
}

int main(void)
{
    test_int64_range();
    test_non_finite();
    test_quantised();
    test_names();
    return done_testing();
}
