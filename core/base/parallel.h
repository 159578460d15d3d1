/* SPDX-License-Identifier: MIT */
/* Data parallelism for layers (the host's parallel_for service). */
#ifndef MODLAB_CORE_PARALLEL_H
#define MODLAB_CORE_PARALLEL_H

#include <stdint.h>

typedef void (*ml_task_fn)(void *arg, int32_t task, int32_t worker);

/* Workers a layer should size per-worker scratch for (worker ids are below this). */
int32_t mli_parallel_workers(void);
/* fn(arg, task, worker) for task 0..ntasks-1 on up to ml_blas_threads() workers, each
 * calling single-threaded GEMMs; returns when all are done. */
void mli_parallel_for(int32_t ntasks, ml_task_fn fn, void *arg);
/* 1 inside a task: work there runs serially. */
int mli_parallel_in_region(void);

#endif
