/* SPDX-License-Identifier: MIT */
/* The allocation-failure sweep many C tests run: make allocation 1 fail, then 2, ... (core's
 * ml_mem_fail_at) until the operation succeeds, and count what each failure did. The tests
 * keep their own checks on the counts (how many failures they expect, what leaks mean for
 * them); only the loop lives here, once. Header-only like tap.h. */
#ifndef MODLAB_TESTS_TAP_OOM_H
#define MODLAB_TESTS_TAP_OOM_H

#include <modlab/modlab.h>
#include <stdint.h>

typedef struct tap_oom {
    int worked;   /* the operation succeeded once allocations stopped failing */
    int runs;     /* the allocation number that let it succeed (or `max` when none did) */
    int failures; /* runs that failed */
    int nomem;    /* ... of them reported ML_ERR_NOMEM */
    int leaks;    /* ... of them left more bytes allocated than before the sweep */
} tap_oom;

/* `attempt(arg)` does the operation once and undoes it (frees what it made): it returns 0
 * when it worked, else the nonzero ml_err code it got. Runs 1 .. max-1 at the most. */
static inline tap_oom tap_fail_each_alloc(int (*attempt)(void *arg), void *arg, int max)
{
    tap_oom r = {0};
    int64_t live = ml_mem_live_bytes();
    for (r.runs = 1; r.runs < max; r.runs++) {
        ml_mem_fail_at(r.runs);
        int rc = attempt(arg);
        ml_mem_fail_at(0);
        if (rc == 0) {
            r.worked = 1;
            break;
        }
        r.failures++;
        r.nomem += rc == ML_ERR_NOMEM;
        r.leaks += ml_mem_live_bytes() != live;
    }
    return r;
}

/* An error code for an attempt that failed: `code`, or -1 when the failure set none (so it
 * still counts as a failure, and not as ML_ERR_NOMEM). */
static inline int tap_oom_code(int code)
{
    return code ? code : -1;
}

#endif
