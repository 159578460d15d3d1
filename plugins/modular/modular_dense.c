/* SPDX-License-Identifier: MIT */
/* Conditional computation for dense modules: the chosen (row, module) assignments are
 * bucketed by module, each used module runs one GEMM on its gathered rows, and the results
 * are scattered back weighted by their gates. Unused modules cost nothing. */
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

void mod_dense_forward(const modular *L, const float *x, float *y, int32_t nrows, mod_ws *w)
{
    int32_t in = L->in, out = L->out, K = L->K;
    /* With K = 1 every row has exactly one assignment (no repeats): it is written, not
     * added, so y needs no clearing pass. */
    int overwrite = K == 1;
    if (!overwrite)
        memset(y, 0, (size_t)nrows * out * sizeof(float));
    for (int32_t m = 0; m < L->M; m++) {
        int32_t s = w->start[m], c = w->start[m + 1] - s;
        if (!c)
            continue;
        float *xg = w->xg + (size_t)s * in, *yg = w->yg + (size_t)s * out;
        for (int32_t j = 0; j < c; j++)
            memcpy(xg + (size_t)j * in, x + (size_t)(w->order[s + j] / K) * in,
                   (size_t)in * sizeof(float));
        L->h->sgemm(0, 1, c, out, in, 1.0f, xg, in, L->w->value + (size_t)m * out * in, in,
                    0.0f, yg, out);
        const float *bias = L->b ? L->b->value + (size_t)m * out : NULL;
        for (int32_t j = 0; j < c; j++) {
            int32_t a = w->order[s + j];
            float g = w->gate[a], *yo = y + (size_t)(a / K) * out, *yj = yg + (size_t)j * out;
            /* One pass: bias, gate, scatter. yg keeps the biased output only for noisy
             * top-k, whose gate gradient needs it. */
            if (L->mode == MOD_NOISY_TOPK && bias)
                for (int32_t o = 0; o < out; o++)
                    yj[o] += bias[o];
            const float *bo = L->mode == MOD_NOISY_TOPK ? NULL : bias;
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
    }
}

/* gy: dL/dy. want_params: accumulate module gradients. gx != NULL: add dL/dx of the module
 * path into it. Noisy top-k also gets dL/dgate (w->dgate) of every assignment. */
void mod_dense_backward(const modular *L, const float *x, const float *gy, float *gx,
                        int want_params, int32_t nrows, mod_ws *w)
{
    int32_t in = L->in, out = L->out, K = L->K;
    (void)x, (void)nrows;
    for (int32_t m = 0; m < L->M; m++) {
        int32_t s = w->start[m], c = w->start[m + 1] - s;
        if (!c)
            continue;
        float *gg = w->gg + (size_t)s * out;
        const float *xg = w->xg + (size_t)s * in, *wm = L->w->value + (size_t)m * out * in;
        for (int32_t j = 0; j < c; j++) {
            int32_t a = w->order[s + j];
            const float *g = gy + (size_t)(a / K) * out;
            float *d = gg + (size_t)j * out;
            if (L->mode == MOD_NOISY_TOPK) {
                const float *yj = w->yg + (size_t)(s + j) * out;
                double dot = 0.0;
                for (int32_t o = 0; o < out; o++)
                    dot += (double)g[o] * yj[o];
                w->dgate[a] = (float)dot;
            }
            for (int32_t o = 0; o < out; o++)
                d[o] = w->gate[a] * g[o];
        }
        if (want_params) {
            L->h->sgemm(1, 0, out, in, c, 1.0f, gg, out, xg, in, 1.0f,
                        L->w->grad + (size_t)m * out * in, in);
            if (L->b)
                for (int32_t j = 0; j < c; j++)
                    for (int32_t o = 0; o < out; o++)
                        L->b->grad[(size_t)m * out + o] += gg[(size_t)j * out + o];
        }
        if (gx) {
            float *gxg = w->gx + (size_t)s * in;
            L->h->sgemm(0, 0, c, in, out, 1.0f, gg, out, wm, in, 0.0f, gxg, in);
            for (int32_t j = 0; j < c; j++) {
                float *dst = gx + (size_t)(w->order[s + j] / K) * in;
                for (int32_t i = 0; i < in; i++)
                    dst[i] += gxg[(size_t)j * in + i];
            }
        }
    }
}
