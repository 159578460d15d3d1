/* SPDX-License-Identifier: MIT */
/* What the sweep planner tests (test_sweep.c, test_sweep_check.c) share: a sweep from text
 * and its plan as a JSON document. */
#ifndef MODLAB_TESTS_SWEEP_TEST_H
#define MODLAB_TESTS_SWEEP_TEST_H

#include <string.h>

#include "formats/json.h"
#include <modlab/modlab.h>
#include <modlab/sweep.h>
#include "tap.h"

/* The sweep in `text`, as if read from a file s.yaml. */
static inline ml_sweep *load(const char *text, ml_err *err)
{
    return ml_sweep_load_string(text, strlen(text), "s.yaml", err);
}

/* The plan ml_sweep_json gives, parsed; NULL (with a diagnostic) when it is no valid JSON. */
static inline ml_json_doc *plan_of(const ml_sweep *s)
{
    ml_err err = {0};
    const char *j = ml_sweep_json(s);
    ml_json_doc *d = mli_json_parse(j, strlen(j), NULL, NULL, &err);
    if (!d)
        tap_diag("plan JSON: %s", err.msg);
    return d;
}

#endif
