/* SPDX-License-Identifier: MIT */
/* Finite-difference gradient check of one layer: L = sum(out * r) for a fixed random r,
 * analytic gradients from backward_input / backward_params against central differences
 * (accumulated in double). Randomness inside the layer (dropout) is replayed exactly for
 * every evaluation by holding the model's forward count fixed. */
#include <math.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "runtime/model.h"

enum { BATCH = 2, MAX_COORDS = 400 };
static const float EPS = 1e-3f;

typedef struct gc {
    ml_model *m;
    float *x, *r;
    int64_t nx, nout;
    uint64_t fixed_count;
} gc;

static int objective(gc *g, double *L, ml_err *err)
{
    int rc;
    g->m->forward_count = g->fixed_count;
    if ((rc = mli_model_forward_into(g->m, g->x, BATCH, err)))
        return rc;
    /* L = sum over the outputs of out_k . r_k (r holds the outputs' parts in order). */
    double s = 0.0;
    int64_t at = 0;
    for (int32_t k = 0; k < ml_model_noutputs(g->m); k++) {
        const ml_node *nd = &g->m->nodes[mli_model_output_index(g->m, k)];
        for (int64_t i = 0; i < BATCH * nd->out_numel; i++)
            s += (double)nd->act[i] * g->r[at + i];
        at += BATCH * nd->out_numel;
    }
    *L = s;
    return ML_OK;
}

static int aux_value(gc *g, double *v, ml_err *err)
{
    return mli_model_aux_loss(g->m, 0.0f, v, err);
}

static double rel_err(double a, double n)
{
    double d = fabs(a - n), s = fmax(fmax(fabs(a), fabs(n)), 1.0);
    return d / s;
}

/* Compare analytic[i] with the numeric derivative of f w.r.t. *coords[i]. */
static int compare(gc *g, float *vals, const float *analytic, int64_t n, int use_aux,
                   double *worst, int64_t *checked, ml_rng *pick, ml_err *err)
{
    int64_t count = n <= MAX_COORDS ? n : MAX_COORDS;
    for (int64_t c = 0; c < count; c++) {
        int64_t i = n <= MAX_COORDS ? c : (int64_t)mli_rng_below(pick, (uint64_t)n);
        float keep = vals[i];
        double hi, lo;
        int rc;
        vals[i] = keep + EPS;
        rc = use_aux ? aux_value(g, &hi, err) : objective(g, &hi, err);
        vals[i] = keep - EPS;
        if (!rc)
            rc = use_aux ? aux_value(g, &lo, err) : objective(g, &lo, err);
        vals[i] = keep;
        if (rc)
            return rc;
        double num = (hi - lo) / (2.0 * (double)EPS);
        double e = rel_err(analytic[i], num);
        if (e > *worst)
            *worst = e;
        (*checked)++;
    }
    return ML_OK;
}

static int run_check(gc *g, int int_inputs, ml_gradcheck_result *res, ml_err *err)
{
    ml_model *m = g->m;
    ml_rng pick;
    double L;
    int rc;
    mli_rng_init(&pick, m->seed, 0xc0ffee);
    /* Analytic gradients: seed dL/dout = r, then backward. */
    mli_model_zero_grad(m);
    if ((rc = objective(g, &L, err)))
        return rc;
    int64_t at = 0;
    for (int32_t k = 0; k < ml_model_noutputs(m); k++) {
        const ml_node *nd = &m->nodes[mli_model_output_index(m, k)];
        memcpy(nd->gact, g->r + at, (size_t)(BATCH * nd->out_numel) * sizeof(float));
        at += BATCH * nd->out_numel;
    }
    int want_gin = !int_inputs && m->layers[0].vt.backward_input;
    if ((rc = mli_model_backward(m, g->x, BATCH, want_gin, err)))
        return rc;
    float *gin = NULL;
    int64_t total = 0;
    for (int32_t i = 0; i < m->np; i++)
        total += m->params[i]->grad ? m->params[i]->numel : 0;
    float *gparams = mli_alloc((size_t)(total ? total : 1) * sizeof(float));
    if (want_gin)
        gin = mli_alloc((size_t)g->nx * sizeof(float));
    if (!gparams || (want_gin && !gin)) {
        mli_free(gparams);
        return mli_error(err, ML_ERR_NOMEM, "gradcheck: out of memory");
    }
    if (want_gin)
        memcpy(gin, m->gin, (size_t)g->nx * sizeof(float));
    int64_t off = 0;
    for (int32_t i = 0; i < m->np; i++)
        if (m->params[i]->grad) {
            memcpy(gparams + off, m->params[i]->grad,
                   (size_t)m->params[i]->numel * sizeof(float));
            off += m->params[i]->numel;
        }
    res->max_rel_err_input = want_gin ? 0.0 : -1.0;
    res->max_rel_err_params = total ? 0.0 : -1.0;
    res->max_rel_err_aux = -1.0;
    res->checked = 0;
    if (want_gin)
        rc = compare(g, g->x, gin, g->nx, 0, &res->max_rel_err_input, &res->checked, &pick,
                     err);
    off = 0;
    for (int32_t i = 0; !rc && i < m->np; i++) {
        ml_param *p = m->params[i];
        if (!p->grad)
            continue;
        rc = compare(g, p->value, gparams + off, p->numel, 0, &res->max_rel_err_params,
                     &res->checked, &pick, err);
        off += p->numel;
    }
    /* The aux loss's gradient, when the layer has one. */
    if (!rc && m->layers[0].vt.aux_loss && total) {
        double v;
        mli_model_zero_grad(m);
        rc = mli_model_aux_loss(m, 1.0f, &v, err);
        off = 0;
        for (int32_t i = 0; !rc && i < m->np; i++)
            if (m->params[i]->grad) {
                memcpy(gparams + off, m->params[i]->grad,
                       (size_t)m->params[i]->numel * sizeof(float));
                off += m->params[i]->numel;
            }
        res->max_rel_err_aux = 0.0;
        off = 0;
        for (int32_t i = 0; !rc && i < m->np; i++) {
            ml_param *p = m->params[i];
            if (!p->grad)
                continue;
            rc = compare(g, p->value, gparams + off, p->numel, 1, &res->max_rel_err_aux,
                         &res->checked, &pick, err);
            off += p->numel;
        }
    }
    mli_free(gparams);
    mli_free(gin);
    return rc;
}

