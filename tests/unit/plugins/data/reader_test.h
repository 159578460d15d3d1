/* SPDX-License-Identifier: MIT */
/* What the dataset reader tests (test_data_*.c) share: the registry with the reader under
 * test, and the checks on an open that every allocation failure must leave clean. */
#ifndef MODLAB_TESTS_READER_TEST_H
#define MODLAB_TESTS_READER_TEST_H

#include <modlab/modlab.h>
#include <stdio.h>

#include "tap.h"
#include "tap_oom.h"

/* The default plugins, which must include dataset `reader`; NULL (after "Bail out!") when
 * they do not load or lack it. */
static inline ml_registry *reader_registry(const char *reader, ml_err *err)
{
    ml_registry *reg = ml_registry_new(err);
    if (!reg || ml_registry_load_default(reg, NULL, err) != 0 ||
        ml_registry_find(reg, ML_KIND_DATASET, reader) < 0) {
        printf("Bail out! the %s reader is not registered: %s\n", reader, err->msg);
        ml_registry_free(reg);
        return NULL;
    }
    return reg;
}

/* An open swept by tap_fail_each_alloc: it works once allocations stop failing, and every
 * injected failure before that reported out of memory and leaked nothing. `what` prefixes
 * the descriptions ("" or "plain: "). */
static inline void reader_oom_checks(const char *what, tap_oom r)
{
    ok(r.worked && r.runs > 1, "%sopen succeeds once allocations stop failing (after %d)", what,
       r.runs - 1);
    is_int(r.nomem, r.runs - 1, "  every injected failure reports out of memory");
    is_int(r.leaks, 0, "  no injected failure leaks");
}

#endif
