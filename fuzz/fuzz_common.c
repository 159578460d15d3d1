/* SPDX-License-Identifier: MIT */
/* Helpers shared by the fuzz targets: memfd files and the leak check. */
#define _GNU_SOURCE
#include "fuzz.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int fz_file(const uint8_t *data, size_t size, char *path, size_t cap)
{
    int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
    if (fd < 0) {
        perror("fuzz: memfd_create (raise the descriptor limit or check /proc)");
        abort();
    }
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w <= 0) {
            perror("fuzz: writing the input to a memfd");
            abort();
        }
        done += (size_t)w;
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

void fz_file_close(int fd)
{
    close(fd);
}

int64_t fz_live(void)
{
    return ml_mem_live_bytes();
}

void fz_leak_check(const char *target, int64_t live_before)
{
    int64_t now = ml_mem_live_bytes();
    if (now != live_before) {
        fprintf(stderr, "fuzz %s: LEAK: %lld bytes still allocated through mli_alloc after "
                "the input (before %lld, after %lld); find the error path that skips its "
                "free\n", target, (long long)(now - live_before), (long long)live_before,
                (long long)now);
        abort();
    }
}

void fz_note(const char *target, int accepted, const ml_err *err)
{
    static int verbose = -1;
    if (verbose < 0) {
        const char *v = getenv("FUZZ_VERBOSE");
        verbose = v && *v && strcmp(v, "0") != 0;
    }
    if (verbose)
        fprintf(stderr, "fuzz %s: %s%s%s\n", target, accepted ? "accepted" : "rejected",
                !accepted && err ? ": " : "", !accepted && err ? err->msg : "");
}

int fz_verdict(const char *target, int accepted, const ml_err *err)
{
    if (!accepted && (!err || !err->code || !err->msg[0]))
        fz_fail(target, "rejected without an error code and message");
    fz_note(target, accepted, err);
    return accepted;
}

void fz_fail(const char *target, const char *why)
{
    fprintf(stderr, "fuzz %s: WRONG ACCEPT: %s\n", target, why);
    abort();
}

void fz_pair_open(const uint8_t *data, size_t size, int same, fz_memfile *a, fz_memfile *b)
{
    const size_t k = sizeof FZ_SPLIT - 1;
    const uint8_t *p = size >= k ? memmem(data, size, FZ_SPLIT, k) : NULL;
    size_t na = p ? (size_t)(p - data) : size;
    a->fd = fz_file(data, na, a->path, sizeof a->path);
    b->fd = -1;
    b->path[0] = '\0';
    if (p)
        b->fd = fz_file(p + k, size - na - k, b->path, sizeof b->path);
    else if (same)
        b->fd = fz_file(data, size, b->path, sizeof b->path);
}

void fz_pair_close(fz_memfile *a, fz_memfile *b)
{
    fz_file_close(a->fd);
    if (b->fd >= 0)
        fz_file_close(b->fd);
}
