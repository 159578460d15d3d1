/* SPDX-License-Identifier: MIT */
/* The idx dataset reader on IDX files generated here: values, gzip and raw, bad headers. */
#define _GNU_SOURCE
#include <modlab/modlab.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "gz_write.h"
#include "reader_test.h"

static char dir[512];
static ml_registry *reg;

/* ---- fixtures ------------------------------------------------------------------------ */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Write bytes as a raw file, or gzip-compressed when the name ends in ".gz". */
static const char *write_file(const char *name, const uint8_t *b, size_t n)
{
    return gz_write(dir, name, b, n);
}

/* An IDX file: magic, sizes, then `payload` bytes of data (which may disagree with the
 * header, for the bad-input tests). Pixel k of the data is (k * 7 + 3) % 256. */
static const char *write_idx(const char *name, uint32_t magic, const uint32_t *dims, int nd,
                             size_t payload, const uint8_t *data)
{
    size_t n = 4 + 4 * (size_t)nd + payload;
    uint8_t *b = calloc(1, n);
    put32(b, magic);
    for (int i = 0; i < nd; i++)
        put32(b + 4 + 4 * i, dims[i]);
    for (size_t k = 0; k < payload; k++)
        b[4 + 4 * nd + k] = data ? data[k] : (uint8_t)((k * 7 + 3) % 256);
    const char *p = write_file(name, b, n);
    free(b);
    return p;
}

static const uint8_t labels5[5] = {3, 0, 9, 1, 3};

static const char *images(const char *name, uint32_t count)
{
    uint32_t d[3] = {count, 4, 3};
    return write_idx(name, 0x803, d, 3, (size_t)count * 12, NULL);
}

static const char *labels(const char *name, uint32_t count, const uint8_t *v)
{
    uint32_t d[1] = {count};
    return write_idx(name, 0x801, d, 1, count, v);
}

/* ---- opening through the public API -------------------------------------------------- */

static ml_err err;

static ml_dataset *open_idx(const char *im, const char *lb, const char *extra)
{
    ml_opts *o = ml_opts_new(&err);
    if (!o)
        return NULL;
    if (ml_opts_set(o, "images", ML_OPT_STRING, im, &err) != 0 ||
        ml_opts_set(o, "labels", ML_OPT_STRING, lb, &err) != 0 ||
        (extra && ml_opts_parse(o, extra, &err) != 0)) {
        ml_opts_free(o);
        return NULL;
    }
    memset(&err, 0, sizeof err);
    return ml_dataset_open(reg, "idx", o, &err);
}

/* Opening must fail with `code` and a message containing `want`, leaking nothing. */
static void fails(const char *im, const char *lb, const char *extra, int code,
                  const char *want, const char *name)
{
    int64_t live = ml_mem_live_bytes();
    reader_refused(open_idx(im, lb, extra), &err, code, want, name);
    is_int(ml_mem_live_bytes(), live, "  nothing leaked");
}

static void check_values(ml_dataset *d, int scale, const char *name)
{
    const int64_t idx[3] = {4, 0, 2};
    float x[3 * 12], y[3];
    int bad = 0;
    ok(ml_dataset_read(d, idx, 3, x, y, &err) == 0, "%s: read", name);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 12; j++) {
            float want = (float)(((idx[i] * 12 + j) * 7 + 3) % 256);
            if (scale)
                want /= 255.0f;
            bad += x[i * 12 + j] != want;
        }
    is_int(bad, 0, "  pixels as in the file, in example order");
    ok(y[0] == 3 && y[1] == 3 && y[2] == 9, "  labels %g %g %g", y[0], y[1], y[2]);
}

