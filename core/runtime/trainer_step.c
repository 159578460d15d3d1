/* SPDX-License-Identifier: MIT */
/* Training steps, in pieces and whole. The pieces (load a batch, forward, loss, backward,
 * zero the gradients, update) are what a recipe's own loop calls; the whole step strings
 * the same pieces together with the E-step around them, and ml_trainer_run, ml.train and a
 * custom loop's train_batch all take it: one step for C and Lua. Nothing here allocates. */
#include <math.h>
#include <signal.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "runtime/argmax.h"
#include "runtime/dataset.h"
#include "runtime/estep.h"
#include "runtime/model.h"
#include "runtime/pipeline.h"
#include "runtime/trainer.h"

/* Argmax accuracy when targets are one class id per output row. */
static void count_correct(const ml_trainer *t, const float *pred, const float *y, int32_t batch,
                          ml_step_stats *st)
{
    int64_t rows = t->out_numel / t->classes;
    if (t->classes < 2 || rows != t->target_numel) {
        st->seen += batch;
        return;
    }
    for (int64_t r = 0; r < rows * batch; r++) {
        st->correct += ml_argmax_first(pred + r * t->classes, t->classes) == (int32_t)y[r];
    }
    st->seen += rows * batch;
}

/* A batch's loss (and aux loss) into the running stats, with its accuracy. */
static void add_stats(const ml_trainer *t, ml_step_stats *st, double loss, double aux,
                      const float *y, int32_t batch)
{
    st->loss += loss * batch;
    st->aux_loss += aux * batch;
    st->steps++;
    count_correct(t, mli_model_output(t->m), y, batch, st);
}

static int forward(ml_trainer *t, const float *x, const float *y, int32_t batch, ml_err *err)
{
    int rc = mli_model_forward_into(t->m, x, batch, err);
    if (rc)
        return rc;
    mli_model_diag_observe(t->m, y, batch, (int32_t)t->target_numel);
    return ML_OK;
}

/* The loss of the last forward against y; with want_grad, dloss/dout into the output's
 * gradient, where backward starts. */
static int loss_of(ml_trainer *t, const float *y, int32_t batch, int want_grad, double *loss,
                   ml_err *err)
{
    ml_node *last = mli_model_out_node(t->m);
    ml_view pred = {last->act, batch, last->out};
    ml_view tgt = {(float *)y, batch, t->target};
    ml_view gpred = {last->gact, batch, last->out};
    int rc = t->loss_vt.forward(t->loss_self, &pred, &tgt, loss, want_grad ? &gpred : NULL,
                                err);
    if (rc)
        return mli_error_prefix(err, "loss %s", t->loss_entry.name);
    /* More outputs (auxiliary heads): their weighted losses join the total. */
    for (int32_t k = 1; k < ml_model_noutputs(t->m); k++) {
        const ml_trainer_head *h = &t->heads[k];
        ml_node *nd = &t->m->nodes[mli_model_output_index(t->m, k)];
        ml_view p = {nd->act, batch, nd->out}, g = {nd->gact, batch, nd->out};
        double l = 0.0;
        if (!h->self)
            return mli_error(err, ML_ERR_INVALID, "trainer: output %d of the model has no "
                             "loss; give one for every output", k + 1);
        if ((rc = h->vt.forward(h->self, &p, &tgt, &l, want_grad ? &g : NULL, err)))
            return mli_error_prefix(err, "loss %s (output %d)", h->entry.name, k + 1);
        if (want_grad && h->weight != 1.0f)
            for (int64_t i = 0; i < (int64_t)batch * nd->out_numel; i++)
                nd->gact[i] *= h->weight;
        *loss += h->weight * l;
    }
    if (!isfinite(*loss))
        return mli_error(err, ML_ERR_NUMERIC, "the loss became %g at step %lld; lower the "
                        "learning rate, or clip gradients (clip_norm)", *loss,
                        (long long)t->t + 1);
    return ML_OK;
}

static int backward(ml_trainer *t, const float *x, int32_t batch, double *aux, ml_err *err)
{
    int rc = mli_model_backward(t->m, x, batch, 0, err);
    return rc ? rc : mli_model_aux_loss(t->m, t->aux_scale, aux, err);
}

static void clip_gradients(ml_trainer *t)
{
    double sq = 0.0;
    for (int32_t i = 0; i < t->nslots; i++)
        for (int64_t j = 0; j < t->slots[i].numel; j++)
            sq += (double)t->slots[i].grad[j] * t->slots[i].grad[j];
    double norm = sqrt(sq);
    if (norm <= t->clip)
        return;
    float s = (float)(t->clip / norm);
    for (int32_t i = 0; i < t->nslots; i++) {
        float *g = (float *)t->slots[i].grad;
        for (int64_t j = 0; j < t->slots[i].numel; j++)
            g[j] *= s;
    }
}

