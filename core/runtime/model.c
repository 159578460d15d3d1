/* SPDX-License-Identifier: MIT */
/* The sequential container: layers are specified first (options validated at once), then
 * built for an input shape, which creates them, infers every shape and allocates all
 * activation, gradient and workspace buffers once. Steps allocate nothing. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "runtime/model.h"
#include "runtime/opts.h"
#include "base/parallel.h"

ml_model *ml_model_new(ml_registry *reg, uint64_t seed, ml_err *err)
{
    ml_model *m;
    /* Seeds are [0, 2^63), as ml.train checks them: a Lua -1 or 1e300 arrives here as a uint64
     * at or past 2^63, and is refused, never folded onto some other seed. */
    if (seed > (uint64_t)INT64_MAX)
        return mli_error(err, ML_ERR_INVALID, "model: seed %" PRIu64 " is outside [0, 2^63); "
                        "give a whole number from 0 to 9223372036854775807", seed), NULL;
    if (!(m = mli_znew(sizeof *m, "model", err)))
        return NULL;
    m->reg = reg;
    m->seed = seed;
    m->training = 1;
    return m;
}

void ml_model_free(ml_model *m)
{
    if (!m)
        return;
    mli_sublayers_free(m->subs);
    for (int32_t i = 0; i < m->n; i++) {
        ml_layer_slot *l = &m->layers[i];
        if (l->self)
            l->vt.destroy(l->self);
        ml_opts_free(l->opts);
        mli_free(l->ws);
        mli_free(l->act);
        mli_free(l->gact);
    }
    for (int32_t i = 0; i < m->np; i++) {
        mli_free(m->params[i]->value);
        mli_free(m->params[i]->grad);
        mli_free(m->params[i]);
        mli_free(m->param_names[i]);
    }
    mli_free(m->params);
    mli_free(m->param_names);
    mli_free(m->layers);
    mli_free(m->gin);
    mli_jbuf_free(&m->diag_text);
    mli_free(m);
}

int ml_model_add(ml_model *m, const char *name, ml_opts *opts, ml_err *err)
{
    const ml_reg_entry *re;
    char owner[96];
    int rc;
    if (m->built) {
        ml_opts_free(opts);
        return mli_error(err, ML_ERR_INVALID, "model: cannot add '%s' after the model is built",
                        name);
    }
    if (!(re = mli_registry_lookup(m->reg, ML_KIND_LAYER, name, err))) {
        ml_opts_free(opts);
        return err ? err->code : ML_ERR_NOT_FOUND;
    }
    snprintf(owner, sizeof owner, "layer %d (%s)", m->n + 1, name);
    if ((rc = ml_opts_validate(opts, re->entry.options, owner, err))) {
        ml_opts_free(opts);
        return rc;
    }
    if (m->n == m->cap) {
        int32_t cap = m->cap ? 2 * m->cap : 8;
        ml_layer_slot *ls = mli_realloc(m->layers, (size_t)cap * sizeof *ls);
        if (!ls) {
            ml_opts_free(opts);
            return mli_error(err, ML_ERR_NOMEM, "model: out of memory");
        }
        m->layers = ls;
        m->cap = cap;
    }
    ml_layer_slot *l = &m->layers[m->n];
    memset(l, 0, sizeof *l);
    l->entry = re->entry;
    l->vt = re->vt.layer;
    l->opts = opts;
    m->n++;
    return ML_OK;
}

