/* SPDX-License-Identifier: MIT */
/* The trainer's side of modlab.estep/1: several scored forward passes of the whole model per
 * training batch, for layers that choose among discrete candidates (EM modular layers). The
 * core knows nothing of what a candidate is; it only scores targets. */
#include <math.h>
#include <string.h>

#include "base/err.h"
#include "runtime/estep.h"
#include "base/mem.h"

typedef struct estep_layer {
    ml_estep_iface it;
    void *self;
    const char *name;   /* the layer's entry name, for messages */
} estep_layer;

struct ml_estep {
    ml_model *m;
    ml_loss_vtable loss;
    void *loss_self;
    ml_shape target;
    int64_t target_numel;
    int32_t classes, rows;     /* rows: scored target rows per example */
    estep_layer *layers;
    int32_t n;
    double *loglik, *score;    /* max_batch * rows */
};

ml_estep *mli_estep_new(ml_model *m, const ml_loss_vtable *loss, void *loss_self,
                       const ml_shape *target, int32_t classes, int32_t class_rows,
                       ml_err *err)
{
    int32_t found = 0;
    for (int32_t i = 0; i < m->n; i++)
        found += m->layers[i].entry.extension &&
                 m->layers[i].entry.extension(ML_IFACE_ESTEP) != NULL;
    if (!found)
        return NULL;
    ml_estep *e = mli_zalloc(sizeof *e);
    if (!e || !(e->layers = mli_zalloc((size_t)found * sizeof *e->layers)))
        goto nomem;
    e->m = m;
    e->loss = *loss;
    e->loss_self = loss_self;
    e->target = *target;
    e->target_numel = ml_shape_numel(target);
    e->classes = classes;
    e->rows = class_rows > 0 ? class_rows : 1;
    for (int32_t i = 0; i < m->n; i++) {
        const ml_estep_iface *it = m->layers[i].entry.extension
                                       ? m->layers[i].entry.extension(ML_IFACE_ESTEP) : NULL;
        if (!it)
            continue;
        if (it->abi_major != ML_ABI_MAJOR || it->struct_size < sizeof(ml_estep_iface) ||
            !it->begin_batch || !it->set_candidate || !it->add_log_prior ||
            !it->take_scores || !it->end_batch) {
            mli_error(err, ML_ERR_ABI, "layer %d (%s): its %s interface is incomplete or of "
                     "another ABI", i, m->layers[i].entry.name, ML_IFACE_ESTEP);
            mli_estep_free(e);
            return NULL;
        }
        e->layers[e->n].it = *it;
        e->layers[e->n].name = m->layers[i].entry.name;
        e->layers[e->n++].self = m->layers[i].self;
    }
    size_t cells = (size_t)m->max_batch * (size_t)e->rows;
    e->loglik = mli_alloc(cells * sizeof(double));
    e->score = mli_alloc(cells * sizeof(double));
    if (!e->loglik || !e->score)
        goto nomem;
    return e;
nomem:
    mli_estep_free(e);
    mli_error(err, ML_ERR_NOMEM, "trainer: out of memory for the E-step buffers");
    return NULL;
}

void mli_estep_free(ml_estep *e)
{
    if (!e)
        return;
    mli_free(e->layers);
    mli_free(e->loglik);
    mli_free(e->score);
    mli_free(e);
}

/* log p(y | x) per target row of the model's current output. Class-id targets: log-softmax
 * of each prediction row at its target. Others: minus the loss of the example alone, times
 * its target values (the losses return means), one row per example. */
static int row_loglik(ml_estep *e, const float *y, int32_t batch, ml_err *err)
{
    const ml_node *last = mli_model_out_node(e->m);
    const float *pred = last->act;
    if (e->classes >= 2 && last->out_numel == (int64_t)e->rows * e->classes &&
        e->target_numel == e->rows) {
        int32_t C = e->classes;
        for (int64_t r = 0; r < (int64_t)batch * e->rows; r++) {
            const float *p = pred + r * C;
            int32_t t = (int32_t)y[r];
            if (t < 0 || t >= C)
                return mli_error(err, ML_ERR_INVALID, "E-step: target %g is not a class id "
                                "in 0..%d", (double)y[r], C - 1);
            e->loglik[r] = (double)p[t] - ml_logsumexp(p, C);
        }
        return ML_OK;
    }
    for (int32_t b = 0; b < batch; b++) {
        ml_view pv = {(float *)pred + b * last->out_numel, 1, last->out};
        ml_view tv = {(float *)y + b * e->target_numel, 1, e->target};
        double l;
        int rc = e->loss.forward(e->loss_self, &pv, &tv, &l, NULL, err);
        if (rc)
            return rc;
        e->loglik[b] = -l * (double)e->target_numel;
    }
    return ML_OK;
}

static int32_t scored_rows(const ml_estep *e)
{
    const ml_node *last = mli_model_out_node(e->m);
    return e->classes >= 2 && last->out_numel == (int64_t)e->rows * e->classes &&
           e->target_numel == e->rows ? e->rows : 1;
}

static int candidate_pass(ml_estep *e, const float *x, const float *y, int32_t batch,
                          int32_t k, ml_err *err)
{
    int32_t rows = scored_rows(e);
    int rc;
    for (int32_t i = 0; i < e->n; i++)
        e->layers[i].it.set_candidate(e->layers[i].self, k);
    if ((rc = mli_model_forward_into(e->m, x, batch, err)) ||
        (rc = row_loglik(e, y, batch, err)))
        return rc;
    memcpy(e->score, e->loglik, (size_t)batch * (size_t)rows * sizeof(double));
    for (int32_t i = 0; i < e->n; i++)
        e->layers[i].it.add_log_prior(e->layers[i].self, e->score, batch, rows);
    return ML_OK;
}

int mli_estep_before_step(ml_estep *e, const float *x, const float *y, const int64_t *ids,
                         int32_t batch, int64_t id_limit, ml_err *err)
{
    int32_t want = 0, rows = scored_rows(e);
    int rc;
    for (int32_t i = 0; i < e->n; i++) {
        int32_t n = e->layers[i].it.begin_batch(e->layers[i].self, ids, batch, id_limit);
        if (n < 0)
            return mli_error(err, n, "%s: the E-step could not begin this batch%s",
                             e->layers[i].name, n == ML_ERR_NOMEM ? ": out of memory" : "");
        want = n > want ? n : want;
    }
    for (int32_t k = 0; k < want; k++) {
        if ((rc = candidate_pass(e, x, y, batch, k, err)))
            return mli_error_prefix(err, "E-step candidate %d", k);
        for (int32_t i = 0; i < e->n; i++)
            e->layers[i].it.take_scores(e->layers[i].self, e->loglik, e->score, batch, rows);
    }
    for (int32_t i = 0; i < e->n; i++)
        e->layers[i].it.set_candidate(e->layers[i].self, ML_ESTEP_TRAIN);
    return ML_OK;
}

void mli_estep_after_step(ml_estep *e)
{
    for (int32_t i = 0; i < e->n; i++)
        e->layers[i].it.end_batch(e->layers[i].self);
}

int mli_estep_score(ml_estep *e, const float *x, const float *y, int32_t batch, int32_t k,
                   double *score, int32_t *rows, ml_err *err)
{
    int rc = candidate_pass(e, x, y, batch, k, err);
    if (rc)
        return rc;
    *rows = scored_rows(e);
    memcpy(score, e->score, (size_t)batch * (size_t)*rows * sizeof(double));
    return ML_OK;
}