static int update(ml_trainer *t, ml_err *err)
{
    int rc;
    if (!t->opt_self)
        return mli_error(err, ML_ERR_INVALID, "trainer: made for evaluation only (no optimizer)");
    if (t->clip > 0)
        clip_gradients(t);
    t->t++;
    if ((rc = t->opt_vt.step(t->opt_self, t->slots, t->nslots, t->lr_factor, t->t, err)))
        return mli_error_prefix(err, "optimizer %s", t->opt_entry.name);
    return ML_OK;
}

ml_estep *mli_trainer_estep(ml_trainer *t) { return t->estep; }

/* One whole step; `ids` (the batch's dataset indices, in [0, id_limit)) or NULL. With ids,
 * layers providing modlab.estep/1 get their scored candidate passes first. */
static int step(ml_trainer *t, const float *x, const float *y, const int64_t *ids,
                int64_t id_limit, int32_t batch, ml_step_stats *st, ml_err *err)
{
    double loss, aux = 0.0;
    int rc;
    if (!t->opt_self)
        return mli_error(err, ML_ERR_INVALID, "trainer: made for evaluation only (no optimizer)");
    t->m->training = 1;
    if (t->estep && ids &&
        (rc = mli_estep_before_step(t->estep, x, y, ids, batch, id_limit, err)))
        return rc;
    mli_model_zero_grad(t->m);
    if ((rc = forward(t, x, y, batch, err)) || (rc = loss_of(t, y, batch, 1, &loss, err)) ||
        (rc = backward(t, x, batch, &aux, err)) || (rc = update(t, err)))
        return rc;
    if (t->estep && ids)
        mli_estep_after_step(t->estep);
    add_stats(t, st, loss, aux, y, batch);
    return ML_OK;
}

int ml_trainer_step(ml_trainer *t, const float *x, const float *y, int32_t batch,
                    ml_step_stats *st, ml_err *err)
{
    if (t->estep)
        return mli_error(err, ML_ERR_INVALID, "trainer: this model has layers with an E-step "
                         "(they score candidates per example), which needs the batch's "
                         "dataset indices: use ml_trainer_read_batch and ml_trainer_train_batch");
    return step(t, x, y, NULL, 0, batch, st, err);
}

int ml_trainer_eval(ml_trainer *t, const float *x, const float *y, int32_t batch,
                    ml_step_stats *st, ml_err *err)
{
    double loss;
    int was = t->m->training, rc;
    t->m->training = 0;
    rc = forward(t, x, y, batch, err);
    if (!rc)
        rc = loss_of(t, y, batch, 0, &loss, err);
    t->m->training = was;
    if (rc)
        return rc;
    add_stats(t, st, loss, 0.0, y, batch);
    return ML_OK;
}

/* ---- the pieces, on the trainer's own batch -------------------------------------------- */

static int check_data(const ml_trainer *t, const ml_dataset *d, ml_err *err)
{
    const ml_data_info *info = ml_dataset_info(d);
    if (ml_shape_numel(&info->x_shape) != t->m->in_numel ||
        ml_shape_numel(&info->y_shape) != t->target_numel)
        return mli_error(err, ML_ERR_SHAPE, "dataset %s gives examples of %lld values and "
                        "targets of %lld, the model takes %lld and the loss %lld",
                        d->entry.name, (long long)ml_shape_numel(&info->x_shape),
                        (long long)ml_shape_numel(&info->y_shape), (long long)t->m->in_numel,
                        (long long)t->target_numel);
    return ML_OK;
}

/* How the trainer reads batches: from d, through the augmentation pipeline aug (or
 * plainly), and when the model normalises its input, normalised in the same pass as the
 * conversion to float (nm), on whichever thread reads: the step then skips it. */
typedef struct reader {
    ml_trainer *t;
    ml_dataset *d;
    ml_pipeline *aug;
    const mli_norm *nm;
} reader;

static int reader_read(void *arg, const int64_t *idx, int32_t n, float *x, float *y,
                       ml_err *err)
{
    const reader *r = arg;
    const ml_trainer *t = r->t;
    const int64_t numel = t->m->in_numel;
    float div;
    int32_t dtype = ml_dataset_dtype(r->d, &div);
    int rc;
    if (r->aug)
        return mli_pipeline_read(r->aug, r->d, idx, n, t->aug_seed, t->aug_epoch, x, y, r->nm,
                                 err);
    if (!r->nm)
        return ml_dataset_read(r->d, idx, n, x, y, err);
    void *raw = dtype == ML_DTYPE_F32 ? (void *)x : t->raw;   /* reserved by start_reads */
    if ((rc = ml_dataset_read_raw(r->d, idx, n, raw, y, err)))
        return rc;
    size_t per = (size_t)numel * ml_dtype_size(dtype);
    for (int32_t i = 0; i < n; i++)
        mli_example_to_float(x + i * numel, (const uint8_t *)raw + i * per, numel, dtype, div,
                             r->nm);
    return ML_OK;
}

