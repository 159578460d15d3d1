/* SPDX-License-Identifier: MIT */
/* Layers: their gradient-check cases, the numeric gradient check, and the layer's leak
 * check; the guarded bounds and save/load checks are in conformance_layer_guard.c. */
#include "sdk/conformance_impl.h"

/* The cases a layer is exercised with, or 0 if it gives none and needs options. */
static int layer_cases(const ml_reg_entry *re, const ml_gradcheck_case **cases, int32_t *n)
{
    static const ml_gradcheck_case fallback = {"", {1, {5}}, 0};
    const ml_gradcheck_iface *gi = mli_conf_gradcheck_iface(re);
    if (gi && gi->ncases > 0 && gi->cases) {
        *cases = gi->cases;
        *n = gi->ncases;
        return 1;
    }
    if (mli_conf_has_required(re->entry.options))
        return 0;
    *cases = &fallback;
    *n = 1;
    return 1;
}

int ml_gradcheck_case_run(ml_registry *reg, const char *layer, int32_t i, uint64_t seed,
                          ml_gradcheck_result *res, const char **options, ml_err *err)
{
    const ml_reg_entry *re = mli_registry_lookup(reg, ML_KIND_LAYER, layer, err);
    const ml_gradcheck_case *cases;
    int32_t n;
    if (!re)
        return err->code;
    if (!layer_cases(re, &cases, &n))
        return mli_error(err, ML_ERR_NOT_FOUND, "layer '%s' has required options but declares "
                        "no %s cases; declare some (see PLUGINS.md)", layer,
                        ML_IFACE_GRADCHECK);
    if (i < 0 || i >= n)
        return mli_error(err, ML_ERR_NOT_FOUND, "layer '%s' has %d gradient-check case%s",
                        layer, n, n == 1 ? "" : "s");
    *options = cases[i].options;
    return ml_gradcheck_layer(reg, layer, cases[i].options, &cases[i].in, cases[i].int_inputs,
                              seed, res, err);
}

ml_model *mli_conf_build_case(ck *c, const ml_gradcheck_case *gc, uint64_t seed, ml_err *err)
{
    ml_opts *o = ml_opts_new(err);
    ml_model *m;
    if (!o)
        return NULL;
    if (ml_opts_parse(o, gc->options, err)) {
        ml_opts_free(o);
        return NULL;
    }
    if (!(m = ml_model_new(c->reg, seed, err))) {
        ml_opts_free(o);
        return NULL;
    }
    if (ml_model_add(m, c->re->entry.name, o, err) || ml_model_build(m, &gc->in, BATCH, err)) {
        ml_model_free(m);
        return NULL;
    }
    return m;
}

void mli_conf_fill_input(float *x, int64_t n, int32_t int_inputs, uint64_t seed)
{
    ml_rng r;
    mli_rng_init(&r, seed, 5);
    if (int_inputs > 0)
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)mli_rng_below(&r, (uint64_t)int_inputs);
    else
        mli_rng_fill_uniform(&r, x, n, -1.0f, 1.0f);
}

static void check_gradient(ck *c, const ml_gradcheck_case *cases, int32_t n)
{
    const ml_layer_vtable *vt = &c->re->vt.layer;
    double worst = 0.0;
    int64_t coords = 0;
    mli_conf_begin(c->s, c->id, "gradient");
    if (!vt->backward_input && !vt->backward_params) {
        SKIP(c, "gradient", "not differentiable (backward_input and backward_params are NULL)");
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        const char *opts = *cases[i].options ? cases[i].options : "defaults";
        ml_gradcheck_result res;
        ml_err err;
        int rc = ml_gradcheck_layer(c->reg, c->re->entry.name, cases[i].options, &cases[i].in,
                                    cases[i].int_inputs, 1234 + (uint64_t)i, &res, &err);
        if (rc) {
            FAIL(c, "gradient", "case %d [%s] did not run: %s", i, opts, err.msg);
            return;
        }
        static const char *what[] = {"input (backward_input)", "parameter (backward_params)",
                                     "aux-loss (aux_loss)"};
        double errs[3] = {res.max_rel_err_input, res.max_rel_err_params, res.max_rel_err_aux};
        for (int k = 0; k < 3; k++) {
            if (!(errs[k] < TOL)) {   /* NaN fails too */
                FAIL(c, "gradient", "case %d [%s]: %s gradient is wrong: max relative error "
                     "%.2e against finite differences (tolerance %.0e); fix the backward pass",
                     i, opts, what[k], errs[k], TOL);
                return;
            }
            worst = errs[k] > worst ? errs[k] : worst;
        }
        coords += res.checked;
    }
    PASS(c, "gradient", "%d case%s, %lld coordinates, max relative error %.2e", n,
         n == 1 ? "" : "s", (long long)coords, worst);
}

