/* SPDX-License-Identifier: MIT */
/* Data parallelism for layers: split a batch's chunks across a small pool of persistent
 * threads, each running single-threaded GEMMs. OpenBLAS threads one GEMM at a time, which
 * pays for big square products but not for the narrow per-chunk GEMMs of a convolution
 * (modlab's CNN ran slower at 2 threads than at 1); splitting the batch does pay.
 *
 * Partition is static (worker w takes a contiguous share of the tasks), so for a given
 * thread count every task runs on the same worker each time and results are reproducible.
 * During a region OpenBLAS is held to one thread and restored afterwards. */
#include <config.h>

#include <pthread.h>
#include <unistd.h>

#include "parallel.h"
#include <modlab/modlab.h>

#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
#include <cblas.h>
#endif

enum { MAX_WORKERS = 8 };

static struct {
    pthread_once_t once;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    int capacity;            /* workers a layer may size scratch for, including the caller */
    int started;             /* helper threads running */
    unsigned long generation;
    int pending;             /* helpers still working on this generation */
    int nworkers;
    int32_t ntasks;
    ml_task_fn fn;
    void *arg;
} pool = {.once = PTHREAD_ONCE_INIT, .mu = PTHREAD_MUTEX_INITIALIZER,
          .go = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

static __thread int in_region;

static void init_capacity(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    pool.capacity = n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

int32_t ml_parallel_workers(void)
{
    pthread_once(&pool.once, init_capacity);
    return pool.capacity;
}

static void run_share(int w, int nworkers, int32_t ntasks, ml_task_fn fn, void *arg)
{
    int32_t lo = (int32_t)((int64_t)ntasks * w / nworkers);
    int32_t hi = (int32_t)((int64_t)ntasks * (w + 1) / nworkers);
    in_region = 1;
    for (int32_t t = lo; t < hi; t++)
        fn(arg, t, w);
    in_region = 0;
}

static void *helper_main(void *p)
{
    int w = (int)(intptr_t)p;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (pool.generation == seen)
            pthread_cond_wait(&pool.go, &pool.mu);
        seen = pool.generation;
        if (w >= pool.nworkers)
            continue;
        int nworkers = pool.nworkers;
        int32_t ntasks = pool.ntasks;
        ml_task_fn fn = pool.fn;
        void *arg = pool.arg;
        pthread_mutex_unlock(&pool.mu);
        run_share(w, nworkers, ntasks, fn, arg);
        pthread_mutex_lock(&pool.mu);
        if (--pool.pending == 0)
            pthread_cond_signal(&pool.done);
    }
    return NULL;
}

/* Helpers 1..want-1 exist afterwards, or as many as could be started. */
static int ensure_helpers(int want)
{
    while (pool.started + 1 < want) {
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&th, &at, helper_main, (void *)(intptr_t)(pool.started + 1));
        pthread_attr_destroy(&at);
        if (rc)
            break;
        pool.started++;
    }
    return pool.started + 1 < want ? pool.started + 1 : want;
}

void ml_parallel_for(int32_t ntasks, ml_task_fn fn, void *arg)
{
    int threads = ml_blas_threads(), nworkers;
    if (ntasks <= 0)
        return;
    nworkers = threads < ml_parallel_workers() ? threads : pool.capacity;
    if (nworkers > ntasks)
        nworkers = (int)ntasks;
    if (nworkers <= 1 || in_region) {   /* serial: one worker, or nested in a region */
        int nested = in_region;
        run_share(0, 1, ntasks, fn, arg);
        in_region = nested;
        return;
    }
    pthread_mutex_lock(&pool.mu);
    nworkers = ensure_helpers(nworkers);
    pool.nworkers = nworkers;
    pool.ntasks = ntasks;
    pool.fn = fn;
    pool.arg = arg;
    pool.pending = nworkers - 1;
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
    openblas_set_num_threads(1);
#endif
    pool.generation++;
    pthread_cond_broadcast(&pool.go);
    pthread_mutex_unlock(&pool.mu);

    run_share(0, nworkers, ntasks, fn, arg);

    pthread_mutex_lock(&pool.mu);
    while (pool.pending > 0)
        pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
    openblas_set_num_threads(threads);
#endif
}
