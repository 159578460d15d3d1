/* SPDX-License-Identifier: MIT */
/* Datasets: info, reads into guarded buffers (in bounds, all written, the same twice, class
 * targets in range), and leaks. */
#include "sdk/conformance_impl.h"

/* ---- datasets -------------------------------------------------------------------- */

static int ds_open(ck *c, void **self, ml_err *err)
{
    return mli_conf_open(c, c->re->vt.dataset.open, self, err);
}

static int shape_ok(const ml_shape *s)
{
    if (s->ndim < 0 || s->ndim > ML_MAX_DIMS)
        return 0;
    for (int32_t i = 0; i < s->ndim; i++)
        if (s->dim[i] <= 0)
            return 0;
    return 1;
}

static int ds_leak_life(ck *c, const void *arg, int64_t fail_at, ml_err *err)
{
    void *self = NULL;
    ml_data_info info;
    (void)arg;
    ml_mem_fail_at(fail_at);
    int rc = ds_open(c, &self, err);
    ml_mem_fail_at(0);
    if (!rc) {
        rc = c->re->vt.dataset.info(self, &info, err);
        c->re->vt.dataset.close(self);
    }
    return rc;
}

void mli_conf_check_dataset(ck *c)
{
    const ml_dataset_vtable *vt = &c->re->vt.dataset;
    void *self = NULL;
    ml_data_info info;
    ml_err err;
    gbuf x = {0}, y = {0};
    float *x2 = NULL, *y2 = NULL;
    mli_conf_begin(c->s, c->id, "info");
    if (mli_conf_has_required(c->re->entry.options)) {
        SKIP(c, "info", "the dataset has required options (files come from a manifest); "
             "the check cannot invent values");
        return;
    }
    if (ds_open(c, &self, &err)) {
        FAIL(c, "info", "open with default options failed: %s", err.msg);
        return;
    }
    memset(&info, 0, sizeof info);
    if (vt->info(self, &info, &err)) {
        FAIL(c, "info", "info failed: %s", err.msg);
        goto done;
    }
    if (info.size <= 0 || !shape_ok(&info.x_shape) || !shape_ok(&info.y_shape) ||
        info.classes < 0) {
        FAIL(c, "info", "info reports size %lld, x ndim %d, y ndim %d, classes %d: size must "
             "be > 0, shapes 0..%d dims of positive sizes, classes >= 0",
             (long long)info.size, info.x_shape.ndim, info.y_shape.ndim, info.classes,
             ML_MAX_DIMS);
        goto done;
    }
    PASS(c, "info", "%lld examples, x %lld floats, y %lld floats, %d classes",
         (long long)info.size, (long long)ml_shape_numel(&info.x_shape),
         (long long)ml_shape_numel(&info.y_shape), info.classes);
    mli_conf_begin(c->s, c->id, "read");
    int64_t idx[3] = {0, info.size - 1, info.size / 2};
    int64_t nx = 3 * ml_shape_numel(&info.x_shape), ny = 3 * ml_shape_numel(&info.y_shape);
    if (mli_gbuf_new(&x, (size_t)nx * 4) || mli_gbuf_new(&y, (size_t)ny * 4) ||
        !(x2 = malloc((size_t)nx * 4)) || !(y2 = malloc((size_t)ny * 4))) {
        FAIL(c, "read", "out of memory");
        goto done;
    }
    mli_conf_fill_nan(x.data, nx);
    mli_conf_fill_nan(y.data, ny);
    if (vt->read(self, idx, 3, x.data, y.data, &err)) {
        FAIL(c, "read", "reading examples 0, %lld and %lld failed: %s",
             (long long)idx[1], (long long)idx[2], err.msg);
        goto done;
    }
    if (!mli_gbuf_intact(&x) || !mli_gbuf_intact(&y)) {
        FAIL(c, "read", "read wrote outside x or y (n * prod(shape) floats each)");
        goto done;
    }
    if (mli_conf_first_nonfinite(x.data, nx) >= 0 || mli_conf_first_nonfinite(y.data, ny) >= 0) {
        FAIL(c, "read", "read left elements of x or y unwritten or non-finite");
        goto done;
    }
    if (vt->read(self, idx, 3, x2, y2, &err) || memcmp(x2, x.data, (size_t)nx * 4) ||
        memcmp(y2, y.data, (size_t)ny * 4)) {
        FAIL(c, "read", "reading the same indices twice gave different examples; reads must "
             "be deterministic (the host shuffles, not the dataset)");
        goto done;
    }
    if (info.classes > 0 && info.y_shape.ndim == 0)
        for (int64_t i = 0; i < ny; i++)
            if (y.data[i] != floorf(y.data[i]) || y.data[i] < 0 || y.data[i] >= info.classes) {
                FAIL(c, "read", "target %g is not a class index in [0, %d)", y.data[i],
                     info.classes);
                goto done;
            }
    PASS(c, "read", "3 examples deterministic, all written, targets valid, nothing written "
         "outside (%s)", GUARD_KIND);
done:
    mli_gbuf_free(&x);
    mli_gbuf_free(&y);
    free(x2);
    free(y2);
    vt->close(self);
    mli_conf_check_leaks(c, ds_leak_life, NULL);
}
