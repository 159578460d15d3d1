/* SPDX-License-Identifier: MIT */
/* Fuzz target: option text "k=v k2=v2" (core/runtime/opts.c: ml_opts_parse, the form plugin options
 * take in recipes and tests), validated against a schema with every option type, then
 * written as JSON (ml_opts_json, which lands in config.json): that JSON must parse. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "formats/json.h"
#include "base/mem.h"

static const ml_opt_spec schema[] = {
    {"n", ML_OPT_INT, "3", "an integer", NULL},
    {"lr", ML_OPT_FLOAT, "0.1", "a number", NULL},
    {"bias", ML_OPT_BOOL, "true", "a boolean", NULL},
    {"name", ML_OPT_STRING, "", "free text", NULL},
    {"act", ML_OPT_STRING, "relu", "a choice", "relu|tanh|gelu"},
    {NULL, 0, NULL, NULL, NULL}};

static void check_json(ml_opts *o, const char *when)
{
    ml_err err;
    const char *j = ml_opts_json(o);
    ml_json_doc *doc = mli_json_parse(j, strlen(j), NULL, NULL, &err);
    if (!doc)
        fz_fail("opts", when);
    mli_json_free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t live = fz_live();
    ml_err err;
    char *text = malloc(size + 1);   /* ml_opts_parse takes a C string */
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    memset(&err, 0, sizeof err);
    ml_opts *o = ml_opts_new(&err);
    if (o && ml_opts_parse(o, text, &err) == 0) {
        check_json(o, "ml_opts_json of parsed options is not valid JSON");
        int rc = ml_opts_validate(o, schema, "fuzz", &err);
        if (rc == 0)
            check_json(o, "ml_opts_json of validated options is not valid JSON");
        else if (!err.msg[0])
            fz_fail("opts", "validation failed without a message");
        fz_note("opts", rc == 0, &err);
    } else if (o && !err.msg[0]) {
        fz_fail("opts", "parsing failed without a message");
    } else if (o) {
        fz_note("opts", 0, &err);
    }
    ml_opts_free(o);
    free(text);
    fz_leak_check("opts", live);
    return 0;
}
