/* SPDX-License-Identifier: MIT */
/* The switcher's U-Net (see unet.h). One image, so every sublayer runs with batch 1: the
 * batch norms normalise over the image's positions. Level l has base << l channels at
 * (hp >> l) x (wp >> l); down: conv 3x3 + BN + ReLU, 2x2 max pool; up: 2x2 stride-2
 * transposed conv, concat with the level's encoder output, conv 3x3 + BN + ReLU. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "unet.h"

static size_t al(size_t bytes)
{
    return (bytes + 63) & ~(size_t)63;
}

static float *at(void *ws, size_t off)
{
    return (float *)((char *)ws + off);
}

static ml_view view(float *d, int c, int h, int w)
{
    ml_view v = {d, 1, {3, {c, h, w}}};
    return v;
}

static size_t fl(size_t n)
{
    return al(n * sizeof(float));
}

static ml_sublayer *sub(unet *u, ml_ctx *ctx, const char *prefix, int l, const char *layer,
                        const char *opts, int c, int h, int w, ml_err *err)
{
    char name[32];
    ml_shape in = {3, {c, h, w}};
    snprintf(name, sizeof name, "unet.%s%d", prefix, l);
    return u->h->sublayer_new(ctx, name, layer, opts, &in, err);
}

static ml_param *own(unet *u, ml_ctx *ctx, const char *what, int l, ml_shape s, uint32_t fl_,
                     ml_err *err)
{
    char name[32];
    snprintf(name, sizeof name, "unet.up%d.%s", l, what);
    return u->h->param_new(ctx, name, &s, fl_, err);
}

static size_t max_sz(size_t a, size_t b)
{
    return a > b ? a : b;
}

int unet_init(unet *u, const ml_host *h, ml_ctx *ctx, int rows, int cols, int depth, int base,
              float head_bias, ml_err *err)
{
    char opts[64];
    int m = 1 << depth;
    size_t off = 0, conv_ws = 0;
    if (depth < 1 || depth > UNET_MAX_DEPTH || base < 1 || base > 64)
        return h->error(err, ML_ERR_INVALID, "switcher: need 1 <= depth <= %d and 1 <= "
                        "base_channels <= 64 (got %d, %d)", UNET_MAX_DEPTH, depth, base);
    memset(u, 0, sizeof *u);
    u->h = h;
    u->depth = depth;
    u->base = base;
    u->rows = rows;
    u->cols = cols;
    u->hp = (rows + m - 1) / m * m;   /* pad to a multiple of 2^depth, crop at the end */
    u->wp = (cols + m - 1) / m * m;
    for (int l = 0; l <= depth; l++) {
        unet_level *v = &u->lv[l];
        int cin = l == 0 ? 1 : u->lv[l - 1].ch;
        v->ch = base << l;
        v->h = u->hp >> l;
        v->w = u->wp >> l;
        snprintf(opts, sizeof opts, "out=%d kernel=3 padding=1", v->ch);
        if (!(v->enc_conv = sub(u, ctx, "enc", l, "conv2d", opts, cin, v->h, v->w, err)) ||
            !(v->enc_bn = sub(u, ctx, "enc_bn", l, "batchnorm", "", v->ch, v->h, v->w, err)))
            return err->code;
        conv_ws = max_sz(conv_ws, h->sublayer_workspace(v->enc_conv, 1));
        if (l == depth)
            break;
        snprintf(opts, sizeof opts, "out=%d kernel=3 padding=1", v->ch);
        if (!(v->pool = sub(u, ctx, "pool", l, "maxpool2d", "kernel=2", v->ch, v->h, v->w,
                            err)) ||
            !(v->dec_conv = sub(u, ctx, "dec", l, "conv2d", opts, 2 * v->ch, v->h, v->w,
                                err)) ||
            !(v->dec_bn = sub(u, ctx, "dec_bn", l, "batchnorm", "", v->ch, v->h, v->w, err)))
            return err->code;
        conv_ws = max_sz(conv_ws, h->sublayer_workspace(v->dec_conv, 1));
        /* The transposed conv from level l+1: PyTorch's default init bound 1/sqrt(fan_in),
         * fan_in = weight.size(1) * 2 * 2 = ch * 4. */
        int cup = base << (l + 1);
        float bound = 1.0f / sqrtf(4.0f * (float)v->ch);
        if (!(v->up_w = own(u, ctx, "weight", l, (ml_shape){4, {cup, v->ch, 2, 2}}, 0, err)) ||
            !(v->up_b = own(u, ctx, "bias", l, (ml_shape){1, {v->ch}}, ML_PARAM_NO_DECAY,
                            err)))
            return err->code;
        h->rng_uniform(ctx, v->up_w->value, v->up_w->numel, -bound, bound);
        h->rng_uniform(ctx, v->up_b->value, v->up_b->numel, -bound, bound);
        /* The transposed conv's product (ch*4 x (h/2)(w/2) = ch x hw floats) uses the
         * shared conv scratch. */
        conv_ws = max_sz(conv_ws, (size_t)v->ch * (size_t)v->h * (size_t)v->w * sizeof(float));
    }
    if (!(u->head_w = h->param_new(ctx, "unet.head.weight", &(ml_shape){1, {base}}, 0, err)) ||
        !(u->head_b = h->param_new(ctx, "unet.head.bias", &(ml_shape){1, {1}},
                                   ML_PARAM_NO_DECAY, err)))
        return err->code;
    h->rng_uniform(ctx, u->head_w->value, base, -1.0f / sqrtf((float)base),
                   1.0f / sqrtf((float)base));
    u->head_b->value[0] = head_bias;

    /* Workspace: activations of every stage (backward needs them), the BN and pool
     * sublayers' own workspaces (they keep state from forward to backward), two gradient
     * buffers, and one scratch area shared by the convolutions (scratch only). */
    size_t hw0 = (size_t)u->hp * (size_t)u->wp;
    u->in_off = off, off += fl(hw0);
    u->p_off = off, off += fl(hw0);
    for (int l = 0; l <= depth; l++) {
        unet_level *v = &u->lv[l];
        size_t n = (size_t)v->ch * (size_t)v->h * (size_t)v->w;
        v->ec = off, off += fl(n);
        v->eb = off, off += fl(n);
        v->ea = off, off += fl(n);
        v->ws_enc_bn = off, off += al(h->sublayer_workspace(v->enc_bn, 1));
        if (l == depth)
            break;
        v->pooled = off, off += fl(n / 4);
        v->ws_pool = off, off += al(h->sublayer_workspace(v->pool, 1));
        v->cat = off, off += fl(2 * n);
        v->dc = off, off += fl(n);
        v->db = off, off += fl(n);
        v->da = off, off += fl(n);
        v->ws_dec_bn = off, off += al(h->sublayer_workspace(v->dec_bn, 1));
        v->g_skip = off, off += fl(n);
    }
    u->g0 = off, off += fl(2 * (size_t)base * hw0);
    u->g1 = off, off += fl(2 * (size_t)base * hw0);
    u->conv_ws = off, off += al(conv_ws);
    u->ws_bytes = off;
    return ML_OK;
}

