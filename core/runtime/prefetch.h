/* SPDX-License-Identifier: MIT */
/* A background batch reader for ml_trainer_run (double buffering). MUST-pairs: every
 * mli_prefetch_start is followed by one mli_prefetch_wait before the next start, before
 * the job's buffers, dataset or pipeline are touched, and before mli_prefetch_free. */
#ifndef MODLAB_CORE_PREFETCH_H
#define MODLAB_CORE_PREFETCH_H

#include <modlab/modlab.h>

typedef struct mli_prefetch mli_prefetch;

/* One batch to read: read(arg, idx, n, x, y, err) on the prefetch thread. */
typedef int (*mli_read_fn)(void *arg, const int64_t *idx, int32_t n, float *x, float *y,
                           ml_err *err);
typedef struct mli_prefetch_job {
    mli_read_fn read;
    void *arg;
    const int64_t *idx;
    int32_t n;
    float *x, *y;
} mli_prefetch_job;

mli_prefetch *mli_prefetch_new(ml_err *err);
void mli_prefetch_free(mli_prefetch *p);
void mli_prefetch_start(mli_prefetch *p, const mli_prefetch_job *job);
/* The job's status; its error into err (when not NULL) on failure. */
int mli_prefetch_wait(mli_prefetch *p, ml_err *err);

#endif
