/* SPDX-License-Identifier: MIT */
/* Optimizers: steps on guarded slots lower a quadratic and stay in bounds, the state
 * survives a save/load round trip, and leaks. */
#include "sdk/conformance_impl.h"

/* ---- optimizers ------------------------------------------------------------------ */

enum { NSLOT = 2 };
static const int64_t slot_numel[NSLOT] = {7, 3};

typedef struct opt_run {
    gbuf val[NSLOT], grad[NSLOT], state[NSLOT];
    ml_opt_slot slots[NSLOT];
    int32_t ss;
} opt_run;

static int opt_create(ck *c, void **self, ml_err *err)
{
    return mli_conf_open(c, c->re->vt.optimizer.create, self, err);
}

static void opt_run_free(opt_run *o)
{
    for (int i = 0; i < NSLOT; i++)
        mli_gbuf_free(&o->val[i]), mli_gbuf_free(&o->grad[i]), mli_gbuf_free(&o->state[i]);
}

static int opt_run_init(opt_run *o, int32_t ss)
{
    ml_rng r;
    memset(o, 0, sizeof *o);
    o->ss = ss;
    mli_rng_init(&r, 31, 1);
    for (int i = 0; i < NSLOT; i++) {
        int64_t n = slot_numel[i];
        if (mli_gbuf_new(&o->val[i], (size_t)n * 4) || mli_gbuf_new(&o->grad[i], (size_t)n * 4) ||
            mli_gbuf_new(&o->state[i], (size_t)(n * (ss ? ss : 1)) * 4))
            return ML_ERR_NOMEM;
        mli_rng_fill_uniform(&r, o->val[i].data, n, -1.0f, 1.0f);
        memset(o->state[i].data, 0, (size_t)(n * (ss ? ss : 1)) * 4);
        o->slots[i] = (ml_opt_slot){o->val[i].data, o->grad[i].data, ss ? o->state[i].data
                                    : NULL, n, i ? ML_PARAM_NO_DECAY : 0u, 1.0f,
                                    i ? 0.0f : 1.0f};
    }
    return ML_OK;
}

static double opt_f(const opt_run *o)
{
    double f = 0;
    for (int i = 0; i < NSLOT; i++)
        for (int64_t k = 0; k < slot_numel[i]; k++)
            f += 0.5 * (double)o->val[i].data[k] * o->val[i].data[k];
    return f;
}

/* Steps t0..t1 on f = 0.5 |x|^2 (grad = x). Returns 1 with *why set on a contract breach. */
static int opt_steps(ck *c, void *self, opt_run *o, int64_t t0, int64_t t1, const char **why,
                     ml_err *err)
{
    float keep[16];
    for (int64_t t = t0; t <= t1; t++) {
        for (int i = 0; i < NSLOT; i++)
            memcpy(o->grad[i].data, o->val[i].data, (size_t)slot_numel[i] * 4);
        memcpy(keep, o->grad[0].data, (size_t)slot_numel[0] * 4);
        if (c->re->vt.optimizer.step(self, o->slots, NSLOT, 1.0f, t, err)) {
            *why = err->msg;
            return 1;
        }
        for (int i = 0; i < NSLOT; i++) {
            static char buf[160];
            int dv = mli_gbuf_damage(&o->val[i]), dg = mli_gbuf_damage(&o->grad[i]);
            int ds = mli_gbuf_damage(&o->state[i]);
            if (dv || dg || ds) {
                snprintf(buf, sizeof buf, "step wrote %s slot %d's %s buffer%s",
                         mli_gbuf_damage_where(dv ? dv : dg ? dg : ds), i,
                         dv ? "value" : dg ? "grad" : "state",
                         ds && !dv && !dg ? " (state has state_size() floats per element)"
                                          : "");
                *why = buf;
                return 1;
            }
        }
        if (memcmp(keep, o->grad[0].data, (size_t)slot_numel[0] * 4)) {
            *why = "step modified grad (it is const)";
            return 1;
        }
        for (int i = 0; i < NSLOT; i++) {
            static char buf[160];
            char what[96];
            int64_t bad = mli_conf_first_nonfinite(o->val[i].data, slot_numel[i]);
            if (bad >= 0) {
                mli_conf_describe_nonfinite(o->val[i].data, bad, slot_numel[i], what, sizeof what);
                snprintf(buf, sizeof buf, "step %lld %s of slot %d's value (its gradient "
                         "was finite)", (long long)t, what, i);
                *why = buf;
                return 1;
            }
        }
    }
    return 0;
}

