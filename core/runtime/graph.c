/* SPDX-License-Identifier: MIT */
/* Building and running a model's graph. Build checks the graph (every node leads to the
 * output, the input is read), creates each layer instance at its first application, infers
 * every shape and allocates every buffer once; forward runs the nodes in order and backward
 * in reverse, summing the gradients of a node that several nodes read. Steps allocate
 * nothing and call no Lua. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/parallel.h"
#include "runtime/model.h"

/* A chain (each node a new layer reading the one before) is named as before, "layer 3
 * (linear)"; in any other graph the node number is what the recipe counts. */
static int is_chain(const ml_model *m)
{
    for (int32_t i = 0; i < m->nn; i++)
        if (m->nodes[i].layer != i || m->nodes[i].nin != 1 || m->edges[m->nodes[i].in0] != i - 1)
            return 0;
    return m->out_node < 0 || (m->nouts == 1 && m->out_node == m->nn - 1);
}

static const char *where(const ml_model *m, int32_t i, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s %d (%s)", is_chain(m) ? "layer" : "node", i + 1,
             m->layers[m->nodes[i].layer].entry.name);
    return buf;
}

static int32_t input_of(const ml_model *m, const ml_node *nd, int32_t k)
{
    return m->edges[nd->in0 + k];
}

static const ml_shape *shape_of(const ml_model *m, int32_t node)
{
    return node == ML_MODEL_INPUT ? &m->in : &m->nodes[node].out;
}

static ml_view view_of(float *data, int32_t batch, const ml_shape *s)
{
    ml_view v;
    v.data = data;
    v.batch = batch;
    v.shape = *s;
    return v;
}

/* Every node must lead to the output and the input must be read: a node that does not is
 * a mistake in the recipe, caught before anything is created. */
static int check_used(ml_model *m, ml_err *err)
{
    int32_t out = mli_model_output_index(m, 0), last = 0;
    char *used = mli_zalloc((size_t)m->nn);
    char a[96];
    int input_read = 0, rc = ML_OK;
    if (!used)
        return mli_error(err, ML_ERR_NOMEM, "model: out of memory");
    for (int32_t k = 0; k < ml_model_noutputs(m); k++) {
        int32_t o = mli_model_output_index(m, k);
        used[o] = 1;
        last = o > last ? o : last;
    }
    for (int32_t i = last; i >= 0; i--)
        for (int32_t k = 0; used[i] && k < m->nodes[i].nin; k++) {
            int32_t j = input_of(m, &m->nodes[i], k);
            if (j == ML_MODEL_INPUT)
                input_read = 1;
            else
                used[j] = 1;
        }
    for (int32_t i = 0; i < m->nn && !rc; i++)
        if (!used[i])
            rc = mli_error(err, ML_ERR_INVALID, "model: %s is never used: its output does not "
                           "lead to the model's output (node %d); remove it, or read it from "
                           "a node that does", where(m, i, a, sizeof a), out + 1);
    if (!rc && !input_read)
        rc = mli_error(err, ML_ERR_INVALID, "model: no node on the way to the output reads "
                       "the model's input");
    mli_free(used);
    return rc;
}

/* Create instance l at its first application, for inputs of shapes ins[0..nin). */
static int create_layer(ml_model *m, ml_layer_slot *l, int32_t li, const ml_shape *ins,
                        int32_t nin, ml_err *err)
{
    int rc;
    l->in = ins[0];
    l->first_param = m->np;
    l->ctx.model = m;
    l->ctx.layer = li;
    l->ctx.creating = 1;
    mli_rng_init(&l->ctx.rng, m->seed, (uint64_t)li + 1);
    rc = l->vt.create(mli_host_table(), &l->ctx, l->opts, &ins[0], &l->self, err);
    l->ctx.creating = 0;
    if (rc) {
        l->self = NULL;
        return rc;
    }
    rc = l->merge ? l->merge->infer_shapes(l->self, ins, nin, &l->out, err)
                  : l->vt.infer_shape(l->self, &ins[0], &l->out, err);
    l->diag = mli_diag_iface_of(&l->entry);
    return rc;
}

