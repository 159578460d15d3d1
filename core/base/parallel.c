/* SPDX-License-Identifier: MIT */
/* Data parallelism for layers: split a batch's chunks across a small pool of persistent
 * threads, each running single-threaded GEMMs. OpenBLAS threads one GEMM at a time, which
 * pays for big square products but not for the narrow per-chunk GEMMs of a convolution
 * (modlab's CNN ran slower at 2 threads than at 1); splitting the batch does pay.
 *
 * Partition is static (worker w takes a contiguous share of the tasks), so for a given
 * thread count every task runs on the same worker each time and results are reproducible.
 * OpenBLAS itself always runs single-threaded (core/base/blas.c splits big GEMMs here). */
#include <config.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "base/parallel.h"
#include <modlab/modlab.h>


enum { MAX_WORKERS = 8 };

static struct {
    pthread_once_t once;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    int capacity;            /* workers a layer may size scratch for, including the caller */
    int started;             /* helper threads running */
    _Atomic unsigned long generation;
    _Atomic int pending;     /* helpers still working on this generation */
    int nworkers;
    int32_t ntasks;
    ml_task_fn fn;
    void *arg;
} pool = {.once = PTHREAD_ONCE_INIT, .mu = PTHREAD_MUTEX_INITIALIZER,
          .go = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

static __thread int in_region;
/* The generation current when helper w was created: the job it is created for is the
 * next one. */
static unsigned long start_generation[MAX_WORKERS];

static void init_capacity(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    pool.capacity = n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

int32_t mli_parallel_workers(void)
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

/* Regions come in bursts (an MLP step has several split GEMMs within a millisecond), and a
 * condition-variable wake costs tens of microseconds: so a thread waiting for the next
 * region or for its helpers spins this many rounds first, then sleeps. Bounded, unlike
 * OpenBLAS's idle workers, so an idle pool gives its cores back at once. */
enum { SPIN_ROUNDS = 20000 };

/* Every 64th round yields: on a machine busier than its cores the thread we wait for may
 * need ours to run at all. */
static inline void cpu_relax(int round)
{
    if ((round & 63) == 63)
        sched_yield();
#if defined(__x86_64__) || defined(__i386__)
    else
        __builtin_ia32_pause();
#endif
}

/* Waits until `*v` differs from `old` (spinning, then on `cond` under the pool lock). */
static unsigned long wait_generation(unsigned long old)
{
    unsigned long g;
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        if ((g = atomic_load(&pool.generation)) != old)
            return g;
        cpu_relax(i);
    }
    pthread_mutex_lock(&pool.mu);
    while ((g = atomic_load(&pool.generation)) == old)
        pthread_cond_wait(&pool.go, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
    return g;
}

static void *helper_main(void *p)
{
    int w = (int)(intptr_t)p;
    unsigned long seen = start_generation[w];
    for (;;) {
        seen = wait_generation(seen);
        /* The job fields were written before the generation was bumped (seq_cst), and the
         * caller writes the next job only after every helper has counted itself out of
         * this one, idle helpers included: no helper can read a half-written job. */
        if (w < pool.nworkers)
            run_share(w, pool.nworkers, pool.ntasks, pool.fn, pool.arg);
        if (atomic_fetch_sub(&pool.pending, 1) == 1) {
            pthread_mutex_lock(&pool.mu);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.mu);
        }
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
        start_generation[pool.started + 1] = atomic_load(&pool.generation);
        int rc = pthread_create(&th, &at, helper_main, (void *)(intptr_t)(pool.started + 1));
        pthread_attr_destroy(&at);
        if (rc)
            break;
        pool.started++;
    }
    return pool.started + 1 < want ? pool.started + 1 : want;
}

void mli_parallel_for(int32_t ntasks, ml_task_fn fn, void *arg)
{
    int threads = ml_blas_threads(), nworkers;
    if (ntasks <= 0)
        return;
    nworkers = threads < mli_parallel_workers() ? threads : pool.capacity;
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
    atomic_store(&pool.pending, pool.started);
    atomic_fetch_add(&pool.generation, 1);
    pthread_cond_broadcast(&pool.go);
    pthread_mutex_unlock(&pool.mu);

    run_share(0, nworkers, ntasks, fn, arg);

    for (int i = 0; i < SPIN_ROUNDS && atomic_load(&pool.pending) > 0; i++)
        cpu_relax(i);
    if (atomic_load(&pool.pending) > 0) {
        pthread_mutex_lock(&pool.mu);
        while (atomic_load(&pool.pending) > 0)
            pthread_cond_wait(&pool.done, &pool.mu);
        pthread_mutex_unlock(&pool.mu);
    }
}

int mli_parallel_in_region(void) { return in_region; }
