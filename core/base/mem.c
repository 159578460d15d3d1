/* SPDX-License-Identifier: MIT */
/* Accounting allocator: every block carries a 64-byte header holding its size, so live and
 * peak bytes are exact; a test mode fails the n-th allocation (curl's torture idea) and
 * records the call sites that allocate (core/base/mem_sites.c). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/err.h"
#include "base/mem.h"
#include <modlab/modlab.h>

enum { HEADER = 64, HUGE_ADVISE_MIN = 2u << 20 };

/* The public entry points are never inlined, so each sees its own caller's address. */
#define ML_ENTRY __attribute__((noinline))
#define CALLER __builtin_return_address(0)

static _Atomic int64_t live_bytes, peak_bytes, live_blocks;
static _Atomic int64_t fail_countdown; /* 0 = off; 1 = fail the next allocation */
/* Test modes armed: COUNTDOWN | SITES. An allocation outside tests pays one relaxed load. */
enum { COUNTDOWN = 1, SITES = 2 };
static _Atomic int test_mode;
static const void *_Atomic failed_site;   /* where the last injected failure landed */

void ml_mem_fail_at(int64_t n)
{
    atomic_store(&fail_countdown, n > 0 ? n : 0);
    if (n > 0)
        atomic_fetch_or(&test_mode, COUNTDOWN);
    else
        atomic_fetch_and(&test_mode, ~COUNTDOWN);
}

void mli_mem_sites_record(int on)
{
    if (on) {
        mli_mem_sites_clear();
        atomic_fetch_or(&test_mode, SITES);
    } else {
        atomic_fetch_and(&test_mode, ~SITES);
    }
}

int64_t mli_mem_fail_pending(void) { return atomic_load(&fail_countdown); }
const void *mli_mem_failed_site(void) { return atomic_load(&failed_site); }
int64_t ml_mem_live_bytes(void) { return atomic_load(&live_bytes); }
int64_t ml_mem_peak_bytes(void) { return atomic_load(&peak_bytes); }
int64_t ml_mem_live_blocks(void) { return atomic_load(&live_blocks); }

static int injected_failure(const void *site)
{
    int mode = atomic_load_explicit(&test_mode, memory_order_relaxed), fail = 0;
    if (!mode)
        return 0;
    int64_t n = atomic_load(&fail_countdown);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1)) {
            fail = n == 1;
            if (fail)
                atomic_store(&failed_site, site);
            break;
        }
    }
    if (mode & SITES)
        mli_mem_site_note(site, fail);
    return fail;
}

static void account(int64_t delta, int64_t blocks)
{
    int64_t now = atomic_fetch_add(&live_bytes, delta) + delta;
    int64_t peak = atomic_load(&peak_bytes);
    atomic_fetch_add(&live_blocks, blocks);
    while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now))
        ;
}

static void *alloc_at(size_t bytes, const void *site)
{
    unsigned char *base;
    if (injected_failure(site) || bytes > SIZE_MAX - 2 * HEADER)
        return NULL;
    /* Round up so aligned_alloc's size is a multiple of the alignment. */
    size_t total = (HEADER + bytes + HEADER - 1) / HEADER * HEADER;
    base = aligned_alloc(HEADER, total);
    if (!base)
        return NULL;
    memcpy(base, &bytes, sizeof bytes);
    memset(base + sizeof bytes, 0, sizeof(size_t));   /* not mapped: free() it */
    account((int64_t)bytes, 1);
    return base + HEADER;
}

static void *zalloc_at(size_t bytes, const void *site)
{
    void *p = alloc_at(bytes, site);
    if (p)
        memset(p, 0, bytes);
    return p;
}

ML_ENTRY void *mli_alloc(size_t bytes) { return alloc_at(bytes, CALLER); }
ML_ENTRY void *mli_zalloc(size_t bytes) { return zalloc_at(bytes, CALLER); }
void *mli_alloc_from(size_t bytes, const void *site) { return alloc_at(bytes, site); }
void *mli_zalloc_from(size_t bytes, const void *site) { return zalloc_at(bytes, site); }

ML_ENTRY void *mli_znew(size_t bytes, const char *what, ml_err *err)
{
    void *p = zalloc_at(bytes, CALLER);
    if (!p)
        mli_error(err, ML_ERR_NOMEM, "%s: out of memory", what);
    return p;
}

void mli_free(void *ptr)
{
    size_t bytes, mapped;
    unsigned char *base;
    if (!ptr)
        return;
    base = (unsigned char *)ptr - HEADER;
    memcpy(&bytes, base, sizeof bytes);
    memcpy(&mapped, base + sizeof bytes, sizeof mapped);
    account(-(int64_t)bytes, -1);
    if (mapped)
        munmap(base, mapped);
    else
        free(base);
}

ML_ENTRY void *mli_realloc(void *ptr, size_t bytes)
{
    size_t old = 0;
    void *fresh;
    if (!ptr)
        return alloc_at(bytes, CALLER);
    memcpy(&old, (unsigned char *)ptr - HEADER, sizeof old);
    fresh = alloc_at(bytes, CALLER);
    if (!fresh)
        return NULL;
    memcpy(fresh, ptr, old < bytes ? old : bytes);
    mli_free(ptr);
    return fresh;
}

ML_ENTRY char *mli_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = alloc_at(n, CALLER);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Big blocks are their own anonymous mapping: zero pages that cost no memory until touched,
 * so activation rows beyond the batch a model really runs (buffers are sized for the
 * largest, often an evaluation batch of 1000) never count in the resident set, and no
 * memset has to touch them up front. The header records the mapping's length for mli_free. */
static void *alloc_mapped(size_t bytes, const void *site)
{
    size_t len = (HEADER + bytes + 4095) & ~(size_t)4095;
    unsigned char *base;
    if (injected_failure(site) || bytes > SIZE_MAX - 2 * 4096)
        return NULL;
    base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    memcpy(base, &bytes, sizeof bytes);
    memcpy(base + sizeof bytes, &len, sizeof len);
    account((int64_t)bytes, 1);
    return base + HEADER;
}

ML_ENTRY void *mli_alloc_big(size_t bytes)
{
    void *p = bytes >= HUGE_ADVISE_MIN ? alloc_mapped(bytes, CALLER) : zalloc_at(bytes, CALLER);
#ifdef MADV_HUGEPAGE
    /* Activations and parameters are touched every step: huge pages cut the page-fault and
     * TLB cost (PyTorch's CNN here runs 2.5x faster with them). Advice only; ignore errors. */
    if (p && bytes >= HUGE_ADVISE_MIN) {
        uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
        uintptr_t hi = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;
        if (hi > lo)
            madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
    }
#endif
    return p;
}
