/* SPDX-License-Identifier: MIT */
/* Fuzz target: sweep files (core/sweep.c over core/yaml_tree.c), from memory. An accepted
 * sweep must give a plan that is valid JSON (the Lua side decodes it) and trial ids for
 * every trial. */
#include "fuzz.h"

#include <string.h>

#include <modlab/sweep.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t live = fz_live();
    ml_err err;
    memset(&err, 0, sizeof err);
    ml_sweep *s = ml_sweep_load_string((const char *)data, size, "fuzz.yaml", &err);
    if (!s) {
        if (!err.code || !err.msg[0])
            fz_fail("sweep", "rejected without an error code and message");
        fz_note("sweep", 0, &err);
        fz_leak_check("sweep", live);
        return 0;
    }
    fz_note("sweep", 1, NULL);
    const char *plan = ml_sweep_json(s);
    if (!plan)
        fz_fail("sweep", "accepted a sweep without a plan");
    ml_json_doc *doc = ml_json_parse(plan, strlen(plan), NULL, NULL, &err);
    if (!doc)
        fz_fail("sweep", "the plan of an accepted sweep is not valid JSON");
    ml_json_free(doc);
    for (int32_t i = 0; i < ml_sweep_ntrials(s); i++) {
        const char *id = ml_sweep_trial_id(s, i);
        if (!id || strlen(id) != 12)
            fz_fail("sweep", "a trial has no 12-digit id");
    }
    ml_sweep_free(s);
    fz_leak_check("sweep", live);
    return 0;
}
