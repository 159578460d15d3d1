/* SPDX-License-Identifier: MIT */
/* Models as written: layer instances (options validated at once), the nodes that apply
 * them and their edges, the parameter store and the accessors. Building and running the
 * graph is graph.c. */
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
    m->out_node = -1;
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
    }
    for (int32_t i = 0; i < m->nn; i++) {
        mli_free(m->nodes[i].ws);
        mli_free(m->nodes[i].act);
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
    for (int32_t b = 0; b < m->ngbufs; b++)
        mli_free(m->gbufs[b]);
    mli_free(m->gbufs);
    mli_free(m->nodes);
    mli_free(m->edges);
    mli_free(m->gin);
    mli_free(m->gtmp);
    mli_free(m->xnorm);
    mli_free(m->norm_mean);
    mli_free(m->norm_std);
    mli_free(m->vin);
    mli_free(m->vgin);
    mli_free(m->vadd);
    mli_jbuf_free(&m->diag_text);
    mli_free(m);
}

/* Room for element n of a growing array (doubling from `first`). */
static int grow(void **arr, int32_t *cap, int32_t n, size_t elem, int32_t first)
{
    if (n < *cap)
        return 0;
    int32_t c = *cap ? *cap : first;
    while (c <= n)
        c *= 2;
    void *a = mli_realloc(*arr, (size_t)c * elem);
    if (!a)
        return -1;
    *arr = a;
    *cap = c;
    return 0;
}

/* A node applying instance `layer` to inputs[0..nin) (nin 0: the last node). */
static int32_t add_node(ml_model *m, int32_t layer, const int32_t *inputs, int32_t nin,
                        ml_err *err)
{
    const ml_layer_slot *l = &m->layers[layer];
    int32_t last = m->nn - 1;   /* ML_MODEL_INPUT for the first node */
    if (nin < 0 || (nin > 0 && !inputs))
        return mli_error(err, ML_ERR_INVALID, "model: bad input list for '%s'", l->entry.name);
    if (nin > 1 && !l->merge)
        return mli_error(err, ML_ERR_INVALID, "model: node %d (%s) is given %d inputs, but "
                         "%s is not a merge layer; join them with add, concat or mul first",
                         m->nn + 1, l->entry.name, nin, l->entry.name);
    for (int32_t k = 0; k < nin; k++)
        if (inputs[k] < ML_MODEL_INPUT || inputs[k] >= m->nn)
            return mli_error(err, ML_ERR_INVALID, "model: node %d (%s) reads node %d, which "
                             "does not exist yet (nodes read only earlier nodes)", m->nn + 1,
                             l->entry.name, inputs[k] + 1);
    if (grow((void **)&m->nodes, &m->capn, m->nn, sizeof *m->nodes, 8) ||
        grow((void **)&m->edges, &m->cape, m->ne + (nin ? nin : 1) - 1, sizeof *m->edges, 16))
        return mli_error(err, ML_ERR_NOMEM, "model: out of memory");
    ml_node *nd = &m->nodes[m->nn];
    memset(nd, 0, sizeof *nd);
    nd->layer = layer;
    nd->in0 = m->ne;
    nd->nin = nin ? nin : 1;
    for (int32_t k = 0; k < nd->nin; k++)
        m->edges[m->ne++] = nin ? inputs[k] : last;
    return m->nn++;
}

int32_t ml_model_node(ml_model *m, const char *name, ml_opts *opts, const int32_t *inputs,
                      int32_t nin, ml_err *err)
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
    if (grow((void **)&m->layers, &m->cap, m->n, sizeof *m->layers, 8)) {
        ml_opts_free(opts);
        return mli_error(err, ML_ERR_NOMEM, "model: out of memory");
    }
    ml_layer_slot *l = &m->layers[m->n];
    memset(l, 0, sizeof *l);
    l->entry = re->entry;
    l->vt = re->vt.layer;
    l->merge = l->entry.extension ? l->entry.extension(ML_IFACE_MERGE) : NULL;
    if (l->merge && (l->merge->abi_major != ML_ABI_MAJOR || !l->merge->infer_shapes ||
                     !l->merge->forward || !l->merge->backward))
        l->merge = NULL;   /* an interface we cannot call: the layer takes one input */
    l->opts = opts;
    l->first_node = m->nn;
    int32_t id = add_node(m, m->n, inputs, nin, err);
    if (id < 0) {
        ml_opts_free(opts);
        return id;
    }
    m->n++;
    return id;
}

int ml_model_add(ml_model *m, const char *name, ml_opts *opts, ml_err *err)
{
    int32_t id = ml_model_node(m, name, opts, NULL, 0, err);
    return id < 0 ? id : ML_OK;
}

int32_t ml_model_apply(ml_model *m, int32_t of, const int32_t *inputs, int32_t nin,
                       ml_err *err)
{
    if (m->built)
        return mli_error(err, ML_ERR_INVALID, "model: cannot apply a layer after the model "
                         "is built");
    if (of < 0 || of >= m->nn)
        return mli_error(err, ML_ERR_INVALID, "model: node %d does not exist", of + 1);
    return add_node(m, m->nodes[of].layer, inputs, nin, err);
}

int ml_model_set_outputs(ml_model *m, const int32_t *nodes, int32_t n, ml_err *err)
{
    if (m->built)
        return mli_error(err, ML_ERR_INVALID, "model: cannot change the outputs after build");
    if (n < 1 || n > ML_MODEL_MAX_OUTPUTS)
        return mli_error(err, ML_ERR_INVALID, "model: %d outputs; give 1 to %d", n,
                         ML_MODEL_MAX_OUTPUTS);
    for (int32_t k = 0; k < n; k++) {
        if (nodes[k] < 0 || nodes[k] >= m->nn)
            return mli_error(err, ML_ERR_INVALID, "model: output node %d does not exist (the "
                             "model has %d nodes)", nodes[k] + 1, m->nn);
        for (int32_t j = 0; j < k; j++)
            if (nodes[j] == nodes[k])
                return mli_error(err, ML_ERR_INVALID, "model: node %d is given as output %d "
                                 "and %d; each output is another node", nodes[k] + 1, j + 1,
                                 k + 1);
    }
    memcpy(m->outs, nodes, (size_t)n * sizeof *nodes);
    m->nouts = n;
    m->out_node = nodes[0];
    return ML_OK;
}

int ml_model_set_output(ml_model *m, int32_t node, ml_err *err)
{
    return ml_model_set_outputs(m, &node, 1, err);
}

int32_t ml_model_noutputs(const ml_model *m) { return m->nouts ? m->nouts : 1; }
int32_t ml_model_output_node(const ml_model *m, int32_t k)
{
    return k >= 0 && k < ml_model_noutputs(m) ? mli_model_output_index(m, k) : -1;
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

int32_t ml_model_nlayers(const ml_model *m) { return m->n; }
const char *ml_model_layer_name(const ml_model *m, int32_t i)
{
    return i >= 0 && i < m->n ? m->layers[i].entry.name : NULL;
}
int32_t ml_model_nnodes(const ml_model *m) { return m->nn; }
const ml_shape *ml_model_out_shape(const ml_model *m, int32_t i)
{
    if (!m->built || i >= m->nn)
        return NULL;
    return i < 0 ? &mli_model_out_node(m)->out : &m->nodes[i].out;
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

