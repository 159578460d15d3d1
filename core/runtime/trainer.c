/* SPDX-License-Identifier: MIT */
/* The training-step driver: forward, loss, backward, aux losses, clipping, optimizer step.
 * Every buffer is allocated when the trainer is made; a step allocates nothing. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "runtime/dataset.h"
#include "base/err.h"
#include "runtime/estep.h"
#include "base/mem.h"
#include "runtime/model.h"
#include "runtime/trainer.h"

static int make_slots(ml_trainer *t, ml_err *err)
{
    ml_model *m = t->m;
    int32_t per = t->opt_vt.state_size ? t->opt_vt.state_size(t->opt_self) : 0;
    int64_t total = 0;
    if (per < 0 || per > 16)
        return mli_error(err, ML_ERR_INTERNAL, "optimizer %s: state_size %d out of range",
                        t->opt_entry.name, per);
    t->slots = mli_zalloc((size_t)(m->np ? m->np : 1) * sizeof *t->slots);
    t->slot_param = mli_zalloc((size_t)(m->np ? m->np : 1) * sizeof *t->slot_param);
    if (!t->slots || !t->slot_param)
        return mli_error(err, ML_ERR_NOMEM, "trainer: out of memory");
    for (int32_t i = 0; i < m->np; i++)
        if (m->params[i]->grad)
            total += m->params[i]->numel;
    t->state_per = per;
    if (per && !(t->state = mli_alloc_big((size_t)(total * per) * sizeof(float))))
        return mli_error(err, ML_ERR_NOMEM, "trainer: out of memory for optimizer state");
    /* mli_alloc_big zeroes: the state starts at zero as the optimizers expect. */
    total = 0;
    for (int32_t i = 0; i < m->np; i++) {
        ml_param *p = m->params[i];
        if (!p->grad)
            continue;
        ml_opt_slot *s = &t->slots[t->nslots];
        s->value = p->value;
        s->grad = p->grad;
        s->state = per ? t->state + total * per : NULL;
        s->numel = p->numel;
        s->flags = p->flags;
        s->lr_scale = 1.0f;
        s->decay_scale = (p->flags & ML_PARAM_NO_DECAY) ? 0.0f : 1.0f;
        t->slot_param[t->nslots++] = i;
        total += p->numel;
    }
    return ML_OK;
}

ml_trainer *ml_trainer_new(ml_model *m, const ml_shape *target, const char *loss,
                           ml_opts *loss_opts, const char *optimizer, ml_opts *opt_opts,
                           ml_err *err)
{
    const ml_reg_entry *le, *oe;
    const ml_shape *out;
    ml_trainer *t = NULL;
    char owner[96];
    if (!m->built) {
        mli_error(err, ML_ERR_INVALID, "trainer: build the model first");
        goto fail;
    }
    if (!(le = mli_registry_lookup(m->reg, ML_KIND_LOSS, loss, err)) ||
        (optimizer && !(oe = mli_registry_lookup(m->reg, ML_KIND_OPTIMIZER, optimizer, err))))
        goto fail;
    snprintf(owner, sizeof owner, "loss %s", loss);
    if (ml_opts_validate(loss_opts, le->entry.options, owner, err))
        goto fail;
    snprintf(owner, sizeof owner, "optimizer %s", optimizer ? optimizer : "(none)");
    if (optimizer && ml_opts_validate(opt_opts, oe->entry.options, owner, err))
        goto fail;
    if (!(t = mli_znew(sizeof *t, "trainer", err)))
        goto fail;
    t->m = m;
    t->loss_entry = le->entry;
    t->loss_vt = le->vt.loss;
    if (optimizer) {
        t->opt_entry = oe->entry;
        t->opt_vt = oe->vt.optimizer;
    }
    t->loss_opts = loss_opts;
    t->opt_opts = opt_opts;
    loss_opts = opt_opts = NULL;
    t->lr_factor = 1.0f;
    t->aux_scale = 1.0f;
    t->target = *target;
    t->target_numel = ml_shape_numel(target);
    out = ml_model_out_shape(m, -1);
    t->out_numel = ml_shape_numel(out);
    t->classes = out->ndim ? out->dim[out->ndim - 1] : 1;
    if (t->loss_vt.create(mli_host_table(), t->loss_opts, out, target, &t->loss_self, err)) {
        t->loss_self = NULL;
        mli_error_prefix(err, "loss %s", loss);
        goto fail;
    }
    if (optimizer && t->opt_vt.create(mli_host_table(), t->opt_opts, &t->opt_self, err)) {
        t->opt_self = NULL;
        mli_error_prefix(err, "optimizer %s", optimizer);
        goto fail;
    }
    if (optimizer && make_slots(t, err))
        goto fail;
    if (optimizer) {
        int64_t rows = t->classes >= 2 ? t->out_numel / t->classes : 0;
        err->code = ML_OK;
        t->estep = mli_estep_new(m, &t->loss_vt, t->loss_self, target, t->classes,
                                rows == t->target_numel ? (int32_t)rows : 1, err);
        if (!t->estep && err->code)
            goto fail;
    }
    t->xbuf = mli_alloc_big((size_t)m->max_batch * (size_t)m->in_numel * sizeof(float));
    t->ybuf = mli_alloc_big((size_t)m->max_batch * (size_t)(t->target_numel ? t->target_numel : 1) *
                           sizeof(float));
    t->ibuf = mli_alloc((size_t)m->max_batch * sizeof(int64_t));
    if (!t->xbuf || !t->ybuf || !t->ibuf) {
        mli_error(err, ML_ERR_NOMEM, "trainer: out of memory for batch buffers");
        goto fail;
    }
    return t;
fail:
    ml_opts_free(loss_opts);
    ml_opts_free(opt_opts);
    ml_trainer_free(t);
    return NULL;
}

