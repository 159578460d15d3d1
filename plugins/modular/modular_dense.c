/* SPDX-License-Identifier: MIT */
/* Conditional computation: the chosen (row, module) assignments are bucketed by module, each
 * used module runs one GEMM on its gathered rows (dense: the input rows; conv: the patch
 * rows of its examples), and the results are scattered back weighted by their gates.
 * Unused modules cost nothing. */
#include <string.h>

#include "modular.h"

void mod_buckets(const modular *L, int32_t nrows, mod_ws *w)
{
    int32_t M = L->M, A = nrows * L->K;
    memset(w->start, 0, (size_t)(M + 1) * sizeof(int32_t));
    for (int32_t a = 0; a < A; a++)
        if (w->gate[a] != 0.0f || L->mode == MOD_NOISY_TOPK)
            w->start[w->sel[a] + 1]++;
    for (int32_t m = 0; m < M; m++)
        w->start[m + 1] += w->start[m];
    int32_t *fill = w->fill;
    memcpy(fill, w->start, (size_t)M * sizeof(int32_t));
    for (int32_t a = 0; a < A; a++)
        if (w->gate[a] != 0.0f || L->mode == MOD_NOISY_TOPK)
            w->order[fill[w->sel[a]]++] = a;
}

/* Dense: yo = or += g * (yj + bias), one fused pass. */
static void dense_scatter(const modular *L, float g, const float *yj, const float *bo,
                          float *yo, int overwrite)
{
    int32_t out = L->out;
    if (overwrite && bo)
        for (int32_t o = 0; o < out; o++)
            yo[o] = g * (yj[o] + bo[o]);
    else if (overwrite)
        for (int32_t o = 0; o < out; o++)
            yo[o] = g * yj[o];
    else if (bo)
        for (int32_t o = 0; o < out; o++)
            yo[o] += g * (yj[o] + bo[o]);
    else
        for (int32_t o = 0; o < out; o++)
            yo[o] += g * yj[o];
}

void mod_modules_forward(modular *L, const float *x, float *y, int32_t nrows, mod_ws *w)
{
    int32_t K = L->K, R = L->mrows, mi = L->min, mo = L->mout;
    /* With K = 1 every row has exactly one assignment (no repeats): it is written, not
     * added, so y needs no clearing pass. */
    int overwrite = K == 1;
    if (!overwrite)
        memset(y, 0, (size_t)nrows * L->ynum * sizeof(float));
    for (int32_t m = 0; m < L->M; m++) {
        int32_t s = w->start[m], c = w->start[m + 1] - s;
        if (!c)
            continue;
        size_t xs = (size_t)R * mi, ys = (size_t)R * mo;
        float *xg = w->xg + (size_t)s * xs, *yg = w->yg + (size_t)s * ys;
        for (int32_t j = 0; j < c; j++) {
            const float *xr = x + (size_t)(w->order[s + j] / K) * L->in;
            if (L->op == OP_CONV)
                mod_im2row(&L->cv, xr, xg + (size_t)j * xs);
            else
                memcpy(xg + (size_t)j * xs, xr, (size_t)mi * sizeof(float));
        }
        const float *wm = L->w->value + (size_t)m * mo * mi;
        if (!(L->small_gemm && mod_small_gemm(c * R, mo, mi, xg, wm, yg)))
            L->h->sgemm(0, 1, c * R, mo, mi, 1.0f, xg, mi, wm, mi, 0.0f, yg, mo);
        L->diag_runs[m] += 1.0;
        const float *bias = L->b ? L->b->value + (size_t)m * mo : NULL;
        for (int32_t j = 0; j < c; j++) {
            int32_t a = w->order[s + j];
            float g = w->gate[a], *yj = yg + (size_t)j * ys;
            float *yo = y + (size_t)(a / K) * L->ynum;
            /* yg keeps the biased output only for noisy top-k, whose gate gradient needs
             * it; the others add the bias while scattering. */
            if (L->mode == MOD_NOISY_TOPK && bias)
                for (int32_t r = 0; r < R; r++)
                    for (int32_t o = 0; o < mo; o++)
                        yj[(size_t)r * mo + o] += bias[o];
            const float *bo = L->mode == MOD_NOISY_TOPK ? NULL : bias;
            if (L->op == OP_CONV)
                mod_conv_scatter(L, g, yj, bo, yo, overwrite);
            else
                dense_scatter(L, g, yj, bo, yo, overwrite);
        }
    }
}

/* Dense: d = g * gy; returns <gy, yj>. */
static double dense_gather_grad(const modular *L, float g, const float *gy, const float *yj,
                                float *d)
{
    double dot = 0.0;
    if (L->mode == MOD_NOISY_TOPK)
        for (int32_t o = 0; o < L->out; o++)
            dot += (double)gy[o] * yj[o];
    for (int32_t o = 0; o < L->out; o++)
        d[o] = g * gy[o];
    return dot;
}

/* gy: dL/dy. want_params: accumulate module gradients. gx != NULL: add dL/dx of the module
 * path into it. Noisy top-k also gets dL/dgate (w->dgate) of every assignment. Uses the
 * buckets and gathered inputs of the forward. */
void mod_modules_backward(const modular *L, const float *gy, float *gx, int want_params,
                          mod_ws *w)
{
    int32_t K = L->K, R = L->mrows, mi = L->min, mo = L->mout;
    size_t xs = (size_t)R * mi, ys = (size_t)R * mo;
    for (int32_t m = 0; m < L->M; m++) {
        int32_t s = w->start[m], c = w->start[m + 1] - s;
        if (!c)
            continue;
        float *gg = w->gg + (size_t)s * ys;
        const float *xg = w->xg + (size_t)s * xs, *wm = L->w->value + (size_t)m * mo * mi;
        for (int32_t j = 0; j < c; j++) {
            int32_t a = w->order[s + j];
            const float *g = gy + (size_t)(a / K) * L->ynum, *yj = w->yg + (size_t)(s + j) * ys;
            float *d = gg + (size_t)j * ys;
            double dot = L->op == OP_CONV ? mod_conv_gather_grad(L, w->gate[a], g, yj, d)
                                          : dense_gather_grad(L, w->gate[a], g, yj, d);
            if (L->mode == MOD_NOISY_TOPK)
                w->dgate[a] = (float)dot;
        }
        if (want_params) {
            L->h->sgemm(1, 0, mo, mi, c * R, 1.0f, gg, mo, xg, mi, 1.0f,
                        L->w->grad + (size_t)m * mo * mi, mi);
            if (L->b)
                for (size_t r = 0; r < (size_t)c * R; r++)
                    for (int32_t o = 0; o < mo; o++)
                        L->b->grad[(size_t)m * mo + o] += gg[r * mo + o];
        }
        if (gx) {
            float *gxg = w->gx + (size_t)s * xs;
            L->h->sgemm(0, 0, c * R, mi, mo, 1.0f, gg, mo, wm, mi, 0.0f, gxg, mi);
            for (int32_t j = 0; j < c; j++) {
                float *dst = gx + (size_t)(w->order[s + j] / K) * L->in;
                const float *src = gxg + (size_t)j * xs;
                if (L->op == OP_CONV)
                    mod_row2im_add(&L->cv, src, dst);
                else
                    for (int32_t i = 0; i < mi; i++)
                        dst[i] += src[i];
            }
        }
    }
}
