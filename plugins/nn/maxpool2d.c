/* SPDX-License-Identifier: MIT */
/* maxpool2d: {C,H,W} -> {C,OH,OW}, max over kernel x kernel windows (no padding); the
 * argmax of every window is kept in the workspace for backward. */
#include "nn_common.h"
#include "nn_entries.h"
#include "pool2d.h"

typedef nn_pool2d maxpool2d;

static int maxpool2d_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                            const ml_shape *in, void **self, ml_err *err)
{
    return nn_pool2d_create("maxpool2d", host, opts, in, self, err);
}

static size_t maxpool2d_workspace(void *self, int32_t batch)
{
    const maxpool2d *m = self;
    return sizeof(int32_t) * (size_t)batch * (size_t)m->c * (size_t)m->oh * (size_t)m->ow;
}

/* First NaN in the window. */
static int window_nan(const float *win, int k, int w)
{
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++)
            if (win[ky * w + kx] != win[ky * w + kx])
                return ky * w + kx;
    return 0;
}

/* Kernel 2, stride 2, the common pooling: the generic loop's choice (the first maximum in
 * window order, the first NaN if there is one) written out for the four values, without
 * the generic loop's runtime bounds, so it stays a few selects per output. */
__attribute__((noinline)) static void pool2_row(const float *restrict r0, int w, int ow,
                                                int32_t base, float *restrict y,
                                                int32_t *restrict arg)
{
    const float *restrict r1 = r0 + w;
    for (int ox = 0; ox < ow; ox++) {
        float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
        float mx = a;
        int at = 0;
        at = b > mx ? 1 : at;
        mx = b > mx ? b : mx;
        at = c > mx ? w : at;
        mx = c > mx ? c : mx;
        at = d > mx ? w + 1 : at;
        mx = d > mx ? d : mx;
        if ((a != a) | (b != b) | (c != c) | (d != d)) {   /* a NaN wins, as in PyTorch */
            at = a != a ? 0 : b != b ? 1 : c != c ? w : w + 1;
            mx = a != a ? a : b != b ? b : c != c ? c : d;
        }
        y[ox] = mx;
        arg[ox] = base + 2 * ox + at;
    }
}

/* Planes [p0, p1) of a batch (a plane: one channel of one example). */
static void maxpool2d_planes(const maxpool2d *m, const float *in, float *out, int32_t *ws,
                             int64_t p0, int64_t p1)
{
    const int k = m->k, s = m->s, w = m->w, oh = m->oh, ow = m->ow;
    int64_t hw = (int64_t)m->h * w, ohw = (int64_t)oh * ow;
    int32_t *arg = ws + p0 * ohw;   /* index into the example's channel plane */
    float *y = out + p0 * ohw;
    if (k == 2 && s == 2) {
        for (int64_t pl = p0; pl < p1; pl++)
            for (int oy = 0; oy < oh; oy++, y += ow, arg += ow)
                pool2_row(in + pl * hw + (int64_t)2 * oy * w, w, ow, 2 * oy * w, y, arg);
        return;
    }
    for (int64_t pl = p0; pl < p1; pl++) {
        const float *x = in + pl * hw;
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                const int base = oy * s * w + ox * s;
                const float *win = x + base;
                /* Branch-free: random data mispredicts a compare-and-branch half the time.
                 * The max compiles to maxss, the index to a masked select. */
                float mx = win[0];
                int at = 0, nan = 0;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        float v = win[ky * w + kx];
                        int gt = v > mx, idx = ky * w + kx;
                        at ^= (at ^ idx) & -gt;
                        mx = v > mx ? v : mx;
                        nan |= v != v;
                    }
                /* A NaN wins, as in PyTorch. */
                if (nan)
                    at = window_nan(win, k, w);
                *y++ = win[at];
                *arg++ = base + at;
            }
        }
    }
}

static void maxpool2d_planes_back(const maxpool2d *m, const float *gout, float *gin,
                                  const int32_t *ws, int64_t p0, int64_t p1)
{
    int64_t hw = (int64_t)m->h * m->w, ohw = (int64_t)m->oh * m->ow;
    const int32_t *arg = ws + p0 * ohw;
    const float *g = gout + p0 * ohw;
    memset(gin + p0 * hw, 0, sizeof(float) * (size_t)((p1 - p0) * hw));
    for (int64_t pl = p0; pl < p1; pl++) {
        float *gx = gin + pl * hw;
        for (int64_t i = 0; i < ohw; i++)
            gx[*arg++] += *g++;
    }
}

/* Batches of a CNN's first layers are split into groups of planes across the host's
 * workers, about 64K input floats each; small inputs run in one go. */
typedef struct maxpool2d_pass {
    const maxpool2d *m;
    const float *x;
    float *y;
    int32_t *ws;
    int64_t planes, per_task;
} maxpool2d_pass;

static int64_t maxpool2d_task_end(const maxpool2d_pass *p, int64_t p0)
{
    return p0 + p->per_task < p->planes ? p0 + p->per_task : p->planes;
}

static void maxpool2d_fwd_task(void *arg, int32_t t, int32_t w)
{
    const maxpool2d_pass *p = arg;
    int64_t p0 = t * p->per_task, p1 = maxpool2d_task_end(p, p0);
    (void)w;
    maxpool2d_planes(p->m, p->x, p->y, p->ws, p0, p1);
}

static void maxpool2d_bwd_task(void *arg, int32_t t, int32_t w)
{
    const maxpool2d_pass *p = arg;
    int64_t p0 = t * p->per_task, p1 = maxpool2d_task_end(p, p0);
    (void)w;
    maxpool2d_planes_back(p->m, p->x, p->y, p->ws, p0, p1);
}

static void maxpool2d_run(maxpool2d_pass *p, void (*task)(void *, int32_t, int32_t))
{
    int64_t hw = (int64_t)p->m->h * p->m->w, tasks;
    p->per_task = (65536 + hw - 1) / hw;
    tasks = (p->planes + p->per_task - 1) / p->per_task;
    if (tasks < 2)
        task(p, 0, 0);
    else
        p->m->host->parallel_for((int32_t)tasks, task, p);
}

static int maxpool2d_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out,
                             void *ws, ml_err *err)
{
    const maxpool2d *m = self;
    maxpool2d_pass p = {m, in->data, out->data, ws, (int64_t)in->batch * m->c, 0};
    maxpool2d_run(&p, maxpool2d_fwd_task);
    return 0;
}

/* Here x is the output gradient and y the input gradient. */
static int maxpool2d_backward(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                              const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    const maxpool2d *m = self;
    maxpool2d_pass p = {m, gout->data, gin->data, ws, (int64_t)in->batch * m->c, 0};
    maxpool2d_run(&p, maxpool2d_bwd_task);
    return 0;
}

/* Random inputs have distinct values, so the argmax is stable under small perturbations. */
static const ml_gradcheck_case maxpool2d_cases[] = {
    { "kernel=2", { 3, { 2, 4, 5 } }, 0 },
    { "kernel=3 stride=2", { 3, { 1, 5, 5 } }, 0 },
};
ML_GRADCHECK_EXTENSION(maxpool2d_ext, maxpool2d_cases)

const ml_entry ml_nn_maxpool2d_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "maxpool2d", "1.0.0",
    "2-d max pooling over {C,H,W} (square window, no padding)", nn_pool2d_options,
    maxpool2d_ext, ml_layer_vtable, .create = maxpool2d_create, .destroy = nn_destroy,
    .infer_shape = nn_pool2d_infer, .workspace = maxpool2d_workspace,
    .forward = maxpool2d_forward, .backward_input = maxpool2d_backward);
