/* SPDX-License-Identifier: MIT */
/* Scratch directories and small files for modlab's C tests, without a shell: the house rule
 * is that no text reaches a shell (core spawns argv arrays), and the tests set the example,
 * so cleanup is a directory walk here rather than system("rm -rf ..."). Header-only like
 * tap.h, so a test needs no extra source in its local.mk; it does not need tap.h itself, so
 * test support code that is no test (the fault server) may use it too. */
#ifndef MODLAB_TESTS_TAP_FS_H
#define MODLAB_TESTS_TAP_FS_H

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Removes `path` and everything below it; links are removed, never followed (lstat), so a
 * link a test planted cannot send the cleanup outside its directory. A missing `path` is
 * fine. 0 on success, -1 when something stayed behind. */
static inline int tap_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 ? 0 : -1;
    int rc = 0;
    DIR *d = opendir(path);
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        size_t need = strlen(path) + strlen(e->d_name) + 2;
        char *child = malloc(need);
        if (!child) {
            rc = -1;
            break;
        }
        snprintf(child, need, "%s/%s", path, e->d_name);
        rc |= tap_rmtree(child);
        free(child);
    }
    closedir(d);
    return rmdir(path) == 0 ? rc : -1;
}

/* Removes a test's scratch directory at the end, saying so (a TAP diagnostic) when it could
 * not. */
static inline void tap_cleanup_dir(const char *dir)
{
    if (tap_rmtree(dir) != 0)
        printf("# could not remove %s\n", dir);
}

/* Creates /tmp/modlab-test-<tag>-XXXXXX into `dir`; on failure prints "Bail out!" (the TAP
 * way to stop the whole test) and returns -1. */
static inline int tap_mkdtemp(char *dir, size_t cap, const char *tag)
{
    if (snprintf(dir, cap, "/tmp/modlab-test-%s-XXXXXX", tag) >= (int)cap || !mkdtemp(dir)) {
        printf("Bail out! cannot create a temporary directory\n");
        return -1;
    }
    return 0;
}

/* Whether the path printf would make from `fmt` exists. */
static inline int tap_exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int tap_exists(const char *fmt, ...)
{
    char p[1200];
    struct stat st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    return stat(p, &st) == 0;
}

/* Writes printf-formatted text to dir/name+suffix and returns that path, from a ring of 32
 * static buffers so a test may hold several at once. A test that cannot write its input fails
 * the check that reads it, so a write error needs no report of its own here. */
static inline const char *tap_write_in(const char *dir, const char *name, const char *suffix,
                                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline const char *tap_write_in(const char *dir, const char *name, const char *suffix,
                                       const char *fmt, ...)
{
    static char path[32][900];
    static int k;
    k = (k + 1) % 32;
    snprintf(path[k], sizeof path[k], "%s/%s%s", dir, name, suffix);
    FILE *f = fopen(path[k], "w");
    if (f) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        fclose(f);
    }
    return path[k];
}

/* Reads up to cap-1 bytes of `path` into buf as a string (empty when it cannot be read). */
static inline size_t tap_read_text(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    if (f) {
        n = fread(buf, 1, cap - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return n;
}

#endif
