/* SPDX-License-Identifier: MIT */
/* Layers on guarded buffers: forward/backward stay inside their inputs, outputs and
 * parameters, and a save/load round trip gives back the same layer. */
#include "sdk/conformance_impl.h"

/* Parameter gradients on guarded buffers too: plugins reach them through the ml_param the
 * host handed out (PLUGINS.md: keep that pointer), so the check swaps the grad pointers. */
typedef struct pguard {
    gbuf g[64];
    float *orig[64];
    int32_t n;
} pguard;

static int pguard_on(pguard *pg, ml_model *m)
{
    memset(pg, 0, sizeof *pg);
    for (int32_t i = 0; i < m->np && pg->n < 64; i++) {
        ml_param *p = m->params[i];
        if (!p->grad)
            continue;
        if (mli_gbuf_new(&pg->g[pg->n], (size_t)p->numel * 4))
            return ML_ERR_NOMEM;
        memset(pg->g[pg->n].data, 0, (size_t)p->numel * 4);
        pg->orig[pg->n] = p->grad;
        p->grad = pg->g[pg->n++].data;
    }
    return ML_OK;
}

/* Index of the first parameter whose grad guard was written, or -1; *d the damage. */
static int32_t pguard_damaged(pguard *pg, ml_model *m, int *d)
{
    for (int32_t i = 0, k = 0; i < m->np && k < pg->n; i++)
        if (m->params[i]->grad && (*d = mli_gbuf_damage(&pg->g[k++])))
            return i;
    return -1;
}

static void pguard_off(pguard *pg, ml_model *m)
{
    for (int32_t i = 0, k = 0; i < m->np; i++)
        if (m->params[i]->grad && k < pg->n && m->params[i]->grad == pg->g[k].data)
            m->params[i]->grad = pg->orig[k++];
    for (int32_t k = 0; k < 64; k++)
        mli_gbuf_free(&pg->g[k]);
}

