/* SPDX-License-Identifier: MIT */
/* modlab.diagnostics/1 for `modular`: controller entropy, the effective number of modules
 * in use, and a module x class co-occurrence table, tallied from every observed forward. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "modular.h"

static void reset(void *self)
{
    modular *L = self;
    L->diag_entropy = L->diag_rows = L->diag_eff_batch = L->diag_batches = 0.0;
    memset(L->diag_use, 0, (size_t)L->M * sizeof(double));
    memset(L->diag_cooc, 0, (size_t)L->M * DIAG_CLASSES * sizeof(double));
    memset(L->diag_runs, 0, (size_t)L->M * sizeof(double));
    L->diag_classes = 0;
}

static double entropy(const double *q, int32_t n)
{
    double t = 0.0, h = 0.0;
    for (int32_t i = 0; i < n; i++)
        t += q[i];
    for (int32_t i = 0; i < n; i++)
        if (q[i] > 0)
            h -= q[i] / t * log(q[i] / t);
    return t > 0 ? h : 0.0;
}

static void observe(void *self, const float *targets, int32_t batch, int32_t target_numel)
{
    modular *L = self;
    mod_ws w;
    if (!L->last_ws || L->last_batch != batch)
        return;
    int32_t M = L->M, hm = L->heads * M, n = batch * L->rows;
    mod_ws_layout(L, L->last_ws, batch, &w);
    mod_softmax(L, n, &w);
    memset(L->diag_q, 0, (size_t)M * sizeof(double));
    for (int32_t r = 0; r < n; r++) {
        for (int32_t k = 0; k < L->heads; k++) {
            const float *p = w.prob + (size_t)r * hm + (size_t)k * M;
            double h = 0.0;
            for (int32_t m = 0; m < M; m++)
                if (p[m] > 0)
                    h -= (double)p[m] * log((double)p[m]);
            L->diag_entropy += h;
        }
        L->diag_rows += L->heads;
        int32_t cls = -1;
        if (targets && target_numel == L->rows)
            cls = (int32_t)targets[r];
        else if (targets && target_numel == 1)
            cls = (int32_t)targets[r / L->rows];
        for (int32_t k = 0; k < L->K; k++) {
            size_t a = (size_t)r * L->K + k;
            if (L->mode != MOD_NOISY_TOPK && w.gate[a] == 0.0f)
                continue;
            int32_t m = w.sel[a];
            L->diag_q[m] += 1.0;
            L->diag_use[m] += 1.0;
            if (cls >= 0 && cls < DIAG_CLASSES) {
                L->diag_cooc[(size_t)m * DIAG_CLASSES + cls] += 1.0;
                L->diag_classes = cls + 1 > L->diag_classes ? cls + 1 : L->diag_classes;
            }
        }
    }
    L->diag_eff_batch += exp(entropy(L->diag_q, M));
    L->diag_batches += 1.0;
}

typedef struct out_buf {
    char *buf;
    size_t cap, len;
} out_buf;

static void put(out_buf *o, const char *fmt, ...) ML_PRINTF(2, 3);
static void put(out_buf *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->len < o->cap ? o->buf + o->len : NULL,
                      o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static const char *mode_name(int mode)
{
    return mode == MOD_EM ? "em" : mode == MOD_REINFORCE ? "reinforce" : "noisy_topk";
}

/* {"train":..,"modules":M,"select":K,"controller_entropy":mean nats per head,
 *  "controller_perplexity":exp of it,"effective_modules":exp(entropy of the module use
 *  averaged over the whole pass),"effective_modules_batch":mean over batches of exp(entropy
 *  of that batch's module use),"module_use":[fractions],"module_runs":[forwards in which
 *  each module's GEMM ran: conditional computation skips the others],"classes":C,
 *  "cooccurrence":[[count of (module m, class c)]...]} (classes beyond 100 not tallied) */
static size_t report(void *self, char *buf, size_t cap)
{
    modular *L = self;
    out_buf o = {buf, cap, 0};
    double h = L->diag_rows > 0 ? L->diag_entropy / L->diag_rows : 0.0, used = 0.0;
    if (cap)
        buf[0] = 0;
    for (int32_t m = 0; m < L->M; m++)
        used += L->diag_use[m];
    put(&o, "{\"train\":\"%s\",\"modules\":%d,\"select\":%d,\"rows\":%.0f,"
        "\"controller_entropy\":%.6g,\"controller_perplexity\":%.6g,"
        "\"effective_modules\":%.6g,\"effective_modules_batch\":%.6g,\"module_use\":[",
        mode_name(L->mode), L->M, L->K, L->diag_rows / L->heads, h, exp(h),
        exp(entropy(L->diag_use, L->M)),
        L->diag_batches > 0 ? L->diag_eff_batch / L->diag_batches : 0.0);
    for (int32_t m = 0; m < L->M; m++)
        put(&o, "%s%.4g", m ? "," : "", used > 0 ? L->diag_use[m] / used : 0.0);
    put(&o, "],\"module_runs\":[");
    for (int32_t m = 0; m < L->M; m++)
        put(&o, "%s%.0f", m ? "," : "", L->diag_runs[m]);
    put(&o, "],\"classes\":%d,\"cooccurrence\":[", L->diag_classes);
    for (int32_t m = 0; m < L->M; m++) {
        put(&o, "%s[", m ? "," : "");
        for (int32_t c = 0; c < L->diag_classes; c++)
            put(&o, "%s%.0f", c ? "," : "", L->diag_cooc[(size_t)m * DIAG_CLASSES + c]);
        put(&o, "]");
    }
    put(&o, "]}");
    return o.len;
}

const ml_diagnostics_iface mod_diag_iface = {
    ML_ABI_INIT(ml_diagnostics_iface),
    .reset = reset,
    .observe = observe,
    .report = report,
};
