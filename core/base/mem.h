/* SPDX-License-Identifier: MIT */
/* The accounting allocator: 64-byte aligned blocks, live/peak counters, and a test mode that
 * fails the n-th allocation (curl's torture idea). Everything in core and plugins uses it. */
#ifndef MODLAB_CORE_MEM_H
#define MODLAB_CORE_MEM_H

#include <stddef.h>
#include <stdint.h>

void *mli_alloc(size_t bytes);        /* NULL on failure */
void *mli_zalloc(size_t bytes);       /* zeroed */
void *mli_realloc(void *ptr, size_t bytes);
void mli_free(void *ptr);             /* NULL is a no-op */
char *mli_strdup(const char *s);
/* mli_zalloc for constructors: on failure NULL, with "<what>: out of memory" in err. */
struct ml_err;
void *mli_znew(size_t bytes, const char *what, struct ml_err *err);
/* Large buffers (activations, parameters): aligned, zeroed, huge pages advised; blocks of
 * 2 MB and more are untouched pages until written. Free with mli_free. */
void *mli_alloc_big(size_t bytes);
/* mli_alloc / mli_zalloc for wrappers (the host table): `site` is their caller's address,
 * so site records name the plugin's call, not the wrapper. */
void *mli_alloc_from(size_t bytes, const void *site);
void *mli_zalloc_from(size_t bytes, const void *site);

/* ---- test mode: allocation sites (curl's torture tests report the same) ----------------
 * While recording, every allocation notes its call site (the return address into the code
 * that called mli_alloc & co.) and whether ml_mem_fail_at's failure hit it there. Recording
 * costs a lock per allocation; off (the default) it costs nothing beyond the test-mode
 * flag. */
/* Allocations still to go before ml_mem_fail_at's failure: 0 once it was injected (or
 * when none is armed); and the site where the last injected failure landed. */
int64_t mli_mem_fail_pending(void);
const void *mli_mem_failed_site(void);
void mli_mem_sites_record(int on);    /* on: clear the table, then record; 0: stop */
void mli_mem_sites_clear(void);
void mli_mem_site_note(const void *site, int injected);   /* mem.c calls it */
int32_t mli_mem_sites_count(void);    /* distinct sites reached */
int32_t mli_mem_sites_injected(void); /* of those, sites where a failure was injected */
/* Site i (0 <= i < count, in the order first reached): its address, allocations and
 * injected failures there. Returns 0, or ML_ERR_INVALID for i out of range. */
int mli_mem_site_get(int32_t i, const void **site, int64_t *calls, int64_t *injected);
/* "libmodlab.so.0 ml_tensor_new+0x2a" when a dynamic symbol covers the address, else
 * "nn.so+0x1a2b" (the object and offset `addr2line -f -e OBJECT OFFSET` resolves). */
void mli_mem_site_name(const void *site, char *buf, size_t n);

#endif
