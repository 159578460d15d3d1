/* SPDX-License-Identifier: MIT */
/* Composite layers through the host's sublayer services: a test layer built from nn.so's
 * linear and tanh passes the gradient check, names its parameters under its prefixes,
 * and bad sublayer requests are clear errors. */
#include <string.h>

#include "runtime/model.h"
#include "runtime/registry.h"
#include "tap.h"
#include "tap_model.h"

/* fx_pair: y = tanh(A x) + B x, with A and B linear sublayers. */
typedef struct pair {
    const ml_host *h;
    ml_sublayer *a, *t, *b;
    ml_shape out;
    int32_t out_n;
    int64_t in_n;
} pair;

static const ml_opt_spec pair_opts[] = {
    {"out", ML_OPT_INT, "3", "output features", NULL},
    {"inner", ML_OPT_STRING, "linear", "the layer used for A and B (tests errors)", NULL},
    {"inner_opts", ML_OPT_STRING, "", "extra options for A (tests errors)", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static int pair_create(const ml_host *h, ml_ctx *ctx, const ml_opts *o, const ml_shape *in,
                       void **self, ml_err *err)
{
    char opts[96];
    pair *p = h->zalloc(sizeof *p);
    if (!p)
        return h->error(err, ML_ERR_NOMEM, "fx_pair: out of memory");
    p->h = h;
    p->out_n = (int32_t)h->opt_int(o, "out");
    p->in_n = ml_shape_numel(in);
    snprintf(opts, sizeof opts, "out=%d %s", p->out_n, h->opt_str(o, "inner_opts"));
    if (!(p->a = h->sublayer_new(ctx, "a", h->opt_str(o, "inner"), opts, in, err)) ||
        !(p->t = h->sublayer_new(ctx, "t", "tanh", "", h->sublayer_out_shape(p->a), err)) ||
        !(p->b = h->sublayer_new(ctx, "b", "linear", opts, in, err))) {
        h->free(p);
        return err->code;
    }
    if (h->sublayer_workspace(p->a, 64) || h->sublayer_workspace(p->t, 64)) {
        h->free(p);
        return h->error(err, ML_ERR_INVALID, "fx_pair: sublayers with workspace unsupported");
    }
    p->out = *h->sublayer_out_shape(p->b);
    *self = p;
    return ML_OK;
}

static void pair_destroy(void *self)
{
    pair *p = self;
    p->h->free(p);
}

static int pair_shape(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    (void)in, (void)err;
    *out = ((pair *)self)->out;
    return ML_OK;
}

/* ws: A's output, tanh's output, B's output, a gradient (batch x out each) and an input
 * gradient. linear and tanh need no workspace of their own (checked at create). */
static size_t pair_ws(void *self, int32_t batch)
{
    pair *p = self;
    return (4 * (size_t)p->out_n + (size_t)p->in_n) * (size_t)batch * sizeof(float);
}

static ml_view view(float *d, int32_t batch, const ml_shape *s)
{
    ml_view v = {d, batch, *s};
    return v;
}

static int pair_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                        ml_err *err)
{
    pair *p = self;
    int64_t n = (int64_t)in->batch * p->out_n;
    float *fa = ws, *ft = fa + n, *fb = ft + n;
    ml_view va = view(fa, in->batch, &p->out), vt = view(ft, in->batch, &p->out);
    ml_view vb = view(fb, in->batch, &p->out);
    int rc;
    if ((rc = p->h->sublayer_forward(p->a, ctx, in, &va, NULL, err)) ||
        (rc = p->h->sublayer_forward(p->t, ctx, &va, &vt, NULL, err)) ||
        (rc = p->h->sublayer_forward(p->b, ctx, in, &vb, NULL, err)))
        return rc;
    for (int64_t i = 0; i < n; i++)
        out->data[i] = ft[i] + fb[i];
    return ML_OK;
}

/* backward_params runs the sublayers' parameter gradients, backward_input their input
 * gradients; the host calls them in that order with the same ws. */
static int pair_bparams(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                        const ml_view *gout, void *ws, ml_err *err)
{
    pair *p = self;
    int64_t n = (int64_t)in->batch * p->out_n;
    float *fa = ws, *ft = fa + n, *fb = ft + n, *g = fb + n;
    ml_view va = view(fa, in->batch, &p->out), vt = view(ft, in->batch, &p->out);
    ml_view vb = view(fb, in->batch, &p->out), gv = view(g, in->batch, &p->out);
    int rc;
    (void)out;
    if ((rc = p->h->sublayer_backward(p->b, ctx, in, &vb, gout, NULL, 1, NULL, err)) ||
        (rc = p->h->sublayer_backward(p->t, ctx, &va, &vt, gout, &gv, 0, NULL, err)))
        return rc;
    return p->h->sublayer_backward(p->a, ctx, in, &va, &gv, NULL, 1, NULL, err);
}

static int pair_binput(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                       const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    pair *p = self;
    int64_t n = (int64_t)in->batch * p->out_n, ni = (int64_t)in->batch * ml_shape_numel(&in->shape);
    float *fa = ws, *ft = fa + n, *fb = ft + n, *g = fb + n, *gi = g + n;
    ml_view va = view(fa, in->batch, &p->out), vt = view(ft, in->batch, &p->out);
    ml_view vb = view(fb, in->batch, &p->out), gv = view(g, in->batch, &p->out);
    ml_view gb = view(gi, in->batch, &in->shape);
    int rc;
    (void)out;
    if ((rc = p->h->sublayer_backward(p->b, ctx, in, &vb, gout, &gb, 0, NULL, err)) ||
        (rc = p->h->sublayer_backward(p->t, ctx, &va, &vt, gout, &gv, 0, NULL, err)) ||
        (rc = p->h->sublayer_backward(p->a, ctx, in, &va, &gv, gin, 0, NULL, err)))
        return rc;
    for (int64_t i = 0; i < ni; i++)
        gin->data[i] += gi[i];
    return ML_OK;
}

static const ml_layer_vtable pair_vt = {
    ML_ABI_INIT(ml_layer_vtable),
    .create = pair_create, .destroy = pair_destroy, .infer_shape = pair_shape,
    .workspace = pair_ws, .forward = pair_forward, .backward_input = pair_binput,
    .backward_params = pair_bparams,
};

static const ml_entry pair_entry = {
    ML_ABI_INIT(ml_entry), .kind = ML_KIND_LAYER, .name = "fx_pair", .version = "1.0.0",
    .summary = "test composite: tanh(A x) + B x", .options = pair_opts, .vtable = &pair_vt,
};

static void test_gradcheck(ml_registry *reg)
{
    ml_shape in = {1, {4}};
    ml_gradcheck_result res;
    ml_err err = {0};
    int rc = ml_gradcheck_layer(reg, "fx_pair", "out=3", &in, 0, 7, &res, &err);
    ok(rc == 0 && res.max_rel_err_input < 1e-2 && res.max_rel_err_params < 1e-2,
       "composite gradcheck: input %.2g params %.2g (%lld coords)", res.max_rel_err_input,
       res.max_rel_err_params, (long long)res.checked);
    if (rc)
        tap_diag("%s", err.msg);
}

static ml_model *build(ml_registry *reg, const char *options, ml_err *err)
{
    ml_model *m = ml_model_new(reg, 3, err);
    ml_opts *o = ml_opts_new(err);
    ml_shape in = {1, {4}};
    if (!m || !o || ml_opts_parse(o, options, err) || ml_model_add(m, "fx_pair", o, err) ||
        ml_model_build(m, &in, 8, err)) {
        ml_model_free(m);
        return NULL;
    }
    return m;
}

static void test_names_and_errors(ml_registry *reg)
{
    ml_err err = {0};
    ml_model *m = build(reg, "out=3", &err);
    const char *want[] = {"0.fx_pair.a.weight", "0.fx_pair.a.bias", "0.fx_pair.b.weight",
                          "0.fx_pair.b.bias"};
    int names_ok = m && ml_model_nparam_tensors(m) == 4;
    for (int32_t i = 0; names_ok && i < 4; i++)
        names_ok = strcmp(ml_model_param_name(m, i), want[i]) == 0;
    ok(names_ok, "sublayer parameters are the parent's, prefixed (%s)",
       m && ml_model_nparam_tensors(m) ? ml_model_param_name(m, 0) : err.msg);
    ok(m && ml_model_nparams(m) == 2 * (4 * 3 + 3), "parameter count includes sublayers");
    ml_model_free(m);

    memset(&err, 0, sizeof err);
    ok(!build(reg, "inner=no_such_layer", &err) && strstr(err.msg, "no_such_layer") &&
           strstr(err.msg, "sublayer 'a'"),
       "an unknown sublayer is a clear error: %s", err.msg);
    memset(&err, 0, sizeof err);
    ok(!build(reg, "inner_opts=bogus=1", &err) && strstr(err.msg, "bogus") &&
           strstr(err.msg, "fx_pair: sublayer 'a' (linear)"),
       "a bad sublayer option names the sublayer: %s", err.msg);
}

int main(void)
{
    ml_registry *reg = tap_registry(ML_ABS_BUILDDIR "/build-plugins", &pair_entry);
    if (!reg)
        return 1;
    test_gradcheck(reg);
    test_names_and_errors(reg);
    ml_registry_free(reg);
    return done_testing();
}