void ml_trainer_free(ml_trainer *t)
{
    if (!t)
        return;
    if (t->loss_self)
        t->loss_vt.destroy(t->loss_self);
    if (t->opt_self)
        t->opt_vt.destroy(t->opt_self);
    ml_opts_free(t->loss_opts);
    ml_opts_free(t->opt_opts);
    mli_free(t->slots);
    mli_free(t->slot_param);
    mli_free(t->state);
    mli_free(t->xbuf);
    mli_free(t->ybuf);
    mli_free(t->ibuf);
    mli_estep_free(t->estep);
    mli_free(t->resumed);
    mli_free(t);
}

int ml_trainer_set_group(ml_trainer *t, const char *pattern, float lr_scale, float decay_scale,
                         ml_err *err)
{
    int32_t matched = 0;
    if (lr_scale < 0 || decay_scale < 0)
        return mli_error(err, ML_ERR_INVALID, "parameter group '%s': scales must be >= 0",
                        pattern);
    for (int32_t i = 0; i < t->nslots; i++) {
        const char *name = t->m->param_names[t->slot_param[i]];
        if (*pattern && !strstr(name, pattern))
            continue;
        t->slots[i].lr_scale = lr_scale;
        t->slots[i].decay_scale = (t->slots[i].flags & ML_PARAM_NO_DECAY) ? 0.0f : decay_scale;
        matched++;
    }
    if (!matched)
        return mli_error(err, ML_ERR_NOT_FOUND, "parameter group '%s' matches no trainable "
                        "parameter (names look like '0.linear.weight')", pattern);
    return ML_OK;
}

void ml_trainer_set_lr_factor(ml_trainer *t, float f) { t->lr_factor = f; }
void ml_trainer_set_clip_norm(ml_trainer *t, float c) { t->clip = c > 0 ? c : 0; }
void ml_trainer_set_aux_scale(ml_trainer *t, float s) { t->aux_scale = s; }
int64_t ml_trainer_steps_done(const ml_trainer *t) { return t->t; }

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
        const float *p = pred + r * t->classes;
        int32_t best = 0;
        for (int32_t c = 1; c < t->classes; c++)
            if (p[c] > p[best])
                best = c;
        st->correct += best == (int32_t)y[r];
    }
    st->seen += rows * batch;
}

static int loss_of_batch(ml_trainer *t, const float *x, const float *y, int32_t batch,
                         int want_grad, double *loss, ml_err *err)
{
    ml_model *m = t->m;
    ml_node *last = mli_model_out_node(m);
    ml_view pred = {last->act, batch, last->out};
    ml_view tgt = {(float *)y, batch, t->target};
    ml_view gpred = {last->gact, batch, last->out};
    int rc;
    if ((rc = mli_model_forward_into(m, x, batch, err)))
        return rc;
    mli_model_diag_observe(m, y, batch, (int32_t)t->target_numel);
    if ((rc = t->loss_vt.forward(t->loss_self, &pred, &tgt, loss, want_grad ? &gpred : NULL,
                                 err)))
        return mli_error_prefix(err, "loss %s", t->loss_entry.name);
    if (!isfinite(*loss))
        return mli_error(err, ML_ERR_NUMERIC, "the loss became %g at step %lld; lower the "
                        "learning rate, or clip gradients (clip_norm)", *loss,
                        (long long)t->t + 1);
    return ML_OK;
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

ml_estep *mli_trainer_estep(ml_trainer *t) { return t->estep; }

/* One step; `ids` (the batch's dataset indices, in [0, id_limit)) or NULL. With ids, layers
 * providing modlab.estep/1 get their scored candidate passes first. */
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
    if ((rc = loss_of_batch(t, x, y, batch, 1, &loss, err)) ||
        (rc = mli_model_backward(t->m, x, batch, 0, err)) ||
        (rc = mli_model_aux_loss(t->m, t->aux_scale, &aux, err)))
        return rc;
    if (t->clip > 0)
        clip_gradients(t);
    t->t++;
    if ((rc = t->opt_vt.step(t->opt_self, t->slots, t->nslots, t->lr_factor, t->t, err)))
        return mli_error_prefix(err, "optimizer %s", t->opt_entry.name);
    if (t->estep && ids)
        mli_estep_after_step(t->estep);
    st->loss += loss * batch;
    st->aux_loss += aux * batch;
    st->steps++;
    count_correct(t, mli_model_output(t->m), y, batch, st);
    return ML_OK;
}

