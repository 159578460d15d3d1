/* SPDX-License-Identifier: MIT */
/* A dataset instance: a dataset plugin opened with validated options. */
#include <stdio.h>
#include <string.h>

#include "dataset.h"
#include "err.h"
#include "mem.h"

ml_dataset *ml_dataset_open(ml_registry *reg, const char *format, ml_opts *opts, ml_err *err)
{
    const ml_reg_entry *re;
    ml_dataset *d = NULL;
    char owner[96];
    if (!(re = ml_registry_lookup(reg, ML_KIND_DATASET, format, err)))
        goto fail;
    snprintf(owner, sizeof owner, "dataset %s", format);
    if (ml_opts_validate(opts, re->entry.options, owner, err))
        goto fail;
    if (!(d = ml_zalloc(sizeof *d))) {
        ml_error(err, ML_ERR_NOMEM, "dataset: out of memory");
        goto fail;
    }
    d->entry = re->entry;
    d->vt = re->vt.dataset;
    d->opts = opts;
    if (d->vt.open(ml_host_table(), opts, &d->self, err)) {
        d->self = NULL;
        goto fail;
    }
    if (d->vt.info(d->self, &d->info, err))
        goto fail;
    if (d->info.size < 0 || d->info.x_shape.ndim < 0 || d->info.x_shape.ndim > ML_MAX_DIMS ||
        d->info.y_shape.ndim < 0 || d->info.y_shape.ndim > ML_MAX_DIMS) {
        ml_error(err, ML_ERR_INTERNAL, "dataset %s: plugin reported a bad size or shape",
                 format);
        goto fail;
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
    ml_free(d);
}

const ml_data_info *ml_dataset_info(const ml_dataset *d) { return &d->info; }

int ml_dataset_read(ml_dataset *d, const int64_t *idx, int32_t n, float *x, float *y,
                    ml_err *err)
{
    for (int32_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= d->info.size)
            return ml_error(err, ML_ERR_INVALID, "dataset %s: index %lld outside 0..%lld",
                            d->entry.name, (long long)idx[i], (long long)d->info.size - 1);
    return d->vt.read(d->self, idx, n, x, y, err);
}
