/* SPDX-License-Identifier: MIT */
/* The trainer: a built model with its loss, optimizer, parameter groups and batch buffers,
 * all allocated when it is made, and the stop signals the training loops watch. The steps
 * themselves are trainer_step.c. */
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
    mli_prefetch_free(t->pf);
    mli_free(t->xalt);
    mli_free(t->yalt);
    mli_free(t->raw);
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
    for (int32_t k = 1; k < ML_MODEL_MAX_OUTPUTS; k++) {
        if (t->heads[k].self)
            t->heads[k].vt.destroy(t->heads[k].self);
        ml_opts_free(t->heads[k].opts);
    }
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

int ml_trainer_add_loss(ml_trainer *t, int32_t output, const char *loss, ml_opts *opts,
                        float weight, ml_err *err)
{
    const ml_reg_entry *le;
    char owner[96];
    ml_trainer_head *h = output >= 1 && output < ML_MODEL_MAX_OUTPUTS ? &t->heads[output] : NULL;
    int rc;
    if (!h || output >= ml_model_noutputs(t->m)) {
        ml_opts_free(opts);
        return mli_error(err, ML_ERR_INVALID, "trainer: the model has %d outputs; output %d "
                         "(counted from 0, the main one has the trainer's loss) is not one "
                         "of 1..%d", ml_model_noutputs(t->m), output,
                         ml_model_noutputs(t->m) - 1);
    }
    if (!(weight >= 0.0f) || weight > 1e6f) {
        ml_opts_free(opts);
        return mli_error(err, ML_ERR_INVALID, "trainer: loss weight %g for output %d is not "
                         "in [0, 1e6]", (double)weight, output);
    }
    if (h->self) {
        ml_opts_free(opts);
        return mli_error(err, ML_ERR_INVALID, "trainer: output %d has a loss already", output);
    }
    snprintf(owner, sizeof owner, "loss %s (output %d)", loss, output + 1);
    if (!(le = mli_registry_lookup(t->m->reg, ML_KIND_LOSS, loss, err)) ||
        (rc = ml_opts_validate(opts, le->entry.options, owner, err))) {
        ml_opts_free(opts);
        return err->code ? err->code : ML_ERR_NOT_FOUND;
    }
    const ml_shape *out = &t->m->nodes[mli_model_output_index(t->m, output)].out;
    if ((rc = le->vt.loss.create(mli_host_table(), opts, out, &t->target, &h->self, err))) {
        h->self = NULL;
        ml_opts_free(opts);
        return mli_error_prefix(err, "%s", owner);
    }
    h->entry = le->entry;
    h->vt = le->vt.loss;
    h->opts = opts;
    h->weight = weight;
    return ML_OK;
}

void ml_trainer_set_lr_factor(ml_trainer *t, float f) { t->lr_factor = f; }
void ml_trainer_set_clip_norm(ml_trainer *t, float c) { t->clip = c > 0 ? c : 0; }
void ml_trainer_set_aux_scale(ml_trainer *t, float s) { t->aux_scale = s; }
int64_t ml_trainer_steps_done(const ml_trainer *t) { return t->t; }

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