/* The host's param_new service: a parameter of the layer being created. */
ml_param *mli_ctx_param_new(ml_ctx *ctx, const char *name, const ml_shape *shape,
                           uint32_t flags, ml_err *err)
{
    ml_model *m = ctx->model;
    ml_layer_slot *l = &m->layers[ctx->layer];
    ml_param *p = NULL;
    char full[160];
    int64_t numel;
    if (!ctx->creating)
        return mli_error(err, ML_ERR_INVALID, "%s: param_new called outside create",
                        l->entry.name), NULL;
    if (!shape || shape->ndim < 0 || shape->ndim > ML_MAX_DIMS)
        return mli_error(err, ML_ERR_INVALID, "%s: bad shape for parameter '%s'",
                        l->entry.name, name), NULL;
    numel = ml_shape_numel(shape);
    if (numel <= 0)
        return mli_error(err, ML_ERR_SHAPE, "%s: parameter '%s' has no elements",
                        l->entry.name, name), NULL;
    if (m->np == m->capp) {
        int32_t cap = m->capp ? 2 * m->capp : 16;
        ml_param **ps = mli_realloc(m->params, (size_t)cap * sizeof *ps);
        char **ns = ps ? mli_realloc(m->param_names, (size_t)cap * sizeof *ns) : NULL;
        if (ps)
            m->params = ps;
        if (!ns)
            return mli_error(err, ML_ERR_NOMEM, "model: out of memory"), NULL;
        m->param_names = ns;
        m->capp = cap;
    }
    snprintf(full, sizeof full, "%d.%s.%s%s", ctx->layer, l->entry.name, ctx->prefix, name);
    m->param_names[m->np] = NULL;   /* the failure path frees it: never leave it unset */
    p = mli_zalloc(sizeof *p);
    if (!p)
        goto nomem;
    p->value = mli_alloc_big((size_t)numel * sizeof(float));
    p->grad = (flags & (ML_PARAM_BUFFER | ML_PARAM_STRUCTURAL))
                  ? NULL : mli_alloc_big((size_t)numel * sizeof(float));
    m->param_names[m->np] = mli_strdup(full);
    if (!p->value || (!p->grad && !(flags & (ML_PARAM_BUFFER | ML_PARAM_STRUCTURAL))) ||
        !m->param_names[m->np])
        goto nomem;
    memset(p->value, 0, (size_t)numel * sizeof(float));
    if (p->grad)
        memset(p->grad, 0, (size_t)numel * sizeof(float));
    p->numel = numel;
    p->shape = *shape;
    p->flags = flags;
    p->id = m->np;
    m->params[m->np++] = p;
    l->nparams++;
    return p;
nomem:
    if (p) {
        mli_free(p->value);
        mli_free(p->grad);
        mli_free(p);
    }
    if (m->param_names[m->np]) {
        mli_free(m->param_names[m->np]);
        m->param_names[m->np] = NULL;
    }
    return mli_error(err, ML_ERR_NOMEM, "%s: out of memory for parameter '%s'",
                    l->entry.name, name), NULL;
}

static int build_layer(ml_model *m, int32_t i, const ml_shape *in, ml_err *err)
{
    ml_layer_slot *l = &m->layers[i];
    char a[64];
    int rc;
    l->in = *in;
    l->first_param = m->np;
    l->ctx.model = m;
    l->ctx.layer = i;
    l->ctx.creating = 1;
    mli_rng_init(&l->ctx.rng, m->seed, (uint64_t)i + 1);
    rc = l->vt.create(mli_host_table(), &l->ctx, l->opts, in, &l->self, err);
    l->ctx.creating = 0;
    if (rc) {
        l->self = NULL;
        return rc;
    }
    if ((rc = l->vt.infer_shape(l->self, in, &l->out, err)))
        return rc;
    l->diag = mli_diag_iface_of(&l->entry);
    if (l->out.ndim < 0 || l->out.ndim > ML_MAX_DIMS || (l->out_numel = ml_shape_numel(&l->out)) <= 0) {
        ml_shape_str(&l->out, a, sizeof a);
        return mli_error(err, ML_ERR_SHAPE, "inferred an empty output shape %s", a);
    }
    size_t ws = l->vt.workspace ? l->vt.workspace(l->self, m->max_batch) : 0;
    size_t acts = (size_t)m->max_batch * (size_t)l->out_numel * sizeof(float);
    if ((ws && !(l->ws = mli_alloc_big(ws))) || !(l->act = mli_alloc_big(acts)) ||
        !(l->gact = mli_alloc_big(acts)))
        return mli_error(err, ML_ERR_NOMEM, "out of memory for activations (%zu bytes)",
                        2 * acts + ws);
    /* mli_alloc_big's blocks come zeroed and untouched: no memset, so rows past the batches
     * really run never become resident. */
    return ML_OK;
}