static void test_valid(void)
{
    const char *lb = labels("l.idx", 5, labels5);
    const char *lbz = labels("l.idx.gz", 5, labels5);
    const char *im = images("i.idx", 5), *imz = images("i.idx.gz", 5);

    ml_dataset *d = open_idx(im, lb, NULL);
    ok(d != NULL, "raw files open: %s", d ? "" : err.msg);
    if (d) {
        const ml_data_info *in = ml_dataset_info(d);
        is_int(in->size, 5, "  size");
        ok(in->x_shape.ndim == 3 && in->x_shape.dim[0] == 1 && in->x_shape.dim[1] == 4 &&
               in->x_shape.dim[2] == 3, "  x_shape {1,4,3}");
        is_int(in->y_shape.ndim, 0, "  y is a class index");
        is_int(in->classes, 10, "  classes");
        check_values(d, 1, "raw");
        const int64_t out[2] = {1, 5};
        float x[24], y[2];
        ok(ml_dataset_read(d, out, 2, x, y, &err) != 0, "index 5 of 5 is refused");
        like(err.msg, "outside 0..4", "  message names the range");
        ml_dataset_close(d);
    }
    d = open_idx(imz, lbz, NULL);
    ok(d != NULL, "gzip files open: %s", d ? "" : err.msg);
    if (d) {
        check_values(d, 1, "gzip");
        ml_dataset_close(d);
    }
    d = open_idx(imz, lb, "scale=false");
    ok(d != NULL, "gzip images with raw labels, scale=false");
    if (d) {
        check_values(d, 0, "unscaled");
        ml_dataset_close(d);
    }
}

