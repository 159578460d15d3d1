/* SPDX-License-Identifier: MIT */
/* Losses: forward on guarded buffers, dloss/dpred against finite differences, and leaks. */
#include "sdk/conformance_impl.h"

/* ---- losses ---------------------------------------------------------------------- */

static int loss_open(ck *c, void **self, ml_shape *pred, ml_shape *tgt, ml_err *err)
{
    ml_opts *o;
    int rc = mli_conf_entry_opts(c, &o, err);
    *pred = (ml_shape){1, {5}};
    *tgt = (ml_shape){0, {0}};
    /* Class-id targets first; a loss that rejects them gets regression targets. */
    if (!rc && c->re->vt.loss.create(mli_host_table(), o, pred, tgt, self, err) != 0) {
        *tgt = *pred;
        rc = c->re->vt.loss.create(mli_host_table(), o, pred, tgt, self, err);
    }
    ml_opts_free(o);
    return rc;
}

static int loss_leak_life(ck *c, const void *arg, int64_t fail_at, ml_err *err)
{
    void *self = NULL;
    ml_shape p, t;
    (void)arg;
    ml_mem_fail_at(fail_at);
    int rc = loss_open(c, &self, &p, &t, err);
    ml_mem_fail_at(0);
    if (!rc)
        c->re->vt.loss.destroy(self);
    return rc;
}

void mli_conf_check_loss(ck *c)
{
    enum { B = 3, K = 5 };
    float p[B * K], y[B * K];
    gbuf g = {0};
    void *self = NULL;
    ml_shape ps, ts;
    ml_err err;
    ml_rng r;
    mli_conf_begin(c->s, c->id, "gradient");
    if (mli_conf_has_required(c->re->entry.options)) {
        SKIP(c, "gradient", "the loss has required options; the check cannot invent values");
        return;
    }
    if (loss_open(c, &self, &ps, &ts, &err)) {
        FAIL(c, "gradient", "create failed for predictions {5}: %s", err.msg);
        return;
    }
    mli_rng_init(&r, 99, 1);
    mli_rng_fill_uniform(&r, p, B * K, -2, 2);
    if (ts.ndim == 0)
        for (int i = 0; i < B; i++)
            y[i] = (float)(i % K);
    else
        mli_rng_fill_uniform(&r, y, B * K, 0, 1);
    ml_view pv = {p, B, ps}, tv = {y, B, ts};
    double L, hi, lo, worst = 0;
    if (mli_gbuf_new(&g, sizeof p)) {
        FAIL(c, "gradient", "out of memory");
        goto done;
    }
    mli_conf_fill_nan(g.data, B * K);
    ml_view gv = {g.data, B, ps};
    if (c->re->vt.loss.forward(self, &pv, &tv, &L, &gv, &err)) {
        FAIL(c, "gradient", "forward failed: %s", err.msg);
        goto done;
    }
    if (!mli_gbuf_intact(&g) || mli_conf_first_nonfinite(g.data, B * K) >= 0) {
        FAIL(c, "gradient", "forward wrote outside gpred or left some of it unwritten");
        goto done;
    }
    for (int i = 0; i < B * K; i++) {
        float keep = p[i];
        p[i] = keep + 1e-3f;
        c->re->vt.loss.forward(self, &pv, &tv, &hi, NULL, &err);
        p[i] = keep - 1e-3f;
        c->re->vt.loss.forward(self, &pv, &tv, &lo, NULL, &err);
        p[i] = keep;
        double num = (hi - lo) / 2e-3, e = fabs(num - g.data[i]) / fmax(1.0, fabs(num));
        worst = e > worst ? e : worst;
    }
    if (worst >= TOL)
        FAIL(c, "gradient", "dloss/dpred is wrong: max relative error %.2e against finite "
             "differences (tolerance %.0e)", worst, TOL);
    else
        PASS(c, "gradient", "%d coordinates, max relative error %.2e", B * K, worst);
done:
    mli_gbuf_free(&g);
    c->re->vt.loss.destroy(self);
    if (!mli_conf_has_required(c->re->entry.options))
        mli_conf_check_leaks(c, loss_leak_life, NULL);
}