int ml_model_build(ml_model *m, const ml_shape *in, int32_t max_batch, ml_err *err)
{
    char a[64];
    ml_shape cur;
    int rc;
    if (m->built)
        return mli_error(err, ML_ERR_INVALID, "model: already built");
    if (m->n == 0)
        return mli_error(err, ML_ERR_INVALID, "model: no layers");
    if (max_batch < 1 || !in || in->ndim < 0 || in->ndim > ML_MAX_DIMS ||
        ml_shape_numel(in) <= 0)
        return mli_error(err, ML_ERR_INVALID, "model: bad input shape or batch size");
    m->max_batch = max_batch;
    m->in = *in;
    m->in_numel = ml_shape_numel(in);
    cur = *in;
    for (int32_t i = 0; i < m->n; i++) {
        if ((rc = build_layer(m, i, &cur, err))) {
            ml_shape_str(&cur, a, sizeof a);
            return mli_error_prefix(err, "layer %d (%s) with input %s", i + 1,
                                   m->layers[i].entry.name, a);
        }
        cur = m->layers[i].out;
    }
    m->built = 1;
    return ML_OK;
}

int32_t ml_model_nlayers(const ml_model *m) { return m->n; }
const char *ml_model_layer_name(const ml_model *m, int32_t i)
{
    return i >= 0 && i < m->n ? m->layers[i].entry.name : NULL;
}
const ml_shape *ml_model_out_shape(const ml_model *m, int32_t i)
{
    if (i < 0)
        i = m->n - 1;
    return m->built && i < m->n ? &m->layers[i].out : NULL;
}
void ml_model_set_training(ml_model *m, int training) { m->training = !!training; }
int32_t ml_model_nparam_tensors(const ml_model *m) { return m->np; }
ml_param *ml_model_param(ml_model *m, int32_t i) { return i >= 0 && i < m->np ? m->params[i] : NULL; }
const char *ml_model_param_name(const ml_model *m, int32_t i)
{
    return i >= 0 && i < m->np ? m->param_names[i] : NULL;
}

int64_t ml_model_nparams(const ml_model *m)
{
    int64_t n = 0;
    for (int32_t i = 0; i < m->np; i++)
        if (m->params[i]->grad)
            n += m->params[i]->numel;
    return n;
}

static ml_view view_of(float *data, int32_t batch, const ml_shape *s)
{
    ml_view v;
    v.data = data;
    v.batch = batch;
    v.shape = *s;
    return v;
}

int mli_model_forward_into(ml_model *m, const float *x, int32_t batch, ml_err *err)
{
    int rc;
    if (!m->built)
        return mli_error(err, ML_ERR_INVALID, "model: forward before build");
    if (batch < 1 || batch > m->max_batch)
        return mli_error(err, ML_ERR_INVALID, "model: batch %d outside 1..%d", batch,
                        m->max_batch);
    m->forward_count++;
    for (int32_t i = 0; i < m->n; i++) {
        ml_layer_slot *l = &m->layers[i];
        ml_view in = i ? view_of(m->layers[i - 1].act, batch, &l->in)
                       : view_of((float *)x, batch, &l->in);
        ml_view out = view_of(l->act, batch, &l->out);
        /* Per-forward randomness (dropout) is a pure function of seed, layer and count. */
        mli_rng_init(&l->ctx.rng, m->seed, ((uint64_t)(i + 1) << 40) ^ m->forward_count);
        if ((rc = l->vt.forward(l->self, &l->ctx, &in, &out, l->ws, err)))
            return mli_error_prefix(err, "layer %d (%s) forward", i + 1, l->entry.name);
    }
    return ML_OK;
}