static int build_node(ml_model *m, int32_t i, ml_shape *ins, ml_err *err)
{
    ml_node *nd = &m->nodes[i];
    ml_layer_slot *l = &m->layers[nd->layer];
    char a[64], b[64];
    int rc;
    for (int32_t k = 0; k < nd->nin; k++)
        ins[k] = *shape_of(m, input_of(m, nd, k));
    if (l->first_node == i) {
        if ((rc = create_layer(m, l, nd->layer, ins, nd->nin, err)))
            return rc;
    } else if (l->merge) {
        return mli_error(err, ML_ERR_INVALID, "%s is a merge layer: it has no weights to "
                         "tie, so give each place its own", l->entry.name);
    } else if (memcmp(&ins[0], &l->in, sizeof l->in)) {
        ml_shape_str(&l->in, a, sizeof a);
        ml_shape_str(&ins[0], b, sizeof b);
        return mli_error(err, ML_ERR_SHAPE, "the layer of node %d is applied here (tied "
                         "weights) to input %s, but it was made for %s; tied places need "
                         "one input shape (make a second layer for an untied copy)",
                         l->first_node + 1, b, a);
    }
    nd->out = l->out;
    if (nd->out.ndim < 0 || nd->out.ndim > ML_MAX_DIMS ||
        (nd->out_numel = ml_shape_numel(&nd->out)) <= 0) {
        ml_shape_str(&nd->out, a, sizeof a);
        return mli_error(err, ML_ERR_SHAPE, "inferred an empty output shape %s", a);
    }
    size_t ws = l->vt.workspace ? l->vt.workspace(l->self, m->max_batch) : 0;
    size_t acts = (size_t)m->max_batch * (size_t)nd->out_numel * sizeof(float);
    if ((ws && !(nd->ws = mli_alloc_big(ws))) || !(nd->act = mli_alloc_big(acts)))
        return mli_error(err, ML_ERR_NOMEM, "out of memory for activations (%zu bytes)",
                         acts + ws);
    /* mli_alloc_big's blocks come zeroed and untouched: no memset, so rows past the batches
     * really run never become resident. */
    return ML_OK;
}

/* Which nodes backward must reach (a trainable layer at or before them), and the scratch
 * for summing gradients where a node (or the input) feeds several readers. */
static int plan_backward(ml_model *m, ml_err *err)
{
    int32_t *readers = mli_zalloc(((size_t)m->nn + 1) * sizeof *readers);
    int64_t widest = m->in_numel;
    int fan_out = 0;
    if (!readers)
        return mli_error(err, ML_ERR_NOMEM, "model: out of memory");
    for (int32_t i = 0; i < m->nn; i++) {
        ml_node *nd = &m->nodes[i];
        const ml_layer_slot *l = &m->layers[nd->layer];
        nd->needs_grad = l->nparams > 0 && l->vt.backward_params;
        for (int32_t k = 0; k < nd->nin; k++) {
            int32_t j = input_of(m, nd, k);
            fan_out |= ++readers[j + 1] > 1;
            nd->needs_grad |= j != ML_MODEL_INPUT && m->nodes[j].needs_grad;
        }
        if (nd->out_numel > widest)
            widest = nd->out_numel;
        if (nd->nin > m->max_nin)
            m->max_nin = nd->nin;
    }
    mli_free(readers);
    m->vin = mli_alloc((size_t)m->max_nin * sizeof *m->vin);
    m->vgin = mli_alloc((size_t)m->max_nin * sizeof *m->vgin);
    m->vadd = mli_alloc((size_t)m->max_nin * sizeof *m->vadd);
    m->gtmp_slot = (int64_t)m->max_batch * widest;
    if (fan_out)
        m->gtmp = mli_alloc_big((size_t)m->max_nin * (size_t)m->gtmp_slot * sizeof(float));
    if (!m->vin || !m->vgin || !m->vadd || (fan_out && !m->gtmp))
        return mli_error(err, ML_ERR_NOMEM, "model: out of memory for the backward plan");
    return ML_OK;
}

