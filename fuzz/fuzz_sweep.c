/* SPDX-License-Identifier: MIT */
/* Fuzz target: sweep files (core/sweep/sweep*.c over core/formats/yaml_tree.c), from memory. An accepted
 * sweep must give a plan that is valid JSON (the Lua side decodes it, and JSON has no inf or
 * nan), a safe name, trial ids of 12 hex digits, hyperband rungs that are whole iteration
 * counts, and draws inside the [min, max] of their parameter (issue 18). */
#include "fuzz.h"

#include <math.h>
#include <string.h>

#include <modlab/sweep.h>

#include "formats/json.h"
#include "formats/yaml_tree.h"

/* Bounded distributions: where min/max are the bounds of every draw (log_uniform's are
 * logarithms; the normals ignore min/max). 0: unbounded, 1: [min, max], 2: [e^min, e^max]. */
static int bounded(const ml_yt_doc *d, const ml_yt_node *spec)
{
    static const char *const plain[] = { "int_uniform", "uniform", "q_uniform",
                                         "log_uniform_values", "q_log_uniform_values", NULL };
    const ml_yt_node *n = mli_yt_get(spec, "distribution");
    const char *dist = NULL;
    if (!n)
        return mli_yt_get(spec, "min") && !mli_yt_get(spec, "values") &&
               !mli_yt_get(spec, "value");
    if (mli_yt_str(d, n, "distribution", &dist, NULL))
        return 0;
    if (strcmp(dist, "log_uniform") == 0)
        return 2;
    for (size_t i = 0; plain[i]; i++)
        if (strcmp(dist, plain[i]) == 0)
            return 1;
    return 0;
}

/* Every trial's value of each top-level bounded parameter within its bounds. */
static void check_ranges(const uint8_t *data, size_t size, const ml_json *root)
{
    ml_yt_doc *d = mli_yt_load_string((const char *)data, size, "fuzz.yaml", NULL);
    const ml_yt_node *params = d && d->root ? mli_yt_get(d->root, "parameters") : NULL;
    const ml_json *cols = mli_json_get(root, "columns"), *trials = mli_json_get(root, "trials");
    for (size_t j = 0; params && cols && j < cols->count; j++) {
        const ml_yt_node *spec = mli_yt_get(params, mli_json_at(cols, j)->str);
        int how = spec && spec->kind == ML_YT_MAP ? bounded(d, spec) : 0;
        double lo, hi;
        int64_t ilo, ihi;
        if (!how || mli_yt_float(d, mli_yt_get(spec, "min"), "min", &lo, NULL) ||
            mli_yt_float(d, mli_yt_get(spec, "max"), "max", &hi, NULL))
            continue;
        int ints = !mli_yt_int(d, mli_yt_get(spec, "min"), "min", &ilo, NULL) &&
                   !mli_yt_int(d, mli_yt_get(spec, "max"), "max", &ihi, NULL);
        if (how == 2) {
            lo = exp(lo);
            hi = exp(hi);
        }
        for (size_t i = 0; i < trials->count; i++) {
            const ml_json *v = mli_json_at(mli_json_get(mli_json_at(trials, i), "params"), j);
            if (v->type != ML_JSON_NUMBER)
                continue;
            if (v->is_int && ints && how == 1 ? v->i < ilo || v->i > ihi
                                              : !(v->num >= lo && v->num <= hi))
                fz_fail("sweep", "a draw lies outside its parameter's [min, max]");
        }
    }
    mli_yt_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t live = fz_live();
    ml_err err;
    memset(&err, 0, sizeof err);
    ml_sweep *s = ml_sweep_load_string((const char *)data, size, "fuzz.yaml", &err);
    if (!fz_verdict("sweep", s != NULL, &err)) {
        fz_leak_check("sweep", live);
        return 0;
    }
    const char *plan = ml_sweep_json(s);
    if (!plan)
        fz_fail("sweep", "accepted a sweep without a plan");
    ml_json_doc *doc = mli_json_parse(plan, strlen(plan), NULL, NULL, &err);
    if (!doc)
        fz_fail("sweep", "the plan of an accepted sweep is not valid JSON");
    const ml_json *root = mli_json_root(doc), *name = mli_json_get(root, "name");
    if (name && name->type == ML_JSON_STRING && ml_sweep_check_name(name->str, "name", &err))
        fz_fail("sweep", "accepted a sweep name that is not a safe directory name");
    const ml_json *et = mli_json_get(root, "early_terminate");
    const ml_json *rungs = et && et->type == ML_JSON_OBJECT ? mli_json_get(et, "rungs") : NULL;
    for (size_t i = 0; rungs && i < rungs->count; i++) {
        double r = mli_json_at(rungs, i)->num;
        if (!(r >= 1 && r <= 9007199254740992.0 && r == floor(r)))
            fz_fail("sweep", "a hyperband rung is not a whole number of iterations >= 1");
    }
    check_ranges(data, size, root);
    mli_json_free(doc);
    for (int32_t i = 0; i < ml_sweep_ntrials(s); i++) {
        const char *id = ml_sweep_trial_id(s, i);
        if (!id || strlen(id) != 12 || strspn(id, "0123456789abcdef") != 12)
            fz_fail("sweep", "a trial has no 12-digit id");
    }
    ml_sweep_free(s);
    fz_leak_check("sweep", live);
    return 0;
}