size_t unet_workspace(const unet *u)
{
    return u->ws_bytes;
}

static void relu_fwd(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void relu_bwd(const float *y, float *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(y[i] > 0.0f))
            g[i] = 0.0f;
}

/* 2x2 stride-2 transposed conv: in {cin, h, w} -> out {cout, 2h, 2w}. Kernel and stride
 * equal, so every output pixel has exactly one source pixel: one GEMM (T = W^T X, rows
 * (co, dy, dx)) and a scatter. */
static void up_fwd(const unet *u, const unet_level *v, const float *x, float *y, float *t)
{
    int cin = v->up_w->shape.dim[0], co = v->ch, hh = v->h / 2, ww = v->w / 2;
    int n = hh * ww;
    u->h->sgemm(1, 0, co * 4, n, cin, 1.0f, v->up_w->value, co * 4, x, n, 0.0f, t, n);
    for (int c = 0; c < co; c++)
        for (int d = 0; d < 4; d++) {
            const float *tr = t + (size_t)(c * 4 + d) * n;
            float b = v->up_b->value[c];
            for (int i = 0; i < hh; i++)
                for (int j = 0; j < ww; j++)
                    y[((size_t)c * v->h + 2 * i + d / 2) * v->w + 2 * j + d % 2] =
                        tr[i * ww + j] + b;
        }
}

static void up_bwd(const unet *u, const unet_level *v, const float *x, const float *gy,
                   float *gx, float *gt, int params)
{
    int cin = v->up_w->shape.dim[0], co = v->ch, hh = v->h / 2, ww = v->w / 2;
    int n = hh * ww;
    for (int c = 0; c < co; c++) {
        double gb = 0.0;
        for (int d = 0; d < 4; d++) {
            float *tr = gt + (size_t)(c * 4 + d) * n;
            for (int i = 0; i < hh; i++)
                for (int j = 0; j < ww; j++) {
                    float g = gy[((size_t)c * v->h + 2 * i + d / 2) * v->w + 2 * j + d % 2];
                    tr[i * ww + j] = g;
                    gb += g;
                }
        }
        if (params)
            v->up_b->grad[c] += (float)gb;
    }
    if (params)
        u->h->sgemm(0, 1, cin, co * 4, n, 1.0f, x, n, gt, n, 1.0f, v->up_w->grad, co * 4);
    u->h->sgemm(0, 0, cin, n, co * 4, 1.0f, v->up_w->value, co * 4, gt, n, 0.0f, gx, n);
}