int ml_model_build(ml_model *m, const ml_shape *in, int32_t max_batch, ml_err *err)
{
    char a[64], w[96];
    ml_shape *ins;
    int rc = ML_OK;
    if (m->built)
        return mli_error(err, ML_ERR_INVALID, "model: already built");
    if (m->nn == 0)
        return mli_error(err, ML_ERR_INVALID, "model: no layers");
    if (max_batch < 1 || !in || in->ndim < 0 || in->ndim > ML_MAX_DIMS ||
        ml_shape_numel(in) <= 0)
        return mli_error(err, ML_ERR_INVALID, "model: bad input shape or batch size");
    if ((rc = check_used(m, err)))
        return rc;
    m->max_batch = max_batch;
    m->in = *in;
    m->in_numel = ml_shape_numel(in);
    int32_t fan_in = 1;
    for (int32_t i = 0; i < m->nn; i++)
        fan_in = m->nodes[i].nin > fan_in ? m->nodes[i].nin : fan_in;
    if (!(ins = mli_alloc((size_t)fan_in * sizeof *ins)))
        return mli_error(err, ML_ERR_NOMEM, "model: out of memory");
    for (int32_t i = 0; i < m->nn && !rc; i++)
        if ((rc = build_node(m, i, ins, err))) {
            const ml_node *nd = &m->nodes[i];
            ml_shape_str(shape_of(m, input_of(m, nd, 0)), a, sizeof a);
            mli_error_prefix(err, "%s with input %s%s", where(m, i, w, sizeof w), a,
                             nd->nin > 1 ? " and others" : "");
        }
    mli_free(ins);
    if (!rc)
        rc = plan_backward(m, err);
    if (!rc)
        rc = mli_graph_plan_grads(m, err);
    m->built = !rc;
    return rc;
}

/* The views of node nd's inputs and its output, for a batch. */
static void node_views(ml_model *m, const ml_node *nd, const float *x, int32_t batch,
                       ml_view *out)
{
    for (int32_t k = 0; k < nd->nin; k++) {
        int32_t j = input_of(m, nd, k);
        m->vin[k] = view_of(j == ML_MODEL_INPUT ? (float *)x : m->nodes[j].act, batch,
                            shape_of(m, j));
    }
    *out = view_of(nd->act, batch, &nd->out);
}

int mli_model_forward_into(ml_model *m, const float *x, int32_t batch, ml_err *err)
{
    char w[96];
    if (!m->built)
        return mli_error(err, ML_ERR_INVALID, "model: forward before build");
    if (batch < 1 || batch > m->max_batch)
        return mli_error(err, ML_ERR_INVALID, "model: batch %d outside 1..%d", batch,
                        m->max_batch);
    m->forward_count++;
    if (!m->input_normalized)
        x = mli_model_input(m, x, batch);
    for (int32_t i = 0; i < m->nn; i++) {
        ml_node *nd = &m->nodes[i];
        ml_layer_slot *l = &m->layers[nd->layer];
        ml_view out;
        node_views(m, nd, x, batch, &out);
        /* Per-forward randomness (dropout) is a pure function of seed, node and count. */
        mli_rng_init(&l->ctx.rng, m->seed, ((uint64_t)(i + 1) << 40) ^ m->forward_count);
        int rc = l->merge ? l->merge->forward(l->self, &l->ctx, m->vin, nd->nin, &out, err)
                          : l->vt.forward(l->self, &l->ctx, &m->vin[0], &out, nd->ws, err);
        if (rc)
            return mli_error_prefix(err, "%s forward", where(m, i, w, sizeof w));
    }
    return ML_OK;
}

const float *mli_model_output(const ml_model *m) { return mli_model_out_node(m)->act; }

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

/* Where input k of a node writes its gradient: straight into input j's gradient when
 * nothing is there yet, else into scratch slot k, added afterwards (*add). */
static float *grad_target(ml_model *m, int32_t j, int32_t k, int *add)
{
    int *set = j == ML_MODEL_INPUT ? &m->gin_set : &m->nodes[j].gset;
    *add = *set;
    *set = 1;
    if (!*add)
        return j == ML_MODEL_INPUT ? m->gin : m->nodes[j].gact;
    return m->gtmp + (size_t)k * (size_t)m->gtmp_slot;
}