static int opt_leak_life(ck *c, const void *arg, int64_t fail_at, ml_err *err)
{
    void *self = NULL;
    (void)arg;
    ml_mem_fail_at(fail_at);
    int rc = opt_create(c, &self, err);
    ml_mem_fail_at(0);
    if (!rc)
        c->re->vt.optimizer.destroy(self);
    return rc;
}

void mli_conf_check_optimizer(ck *c)
{
    const ml_optimizer_vtable *vt = &c->re->vt.optimizer;
    void *self = NULL, *s2 = NULL;
    opt_run a, b;
    ml_err err;
    const char *why = NULL;
    int32_t ss;
    mli_conf_begin(c->s, c->id, "step");
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (mli_conf_has_required(c->re->entry.options)) {
        SKIP(c, "step", "the optimizer has required options; the check cannot invent values");
        return;
    }
    if (opt_create(c, &self, &err)) {
        FAIL(c, "step", "create with default options failed: %s", err.msg);
        return;
    }
    ss = vt->state_size ? vt->state_size(self) : 0;
    if (ss < 0 || ss > 64) {
        FAIL(c, "step", "state_size() returned %d; expected 0..64 floats per element", ss);
        goto done;
    }
    if (opt_run_init(&a, ss)) {
        FAIL(c, "step", "out of memory");
        goto done;
    }
    double f0 = opt_f(&a);
    if (opt_steps(c, self, &a, 1, OPT_STEPS, &why, &err)) {
        FAIL(c, "step", "%s", why);
        goto done;
    }
    double f1 = opt_f(&a);
    if (!(f1 < f0)) {
        FAIL(c, "step", "%d steps on 0.5*|x|^2 with default options did not lower it (%g -> "
             "%g); does step move values against the gradient?", OPT_STEPS, f0, f1);
        goto done;
    }
    PASS(c, "step", "%d steps lower 0.5*|x|^2 from %.4g to %.4g; state_size %d", OPT_STEPS,
         f0, f1, ss);
    mli_conf_begin(c->s, c->id, "bounds");
    PASS(c, "bounds", "values, grads and state on %s: nothing written outside, grads intact",
         GUARD_KIND);

    /* Save/load: a fresh instance continues from the slots' state exactly. */
    mli_conf_begin(c->s, c->id, "save/load");
    opt_run_free(&a);
    if (opt_run_init(&a, ss) || opt_run_init(&b, ss)) {
        FAIL(c, "save/load", "out of memory");
        goto done;
    }
    vt->destroy(self);
    self = NULL;
    if (opt_create(c, &self, &err) || opt_steps(c, self, &a, 1, 6, &why, &err) ||
        opt_steps(c, self, &b, 1, 3, &why, &err) || (vt->destroy(self), self = NULL,
                                                      opt_create(c, &s2, &err)) ||
        opt_steps(c, s2, &b, 4, 6, &why, &err)) {
        FAIL(c, "save/load", "%s", why ? why : err.msg);
        goto done;
    }
    for (int i = 0; i < NSLOT; i++)
        if (memcmp(a.val[i].data, b.val[i].data, (size_t)slot_numel[i] * 4)) {
            FAIL(c, "save/load", "a fresh instance continuing from the slots' state diverges "
                 "from an uninterrupted run: keep all per-parameter state in slots[i].state, "
                 "never in self (checkpoints save only the slots)");
            goto done;
        }
    PASS(c, "save/load", "6 steps uninterrupted == 3 steps, new instance, 3 steps (bitwise)");
done:
    if (self)
        vt->destroy(self);
    if (s2)
        vt->destroy(s2);
    opt_run_free(&a);
    opt_run_free(&b);
    mli_conf_check_leaks(c, opt_leak_life, NULL);
}
