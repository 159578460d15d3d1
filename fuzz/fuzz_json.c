/* SPDX-License-Identifier: MIT */
/* Fuzz target: the strict JSON parser (core/formats/json_parse.c) that reads checkpoint headers,
 * layer lists and diagnostics. An accepted document is walked completely and re-checked
 * against the rules the header promises (counts, keys, no non-finite numbers). */
#include "fuzz.h"

#include <math.h>
#include <string.h>

#include "formats/json.h"

static void walk(const ml_json *v, int in_object, size_t depth)
{
    if (depth > 600)
        fz_fail("json", "nesting deeper than the default limit was accepted");
    if (in_object && !v->key)
        fz_fail("json", "an object member has no key");
    switch (v->type) {
    case ML_JSON_NUMBER:
        if (!isfinite(v->num))
            fz_fail("json", "a non-finite number was accepted");
        break;
    case ML_JSON_STRING:
        if (!v->str || v->str[v->len] != '\0')
            fz_fail("json", "a string is not NUL-terminated at its length");
        break;
    case ML_JSON_ARRAY:
    case ML_JSON_OBJECT: {
        size_t n = 0;
        for (const ml_json *c = v->first; c; c = c->next, n++)
            walk(c, v->type == ML_JSON_OBJECT, depth + 1);
        if (n != v->count)
            fz_fail("json", "a container's count disagrees with its children");
        if (n && !mli_json_at(v, n - 1))
            fz_fail("json", "mli_json_at misses the last child");
        break;
    }
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t live = fz_live();
    ml_err err;
    size_t where = (size_t)-1;
    memset(&err, 0, sizeof err);
    ml_json_doc *doc = mli_json_parse((const char *)data, size, NULL, &where, &err);
    if (!doc) {
        if (!err.msg[0] || where > size)
            fz_fail("json", "rejected without a message or with an offset past the input");
        fz_note("json", 0, &err);
    } else {
        fz_note("json", 1, NULL);
        walk(mli_json_root(doc), 0, 0);
        mli_json_free(doc);
    }
    fz_leak_check("json", live);
    return 0;
}
