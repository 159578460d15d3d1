/* SPDX-License-Identifier: MIT */
/* What the dataset reader tests (test_data_*.c) share: the registry with the reader under
 * test, and the checks on an open that every allocation failure must leave clean. */
#ifndef MODLAB_TESTS_READER_TEST_H
#define MODLAB_TESTS_READER_TEST_H

#include <modlab/modlab.h>
#include <stdio.h>

#include "tap.h"
#include "tap_fs.h"
#include "tap_model.h"
#include "tap_oom.h"

/* The default plugins, which must include dataset `reader`; NULL (after "Bail out!") when
 * they do not load or lack it. */
static inline ml_registry *reader_registry(const char *reader)
{
    ml_registry *reg = tap_registry(NULL, NULL);
    if (reg && ml_registry_find(reg, ML_KIND_DATASET, reader) < 0) {
        printf("Bail out! the %s reader is not registered\n", reader);
        ml_registry_free(reg);
        return NULL;
    }
    return reg;
}

/* The checks on an open that must fail: no dataset (closed if there is one), error `code`
 * and a message holding `want` in *err. */
static inline void reader_refused(ml_dataset *d, const ml_err *err, int code, const char *want,
                                  const char *name)
{
    ok(d == NULL, "%s: open fails", name);
    ml_dataset_close(d);
    is_int(err->code, code, "  error code");
    like(err->msg, want, "  message");
    tap_diag("  %s", err->msg);
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

/* A reader test's whole main(): a scratch directory into `dir` (/tmp/modlab-test-data-
 * <reader>-*), the registry into *reg (the tests' own globals), then each of the
 * NULL-terminated `tests`, then cleanup. */
static inline int reader_main(const char *reader, char *dir, size_t cap, ml_registry **reg,
                              void (*const *tests)(void))
{
    char tag[64];
    snprintf(tag, sizeof tag, "data-%s", reader);
    if (tap_mkdtemp(dir, cap, tag) != 0 || !(*reg = reader_registry(reader)))
        return 1;
    for (int i = 0; tests[i]; i++)
        tests[i]();
    ml_registry_free(*reg);
    tap_cleanup_dir(dir);
    return done_testing();
}

#endif