/* A reader for batches of up to `batch` examples of d (allocating what it needs now, on
 * this thread); nm is storage for the normalisation it uses. */
static int start_reads(ml_trainer *t, ml_dataset *d, ml_pipeline *aug, int32_t batch,
                       mli_norm *nm, reader *r, ml_err *err)
{
    const ml_model *m = t->m;
    int rc;
    *r = (reader){t, d, aug, NULL};
    if (m->norm_ch > 0 && m->norm_ch <= 64 && m->in_numel % m->norm_ch == 0) {
        nm->nch = m->norm_ch;
        nm->plane = m->in_numel / m->norm_ch;
        for (int32_t c = 0; c < m->norm_ch; c++)   /* mli_model_input's numbers */
            mli_model_norm_coeffs(m, c, &nm->scale[c], &nm->shift[c]);
        r->nm = nm;
    }
    if (aug && (rc = mli_pipeline_reserve(aug, batch, err)))
        return rc;
    size_t need = (size_t)batch * (size_t)m->in_numel * ml_dtype_size(ml_dataset_dtype(d, NULL));
    if (r->nm && !aug && ml_dataset_dtype(d, NULL) != ML_DTYPE_F32 && need > t->raw_bytes) {
        void *b = mli_alloc_big(need);
        if (!b)
            return mli_error(err, ML_ERR_NOMEM, "trainer: out of memory for a batch of "
                             "stored values");
        mli_free(t->raw);
        t->raw = b, t->raw_bytes = need;
    }
    t->xnormed = r->nm != NULL;
    return ML_OK;
}

/* The batch in xbuf/ybuf is examples idx[0..n) of d. */
static void loaded(ml_trainer *t, const ml_dataset *d, const int64_t *idx, int32_t n)
{
    memcpy(t->ibuf, idx, (size_t)n * sizeof *idx);
    t->nbatch = n;
    t->id_limit = ml_dataset_info(d)->size;
    t->forwarded = 0;
}

int ml_trainer_read_batch(ml_trainer *t, ml_dataset *d, const int64_t *idx, int32_t n,
                          ml_err *err)
{
    int rc;
    t->nbatch = 0;
    if ((rc = check_data(t, d, err)))
        return rc;
    if (n < 1 || n > t->m->max_batch)
        return mli_error(err, ML_ERR_INVALID, "batch %d outside 1..%d (the model was built "
                         "for batches up to %d)", n, t->m->max_batch, t->m->max_batch);
    mli_norm nm;
    reader r;
    if ((rc = start_reads(t, d, t->aug, n, &nm, &r, err)) ||
        (rc = reader_read(&r, idx, n, t->xbuf, t->ybuf, err)))
        return rc;
    loaded(t, d, idx, n);
    return ML_OK;
}

void ml_trainer_set_augment(ml_trainer *t, ml_pipeline *p, uint64_t seed, int64_t epoch)
{
    t->aug = p;
    t->aug_seed = seed;
    t->aug_epoch = epoch;
}

static int need_batch(const ml_trainer *t, int need_forward, ml_err *err)
{
    if (!t->nbatch)
        return mli_error(err, ML_ERR_INVALID, "trainer: no batch loaded; load one first");
    if (need_forward && !t->forwarded)
        return mli_error(err, ML_ERR_INVALID, "trainer: the loss needs a forward pass of "
                         "this batch first");
    return ML_OK;
}

/* The model reads the trainer's own batch (xbuf) as it was read: normalised already when
 * start_reads fused the normalisation into the conversion. Other callers' x never is. */
static void own_batch(ml_trainer *t, int on) { t->m->input_normalized = on && t->xnormed; }

const float *ml_trainer_forward(ml_trainer *t, ml_err *err)
{
    if (need_batch(t, 0, err))
        return NULL;
    own_batch(t, 1);
    int rc = forward(t, t->xbuf, t->ybuf, t->nbatch, err);
    own_batch(t, 0);
    if (rc)
        return NULL;
    t->forwarded = 1;
    return mli_model_output(t->m);
}

int ml_trainer_loss(ml_trainer *t, int want_grad, ml_step_stats *st, double *loss,
                    ml_err *err)
{
    int rc = need_batch(t, 1, err);
    if (!rc)
        rc = loss_of(t, t->ybuf, t->nbatch, want_grad, loss, err);
    if (rc)
        return rc;
    if (st)
        add_stats(t, st, *loss, 0.0, t->ybuf, t->nbatch);
    return ML_OK;
}

