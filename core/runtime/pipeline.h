/* SPDX-License-Identifier: MIT */
/* The transform pipeline (ml_pipeline_* in modlab.h): internal helpers. */
#ifndef MODLAB_CORE_PIPELINE_H
#define MODLAB_CORE_PIPELINE_H

#include <modlab/modlab.h>

/* n stored values of dtype (ML_DTYPE_*) as floats: value / div (src == o is fine for F32). */
void mli_dtype_to_float(float *o, const void *src, int64_t n, int32_t dtype, float div);

/* Room for batches of n examples' stored values, so that ml_pipeline_read of up to n
 * allocates nothing (the prefetch thread reads through it). */
int mli_pipeline_reserve(ml_pipeline *p, int32_t n, ml_err *err);

#endif