/* The output of level l's top (what the level above upsamples / the head reads). */
static size_t top_off(const unet *u, int l)
{
    return l == u->depth ? u->lv[l].ea : u->lv[l].da;
}

int unet_forward(unet *u, ml_ctx *ctx, const float *image, float *out, void *ws, ml_err *err)
{
    const ml_host *h = u->h;
    float *x0 = at(ws, u->in_off), *scratch = at(ws, u->conv_ws);
    int rc;
    memset(x0, 0, sizeof(float) * (size_t)u->hp * (size_t)u->wp);
    for (int r = 0; r < u->rows; r++)
        memcpy(x0 + (size_t)r * u->wp, image + (size_t)r * u->cols,
               sizeof(float) * (size_t)u->cols);
    for (int l = 0; l <= u->depth; l++) {
        unet_level *v = &u->lv[l];
        size_t n = (size_t)v->ch * v->h * v->w;
        ml_view in = l == 0 ? view(x0, 1, v->h, v->w)
                            : view(at(ws, u->lv[l - 1].pooled), u->lv[l - 1].ch, v->h, v->w);
        ml_view ec = view(at(ws, v->ec), v->ch, v->h, v->w);
        ml_view eb = view(at(ws, v->eb), v->ch, v->h, v->w);
        if ((rc = h->sublayer_forward(v->enc_conv, ctx, &in, &ec, scratch, err)) ||
            (rc = h->sublayer_forward(v->enc_bn, ctx, &ec, &eb, at(ws, v->ws_enc_bn), err)))
            return rc;
        relu_fwd(eb.data, at(ws, v->ea), n);
        if (l == u->depth)
            break;
        ml_view ea = view(at(ws, v->ea), v->ch, v->h, v->w);
        ml_view pooled = view(at(ws, v->pooled), v->ch, v->h / 2, v->w / 2);
        if ((rc = h->sublayer_forward(v->pool, ctx, &ea, &pooled, at(ws, v->ws_pool), err)))
            return rc;
    }
    for (int l = u->depth - 1; l >= 0; l--) {
        unet_level *v = &u->lv[l];
        size_t n = (size_t)v->ch * v->h * v->w;
        float *cat = at(ws, v->cat);
        up_fwd(u, v, at(ws, top_off(u, l + 1)), cat, scratch);
        memcpy(cat + n, at(ws, v->ea), n * sizeof(float));
        ml_view vc = view(cat, 2 * v->ch, v->h, v->w);
        ml_view dc = view(at(ws, v->dc), v->ch, v->h, v->w);
        ml_view db = view(at(ws, v->db), v->ch, v->h, v->w);
        if ((rc = h->sublayer_forward(v->dec_conv, ctx, &vc, &dc, scratch, err)) ||
            (rc = h->sublayer_forward(v->dec_bn, ctx, &dc, &db, at(ws, v->ws_dec_bn), err)))
            return rc;
        relu_fwd(db.data, at(ws, v->da), n);
    }
    const float *a0 = at(ws, u->lv[0].da);
    float *p = at(ws, u->p_off);
    size_t hw = (size_t)u->hp * u->wp;
    for (size_t i = 0; i < hw; i++)
        p[i] = u->head_b->value[0];
    for (int c = 0; c < u->base; c++) {
        float w = u->head_w->value[c];
        for (size_t i = 0; i < hw; i++)
            p[i] += w * a0[(size_t)c * hw + i];
    }
    for (int r = 0; r < u->rows; r++)
        memcpy(out + (size_t)r * u->cols, p + (size_t)r * u->wp,
               sizeof(float) * (size_t)u->cols);
    return ML_OK;
}

/* conv + BN backward of one stage: g holds dL/d(relu output) on entry (rectified here),
 * gin receives dL/d(conv input) (or nothing when NULL). tmp is a free buffer. */
static int stage_bwd(unet *u, ml_ctx *ctx, ml_sublayer *conv, ml_sublayer *bn, ml_view *cin,
                     float *c_out, float *b_out, float *a_out, void *bn_ws, float *g,
                     float *tmp, ml_view *gin, int params, void *scratch, ml_err *err)
{
    const ml_host *h = u->h;
    const ml_shape *s = h->sublayer_out_shape(conv);
    size_t n = (size_t)ml_shape_numel(s);
    ml_view vc = {c_out, 1, *s}, vb = {b_out, 1, *s}, vg = {g, 1, *s}, vt = {tmp, 1, *s};
    int rc;
    relu_bwd(a_out, g, n);
    if ((rc = h->sublayer_backward(bn, ctx, &vc, &vb, &vg, &vt, params, bn_ws, err)))
        return rc;
    if (!params && !gin)
        return ML_OK;
    return h->sublayer_backward(conv, ctx, cin, &vc, &vt, gin, params, scratch, err);
}

