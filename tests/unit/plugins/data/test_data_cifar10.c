/* SPDX-License-Identifier: MIT */
/* The cifar10 dataset reader on generated batch files: values, several files, bad sizes. */
#define _GNU_SOURCE
#include <modlab/modlab.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "gz_write.h"
#include "reader_test.h"

enum { REC = 3073 };

static char dir[512];
static ml_registry *reg;
static ml_err err;

/* Pixel j of record r holds (r * 31 + j * 7) % 256; the label is labels[r]. */
static uint8_t pixel(int r, int j)
{
    return (uint8_t)((r * 31 + j * 7) % 256);
}

/* `n` records starting at global record `first`, plus `extra` junk bytes; gzip when the
 * name ends in ".gz"; a negative `extra` cuts bytes off. Returns the path (gz_write's). */
static const char *write_batch(const char *name, int first, int n, const uint8_t *labels,
                               int extra)
{
    size_t full = (size_t)n * REC, len = (size_t)((long)full + extra);
    uint8_t *b = calloc(1, full + (extra > 0 ? (size_t)extra : 0) + 1);
    for (int r = 0; r < n; r++) {
        b[(size_t)r * REC] = labels[first + r];
        for (int j = 0; j < 3072; j++)
            b[(size_t)r * REC + 1 + j] = pixel(first + r, j);
    }
    const char *p = gz_write(dir, name, b, len);
    free(b);
    return p;
}

static ml_dataset *open_cifar(const char *files, const char *extra)
{
    ml_opts *o = ml_opts_new(&err);
    if (!o)
        return NULL;
    if ((files[0] && ml_opts_set(o, "files", ML_OPT_STRING, files, &err) != 0) ||
        (extra && ml_opts_parse(o, extra, &err) != 0)) {
        ml_opts_free(o);
        return NULL;
    }
    memset(&err, 0, sizeof err);
    return ml_dataset_open(reg, "cifar10", o, &err);
}

static void fails(const char *files, int code, const char *want, const char *name)
{
    int64_t live = ml_mem_live_bytes();
    reader_refused(open_cifar(files, NULL), &err, code, want, name);
    is_int(ml_mem_live_bytes(), live, "  nothing leaked");
}

static const uint8_t labels[8] = {6, 9, 9, 4, 1, 0, 2, 7};

static void test_valid(void)
{
    char files[1400];
    const char *a = write_batch("data_batch_1.bin", 0, 3, labels, 0);
    const char *b = write_batch("data_batch_2.bin.gz", 3, 2, labels, 0);
    snprintf(files, sizeof files, "%s:%s:", a, b);   /* a trailing ':' is harmless */

    ml_dataset *d = open_cifar(files, NULL);
    if (!ok(d != NULL, "a raw and a gzip batch open together")) {
        tap_diag("  %s", err.msg);
        return;
    }
    const ml_data_info *in = ml_dataset_info(d);
    is_int(in->size, 5, "  5 records");
    ok(in->x_shape.ndim == 3 && in->x_shape.dim[0] == 3 && in->x_shape.dim[1] == 32 &&
           in->x_shape.dim[2] == 32, "  x_shape {3,32,32}");
    is_int(in->y_shape.ndim, 0, "  y is a class index");
    is_int(in->classes, 10, "  classes");

    const int64_t idx[3] = {4, 0, 3};
    static float x[3 * 3072];
    float y[3];
    ok(ml_dataset_read(d, idx, 3, x, y, &err) == 0, "  read across both files");
    int bad = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3072; j++)
            bad += x[i * 3072 + j] != (float)pixel((int)idx[i], j) / 255.0f;
    is_int(bad, 0, "  pixels scaled, channel planes in file order");
    ok(y[0] == 1 && y[1] == 6 && y[2] == 4, "  labels %g %g %g", y[0], y[1], y[2]);
    const int64_t out = 5;
    ok(ml_dataset_read(d, &out, 1, x, y, &err) != 0, "  index 5 of 5 is refused");
    ml_dataset_close(d);

    /* The manifest's names: batches (a synonym of files) and classes (batches.meta.txt). */
    char meta[700], opts[1600];
    snprintf(meta, sizeof meta, "%s/batches.meta.txt", dir);
    FILE *f = fopen(meta, "w");
    fputs("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n", f);
    fclose(f);
    snprintf(opts, sizeof opts, "batches=%s classes=%s", b, meta);
    d = open_cifar("", opts);
    ok(d && ml_dataset_info(d)->size == 2, "batches= and classes=batches.meta.txt open");
    if (d)
        ml_dataset_close(d);

    d = open_cifar(a, "scale=false");
    ok(d && ml_dataset_read(d, idx + 1, 1, x, y, &err) == 0 && x[5] == pixel(0, 5) &&
           x[3071] == pixel(0, 3071), "scale=false keeps 0..255");
    if (d)
        ml_dataset_close(d);
}

