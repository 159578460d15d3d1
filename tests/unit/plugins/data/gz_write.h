/* SPDX-License-Identifier: MIT */
/* Input files for the reader tests that read compressed data (test_data_idx.c,
 * test_data_cifar10.c; they link zlib): bytes written raw, or gzip-compressed when the name
 * ends in ".gz", as the readers tell them apart. */
#ifndef MODLAB_TESTS_GZ_WRITE_H
#define MODLAB_TESTS_GZ_WRITE_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

/* Writes n bytes of b to dir/name; returns the path, from a ring of 64 static buffers so a
 * test may hold several at once. */
static inline const char *gz_write(const char *dir, const char *name, const uint8_t *b,
                                   size_t n)
{
    static char path[64][600];
    static int next;
    char *p = path[next++ % 64];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    size_t len = strlen(p);
    if (len > 3 && strcmp(p + len - 3, ".gz") == 0) {
        gzFile gz = gzopen(p, "wb");
        if (n)
            gzwrite(gz, b, (unsigned)n);
        gzclose(gz);
    } else {
        FILE *f = fopen(p, "wb");
        if (f) {
            fwrite(b, 1, n, f);
            fclose(f);
        }
    }
    return p;
}

#endif
