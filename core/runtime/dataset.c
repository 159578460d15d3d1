/* SPDX-License-Identifier: MIT */
/* A dataset instance: a dataset plugin opened with validated options. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/dataset.h"
#include "base/err.h"
#include "base/mem.h"

ml_dataset *ml_dataset_open(ml_registry *reg, const char *format, ml_opts *opts, ml_err *err)
{
    const ml_reg_entry *re;
    ml_dataset *d = NULL;
    char owner[96];
    if (!(re = mli_registry_lookup(reg, ML_KIND_DATASET, format, err)))
        goto fail;
    snprintf(owner, sizeof owner, "dataset %s", format);
    if (ml_opts_validate(opts, re->entry.options, owner, err))
        goto fail;
    if (!(d = mli_znew(sizeof *d, "dataset", err)))
        goto fail;
    d->entry = re->entry;
    d->vt = re->vt.dataset;
    d->opts = opts;
    if (d->vt.open(mli_host_table(), opts, &d->self, err)) {
        d->self = NULL;
        goto fail;
    }
    if (d->vt.info(d->self, &d->info, err))
        goto fail;
    if (d->info.size < 0 || d->info.x_shape.ndim < 0 || d->info.x_shape.ndim > ML_MAX_DIMS ||
        d->info.y_shape.ndim < 0 || d->info.y_shape.ndim > ML_MAX_DIMS) {
        mli_error(err, ML_ERR_INTERNAL, "dataset %s: plugin reported a bad size or shape",
                 format);
        goto fail;
    }
    d->dtype = ML_DTYPE_F32;
    d->div = 1.0f;
    if (d->vt.raw_format) {
        if (d->vt.raw_format(d->self, &d->dtype, &d->div, err))
            goto fail;
        if (!ml_dtype_size(d->dtype) || !(d->div > 0.0f) || !isfinite(d->div) ||
            (d->dtype == ML_DTYPE_F32 && d->div != 1.0f)) {
            mli_error(err, ML_ERR_INTERNAL, "dataset %s: plugin reported stored values of "
                      "dtype %d with divisor %g; a dtype is ML_DTYPE_* and the divisor a "
                      "positive number (1 for float32)", format, d->dtype, (double)d->div);
            goto fail;
        }
    }
    return d;
fail:
    if (d) {
        d->opts = NULL;
        ml_dataset_close(d);
    }
    ml_opts_free(opts);
    return NULL;
}

void ml_dataset_close(ml_dataset *d)
{
    if (!d)
        return;
    if (d->self)
        d->vt.close(d->self);
    ml_opts_free(d->opts);
    mli_free(d);
}

const ml_data_info *ml_dataset_info(const ml_dataset *d) { return &d->info; }

static int check_indices(const ml_dataset *d, const int64_t *idx, int32_t n, ml_err *err)
{
    for (int32_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= d->info.size)
            return mli_error(err, ML_ERR_INVALID, "dataset %s: index %lld outside 0..%lld",
                            d->entry.name, (long long)idx[i], (long long)d->info.size - 1);
    return ML_OK;
}

int ml_dataset_read(ml_dataset *d, const int64_t *idx, int32_t n, float *x, float *y,
                    ml_err *err)
{
    int rc = check_indices(d, idx, n, err);
    return rc ? rc : d->vt.read(d->self, idx, n, x, y, err);
}

int32_t ml_dataset_dtype(const ml_dataset *d, float *div)
{
    if (div)
        *div = d->div;
    return d->dtype;
}

int ml_dataset_read_raw(ml_dataset *d, const int64_t *idx, int32_t n, void *x, float *y,
                        ml_err *err)
{
    int rc = check_indices(d, idx, n, err);
    if (rc)
        return rc;
    return d->vt.read_raw ? d->vt.read_raw(d->self, idx, n, x, y, err)
                          : d->vt.read(d->self, idx, n, x, y, err);
}

/* Channels for normalisation: the first dim of an image ({C,H,W}), else one for all. */
static int32_t norm_channels(const ml_data_info *info)
{
    return info->x_shape.ndim == 3 ? info->x_shape.dim[0] : 1;
}

int ml_dataset_stats(ml_dataset *d, const int64_t *idx, int64_t n, double *mean, double *std,
                     ml_err *err)
{
    enum { CHUNK = 256 };
    int32_t nch = norm_channels(&d->info);
    int64_t per = ml_shape_numel(&d->info.x_shape), plane = per / nch;
    int64_t ynum = ml_shape_numel(&d->info.y_shape);
    double sum[64] = {0}, sq[64] = {0};
    float *x, *y;
    int rc = ML_OK;
    if (nch > 64)
        return mli_error(err, ML_ERR_UNSUPPORTED, "normalisation: more than 64 channels");
    if (n < 1)
        return mli_error(err, ML_ERR_INVALID, "normalisation: no training examples");
    x = mli_alloc((size_t)(CHUNK * per) * sizeof(float));
    y = mli_alloc((size_t)(CHUNK * (ynum ? ynum : 1)) * sizeof(float));
    if (!x || !y) {
        rc = mli_error(err, ML_ERR_NOMEM, "normalisation: out of memory");
        goto done;
    }
    for (int64_t s = 0; s < n && !rc; s += CHUNK) {
        int32_t m = (int32_t)(n - s < CHUNK ? n - s : CHUNK);
        if ((rc = ml_dataset_read(d, idx + s, m, x, y, err)))
            break;
        for (int32_t i = 0; i < m; i++)
            for (int32_t c = 0; c < nch; c++) {
                const float *p = x + i * per + c * plane;
                for (int64_t j = 0; j < plane; j++) {
                    sum[c] += p[j];
                    sq[c] += (double)p[j] * p[j];
                }
            }
    }
    for (int32_t c = 0; !rc && c < nch; c++) {
        double cnt = (double)n * (double)plane, mu = sum[c] / cnt;
        mean[c] = mu;
        std[c] = sqrt(fmax(sq[c] / cnt - mu * mu, 0.0));
    }
done:
    mli_free(x);
    mli_free(y);
    return rc;
}

int32_t ml_dataset_channels(const ml_dataset *d) { return norm_channels(&d->info); }