const float *mli_model_output(const ml_model *m) { return m->layers[m->n - 1].act; }

const float *ml_model_forward(ml_model *m, const float *x, int32_t batch, ml_err *err)
{
    return mli_model_forward_into(m, x, batch, err) ? NULL : mli_model_output(m);
}

/* Zeroing a CNN's 3.3M gradients is memory-bound: big tensors (a million floats and more;
 * smaller ones are not worth waking the workers) go in slices across the workers. */
enum { ZERO_SLICE = 1 << 20 };

static void zero_slice(void *arg, int32_t t, int32_t w)
{
    const ml_param *p = arg;
    int64_t lo = (int64_t)t * ZERO_SLICE;
    int64_t n = p->numel - lo < ZERO_SLICE ? p->numel - lo : ZERO_SLICE;
    (void)w;
    memset(p->grad + lo, 0, (size_t)n * sizeof(float));
}

void mli_model_zero_grad(ml_model *m)
{
    for (int32_t i = 0; i < m->np; i++) {
        ml_param *p = m->params[i];
        int64_t slices = (p->numel + ZERO_SLICE - 1) / ZERO_SLICE;
        if (!p->grad)
            continue;
        if (slices > 1)
            mli_parallel_for((int32_t)slices, zero_slice, p);
        else
            memset(p->grad, 0, (size_t)p->numel * sizeof(float));
    }
}

int mli_model_backward(ml_model *m, const float *x, int32_t batch, int want_gin, ml_err *err)
{
    int rc;
    if (want_gin && !m->gin) {
        m->gin = mli_alloc_big((size_t)m->max_batch * (size_t)m->in_numel * sizeof(float));
        if (!m->gin)
            return mli_error(err, ML_ERR_NOMEM, "model: out of memory for the input gradient");
    }
    for (int32_t i = m->n - 1; i >= 0; i--) {
        ml_layer_slot *l = &m->layers[i];
        ml_view in = i ? view_of(m->layers[i - 1].act, batch, &l->in)
                       : view_of((float *)x, batch, &l->in);
        ml_view out = view_of(l->act, batch, &l->out);
        ml_view gout = view_of(l->gact, batch, &l->out);
        if (l->vt.backward_params && l->nparams &&
            (rc = l->vt.backward_params(l->self, &l->ctx, &in, &out, &gout, l->ws, err)))
            return mli_error_prefix(err, "layer %d (%s) backward", i + 1, l->entry.name);
        if (i == 0 && !want_gin)
            break;
        if (!l->vt.backward_input) {
            int earlier_trains = 0;
            for (int32_t j = 0; j < i; j++)
                earlier_trains |= m->layers[j].nparams > 0 && m->layers[j].vt.backward_params;
            if (!earlier_trains)
                break;
            return mli_error(err, ML_ERR_INVALID, "layer %d (%s) passes no gradient to its "
                            "input, so the layers before it cannot train; move it first",
                            i + 1, l->entry.name);
        }
        ml_view gin = view_of(i ? m->layers[i - 1].gact : m->gin, batch, &l->in);
        if ((rc = l->vt.backward_input(l->self, &l->ctx, &in, &out, &gout, &gin, l->ws, err)))
            return mli_error_prefix(err, "layer %d (%s) backward", i + 1, l->entry.name);
    }
    return ML_OK;
}

int mli_model_aux_loss(ml_model *m, float scale, double *total, ml_err *err)
{
    *total = 0.0;
    for (int32_t i = 0; i < m->n; i++) {
        ml_layer_slot *l = &m->layers[i];
        double v = 0.0;
        int rc;
        if (!l->vt.aux_loss)
            continue;
        if ((rc = l->vt.aux_loss(l->self, &l->ctx, scale, &v, err)))
            return mli_error_prefix(err, "layer %d (%s) aux_loss", i + 1, l->entry.name);
        *total += v;
    }
    return ML_OK;
}