static void test_bad(void)
{
    fails(write_batch("short.bin", 0, 2, labels, -4), ML_ERR_FORMAT,
          "cifar10: short.bin: 6142 bytes is not a whole number of 3073-byte records; the file "
          "is truncated or not CIFAR-10 binary", "truncated batch");
    fails(write_batch("short.bin.gz", 0, 2, labels, 100), ML_ERR_FORMAT,
          "short.bin.gz: 6246 bytes (uncompressed) is not a whole number of 3073-byte records",
          "gzip batch of the wrong size");
    fails(write_batch("c100.bin", 0, 2, labels, 2), ML_ERR_FORMAT,
          "fits CIFAR-100's 3074-byte records", "CIFAR-100 sized file gets a hint");
    static const uint8_t bad_labels[3] = {1, 10, 2};
    fails(write_batch("label.bin", 0, 3, bad_labels, 0), ML_ERR_FORMAT,
          "label.bin: record 1 has label 10, not 0..9", "label out of range");
    fails(write_batch("empty.bin", 0, 0, labels, 0), ML_ERR_FORMAT, "empty.bin: the file is "
          "empty", "empty file");
    fails("::", ML_ERR_INVALID, "option files names no file", "no files");
    fails("", ML_ERR_INVALID, "no batch files: set batches", "neither batches nor files");
    char opts[1600], meta[700];
    const char *one = write_batch("one.bin", 0, 1, labels, 0);
    snprintf(opts, sizeof opts, "batches=%s", write_batch("two.bin", 0, 2, labels, 0));
    int64_t live = ml_mem_live_bytes();
    ml_dataset *d = open_cifar(one, opts);
    ok(!d && err.code == ML_ERR_INVALID, "batches and files both set, differently: refused");
    like(err.msg, "files is a synonym of batches", "  message");
    snprintf(meta, sizeof meta, "%s/bad.meta.txt", dir);
    FILE *f = fopen(meta, "w");
    fputs("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\n", f);
    fclose(f);
    snprintf(opts, sizeof opts, "classes=%s", meta);
    d = open_cifar(one, opts);
    ok(!d && err.code == ML_ERR_FORMAT, "a meta file with 9 class names is refused");
    like(err.msg, "bad.meta.txt: 9 class names, want 10", "  message");
    tap_diag("  %s", err.msg);
    is_int(ml_mem_live_bytes(), live, "  nothing leaked");
    char files[1400];
    snprintf(files, sizeof files, "%s:%s/data_batch_9.bin",
             write_batch("ok.bin", 0, 1, labels, 0), dir);
    fails(files, ML_ERR_NOT_FOUND, "data_batch_9.bin: No such file", "second file missing");
}

static int open_close(void *files)
{
    ml_dataset *d = open_cifar(files, NULL);
    ml_dataset_close(d);
    return d ? 0 : tap_oom_code(err.code);
}

/* Every allocation failure during open is reported and leaks nothing. */
static void test_oom(void)
{
    char files[1400];
    snprintf(files, sizeof files, "%s:%s", write_batch("o1.bin", 0, 2, labels, 0),
             write_batch("o2.bin.gz", 2, 2, labels, 0));
    tap_oom r = tap_fail_each_alloc(open_close, files, 200);
    reader_oom_checks("", r);
}

int main(void)
{
    static void (*const tests[])(void) = {test_valid, test_bad, test_oom, NULL};
    return reader_main("cifar10", dir, sizeof dir, &reg, tests);
}