int ml_trainer_step(ml_trainer *t, const float *x, const float *y, int32_t batch,
                    ml_step_stats *st, ml_err *err)
{
    return step(t, x, y, NULL, 0, batch, st, err);
}

int ml_trainer_eval(ml_trainer *t, const float *x, const float *y, int32_t batch,
                    ml_step_stats *st, ml_err *err)
{
    double loss;
    int was = t->m->training, rc;
    t->m->training = 0;
    rc = loss_of_batch(t, x, y, batch, 0, &loss, err);
    t->m->training = was;
    if (rc)
        return rc;
    st->loss += loss * batch;
    st->steps++;
    count_correct(t, mli_model_output(t->m), y, batch, st);
    return ML_OK;
}

/* ---- stopping on SIGINT/SIGTERM/SIGHUP ------------------------------------------------- */
/* The handler only records the signal: the training loop looks between batches (here and
 * in ml.train), so a stop never lands inside a step or a file write. It puts the default
 * action back at once, so a second signal ends the process as usual. */
static volatile sig_atomic_t stop_sig;
static const int stop_sigs[] = {SIGINT, SIGTERM, SIGHUP};
enum { NSTOP = (int)(sizeof stop_sigs / sizeof stop_sigs[0]) };
static struct sigaction saved_sa[NSTOP];
static int caught[NSTOP];

static void on_stop_signal(int sig)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    if (!stop_sig)
        stop_sig = sig;
    for (int i = 0; i < NSTOP; i++)
        sigaction(stop_sigs[i], &dfl, NULL);
}

void ml_run_signals(int catch_them)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART;
    for (int i = 0; i < NSTOP; i++) {
        if (catch_them && !caught[i]) {
            /* A signal the parent ignores (nohup, a shell's background job) stays ignored. */
            if (sigaction(stop_sigs[i], NULL, &saved_sa[i]) != 0 ||
                saved_sa[i].sa_handler == SIG_IGN)
                continue;
            caught[i] = sigaction(stop_sigs[i], &sa, NULL) == 0;
        } else if (!catch_them && caught[i]) {
            sigaction(stop_sigs[i], &saved_sa[i], NULL);
            caught[i] = 0;
        }
    }
}

int ml_run_stop_signal(void) { return (int)stop_sig; }

int ml_trainer_run(ml_trainer *t, ml_dataset *d, const int64_t *order, int64_t n,
                   int32_t batch, int64_t first, int64_t count, int train,
                   ml_step_stats *st, ml_err *err)
{
    const ml_data_info *info = ml_dataset_info(d);
    int64_t nbatches = (n + batch - 1) / batch;
    int rc;
    if (ml_shape_numel(&info->x_shape) != t->m->in_numel ||
        ml_shape_numel(&info->y_shape) != t->target_numel)
        return mli_error(err, ML_ERR_SHAPE, "dataset %s gives examples of %lld values and "
                        "targets of %lld, the model takes %lld and the loss %lld",
                        d->entry.name, (long long)ml_shape_numel(&info->x_shape),
                        (long long)ml_shape_numel(&info->y_shape), (long long)t->m->in_numel,
                        (long long)t->target_numel);
    if (batch < 1 || batch > t->m->max_batch)
        return mli_error(err, ML_ERR_INVALID, "batch %d outside 1..%d", batch, t->m->max_batch);
    for (int64_t b = first; b < first + count && b < nbatches; b++) {
        int64_t start = b * batch;
        if (stop_sig)
            return mli_error(err, ML_ERR_INTERRUPTED, "interrupted by %s",
                            stop_sig == SIGINT ? "SIGINT" : stop_sig == SIGTERM ? "SIGTERM"
                                                                                : "SIGHUP");
        int32_t nb = (int32_t)(n - start < batch ? n - start : batch);
        if ((rc = ml_dataset_read(d, order + start, nb, t->xbuf, t->ybuf, err)))
            return rc;
        rc = train ? step(t, t->xbuf, t->ybuf, order + start, info->size, nb, st, err)
                   : ml_trainer_eval(t, t->xbuf, t->ybuf, nb, st, err);
        if (rc)
            return rc;
    }
    return ML_OK;
}
