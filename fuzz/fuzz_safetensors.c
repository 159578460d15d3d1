/* SPDX-License-Identifier: MIT */
/* Fuzz target: the safetensors reader (core/formats/safetensors_read.c) on bytes in memory. An
 * accepted file is walked completely (every tensor read, every metadata entry looked up), and what
 * the reader promises is checked: ranges inside the input, sizes matching shapes, and every
 * tensor's dtype exactly "F32" (the header is parsed again here, as an oracle: a dtype with
 * an embedded NUL such as "F32\u0000x" once passed). */
#include "fuzz.h"

#include <string.h>

#include "formats/json.h"
#include "base/mem.h"
#include "formats/safetensors.h"

/* Every tensor of an accepted header (its JSON starts after the 8-byte length) has a dtype
 * of exactly the three bytes F32. */
static void check_dtypes(const uint8_t *data, size_t size)
{
    uint64_t hlen = 0;
    for (int k = 0; k < 8; k++)
        hlen |= (uint64_t)data[k] << (8 * k);
    ml_err err;
    ml_json_doc *doc = mli_json_parse((const char *)data + 8, (size_t)hlen, NULL, NULL, &err);
    if (!doc)
        fz_fail("safetensors", "accepted a header the JSON reader rejects");
    for (const ml_json *e = mli_json_root(doc)->first; e; e = e->next) {
        if (!strcmp(e->key, "__metadata__"))
            continue;
        for (const ml_json *f = e->first; f; f = f->next)
            if (!strcmp(f->key, "dtype") &&
                (f->type != ML_JSON_STRING || f->len != 3 || memcmp(f->str, "F32", 3)))
                fz_fail("safetensors", "accepted a tensor whose dtype is not exactly F32");
    }
    mli_json_free(doc);
    (void)size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t live = fz_live();
    ml_err err;
    memset(&err, 0, sizeof err);
    ml_st_file *f = mli_st_parse(data, size, "fuzz.safetensors", &err);
    if (!fz_verdict("safetensors", f != NULL, &err)) {
        fz_leak_check("safetensors", live);
        return 0;
    }
    if (size < 8)
        fz_fail("safetensors", "accepted an input shorter than its length prefix");
    for (int32_t i = 0; i < mli_st_count(f); i++) {
        const ml_st_tensor *t = mli_st_tensor_at(f, i);
        if (t->end < t->begin || t->end - t->begin != (uint64_t)t->numel * 4 ||
            t->end > size)
            fz_fail("safetensors", "a tensor's byte range disagrees with its shape");
        if (mli_st_find(f, t->name) < 0)
            fz_fail("safetensors", "mli_st_find does not find a listed tensor");
        float *dst = mli_alloc((size_t)t->numel * sizeof *dst + 1);
        if (dst)
            mli_st_read_f32(f, i, dst);
        mli_free(dst);
    }
    check_dtypes(data, size);
    for (int32_t i = 0; i < mli_st_meta_count(f); i++)
        if (!mli_st_meta_get(f, mli_st_meta_key(f, i)) || !mli_st_meta_value(f, i))
            fz_fail("safetensors", "a listed metadata key cannot be looked up");
    mli_st_close(f);
    fz_leak_check("safetensors", live);
    return 0;
}