static void test_bad(void)
{
    const char *lb = labels("l.idx", 5, labels5);
    const char *im = images("i.idx", 5);
    uint32_t d3[3] = {5, 4, 3};
    uint8_t bytes[64] = {0};

    fails(write_idx("short.idx", 0x803, d3, 3, 50, NULL), lb, NULL, ML_ERR_FORMAT,
          "short.idx: truncated: header promises 76 bytes, file holds 66;", "truncated raw");
    fails(write_idx("short.idx.gz", 0x803, d3, 3, 50, NULL), lb, "dataset=fashion-mnist",
          ML_ERR_FORMAT,
          "short.idx.gz: truncated: header promises 76 bytes, file holds 66 (uncompressed); "
          "delete it from the cache (modlab data verify fashion-mnist) and fetch again",
          "truncated gzip payload");

    /* A gzip file cut in the middle of its compressed stream. */
    {
        uint32_t big[3] = {400, 28, 28};
        const char *p = write_idx("cut.gz", 0x803, big, 3, 400 * 784, NULL);
        FILE *f = fopen(p, "rb");
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        const char *q = write_file("cut-raw", buf, n / 2);
        char cut[600];
        snprintf(cut, sizeof cut, "%s.gz", q);
        rename(q, cut);
        fails(cut, lb, NULL, ML_ERR_FORMAT, "cut-raw.gz: truncated: header promises 313616",
              "gzip stream cut in half");
        /* Only the 8-byte gzip trailer missing: the data is complete but unverified. */
        uint8_t l400[400] = {0};
        const char *l = labels("l400.gz", 400, l400);
        f = fopen(l, "rb");
        size_t ln = fread(buf, 1, sizeof buf, f);
        fclose(f);
        const char *q2 = write_file("notrailer", buf, ln - 8);
        snprintf(cut, sizeof cut, "%s.gz", q2);
        rename(q2, cut);
        fails(write_idx("i400", 0x803, big, 3, 400 * 784, NULL), cut, NULL, ML_ERR_FORMAT,
              "gzip stream ends without its trailer", "gzip trailer missing");
        /* The trailer is data too: a flipped CRC-32, or an ISIZE that lies (low: a buffer
         * too small for what the stream holds; high: one allocation bigger than needed)
         * -- refused by whichever path reads it (libdeflate hands those to zlib). */
        static const struct { size_t at; uint8_t x; const char *why, *name; } lies[] = {
            { 8, 0x01, "incorrect data check", "gzip CRC-32 flipped" },
            { 4, 0x01, "incorrect length check", "gzip ISIZE off by one" },
            { 2, 0x01, "incorrect length check", "gzip ISIZE 64 KiB high" },
            { 1, 0xff, "incorrect length check", "gzip ISIZE beyond the ratio bound" },
        };
        for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
            memcpy(buf + (1 << 19), buf, ln);
            buf[(1 << 19) + ln - lies[i].at] ^= lies[i].x;
            const char *q3 = write_file("lie.bin", buf + (1 << 19), ln);   /* no .gz: written as it is */
            fails(write_idx("i400", 0x803, big, 3, 400 * 784, NULL), q3, NULL, ML_ERR_FORMAT,
                  lies[i].why, lies[i].name);
        }
    }

    fails(write_idx("magic.idx", 0x12345678, d3, 3, 60, NULL), lb, NULL, ML_ERR_FORMAT,
          "magic.idx: bad magic 0x12345678: not an IDX file", "wrong magic");
    fails(lb, im, NULL, ML_ERR_FORMAT, "declares 1 dimension, but IDX images have 3",
          "labels passed as images");
    uint32_t d2[2] = {5, 12};
    fails(write_idx("dims.idx", 0x802, d2, 2, 60, NULL), lb, NULL, ML_ERR_FORMAT,
          "declares 2 dimensions, but IDX images have 3", "two-dimensional images");
    fails(write_idx("f32.idx", 0x0D03, d3, 3, 240, NULL), lb, NULL, ML_ERR_FORMAT,
          "element type 0x0d (float32) is not supported", "float32 element type");
    fails(im, labels("l4.idx", 4, labels5), NULL, ML_ERR_FORMAT,
          "i.idx holds 5 images but l4.idx holds 4 labels", "images/labels count mismatch");
    uint8_t bad_labels[5] = {3, 0, 10, 1, 3};
    const char *l10 = labels("l10.idx", 5, bad_labels);
    fails(im, l10, NULL, ML_ERR_FORMAT, "l10.idx: label 10 of example 2 is not below "
          "classes=10", "label >= classes");
    ml_dataset *d = open_idx(im, l10, "classes=11");
    ok(d && ml_dataset_info(d)->classes == 11, "classes=11 accepts label 10");
    if (d)
        ml_dataset_close(d);

    uint32_t huge[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    fails(write_idx("ovf.idx", 0x803, huge, 3, 8, NULL), lb, NULL, ML_ERR_FORMAT,
          "header sizes overflow", "size product overflows");
    uint32_t wide[3] = {2, 0x10000u, 0x10000u};
    fails(write_idx("wide.idx", 0x803, wide, 3, 8, NULL), lb, NULL, ML_ERR_FORMAT,
          "are too large", "one image beyond int32 elements");
    uint32_t many[3] = {100000, 28, 28};
    fails(write_idx("many.idx", 0x803, many, 3, 60, NULL), lb, NULL, ML_ERR_FORMAT,
          "truncated: header promises 78400016 bytes, file holds 76;",
          "raw: promise checked against the file size");
    fails(write_idx("many.idx.gz", 0x803, many, 3, 60, NULL), lb, NULL, ML_ERR_FORMAT,
          "truncated: header promises 78400016 bytes, file holds 76 (uncompressed)",
          "gzip: impossible promise refused before allocating");
    fails(write_idx("long.idx", 0x803, d3, 3, 70, NULL), lb, NULL, ML_ERR_FORMAT,
          "10 bytes of trailing data", "raw: trailing data");
    fails(write_idx("long.idx.gz", 0x803, d3, 3, 70, NULL), lb, NULL, ML_ERR_FORMAT,
          "10 bytes of trailing data after the 76 bytes", "gzip: trailing data");
    uint32_t zero[3] = {5, 0, 3};
    fails(write_idx("zero.idx", 0x803, zero, 3, 0, NULL), lb, NULL, ML_ERR_FORMAT,
          "header size 1 is 0", "zero-sized dimension");
    fails(write_file("empty.idx", bytes, 0), lb, NULL, ML_ERR_FORMAT,
          "empty.idx: 0 bytes is too short for an IDX file", "empty file");
    put32(bytes, 0x803);
    put32(bytes + 4, 5);
    fails(write_file("hdr.idx", bytes, 9), lb, NULL, ML_ERR_FORMAT,
          "truncated inside its header (9 of 16 bytes)", "cut inside the header");
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no-such-file.gz", dir);
    fails(missing, lb, NULL, ML_ERR_NOT_FOUND, "no-such-file.gz", "missing file");
    fails(dir, lb, NULL, ML_ERR_INVALID, "is a directory", "a directory");
}

