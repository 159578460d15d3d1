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

/* Dense: yo = or += g * (yj + bias), one fused pass, 4 floats at a time: gcc's -O2 leaves
 * the plain loop scalar (a loop of unknown count needs a remainder, which its cheapest cost
 * model does not vectorize), and the pass was 5-6 % of the forward at 512x512 (perf). */
typedef float v4 __attribute__((vector_size(16)));   /* SSE2 on any x86-64 */

static v4 load4(const float *p)
{
    v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void dense_scatter(const modular *L, float g, const float *yj, const float *bo,
                          float *yo, int overwrite)
{
    int32_t out = L->out, o = 0;
    for (; o + 4 <= out; o += 4) {
        v4 v = load4(yj + o);
        if (bo)
            v += load4(bo + o);
        v *= g;
        if (!overwrite)
            v += load4(yo + o);
        memcpy(yo + o, &v, sizeof v);
    }
    for (; o < out; o++) {
        float v = g * (bo ? yj[o] + bo[o] : yj[o]);
        yo[o] = overwrite ? v : yo[o] + v;
    }
}

/* Assignments ord[0..cc) of a bucket: their input rows (dense) or patch rows (conv) into
 * xg, one assignment after another. */
static void gather(const modular *L, const float *x, const int32_t *ord, int32_t cc,
                   float *xg)
{
    size_t xs = (size_t)L->mrows * L->min;
    for (int32_t j = 0; j < cc; j++) {
        const float *xr = x + (size_t)(ord[j] / L->K) * L->in;
        if (L->op == OP_CONV)
            mod_im2row(&L->cv, xr, xg + (size_t)j * xs);
        else
            memcpy(xg + (size_t)j * xs, xr, (size_t)L->min * sizeof(float));
    }
}

/* yg = xg W_m^T over `rows` GEMM rows; with add_bias (noisy top-k) the bias too. */
static void module_gemm(const modular *L, int32_t m, int32_t rows, const float *xg,
                        float *yg, int add_bias)
{
    int32_t mi = L->min, mo = L->mout;
    const float *wm = L->w->value + (size_t)m * mo * mi;
    if (!(L->small_gemm && mod_small_gemm(rows, mo, mi, xg, wm, yg)))
        L->h->sgemm(0, 1, rows, mo, mi, 1.0f, xg, mi, wm, mi, 0.0f, yg, mo);
    if (add_bias && L->b)
        for (size_t r = 0; r < (size_t)rows; r++)
            for (int32_t o = 0; o < mo; o++)
                yg[r * mo + o] += L->b->value[(size_t)m * mo + o];
}

/* Conv modules go through a bucket in chunks of L->chunk assignments (patch rows take
 * OH*OW x C*k*k floats per example); dense buckets in one piece, and their gathered rows
 * stay in the workspace at the bucket's offset for the backward. */
static int32_t chunk_of(const modular *L, int32_t c)
{
    return L->op == OP_CONV && L->chunk < c ? L->chunk : c;
}

void mod_modules_forward(modular *L, const float *x, float *y, int32_t nrows, mod_ws *w)
{
    int32_t K = L->K, R = L->mrows, mo = L->mout;
    size_t xs = (size_t)R * L->min, ys = (size_t)R * mo;
    int noisy = L->mode == MOD_NOISY_TOPK;
    /* With K = 1 every row has exactly one assignment (no repeats): it is written, not
     * added, so y needs no clearing pass. */
    int overwrite = K == 1;
    if (!overwrite)
        memset(y, 0, (size_t)nrows * L->ynum * sizeof(float));
    for (int32_t m = 0; m < L->M; m++) {
        int32_t s = w->start[m], c = w->start[m + 1] - s, step = chunk_of(L, c);
        if (!c)
            continue;
        L->diag_runs[m] += 1.0;
        size_t at = L->op == OP_CONV ? 0 : (size_t)s;
        float *xg = w->xg + at * xs, *yg = w->yg + at * ys;
        /* yg keeps the biased output only for noisy top-k, whose gate gradient needs it;
         * the others add the bias while scattering. */
        const float *bias = L->b ? L->b->value + (size_t)m * mo : NULL;
        const float *bo = noisy ? NULL : bias;
        for (int32_t j0 = 0; j0 < c; j0 += step) {
            int32_t cc = c - j0 < step ? c - j0 : step;
            const int32_t *ord = w->order + s + j0;
            gather(L, x, ord, cc, xg);
            module_gemm(L, m, cc * R, xg, yg, noisy);
            for (int32_t j = 0; j < cc; j++) {
                float g = w->gate[ord[j]], *yj = yg + (size_t)j * ys;
                float *yo = y + (size_t)(ord[j] / K) * L->ynum;
                if (L->op == OP_CONV)
                    mod_conv_scatter(L, g, yj, bo, yo, overwrite);
                else
                    dense_scatter(L, g, yj, bo, yo, overwrite);
            }
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
 * forward's buckets; dense reuses its gathered rows and outputs, conv gathers each chunk's
 * patches again (and, for noisy top-k, recomputes its outputs). */
void mod_modules_backward(const modular *L, const float *x, const float *gy, float *gx,
                          int want_params, mod_ws *w)
{
    int32_t K = L->K, R = L->mrows, mi = L->min, mo = L->mout;
    size_t xs = (size_t)R * mi, ys = (size_t)R * mo;
    int noisy = L->mode == MOD_NOISY_TOPK;
    for (int32_t m = 0; m < L->M; m++) {
        int32_t s = w->start[m], c = w->start[m + 1] - s, step = chunk_of(L, c);
        if (!c)
            continue;
        size_t at = L->op == OP_CONV ? 0 : (size_t)s;
        float *xg = w->xg + at * xs, *yg = w->yg + at * ys, *gg = w->gg + at * ys;
        const float *wm = L->w->value + (size_t)m * mo * mi;
        for (int32_t j0 = 0; j0 < c; j0 += step) {
            int32_t cc = c - j0 < step ? c - j0 : step;
            const int32_t *ord = w->order + s + j0;
            if (L->op == OP_CONV) {
                gather(L, x, ord, cc, xg);
                if (noisy)
                    module_gemm(L, m, cc * R, xg, yg, 1);
            }
            for (int32_t j = 0; j < cc; j++) {
                int32_t a = ord[j];
                const float *g = gy + (size_t)(a / K) * L->ynum, *yj = yg + (size_t)j * ys;
                float *d = gg + (size_t)j * ys;
                double dot = L->op == OP_CONV ? mod_conv_gather_grad(L, w->gate[a], g, yj, d)
                                              : dense_gather_grad(L, w->gate[a], g, yj, d);
                if (noisy)
                    w->dgate[a] = (float)dot;
            }
            if (want_params) {
                L->h->sgemm(1, 0, mo, mi, cc * R, 1.0f, gg, mo, xg, mi, 1.0f,
                            L->w->grad + (size_t)m * mo * mi, mi);
                if (L->b)
                    for (size_t r = 0; r < (size_t)cc * R; r++)
                        for (int32_t o = 0; o < mo; o++)
                            L->b->grad[(size_t)m * mo + o] += gg[r * mo + o];
            }
            if (gx) {
                float *gxg = w->gx + at * xs;
                L->h->sgemm(0, 0, cc * R, mi, mo, 1.0f, gg, mo, wm, mi, 0.0f, gxg, mi);
                for (int32_t j = 0; j < cc; j++) {
                    float *dst = gx + (size_t)(ord[j] / K) * L->in;
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
}