/* forward / backward on guarded buffers, with the first case. */
void mli_conf_check_layer_bounds(ck *c, const ml_gradcheck_case *gc)
{
    ml_err err;
    gbuf x = {0}, out = {0}, ws = {0}, gout = {0}, gin = {0};
    pguard pg;
    float *keep_x = NULL, *keep_out = NULL, *keep_gout = NULL;
    char msg[ML_ERR_MSG_MAX + 128] = "", what[96];
    int64_t bad;
    int d;
    mli_conf_begin(c->s, c->id, "bounds");
    memset(&pg, 0, sizeof pg);
    ml_model *m = mli_conf_build_case(c, gc, 7, &err);
    if (!m) {
        FAIL(c, "bounds", "could not create the layer: %s", err.msg);
        return;
    }
    ml_layer_slot *l = &m->layers[0];
    int64_t nin = BATCH * ml_shape_numel(&l->in), nout = BATCH * ml_shape_numel(&l->out);
    size_t wsb = l->vt.workspace ? l->vt.workspace(l->self, BATCH) : 0;
    int want_gin = l->vt.backward_input && gc->int_inputs <= 0;
    if (mli_gbuf_new(&x, (size_t)nin * 4) || mli_gbuf_new(&out, (size_t)nout * 4) ||
        (wsb && mli_gbuf_new(&ws, wsb)) || mli_gbuf_new(&gout, (size_t)nout * 4) ||
        mli_gbuf_new(&gin, (size_t)nin * 4) || !(keep_x = malloc((size_t)nin * 4)) ||
        !(keep_out = malloc((size_t)nout * 4)) || !(keep_gout = malloc((size_t)nout * 4)) ||
        pguard_on(&pg, m)) {
        snprintf(msg, sizeof msg, "out of memory for the guarded buffers");
        goto done;
    }
    mli_conf_fill_input(x.data, nin, gc->int_inputs, 3);
    memcpy(keep_x, x.data, (size_t)nin * 4);
    mli_conf_fill_nan(out.data, nout);
    ml_view vin = {x.data, BATCH, l->in}, vout = {out.data, BATCH, l->out};
    m->training = 1;
    mli_rng_init(&l->ctx.rng, m->seed, (1ull << 40) ^ 1);
    if (l->vt.forward(l->self, &l->ctx, &vin, &vout, wsb ? ws.data : NULL, &err)) {
        snprintf(msg, sizeof msg, "forward failed: %s", err.msg);
        goto done;
    }
    if ((d = mli_gbuf_damage(&out)) || (d = mli_gbuf_damage(&ws)) || (d = mli_gbuf_damage(&x))) {
        snprintf(msg, sizeof msg, "forward wrote %s its %s", mli_gbuf_damage_where(d),
                 mli_gbuf_damage(&out) ? "output buffer"
                 : mli_gbuf_damage(&ws) ? "workspace (is workspace() too small?)"
                                       : "input buffer (inputs are const)");
        goto done;
    }
    if (memcmp(keep_x, x.data, (size_t)nin * 4)) {
        snprintf(msg, sizeof msg, "forward modified its input (inputs are const: copy first)");
        goto done;
    }
    if ((bad = mli_conf_first_nonfinite(out.data, nout)) >= 0) {
        mli_conf_describe_nonfinite(out.data, bad, nout, what, sizeof what);
        snprintf(msg, sizeof msg, "forward %s of its output (batch %d, finite inputs in "
                 "[-1, 1]); write every element, and a finite value", what, BATCH);
        goto done;
    }
    memcpy(keep_out, out.data, (size_t)nout * 4);
    ml_rng r;
    mli_rng_init(&r, 9, 9);
    mli_rng_fill_uniform(&r, gout.data, nout, -1.0f, 1.0f);
    memcpy(keep_gout, gout.data, (size_t)nout * 4);
    if (want_gin) {
        ml_view vgout = {gout.data, BATCH, l->out}, vgin = {gin.data, BATCH, l->in};
        mli_conf_fill_nan(gin.data, nin);
        if (l->vt.backward_input(l->self, &l->ctx, &vin, &vout, &vgout, &vgin,
                                 wsb ? ws.data : NULL, &err)) {
            snprintf(msg, sizeof msg, "backward_input failed: %s", err.msg);
            goto done;
        }
        if ((d = mli_gbuf_damage(&gin)) || (d = mli_gbuf_damage(&ws)) ||
            (d = mli_gbuf_damage(&gout)) || (d = mli_gbuf_damage(&out)) ||
            (d = mli_gbuf_damage(&x))) {
            snprintf(msg, sizeof msg, "backward_input wrote %s its %s", mli_gbuf_damage_where(d),
                     mli_gbuf_damage(&gin) ? "gin buffer (the input gradient)"
                     : mli_gbuf_damage(&ws) ? "workspace" : "gout, out or in buffer");
            goto done;
        }
        if ((bad = mli_conf_first_nonfinite(gin.data, nin)) >= 0) {
            mli_conf_describe_nonfinite(gin.data, bad, nin, what, sizeof what);
            snprintf(msg, sizeof msg, "backward_input %s of gin; it must write (not "
                     "accumulate) every element, and a finite value", what);
            goto done;
        }
    }
    if (l->vt.backward_params && l->nparams) {
        ml_view vgout = {gout.data, BATCH, l->out};
        int32_t pi;
        mli_model_zero_grad(m);
        if (l->vt.backward_params(l->self, &l->ctx, &vin, &vout, &vgout,
                                  wsb ? ws.data : NULL, &err)) {
            snprintf(msg, sizeof msg, "backward_params failed: %s", err.msg);
            goto done;
        }
        if ((pi = pguard_damaged(&pg, m, &d)) >= 0) {
            snprintf(msg, sizeof msg, "backward_params wrote %s the grad buffer of "
                     "parameter '%s' (%lld floats)", mli_gbuf_damage_where(d), m->param_names[pi],
                     (long long)m->params[pi]->numel);
            goto done;
        }
        if ((d = mli_gbuf_damage(&ws)) || (d = mli_gbuf_damage(&gout)) ||
            (d = mli_gbuf_damage(&x)) || (d = mli_gbuf_damage(&out))) {
            snprintf(msg, sizeof msg, "backward_params wrote %s its %s", mli_gbuf_damage_where(d),
                     mli_gbuf_damage(&ws) ? "workspace" : "gout, out or in buffer");
            goto done;
        }
    }
    if (memcmp(keep_x, x.data, (size_t)nin * 4) ||
        memcmp(keep_out, out.data, (size_t)nout * 4) ||
        memcmp(keep_gout, gout.data, (size_t)nout * 4))
        snprintf(msg, sizeof msg, "a backward call modified in, out or gout (they are const)");
done:
    if (*msg)
        FAIL(c, "bounds", "%s", msg);
    else
        PASS(c, "bounds", "forward%s%s on %s, batch %d: inputs intact, outputs all written",
             want_gin ? ", backward_input" : "",
             l->vt.backward_params && l->nparams ? ", backward_params" : "", GUARD_KIND,
             BATCH);
    pguard_off(&pg, m);
    mli_gbuf_free(&x), mli_gbuf_free(&out), mli_gbuf_free(&ws), mli_gbuf_free(&gout);
    mli_gbuf_free(&gin);
    free(keep_x), free(keep_out), free(keep_gout);
    ml_model_free(m);
}

