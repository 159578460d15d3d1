/* SPDX-License-Identifier: MIT */
/* The allocator's site table (test mode): which call sites allocated, and where an injected
 * failure landed. A fixed table, so recording never allocates what it is recording. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include <modlab/plugin.h>

/* modlab has a few hundred allocation sites; twice that in slots keeps probes short. */
enum { SLOTS = 4096, MAX_SITES = SLOTS / 2 };

typedef struct site_rec {
    const void *pc;
    int64_t calls, injected;
} site_rec;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int32_t slot_of[SLOTS];       /* index into recs + 1; 0 = empty */
static site_rec recs[MAX_SITES];     /* in the order first reached */
static int32_t nrecs, ninjected;

void mli_mem_sites_clear(void)
{
    pthread_mutex_lock(&lock);
    memset(slot_of, 0, sizeof slot_of);
    nrecs = ninjected = 0;
    pthread_mutex_unlock(&lock);
}

void mli_mem_site_note(const void *site, int injected)
{
    uint64_t h = (uint64_t)(uintptr_t)site * 0x9e3779b97f4a7c15u;
    uint32_t i = (uint32_t)(h >> 52) & (SLOTS - 1);
    pthread_mutex_lock(&lock);
    while (slot_of[i] && recs[slot_of[i] - 1].pc != site)
        i = (i + 1) & (SLOTS - 1);
    if (!slot_of[i]) {
        if (nrecs == MAX_SITES) {   /* full: count nothing more rather than lie */
            pthread_mutex_unlock(&lock);
            return;
        }
        recs[nrecs] = (site_rec){site, 0, 0};
        slot_of[i] = ++nrecs;
    }
    site_rec *r = &recs[slot_of[i] - 1];
    r->calls++;
    if (injected && r->injected++ == 0)
        ninjected++;
    pthread_mutex_unlock(&lock);
}

int32_t mli_mem_sites_count(void)
{
    pthread_mutex_lock(&lock);
    int32_t n = nrecs;
    pthread_mutex_unlock(&lock);
    return n;
}

int32_t mli_mem_sites_injected(void)
{
    pthread_mutex_lock(&lock);
    int32_t n = ninjected;
    pthread_mutex_unlock(&lock);
    return n;
}

int mli_mem_site_get(int32_t i, const void **site, int64_t *calls, int64_t *injected)
{
    int rc = ML_ERR_INVALID;
    pthread_mutex_lock(&lock);
    if (i >= 0 && i < nrecs) {
        *site = recs[i].pc;
        *calls = recs[i].calls;
        *injected = recs[i].injected;
        rc = 0;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void mli_mem_site_name(const void *site, char *buf, size_t n)
{
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    /* The return address is just past the call: step back one byte so the site names the
     * caller's line even when the call is a function's last instruction. */
    const char *pc = (const char *)site - 1;
    if (!dladdr1(pc, &info, (void **)&sym, RTLD_DL_SYMENT) || !info.dli_fname) {
        snprintf(buf, n, "%p", site);
        return;
    }
    const char *file = strrchr(info.dli_fname, '/');
    file = file ? file + 1 : info.dli_fname;
    /* dladdr names the nearest exported symbol below the address; it covers the address
     * only if the symbol's size reaches it (plugins and static functions are hidden). */
    if (info.dli_sname && sym && pc < (const char *)info.dli_saddr + sym->st_size)
        snprintf(buf, n, "%s %s+%#zx", file, info.dli_sname,
                 (size_t)(pc - (const char *)info.dli_saddr));
    else
        snprintf(buf, n, "%s+%#zx", file, (size_t)(pc - (const char *)info.dli_fbase));
}