/* Untrusted bytes: every header byte set to edge values, and the file cut at every length,
 * raw and gzip. Opening may succeed or fail, but never crashes, never leaks, and whatever it
 * accepts is consistent with the file. */
static void test_mutations(void)
{
    uint32_t d3[3] = {2, 4, 3};
    const char *im = write_idx("m.idx", 0x803, d3, 3, 24, NULL);
    const char *lb = labels("m-l.idx", 2, labels5);
    uint8_t good[40], b[40];
    static const uint8_t vals[] = {0x00, 0x01, 0x02, 0x03, 0x08, 0x0d, 0x7f, 0x80, 0xff};
    FILE *f = fopen(im, "rb");
    size_t n = fread(good, 1, sizeof good, f);
    fclose(f);
    int64_t live = ml_mem_live_bytes();
    int opened = 0, failed = 0, silent = 0, wrong = 0, leaks = 0;

    for (int gz = 0; gz < 2; gz++) {
        const char *name = gz ? "mut.idx.gz" : "mut.idx";
        for (size_t pos = 0; pos < 16; pos++)
            for (size_t v = 0; v < sizeof vals; v++) {
                memcpy(b, good, n);
                if (b[pos] == vals[v])
                    continue;
                b[pos] = vals[v];
                ml_dataset *d = open_idx(write_file(name, b, n), lb, NULL);
                if (d) {
                    /* Only a change that keeps the file valid can open: same size. */
                    opened++;
                    wrong += ml_dataset_info(d)->size != 2;
                    ml_dataset_close(d);
                } else {
                    failed++;
                    silent += err.msg[0] == '\0' || err.code == 0;
                }
                leaks += ml_mem_live_bytes() != live;
            }
        for (size_t cut = 0; cut < n; cut++) {
            ml_dataset *d = open_idx(write_file(name, good, cut), lb, NULL);
            wrong += d != NULL;
            if (d)
                ml_dataset_close(d);
            silent += !d && (err.msg[0] == '\0' || err.code == 0);
            leaks += ml_mem_live_bytes() != live;
        }
    }
    ok(failed > 200, "mutated headers: %d refused, %d opened", failed, opened);
    is_int(silent, 0, "  every refusal has a code and a message");
    is_int(wrong, 0, "  nothing cut short or resized is accepted");
    is_int(leaks, 0, "  nothing leaked");
}

/* The images and labels files test_oom opens. */
typedef struct idx_pair {
    const char *images, *labels;
} idx_pair;

static int open_close(void *arg)
{
    const idx_pair *files = arg;
    ml_dataset *d = open_idx(files->images, files->labels, NULL);
    ml_dataset_close(d);
    return d ? 0 : tap_oom_code(err.code);
}

/* Every allocation failure during open is reported and leaks nothing. */
static void test_oom(void)
{
    idx_pair files = {0};
    files.labels = labels("l.idx.gz", 5, labels5);
    files.images = images("i.idx.gz", 5);
    tap_oom r = tap_fail_each_alloc(open_close, &files, 200);
    reader_oom_checks("", r);
}

int main(void)
{
    static void (*const tests[])(void) = {test_valid, test_bad, test_mutations, test_oom, NULL};
    return reader_main("idx", dir, sizeof dir, &reg, tests);
}
