/* SPDX-License-Identifier: MIT */
/* Fuzz target: the safetensors reader (core/safetensors.c) on bytes in memory. An accepted
 * file is walked completely (every tensor read, every metadata entry looked up), and what
 * the reader promises is checked: ranges inside the input, sizes matching shapes. */
#include "fuzz.h"

#include <string.h>

#include "mem.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t live = fz_live();
    ml_err err;
    memset(&err, 0, sizeof err);
    ml_st_file *f = ml_st_parse(data, size, "fuzz.safetensors", &err);
    if (!f) {
        if (!err.code || !err.msg[0])
            fz_fail("safetensors", "rejected without an error code and message");
        fz_note("safetensors", 0, &err);
        fz_leak_check("safetensors", live);
        return 0;
    }
    fz_note("safetensors", 1, NULL);
    if (size < 8)
        fz_fail("safetensors", "accepted an input shorter than its length prefix");
    for (int32_t i = 0; i < ml_st_count(f); i++) {
        const ml_st_tensor *t = ml_st_tensor_at(f, i);
        if (t->end < t->begin || t->end - t->begin != (uint64_t)t->numel * 4 ||
            t->end > size)
            fz_fail("safetensors", "a tensor's byte range disagrees with its shape");
        if (ml_st_find(f, t->name) < 0)
            fz_fail("safetensors", "ml_st_find does not find a listed tensor");
        float *dst = ml_alloc((size_t)t->numel * sizeof *dst + 1);
        if (dst)
            ml_st_read_f32(f, i, dst);
        ml_free(dst);
    }
    for (int32_t i = 0; i < ml_st_meta_count(f); i++)
        if (!ml_st_meta_get(f, ml_st_meta_key(f, i)) || !ml_st_meta_value(f, i))
            fz_fail("safetensors", "a listed metadata key cannot be looked up");
    ml_st_close(f);
    fz_leak_check("safetensors", live);
    return 0;
}
