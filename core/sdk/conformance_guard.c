/* SPDX-License-Identifier: MIT */
/* Guarded buffers for everything a plugin writes into, and telling unwritten outputs from
 * computed non-finite ones. */
#include "sdk/conformance_impl.h"

/* ---- guarded buffers ----------------------------------------------------------------
 * Every buffer a plugin writes into gets GUARD canary bytes on each side, checked after each
 * call. Why canaries rather than mprotect'd guard pages: a page can sit flush against only
 * one end of a buffer whose size is not a page multiple (so a write one float before the
 * start, or past the end, would slip through on the other side), it costs two extra pages
 * and a syscall per buffer, and a fault is reported as a crash rather than as "forward
 * wrote past the end of its output buffer". Canaries catch both sides to the byte in normal
 * builds; ASan builds also poison the zones, which catches reads and faults at the write. */

int mli_gbuf_new(gbuf *g, size_t bytes)
{
    size_t total = (2 * GUARD + bytes + 63) / 64 * 64;
    g->bytes = bytes;
    g->base = aligned_alloc(64, total);
    if (!g->base)
        return ML_ERR_NOMEM;
    memset(g->base, CANARY, total);
    g->data = (float *)(g->base + GUARD);
    POISON(g->base, GUARD);
    /* From the exact end: ASan marks a granule's first bytes addressable, the rest not. */
    POISON(g->base + GUARD + bytes, total - GUARD - bytes);
    return ML_OK;
}

int mli_gbuf_damage(gbuf *g)
{
    size_t total = (2 * GUARD + g->bytes + 63) / 64 * 64;
    int before = 0, after = 0;
    if (!g->base)
        return 0;
    UNPOISON(g->base, total);
    for (size_t i = 0; i < GUARD; i++)
        before |= g->base[i] != CANARY;
    for (size_t i = GUARD + g->bytes; i < total; i++)
        after |= g->base[i] != CANARY;
    POISON(g->base, GUARD);
    POISON(g->base + GUARD + g->bytes, total - GUARD - g->bytes);
    return (before ? GB_BEFORE : 0) | (after ? GB_AFTER : 0);
}

/* 1 if both guard zones are untouched. */
int mli_gbuf_intact(gbuf *g)
{
    return mli_gbuf_damage(g) == 0;
}

/* "past the end of", "before the start of" or "on both sides of". */
const char *mli_gbuf_damage_where(int d)
{
    return d == GB_AFTER ? "past the end of" : d == GB_BEFORE ? "before the start of"
                                                              : "on both sides of";
}

void mli_gbuf_free(gbuf *g)
{
    if (g->base) {
        UNPOISON(g->base, (2 * GUARD + g->bytes + 63) / 64 * 64);
        free(g->base);
    }
    memset(g, 0, sizeof *g);
}

void mli_conf_fill_nan(float *p, int64_t n)
{
    float v;
    memcpy(&v, &UNWRITTEN, sizeof v);
    for (int64_t i = 0; i < n; i++)
        p[i] = v;
}

int64_t mli_conf_first_nonfinite(const float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(p[i]))
            return i;
    return -1;
}

/* "left element 4 of 30 unwritten" or "wrote NaN into element 4 of 30". */
void mli_conf_describe_nonfinite(const float *p, int64_t i, int64_t n, char *buf, size_t cap)
{
    uint32_t bits;
    memcpy(&bits, &p[i], sizeof bits);
    if (bits == UNWRITTEN)
        snprintf(buf, cap, "left element %lld of %lld unwritten", (long long)i, (long long)n);
    else
        snprintf(buf, cap, "wrote %s into element %lld of %lld", isnan(p[i]) ? "NaN"
                 : p[i] > 0 ? "+Inf" : "-Inf", (long long)i, (long long)n);
}