/* One life of a layer: create, forward, backward, destroy. */
static int layer_life(ck *c, const ml_gradcheck_case *gc, ml_err *err)
{
    ml_model *m = mli_conf_build_case(c, gc, 21, err);
    float *x = NULL;
    int rc = ML_OK;
    if (!m)
        return err->code ? err->code : ML_ERR_INTERNAL;
    if (!(x = mli_alloc((size_t)(BATCH * m->in_numel) * 4)))
        rc = mli_error(err, ML_ERR_NOMEM, "out of memory");
    if (!rc) {
        mli_conf_fill_input(x, BATCH * m->in_numel, gc->int_inputs, 6);
        rc = mli_model_forward_into(m, x, BATCH, err);
    }
    if (!rc) {
        ml_node *nd = mli_model_out_node(m);
        memset(nd->gact, 0, (size_t)(BATCH * nd->out_numel) * 4);
        rc = mli_model_backward(m, x, BATCH, m->layers[0].vt.backward_input && gc->int_inputs <= 0,
                                err);
    }
    mli_free(x);
    ml_model_free(m);
    return rc;
}

static int layer_create_only(ck *c, const ml_gradcheck_case *gc, int64_t fail_at, ml_err *err)
{
    ml_opts *o = ml_opts_new(err);
    ml_model *m;
    int rc;
    if (!o || ml_opts_parse(o, gc->options, err)) {
        ml_opts_free(o);
        return ML_ERR_INTERNAL;
    }
    if (!(m = ml_model_new(c->reg, 21, err))) {
        ml_opts_free(o);
        return ML_ERR_INTERNAL;
    }
    if ((rc = ml_model_add(m, c->re->entry.name, o, err))) {
        ml_model_free(m);
        return ML_ERR_INTERNAL;
    }
    mli_err_clear(err);
    ml_mem_fail_at(fail_at);
    rc = ml_model_build(m, &gc->in, BATCH, err);
    ml_mem_fail_at(0);
    ml_model_free(m);
    return rc;
}

static int layer_leak_life(ck *c, const void *arg, int64_t fail_at, ml_err *err)
{
    return fail_at ? layer_create_only(c, arg, fail_at, err) : layer_life(c, arg, err);
}

void mli_conf_check_layer(ck *c)
{
    const ml_gradcheck_case *cases;
    int32_t n;
    if (!layer_cases(c->re, &cases, &n)) {
        mli_conf_begin(c->s, c->id, "gradient");
        FAIL(c, "gradient", "the layer has required options but no %s cases; declare some "
             "through ml_entry.extension (see PLUGINS.md)", ML_IFACE_GRADCHECK);
        return;
    }
    /* Bounds first: a layer that scribbles outside its buffers is caught on guarded ones
     * before the gradient check runs it thousands of times on unguarded ones. */
    mli_conf_check_layer_bounds(c, &cases[0]);
    check_gradient(c, cases, n);
    mli_conf_check_layer_saveload(c, &cases[0]);
    mli_conf_check_leaks(c, layer_leak_life, &cases[0]);
}