static void grad_add(ml_model *m, int32_t j, const float *g, int32_t batch)
{
    float *dst = j == ML_MODEL_INPUT ? m->gin : m->nodes[j].gact;
    int64_t n = (int64_t)batch * (j == ML_MODEL_INPUT ? m->in_numel : m->nodes[j].out_numel);
    for (int64_t i = 0; i < n; i++)
        dst[i] += g[i];
}

/* Whether backward must reach node j (or the input): every node leads from the input, so
 * the input's gradient (the gradient check's) needs all of them. */
static int wants_grad(const ml_model *m, int32_t j, int want_gin)
{
    return want_gin || (j != ML_MODEL_INPUT && m->nodes[j].needs_grad);
}

/* dL/d inputs of node i, from its gact: into each input that backward must reach. */
static int node_backward_input(ml_model *m, int32_t i, const ml_view *out, const ml_view *gout,
                               int32_t batch, int want_gin, ml_err *err)
{
    ml_node *nd = &m->nodes[i];
    ml_layer_slot *l = &m->layers[nd->layer];
    int wanted = 0, rc;
    char w[96];
    for (int32_t k = 0; k < nd->nin; k++)
        wanted |= wants_grad(m, input_of(m, nd, k), want_gin);
    if (!wanted)
        return ML_OK;
    if (!l->merge && !l->vt.backward_input)
        return mli_error(err, ML_ERR_INVALID, "%s passes no gradient to its input, so the "
                         "layers before it cannot train; move it first",
                         where(m, i, w, sizeof w));
    for (int32_t k = 0; k < nd->nin; k++) {
        int32_t j = input_of(m, nd, k);
        m->vadd[k] = 0;
        float *g = wants_grad(m, j, want_gin) ? grad_target(m, j, k, &m->vadd[k]) : NULL;
        m->vgin[k] = view_of(g, batch, shape_of(m, j));
    }
    rc = l->merge ? l->merge->backward(l->self, &l->ctx, m->vin, nd->nin, out, gout, m->vgin,
                                       err)
                  : l->vt.backward_input(l->self, &l->ctx, &m->vin[0], out, gout, &m->vgin[0],
                                         nd->ws, err);
    if (rc)
        return mli_error_prefix(err, "%s backward", where(m, i, w, sizeof w));
    for (int32_t k = 0; k < nd->nin; k++)
        if (m->vadd[k])
            grad_add(m, input_of(m, nd, k), m->vgin[k].data, batch);
    return ML_OK;
}

int mli_model_backward(ml_model *m, const float *x, int32_t batch, int want_gin, ml_err *err)
{
    char w[96];
    int rc;
    if (want_gin && !m->gin) {
        m->gin = mli_alloc_big((size_t)m->max_batch * (size_t)m->in_numel * sizeof(float));
        if (!m->gin)
            return mli_error(err, ML_ERR_NOMEM, "model: out of memory for the input gradient");
    }
    if (m->norm_ch && !m->input_normalized)
        x = m->xnorm;   /* what the forward read: backward's inputs must be the same */
    for (int32_t i = 0; i < m->nn; i++)
        m->nodes[i].gset = 0;
    m->gin_set = 0;
    for (int32_t k = 0; k < ml_model_noutputs(m); k++)   /* the caller wrote dL/d outputs */
        m->nodes[mli_model_output_index(m, k)].gset = 1;
    for (int32_t i = m->nn - 1; i >= 0; i--) {
        ml_node *nd = &m->nodes[i];
        ml_layer_slot *l = &m->layers[nd->layer];
        ml_view out, gout;
        if (!nd->gset)
            continue;   /* no gradient reaches it: its readers pass none */
        node_views(m, nd, x, batch, &out);
        gout = view_of(nd->gact, batch, &nd->out);
        if (!l->merge && l->vt.backward_params && l->nparams &&
            (rc = l->vt.backward_params(l->self, &l->ctx, &m->vin[0], &out, &gout, nd->ws,
                                        err)))
            return mli_error_prefix(err, "%s backward", where(m, i, w, sizeof w));
        if ((rc = node_backward_input(m, i, &out, &gout, batch, want_gin, err)))
            return rc;
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