void mli_conf_check_layer_saveload(ck *c, const ml_gradcheck_case *gc)
{
    char dir[] = "/tmp/modlab-check-XXXXXX", path[64];
    float *x = NULL, *ya = NULL;
    ml_model *a = NULL, *b = NULL;
    ml_err err;
    int made = 0;
    mli_conf_begin(c->s, c->id, "save/load");
    if (!(a = mli_conf_build_case(c, gc, 11, &err)) ||
        !(b = mli_conf_build_case(c, gc, 12, &err))) {
        FAIL(c, "save/load", "could not create the layer: %s", err.msg);
        goto done;
    }
    if (a->np == 0 && !a->layers[0].vt.save) {
        PASS(c, "save/load", "nothing to save (no parameters, no save())");
        goto done;
    }
    ml_rng r;
    mli_rng_init(&r, 13, 1);
    for (int32_t i = 0; i < a->np; i++) {   /* move away from any seed-independent init */
        float *v = a->params[i]->value;
        for (int64_t k = 0; k < a->params[i]->numel; k++)
            v[k] += 0.25f * (mli_rng_uniform01(&r) - 0.5f);
    }
    if (!mkdtemp(dir)) {
        FAIL(c, "save/load", "cannot make a temporary directory: %s", strerror(errno));
        goto done;
    }
    made = 1;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (ml_model_save(a, path, &err)) {
        FAIL(c, "save/load", "saving failed: %s", err.msg);
        goto done;
    }
    if (ml_model_load(b, path, &err)) {
        FAIL(c, "save/load", "loading what was saved failed: %s", err.msg);
        goto done;
    }
    int64_t nin = BATCH * a->in_numel, nout = BATCH * mli_model_out_node(a)->out_numel;
    if (!(x = malloc((size_t)nin * 4)) || !(ya = malloc((size_t)nout * 4))) {
        FAIL(c, "save/load", "out of memory");
        goto done;
    }
    mli_conf_fill_input(x, nin, gc->int_inputs, 4);
    a->training = b->training = 0;
    const float *y = ml_model_forward(a, x, BATCH, &err);
    if (!y) {
        FAIL(c, "save/load", "forward failed: %s", err.msg);
        goto done;
    }
    memcpy(ya, y, (size_t)nout * 4);
    if (!(y = ml_model_forward(b, x, BATCH, &err))) {
        FAIL(c, "save/load", "forward after load failed: %s", err.msg);
        goto done;
    }
    for (int64_t i = 0; i < nout; i++)
        if (memcmp(&ya[i], &y[i], 4)) {
            FAIL(c, "save/load", "after loading, output %lld is %g instead of %g: state "
                 "outside the parameters is not saved; register it as a parameter "
                 "(ML_PARAM_BUFFER) or implement save/load", (long long)i, y[i], ya[i]);
            goto done;
        }
    PASS(c, "save/load", "%d parameter tensor%s%s restored to identical outputs", a->np,
         a->np == 1 ? "" : "s", a->layers[0].vt.save ? " and save() state" : "");
done:
    if (made) {
        unlink(path);
        rmdir(dir);
    }
    free(x);
    free(ya);
    ml_model_free(a);
    ml_model_free(b);
}