/* Build m (specified, not built) for `in`, then check it on random inputs. */
static int check_model(ml_model *m, const ml_shape *in, int32_t int_inputs, uint64_t seed,
                       ml_gradcheck_result *res, ml_err *err)
{
    gc g;
    ml_rng rng;
    int rc;
    memset(&g, 0, sizeof g);
    g.m = m;
    if ((rc = ml_model_build(m, in, BATCH, err)))
        return rc;
    g.nx = BATCH * m->in_numel;
    for (int32_t k = 0; k < ml_model_noutputs(m); k++)
        g.nout += BATCH * m->nodes[mli_model_output_index(m, k)].out_numel;
    g.x = mli_alloc((size_t)g.nx * sizeof(float));
    g.r = mli_alloc((size_t)g.nout * sizeof(float));
    if (!g.x || !g.r) {
        rc = mli_error(err, ML_ERR_NOMEM, "gradcheck: out of memory");
        goto done;
    }
    mli_rng_init(&rng, seed, 77);
    if (int_inputs > 0)
        for (int64_t i = 0; i < g.nx; i++)
            g.x[i] = (float)mli_rng_below(&rng, (uint64_t)int_inputs);
    else
        mli_rng_fill_uniform(&rng, g.x, g.nx, -1.0f, 1.0f);
    mli_rng_fill_uniform(&rng, g.r, g.nout, -1.0f, 1.0f);
    g.fixed_count = 1;
    m->training = 1;
    rc = run_check(&g, int_inputs, res, err);
done:
    mli_free(g.x);
    mli_free(g.r);
    return rc;
}

int mli_gradcheck_model(ml_model *m, const ml_shape *in, uint64_t seed,
                        ml_gradcheck_result *res, ml_err *err)
{
    return check_model(m, in, 0, seed, res, err);
}

/* A merge layer is checked as a node reading the model's input three times: its several-
 * input path, and the host's summing of the three gradients into one. */
int ml_gradcheck_layer(ml_registry *reg, const char *layer, const char *options,
                       const ml_shape *in, int32_t int_inputs, uint64_t seed,
                       ml_gradcheck_result *res, ml_err *err)
{
    static const int32_t thrice[] = {ML_MODEL_INPUT, ML_MODEL_INPUT, ML_MODEL_INPUT};
    const ml_reg_entry *re = mli_registry_lookup(reg, ML_KIND_LAYER, layer, err);
    ml_opts *opts = NULL;
    ml_model *m = NULL;
    int rc;
    if (!re)
        return mli_error_prefix(err, "gradcheck %s", layer), err->code;
    int merge = re->entry.extension && re->entry.extension(ML_IFACE_MERGE);
    if (!(opts = ml_opts_new(err)))
        return err->code;
    if ((rc = ml_opts_parse(opts, options ? options : "", err))) {
        ml_opts_free(opts);
        return rc;
    }
    if (!(m = ml_model_new(reg, seed, err))) {
        ml_opts_free(opts);
        return err->code;
    }
    rc = ml_model_node(m, layer, opts, merge ? thrice : NULL, merge ? 3 : 0, err);
    if (rc >= 0)
        rc = check_model(m, in, int_inputs, seed, res, err);
    if (rc)
        mli_error_prefix(err, "gradcheck %s", layer);
    ml_model_free(m);
    return rc;
}
