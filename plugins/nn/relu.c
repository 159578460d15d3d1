/* SPDX-License-Identifier: MIT */
/* relu: max(x, 0), elementwise. */
#include <modlab/plugin.h>

typedef struct relu {
    const ml_host *h;
} relu;

static int relu_create(const ml_host *h, ml_ctx *ctx, const ml_opts *opts, const ml_shape *in,
                       void **self, ml_err *err)
{
    relu *r = h->zalloc(sizeof *r);
    if (!r)
        return h->error(err, ML_ERR_NOMEM, "relu: out of memory");
    r->h = h;
    *self = r;
    return ML_OK;
}

static void relu_destroy(void *self)
{
    relu *r = self;
    r->h->free(r);
}

/* The host never passes a layer overlapping buffers, so restrict holds. Blocks of a fixed
 * 8 and noinline, as in optim_util.h: GCC's -O2 cost model vectorises only known trip
 * counts, and drops restrict when it inlines. They compile to maxps / cmpps+andps; before,
 * a scalar compare-and-branch mispredicted half the time on real activations. */
/* relu_bwd loads g[i] before the select: written as `x > 0 ? g[i] : 0` the load is
 * conditional, GCC may not if-convert a load that could trap, and the loop stayed a scalar
 * branch per element (8.7% of the quickstart's cycles; -fopt-info-vec said nothing). Same
 * result at every input: x NaN, +-0 or negative give +0.0f, x > 0 passes g as it is. */
enum { RELU_BLOCK = 8 };

__attribute__((noinline)) static void relu_fwd(const float *restrict x, float *restrict y,
                                               int64_t n)
{
    int64_t i = 0;
    for (; i + RELU_BLOCK <= n; i += RELU_BLOCK)
        for (int u = 0; u < RELU_BLOCK; u++)
            y[i + u] = x[i + u] > 0.0f ? x[i + u] : 0.0f;
    for (; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

__attribute__((noinline)) static void relu_bwd(const float *restrict x, const float *restrict g,
                                               float *restrict d, int64_t n)
{
    int64_t i = 0;
    for (; i + RELU_BLOCK <= n; i += RELU_BLOCK)
        for (int u = 0; u < RELU_BLOCK; u++) {
            const float gv = g[i + u];
            d[i + u] = x[i + u] > 0.0f ? gv : 0.0f;
        }
    for (; i < n; i++) {
        const float gv = g[i];
        d[i] = x[i] > 0.0f ? gv : 0.0f;
    }
}

/* Big activations (a CNN's first layers: millions of floats) are split into slices across
 * the host's workers; small ones (an MLP's) are not worth waking them for. */
enum { RELU_SLICE = 1 << 16 };

typedef struct relu_pass {
    const float *x, *g;
    float *y;
    int64_t n;
} relu_pass;

static void relu_slice(const relu_pass *p, int32_t t, int64_t *lo, int64_t *len)
{
    *lo = (int64_t)t * RELU_SLICE;
    *len = p->n - *lo < RELU_SLICE ? p->n - *lo : RELU_SLICE;
}

static void relu_fwd_task(void *arg, int32_t t, int32_t w)
{
    const relu_pass *p = arg;
    int64_t lo, len;
    (void)w;
    relu_slice(p, t, &lo, &len);
    relu_fwd(p->x + lo, p->y + lo, len);
}

static void relu_bwd_task(void *arg, int32_t t, int32_t w)
{
    const relu_pass *p = arg;
    int64_t lo, len;
    (void)w;
    relu_slice(p, t, &lo, &len);
    relu_bwd(p->x + lo, p->g + lo, p->y + lo, len);
}

static void relu_run(const relu *r, relu_pass *p, void (*task)(void *, int32_t, int32_t))
{
    int64_t slices = (p->n + RELU_SLICE - 1) / RELU_SLICE;
    if (slices < 2)
        task(p, 0, 0);
    else
        r->h->parallel_for((int32_t)slices, task, p);
}

static int relu_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                        ml_err *err)
{
    relu_pass p = {in->data, NULL, out->data, in->batch * ml_shape_numel(&in->shape)};
    relu_run(self, &p, relu_fwd_task);
    return ML_OK;
}

static int relu_backward_input(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                               const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    relu_pass p = {in->data, gout->data, gin->data, in->batch * ml_shape_numel(&in->shape)};
    relu_run(self, &p, relu_bwd_task);
    return ML_OK;
}

const ml_entry ml_nn_relu_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "relu", "1.0.0",
    "rectified linear unit, max(x, 0)", NULL, NULL, ml_layer_vtable, .create = relu_create,
    .destroy = relu_destroy, .infer_shape = ml_infer_same_shape, .forward = relu_forward,
    .backward_input = relu_backward_input);