int unet_backward(unet *u, ml_ctx *ctx, const float *gout, float *gimage, int params,
                  void *ws, ml_err *err)
{
    const ml_host *h = u->h;
    float *ga = at(ws, u->g0), *gb = at(ws, u->g1), *scratch = at(ws, u->conv_ws);
    size_t hw = (size_t)u->hp * u->wp;
    const float *a0 = at(ws, u->lv[0].da);
    int rc;

    /* Head: dL/dp is gout on the image, zero on the padding. */
    float *gp = at(ws, u->p_off);
    memset(gp, 0, hw * sizeof(float));
    for (int r = 0; r < u->rows; r++)
        memcpy(gp + (size_t)r * u->wp, gout + (size_t)r * u->cols,
               sizeof(float) * (size_t)u->cols);
    double gbias = 0.0;
    for (size_t i = 0; i < hw; i++)
        gbias += gp[i];
    if (params)
        u->head_b->grad[0] += (float)gbias;
    for (int c = 0; c < u->base; c++) {
        double gw = 0.0;
        float w = u->head_w->value[c];
        for (size_t i = 0; i < hw; i++) {
            gw += (double)gp[i] * a0[(size_t)c * hw + i];
            ga[(size_t)c * hw + i] = w * gp[i];
        }
        if (params)
            u->head_w->grad[c] += (float)gw;
    }
    /* Decoder, top to bottom: ga holds dL/d(level l's top output). */
    for (int l = 0; l < u->depth; l++) {
        unet_level *v = &u->lv[l];
        size_t n = (size_t)v->ch * v->h * v->w;
        ml_view vcat = view(at(ws, v->cat), 2 * v->ch, v->h, v->w);
        ml_view gcat = view(gb, 2 * v->ch, v->h, v->w);
        /* stage_bwd's tmp must not be gb (it receives gcat): use the skip buffer, which is
         * overwritten right after with the concat's second half. */
        if ((rc = stage_bwd(u, ctx, v->dec_conv, v->dec_bn, &vcat, at(ws, v->dc),
                            at(ws, v->db), at(ws, v->da), at(ws, v->ws_dec_bn), ga,
                            at(ws, v->g_skip), &gcat, params, scratch, err)))
            return rc;
        memcpy(at(ws, v->g_skip), gb + n, n * sizeof(float));
        up_bwd(u, v, at(ws, top_off(u, l + 1)), gb, ga, scratch, params);
    }
    /* Bottom, then the encoder, bottom to top: ga holds dL/d(level's encoder ReLU output). */
    for (int l = u->depth; l >= 0; l--) {
        unet_level *v = &u->lv[l];
        size_t n = (size_t)v->ch * v->h * v->w;
        if (l < u->depth) {
            /* ga: dL/d(pooled); pool backward into gb, plus the skip path. */
            ml_view ea = view(at(ws, v->ea), v->ch, v->h, v->w);
            ml_view pooled = view(at(ws, v->pooled), v->ch, v->h / 2, v->w / 2);
            ml_view gpool = view(ga, v->ch, v->h / 2, v->w / 2);
            ml_view gea = view(gb, v->ch, v->h, v->w);
            if ((rc = h->sublayer_backward(v->pool, ctx, &ea, &pooled, &gpool, &gea, 0,
                                           at(ws, v->ws_pool), err)))
                return rc;
            const float *sk = at(ws, v->g_skip);
            for (size_t i = 0; i < n; i++)
                gb[i] += sk[i];
            float *t = ga;
            ga = gb;
            gb = t;
        }
        int cin = l == 0 ? 1 : u->lv[l - 1].ch;
        ml_view in = l == 0 ? view(at(ws, u->in_off), 1, v->h, v->w)
                            : view(at(ws, u->lv[l - 1].pooled), cin, v->h, v->w);
        int want_in = l > 0 || gimage;
        ml_view gin = view(gb, cin, v->h, v->w);
        /* gin (<= base * hw floats: hw at level 0, n / 2 below) takes gb's first half, BN's
         * gradient (n <= base * hw) its second half (gb holds 2 * base * hw). */
        float *tmp = gb + (size_t)u->base * hw;
        if ((rc = stage_bwd(u, ctx, v->enc_conv, v->enc_bn, &in, at(ws, v->ec), at(ws, v->eb),
                            at(ws, v->ea), at(ws, v->ws_enc_bn), ga, tmp,
                            want_in ? &gin : NULL, params, scratch, err)))
            return rc;
        float *t = ga;
        ga = gb;
        gb = t;
    }
    /* ga now holds dL/d(padded image). */
    if (gimage)
        for (int r = 0; r < u->rows; r++)
            memcpy(gimage + (size_t)r * u->cols, ga + (size_t)r * u->wp,
                   sizeof(float) * (size_t)u->cols);
    return ML_OK;
}
