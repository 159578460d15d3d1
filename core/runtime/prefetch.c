/* SPDX-License-Identifier: MIT */
/* Double buffering for ml_trainer_run: one thread reads (and transforms) the next batch
 * while the caller's thread runs the current step. Jobs are handed over one at a time
 * under a mutex; the worker blocks every signal, so SIGINT and SIGTERM reach the training
 * thread, which checks for them between batches as before. */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "runtime/prefetch.h"
#include "base/err.h"
#include "base/mem.h"

struct mli_prefetch {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int has_job, done, quit;
    mli_prefetch_job job;
    int rc;
    ml_err err;
};

static void *worker(void *arg)
{
    mli_prefetch *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->has_job && !p->quit)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->quit)
            break;
        mli_prefetch_job job = p->job;
        p->has_job = 0;
        pthread_mutex_unlock(&p->mu);
        ml_err err = {0};
        int rc = job.read(job.arg, job.idx, job.n, job.x, job.y, &err);
        pthread_mutex_lock(&p->mu);
        p->rc = rc;
        p->err = err;
        p->done = 1;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

mli_prefetch *mli_prefetch_new(ml_err *err)
{
    mli_prefetch *p = mli_znew(sizeof *p, "batch prefetcher", err);
    sigset_t all, old;
    int rc;
    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);   /* the worker inherits "all blocked" */
    rc = pthread_create(&p->thread, NULL, worker, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        mli_free(p);
        mli_error(err, ML_ERR_NOMEM, "trainer: cannot start the batch prefetch thread (%s)",
                  strerror(rc));
        return NULL;
    }
    return p;
}

void mli_prefetch_start(mli_prefetch *p, const mli_prefetch_job *job)
{
    pthread_mutex_lock(&p->mu);
    p->job = *job;
    p->has_job = 1;
    p->done = 0;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int mli_prefetch_wait(mli_prefetch *p, ml_err *err)
{
    pthread_mutex_lock(&p->mu);
    while (!p->done)
        pthread_cond_wait(&p->cv, &p->mu);
    int rc = p->rc;
    if (rc && err)
        *err = p->err;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void mli_prefetch_free(mli_prefetch *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    mli_free(p);
}
