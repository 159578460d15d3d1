/* SPDX-License-Identifier: MIT */
/* Gradient buffers shared by liveness. Backward reads every activation (a layer's backward
 * sees its input and output), so activations stay one buffer per node; but node i's
 * gradient lives only from the backward step of its last reader down to its own: nodes
 * whose spans do not overlap share one buffer. A chain needs two, whatever its depth.
 * MODLAB_SHARE_BUFFERS=0 gives every node its own (to measure what sharing saves). */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "runtime/model.h"

typedef struct grad_buf {
    int64_t floats;
    int32_t holder;   /* the lowest node index using it so far: free for spans below */
} grad_buf;

static int sharing_enabled(void)
{
    const char *v = getenv("MODLAB_SHARE_BUFFERS");
    return !(v && !strcmp(v, "0"));
}

/* order[] sorted by the backward step each gradient is first written (last[], the last
 * reader), latest first: the order in which backward needs the buffers. Insertion sort:
 * graphs have tens to hundreds of nodes, and this runs once at build. */
static void sort_by_start(int32_t *order, const int32_t *last, int32_t n)
{
    for (int32_t a = 1; a < n; a++) {
        int32_t v = order[a], b = a;
        for (; b > 0 && (last[order[b - 1]] < last[v] ||
                         (last[order[b - 1]] == last[v] && order[b - 1] < v)); b--)
            order[b] = order[b - 1];
        order[b] = v;
    }
}

int mli_graph_plan_grads(ml_model *m, ml_err *err)
{
    int32_t n = m->nn, nb = 0;
    int32_t *last = mli_alloc((size_t)n * sizeof *last);
    int32_t *order = mli_alloc((size_t)n * sizeof *order);
    int32_t *buf_of = mli_alloc((size_t)n * sizeof *buf_of);
    grad_buf *bufs = mli_zalloc((size_t)n * sizeof *bufs);
    int share = sharing_enabled(), rc = ML_OK;
    if (!last || !order || !buf_of || !bufs) {
        rc = mli_error(err, ML_ERR_NOMEM, "model: out of memory planning gradient buffers");
        goto done;
    }
    /* Span of node i's gradient: from its last reader's backward (the output's: from the
     * start, n) down to its own backward at i. */
    for (int32_t i = 0; i < n; i++)
        last[i] = i, order[i] = i;
    for (int32_t k = 0; k < ml_model_noutputs(m); k++)
        last[mli_model_output_index(m, k)] = n;
    for (int32_t i = 0; i < n; i++)
        for (int32_t k = 0; k < m->nodes[i].nin; k++) {
            int32_t j = m->edges[m->nodes[i].in0 + k];
            if (j != ML_MODEL_INPUT && last[j] < i)
                last[j] = i;
        }
    sort_by_start(order, last, n);
    for (int32_t r = 0; r < n; r++) {
        int32_t i = order[r], pick = -1;
        int64_t need = (int64_t)m->max_batch * m->nodes[i].out_numel;
        /* A buffer whose holders all finished (their own backward, at holder > last[i])
         * before i's gradient is first written; the largest such, to grow the least. */
        for (int32_t b = 0; share && b < nb; b++)
            if (bufs[b].holder > last[i] && (pick < 0 || bufs[b].floats > bufs[pick].floats))
                pick = b;
        if (pick < 0)
            pick = nb++;
        if (bufs[pick].floats < need)
            bufs[pick].floats = need;
        bufs[pick].holder = i;
        buf_of[i] = pick;
    }
    if (!(m->gbufs = mli_zalloc((size_t)nb * sizeof *m->gbufs))) {
        rc = mli_error(err, ML_ERR_NOMEM, "model: out of memory planning gradient buffers");
        goto done;
    }
    m->ngbufs = nb;
    for (int32_t b = 0; b < nb; b++) {
        /* mli_alloc_big's blocks come zeroed and untouched: rows past the batches really
         * run never become resident. */
        if (!(m->gbufs[b] = mli_alloc_big((size_t)bufs[b].floats * sizeof(float)))) {
            rc = mli_error(err, ML_ERR_NOMEM, "out of memory for gradients (%lld bytes)",
                           (long long)bufs[b].floats * 4);
            goto done;
        }
        m->grad_bytes += bufs[b].floats * (int64_t)sizeof(float);
    }
    for (int32_t i = 0; i < n; i++) {
        m->nodes[i].gact = m->gbufs[buf_of[i]];
        m->grad_bytes_unshared += (int64_t)m->max_batch * m->nodes[i].out_numel * 4;
    }
done:
    mli_free(last);
    mli_free(order);
    mli_free(buf_of);
    mli_free(bufs);
    return rc;
}

int64_t ml_model_buffer_bytes(const ml_model *m, int64_t *unshared)
{
    int64_t acts = 0;
    for (int32_t i = 0; m->built && i < m->nn; i++)
        acts += (int64_t)m->max_batch * m->nodes[i].out_numel * (int64_t)sizeof(float);
    if (unshared)
        *unshared = m->built ? acts + m->grad_bytes_unshared : 0;
    return m->built ? acts + m->grad_bytes : 0;
}
