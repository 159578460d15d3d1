/* SPDX-License-Identifier: MIT */
/* The transform pipeline (ml_pipeline_* in modlab.h): internal helpers. */
#ifndef MODLAB_CORE_PIPELINE_H
#define MODLAB_CORE_PIPELINE_H

#include <modlab/modlab.h>

/* The model's input normalisation as the conversion applies it: value * scale[c] +
 * shift[c] per channel c of `plane` values, the arithmetic of mli_model_input. */
typedef struct mli_norm {
    int32_t nch;
    int64_t plane;
    float scale[64], shift[64];
} mli_norm;

/* One example's stored values (numel of dtype) as floats: value / div, then normalised when
 * nm is not NULL. src == o is fine for F32. */
void mli_example_to_float(float *o, const void *src, int64_t numel, int32_t dtype, float div,
                          const mli_norm *nm);
/* ml_pipeline_read, normalising each example (nm) in its conversion; nm NULL: not. */
int mli_pipeline_read(ml_pipeline *p, ml_dataset *d, const int64_t *idx, int32_t n,
                      uint64_t seed, int64_t epoch, float *x, float *y, const mli_norm *nm,
                      ml_err *err);

/* Room for batches of n examples' stored values, so that ml_pipeline_read of up to n
 * allocates nothing (the prefetch thread reads through it). */
int mli_pipeline_reserve(ml_pipeline *p, int32_t n, ml_err *err);

#endif
