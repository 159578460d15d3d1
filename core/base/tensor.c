/* SPDX-License-Identifier: MIT */
/* Ref-counted float32 tensors: batch x shape, 64-byte aligned, one allocation each. */
#include <stdatomic.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include <modlab/modlab.h>

struct ml_tensor {
    _Atomic int32_t refs;
    int32_t batch;
    ml_shape shape;
    int64_t numel;
    float *data;
};

ml_tensor *ml_tensor_new(int32_t batch, const ml_shape *shape, ml_err *err)
{
    ml_tensor *t;
    int64_t per = 1;
    if (batch < 0 || !shape || shape->ndim < 0 || shape->ndim > ML_MAX_DIMS)
        return mli_error(err, ML_ERR_INVALID, "tensor: bad batch or shape"), NULL;
    for (int32_t i = 0; i < shape->ndim; i++) {
        if (shape->dim[i] < 0 || (shape->dim[i] && per > INT64_MAX / 4 / shape->dim[i]))
            return mli_error(err, ML_ERR_INVALID, "tensor: dimension %d is %d", i,
                            shape->dim[i]), NULL;
        per *= shape->dim[i];
    }
    if (!(t = mli_znew(sizeof *t, "tensor", err)))
        return NULL;
    t->numel = per * batch;
    t->data = mli_alloc_big((size_t)(t->numel ? t->numel : 1) * sizeof(float));
    if (!t->data) {
        mli_free(t);
        return mli_error(err, ML_ERR_NOMEM, "tensor: out of memory for %lld floats",
                        (long long)t->numel), NULL;
    }
    memset(t->data, 0, (size_t)t->numel * sizeof(float));
    atomic_init(&t->refs, 1);
    t->batch = batch;
    t->shape = *shape;
    return t;
}

ml_tensor *ml_tensor_retain(ml_tensor *t)
{
    if (t)
        atomic_fetch_add(&t->refs, 1);
    return t;
}

void ml_tensor_release(ml_tensor *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1) {
        mli_free(t->data);
        mli_free(t);
    }
}

float *ml_tensor_data(ml_tensor *t) { return t->data; }
int32_t ml_tensor_batch(const ml_tensor *t) { return t->batch; }
const ml_shape *ml_tensor_shape(const ml_tensor *t) { return &t->shape; }
int64_t ml_tensor_numel(const ml_tensor *t) { return t->numel; }