int ml_trainer_backward(ml_trainer *t, double *aux, ml_err *err)
{
    double a = 0.0;
    int rc = need_batch(t, 1, err);
    own_batch(t, 1);
    if (!rc)
        rc = backward(t, t->xbuf, t->nbatch, &a, err);
    own_batch(t, 0);
    if (aux)
        *aux = a;
    return rc;
}

void ml_trainer_zero_grad(ml_trainer *t) { mli_model_zero_grad(t->m); }

int ml_trainer_update(ml_trainer *t, ml_err *err) { return update(t, err); }

int ml_trainer_train_batch(ml_trainer *t, ml_step_stats *st, ml_err *err)
{
    int rc = need_batch(t, 0, err);
    if (rc)
        return rc;
    own_batch(t, 1);
    rc = step(t, t->xbuf, t->ybuf, t->ibuf, t->id_limit, t->nbatch, st, err);
    own_batch(t, 0);
    return rc;
}

int ml_trainer_eval_batch(ml_trainer *t, ml_step_stats *st, ml_err *err)
{
    int rc = need_batch(t, 0, err);
    if (rc)
        return rc;
    own_batch(t, 1);
    rc = ml_trainer_eval(t, t->xbuf, t->ybuf, t->nbatch, st, err);
    own_batch(t, 0);
    return rc;
}

/* ---- whole epochs, chunk by chunk ------------------------------------------------------ */

/* The second pair of batch buffers and the prefetch thread, made on first use. */
static int want_prefetch(ml_trainer *t, ml_err *err)
{
    if (t->pf)
        return ML_OK;
    size_t ynum = (size_t)(t->target_numel ? t->target_numel : 1);
    if (!t->xalt)
        t->xalt = mli_alloc_big((size_t)t->m->max_batch * (size_t)t->m->in_numel * sizeof(float));
    if (!t->yalt)
        t->yalt = mli_alloc_big((size_t)t->m->max_batch * ynum * sizeof(float));
    if (!t->xalt || !t->yalt)
        return mli_error(err, ML_ERR_NOMEM, "trainer: out of memory for the prefetch buffers");
    return (t->pf = mli_prefetch_new(err)) ? ML_OK : err->code;
}

static void swap_buffers(ml_trainer *t)
{
    float *x = t->xbuf, *y = t->ybuf;
    t->xbuf = t->xalt, t->ybuf = t->yalt;
    t->xalt = x, t->yalt = y;
}

/* Batches are double-buffered: while batch b trains (or is evaluated) on this thread, the
 * prefetch thread reads and transforms batch b + 1 into the other buffers. Every example's
 * values depend only on its index, the seed and the epoch, so this changes no number. */
int ml_trainer_run(ml_trainer *t, ml_dataset *d, const int64_t *order, int64_t n,
                   int32_t batch, int64_t first, int64_t count, int train,
                   ml_step_stats *st, ml_err *err)
{
    int64_t nbatches = (n + batch - 1) / batch, end = first + count;
    ml_pipeline *aug = train ? t->aug : NULL;
    int rc;
    if ((rc = check_data(t, d, err)))
        return rc;
    if (batch < 1 || batch > t->m->max_batch)
        return mli_error(err, ML_ERR_INVALID, "batch %d outside 1..%d", batch, t->m->max_batch);
    if (end > nbatches)
        end = nbatches;
    if (first < 0 || first >= end)
        return ML_OK;
    mli_norm nm;
    reader r;
    if ((rc = start_reads(t, d, aug, batch, &nm, &r, err)))
        return rc;
    if (end - first > 1 && (rc = want_prefetch(t, err)))
        return rc;
#define BATCH_SIZE(b) ((int32_t)(n - (b) * batch < batch ? n - (b) * batch : batch))
    t->nbatch = 0;
    if ((rc = reader_read(&r, order + first * batch, BATCH_SIZE(first), t->xbuf, t->ybuf, err)))
        return rc;
    for (int64_t b = first; b < end; b++) {
        int sig = ml_run_stop_signal();
        if (sig)
            return mli_error(err, ML_ERR_INTERRUPTED, "interrupted by %s",
                            sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP");
        loaded(t, d, order + b * batch, BATCH_SIZE(b));
        if (b + 1 < end) {
            mli_prefetch_job job = { reader_read, &r, order + (b + 1) * batch, BATCH_SIZE(b + 1),
                                     t->xalt, t->yalt };
            mli_prefetch_start(t->pf, &job);
        }
        rc = train ? ml_trainer_train_batch(t, st, err) : ml_trainer_eval_batch(t, st, err);
        if (b + 1 < end) {
            ml_err perr = {0};
            int prc = mli_prefetch_wait(t->pf, &perr);
            if (!rc && prc) {
                *err = perr;
                rc = prc;
            }
            if (!rc)
                swap_buffers(t);
        }
        if (rc)
            return rc;
    }
#undef BATCH_SIZE
    return ML_OK;
}
