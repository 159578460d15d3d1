/* SPDX-License-Identifier: MIT */
/* Inside the safetensors code: its data section is little-endian whatever the host is. The
 * reader (safetensors_read.c) and the writer (safetensors_write.c) both convert floats with
 * this one copy, a plain memcpy on little-endian hosts. */
#ifndef MODLAB_CORE_SAFETENSORS_LE_H
#define MODLAB_CORE_SAFETENSORS_LE_H

#include <stddef.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ML_BIG_ENDIAN 1
#else
#define ML_BIG_ENDIAN 0
#endif

/* Copy n floats between host order and little-endian (either direction). */
static inline void copy_f32_le(void *dst, const void *src, size_t n)
{
    if (!n)
        return;   /* empty tensors may have NULL data */
    memcpy(dst, src, n * sizeof(float));
#if ML_BIG_ENDIAN
    unsigned char *d = dst;
    for (size_t i = 0; i < n; i++, d += 4) {
        unsigned char t = d[0];
        d[0] = d[3];
        d[3] = t;
        t = d[1];
        d[1] = d[2];
        d[2] = t;
    }
#endif
}

#endif
