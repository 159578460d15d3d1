/* SPDX-License-Identifier: MIT */
/* Unit tests of core/formats/safetensors_write.c and safetensors_read.c: writer layout, round
 * trips, crash-safe writes and every malformed-header case. `test_safetensors --write FILE`
 * writes a sample file and prints its values, `--dump FILE` prints a file's
 * (tests/e2e/test_safetensors_python.sh compares them with what Python reads and writes). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <modlab/modlab.h>

#include "base/mem.h"
#include "formats/safetensors.h"
#include "tap.h"
#include "tap_oom.h"
#include "tap_fs.h"

/* ---- a sample with awkward values ------------------------------------------------------ */

static float sample_a[2 * 3], sample_s[1], sample_c[4 * 1 * 2];

static void fill_sample(void)
{
    for (int i = 0; i < 6; i++)
        sample_a[i] = (float)i * 0.5f - 1.25f;
    sample_s[0] = 3.14159265f;
    const float special[8] = {-0.0f, INFINITY, -INFINITY, 1e-45f, 3.4028235e38f,
                              1.1754944e-38f, 1.0f / 3.0f, -7.0e-10f};
    memcpy(sample_c, special, sizeof special);
}

static ml_st_writer *sample_writer(ml_err *err)
{
    static const int64_t da[] = {2, 3}, dc[] = {4, 1, 2}, de[] = {0, 5};
    fill_sample();
    ml_st_writer *w = mli_st_writer_new(err);
    if (!w || mli_st_writer_add(w, "layer.a", 2, da, sample_a, err) ||
        mli_st_writer_add(w, "scalar", 0, NULL, sample_s, err) ||
        mli_st_writer_add(w, "empty", 2, de, NULL, err) ||
        mli_st_writer_add(w, "special \"quoted\" \xc3\xa9", 3, dc, sample_c, err) ||
        mli_st_writer_meta(w, "format", "pt", err) ||
        mli_st_writer_meta(w, "note", "line\nbreak \"q\" \\ caf\xc3\xa9", err)) {
        mli_st_writer_free(w);
        return NULL;
    }
    return w;
}

static void dump(const ml_st_file *f)
{
    for (int32_t i = 0; i < mli_st_meta_count(f); i++) {
        char esc[256];
        size_t k = 0;
        for (const char *p = mli_st_meta_value(f, i); *p && k + 4 < sizeof esc; p++)
            k += (size_t)snprintf(esc + k, sizeof esc - k, (unsigned char)*p < 0x20 ||
                                  (unsigned char)*p >= 0x7f ? "\\x%02x" : "%c",
                                  (unsigned char)*p);
        printf("meta %s = %s\n", mli_st_meta_key(f, i), esc);
    }
    for (int32_t i = 0; i < mli_st_count(f); i++) {
        const ml_st_tensor *t = mli_st_tensor_at(f, i);
        float *v = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *v);
        mli_st_read_f32(f, i, v);
        printf("tensor %s [", t->name);
        for (int32_t d = 0; d < t->ndim; d++)
            printf("%s%lld", d ? ", " : "", (long long)t->dims[d]);
        printf("]");
        for (int64_t k = 0; k < t->numel; k++)
            printf(" %.9g", (double)v[k]);
        printf("\n");
        free(v);
    }
}

static int write_mode(const char *path)
{
    ml_err err = {0};
    ml_st_writer *w = sample_writer(&err);
    ml_st_file *f = NULL;
    if (!w || mli_st_writer_write(w, path, &err) || !(f = mli_st_open(path, &err))) {
        fprintf(stderr, "test_safetensors: %s\n", err.msg);
        mli_st_writer_free(w);
        return 1;
    }
    dump(f);
    mli_st_close(f);
    mli_st_writer_free(w);
    return 0;
}

/* ---- writer layout and round trip -------------------------------------------------------- */

static int same_bits(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof *a) == 0;
}

static void test_layout(void)
{
    ml_err err = {0};
    float v[2] = {1.0f, -2.0f};
    int64_t d = 2;
    ml_st_writer *w = mli_st_writer_new(&err);
    mli_st_writer_add(w, "a", 1, &d, v, &err);
    mli_st_writer_meta(w, "k", "v", &err);
    void *buf = NULL;
    size_t len = 0;
    ok(mli_st_writer_to_memory(w, &buf, &len, &err) == 0, "write to memory");
    const unsigned char *b = buf;
    const char *want = "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
                       "\"data_offsets\":[0,8]}}";
    uint64_t n = 0;
    for (int k = 7; k >= 0; k--)
        n = n << 8 | b[k];
    ok(n % 8 == 0 && n >= strlen(want) && n - strlen(want) < 8,
       "header length %llu is the JSON padded to a multiple of 8", (unsigned long long)n);
    ok(memcmp(b + 8, want, strlen(want)) == 0, "header JSON text is as documented");
    int spaces = 1;
    for (size_t k = 8 + strlen(want); k < 8 + n; k++)
        spaces = spaces && b[k] == ' ';
    ok(spaces, "padding is spaces");
    is_int(len, 8 + n + 8, "file is 8 + header + 8 data bytes");
    ok(b[8 + n] == 0x00 && b[8 + n + 3] == 0x3f && b[8 + n + 7] == 0xc0,
       "data is little-endian F32 (1.0 = 00 00 80 3f, -2.0 = 00 00 00 c0)");
    mli_free(buf);
    mli_st_writer_free(w);
}

static void test_roundtrip(const char *dir)
{
    ml_err err = {0};
    char path[1024];
    snprintf(path, sizeof path, "%s/sample.safetensors", dir);
    ml_st_writer *w = sample_writer(&err);
    ok(w != NULL, "sample writer");
    if (!w)
        return;
    is_int(mli_st_writer_write(w, path, &err), 0, "write sample file");
    ml_st_file *f = mli_st_open(path, &err);
    if (!ok(f != NULL, "open it again")) {
        tap_diag("%s", err.msg);
        mli_st_writer_free(w);
        return;
    }
    is_int(mli_st_count(f), 4, "four tensors");
    is_str(mli_st_tensor_at(f, 0)->name, "layer.a", "order kept: 0");
    is_str(mli_st_tensor_at(f, 1)->name, "scalar", "order kept: 1");
    is_str(mli_st_tensor_at(f, 2)->name, "empty", "order kept: 2");
    is_str(mli_st_tensor_at(f, 3)->name, "special \"quoted\" \xc3\xa9", "escaped name kept");
    const ml_st_tensor *t = mli_st_tensor_at(f, mli_st_find(f, "layer.a"));
    ok(t && t->ndim == 2 && t->dims[0] == 2 && t->dims[1] == 3 && t->numel == 6,
       "shape [2, 3]");
    t = mli_st_tensor_at(f, mli_st_find(f, "scalar"));
    ok(t && t->ndim == 0 && t->numel == 1, "scalar has shape [] and one value");
    t = mli_st_tensor_at(f, mli_st_find(f, "empty"));
    ok(t && t->numel == 0 && t->begin == t->end, "empty tensor has no bytes");
    is_int(mli_st_find(f, "nope"), -1, "find a missing name is -1");
    float a[6], s[1], c[8];
    mli_st_read_f32(f, mli_st_find(f, "layer.a"), a);
    mli_st_read_f32(f, mli_st_find(f, "scalar"), s);
    mli_st_read_f32(f, mli_st_find(f, "special \"quoted\" \xc3\xa9"), c);
    ok(same_bits(a, sample_a, 6) && same_bits(s, sample_s, 1) && same_bits(c, sample_c, 8),
       "every value read back bit for bit (-0, inf, denormal, max)");
    is_int(mli_st_meta_count(f), 2, "two metadata entries");
    is_str(mli_st_meta_get(f, "note"), "line\nbreak \"q\" \\ caf\xc3\xa9", "metadata escaped");
    is_str(mli_st_meta_key(f, 0), "format", "metadata order kept");
    ok(mli_st_meta_get(f, "missing") == NULL, "missing metadata is NULL");
    mli_st_close(f);

    /* Overwrite: the new content replaces the old, no temp file remains. */
    float one = 42.0f;
    ml_st_writer *w2 = mli_st_writer_new(&err);
    mli_st_writer_add(w2, "only", 0, NULL, &one, &err);
    is_int(mli_st_writer_write(w2, path, &err), 0, "overwrite the file");
    f = mli_st_open(path, &err);
    ok(f && mli_st_count(f) == 1 && mli_st_meta_count(f) == 0, "replaced content read back");
    mli_st_close(f);
    DIR *dh = opendir(dir);
    int others = 0;
    for (struct dirent *de; dh && (de = readdir(dh));)
        others += de->d_name[0] != '.' && strcmp(de->d_name, "sample.safetensors") != 0;
    if (dh)
        closedir(dh);
    is_int(others, 0, "no temp files left behind");

    /* Writing into a missing directory fails cleanly. */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.safetensors", dir);
    int rc = mli_st_writer_write(w2, bad, &err);
    is_int(rc, ML_ERR_IO, "write into a missing directory is ML_ERR_IO");
    like(err.msg, "cannot create the temp file", "message says what failed");
    like(err.msg, "check that the directory exists", "message says what to do");
    mli_st_writer_free(w2);
    mli_st_writer_free(w);

    /* An empty writer is a valid file with no tensors. */
    w = mli_st_writer_new(&err);
    void *buf;
    size_t len;
    mli_st_writer_to_memory(w, &buf, &len, &err);
    f = mli_st_parse(buf, len, "empty", &err);
    ok(f && mli_st_count(f) == 0 && len == 16, "no tensors: '{}' padded, 16 bytes");
    mli_st_close(f);
    mli_free(buf);
    mli_st_writer_free(w);

    f = mli_st_open(bad, &err);
    ok(!f && err.code == ML_ERR_NOT_FOUND, "open a missing file: ML_ERR_NOT_FOUND");
    f = mli_st_open(dir, &err);
    ok(!f && err.code == ML_ERR_INVALID, "open a directory: ML_ERR_INVALID");
}

static void test_writer_errors(void)
{
    ml_err err = {0};
    float v[4] = {0};
    int64_t d2[2] = {2, 2}, neg = -1;
    ml_st_writer *w = mli_st_writer_new(&err);
    is_int(mli_st_writer_add(w, "x", 2, d2, v, &err), 0, "add x");
    is_int(mli_st_writer_add(w, "x", 2, d2, v, &err), ML_ERR_INVALID, "duplicate name");
    like(err.msg, "duplicate tensor name 'x'", "duplicate message");
    is_int(mli_st_writer_add(w, "__metadata__", 2, d2, v, &err), ML_ERR_INVALID,
           "__metadata__ is not a tensor name");
    is_int(mli_st_writer_add(w, "", 2, d2, v, &err), ML_ERR_INVALID, "empty name");
    is_int(mli_st_writer_add(w, "y", 9, d2, v, &err), ML_ERR_INVALID, "too many dimensions");
    is_int(mli_st_writer_add(w, "y", 1, &neg, v, &err), ML_ERR_INVALID, "negative dimension");
    is_int(mli_st_writer_add(w, "y", 2, d2, NULL, &err), ML_ERR_INVALID, "data missing");
    is_int(mli_st_writer_meta(w, "k", "1", &err), 0, "meta k");
    is_int(mli_st_writer_meta(w, "k", "2", &err), ML_ERR_INVALID, "duplicate metadata key");
    mli_st_writer_free(w);
}

/* ---- malformed files -------------------------------------------------------------------- */

/* A file from a header text (padded to 8) and `data_len` data bytes (values 0..). */
static unsigned char *mk(const char *header, size_t data_len, size_t *len)
{
    size_t n = strlen(header), padded = (n + 7) / 8 * 8;
    unsigned char *b = malloc(8 + padded + data_len + 1);
    for (int k = 0; k < 8; k++)
        b[k] = (unsigned char)((uint64_t)padded >> (8 * k));
    memcpy(b + 8, header, n);
    memset(b + 8 + n, ' ', padded - n);
    for (size_t k = 0; k < data_len; k++)
        b[8 + padded + k] = (unsigned char)k;
    *len = 8 + padded + data_len;
    return b;
}

#define T(name, off, shape) "\"" name "\":{\"dtype\":\"F32\",\"shape\":" shape \
                            ",\"data_offsets\":" off "}"

static const struct bad {
    const char *header;
    size_t data_len;
    int code;
    const char *msg;
} bad_cases[] = {
    {"[1, 2]", 0, ML_ERR_FORMAT, "header is a JSON array, not an object"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, ML_ERR_FORMAT,
     "header (file byte 64): JSON: unexpected end of input, expected ',' or '}' in object at "
     "byte 56"},
    {"{\"a\" 1}", 0, ML_ERR_FORMAT, "header (file byte 13): JSON:"},
    {"{" T("a", "[0,8]", "[2]") "}", 8, 0, NULL},
    {"{" T("a", "[0,8]", "[2]") "}", 12, ML_ERR_FORMAT,
     "the data section has 12 bytes but the tensors cover 8: extra bytes"},
    {"{" T("a", "[0,8]", "[2]") "}", 4, ML_ERR_FORMAT,
     "tensor 'a' ends at data byte 8 but the data section has only 4 bytes: the file is "
     "truncated"},
    {"{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
     ML_ERR_UNSUPPORTED, "tensor 'a' has unsupported dtype F16: modlab reads only F32"},
    {"{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
     ML_ERR_UNSUPPORTED, "unsupported dtype BF16"},
    {"{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
     ML_ERR_UNSUPPORTED, "unsupported dtype F64"},
    {"{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, ML_ERR_FORMAT,
     "unknown dtype \"Q7\""},
    {"{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, ML_ERR_FORMAT,
     "dtype is a number, not a string"},
    /* dtype names compare over the JSON string's whole length: an embedded NUL or a
     * trailing space is another name, shown escaped. */
    {"{\"a\":{\"dtype\":\"F32\\u0000x\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
     ML_ERR_FORMAT, "tensor 'a' has an unknown dtype \"F32\\u0000x\""},
    {"{\"a\":{\"dtype\":\"F32 \",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
     ML_ERR_FORMAT, "unknown dtype \"F32 \""},
    {"{\"a\":{\"dtype\":\"F16\\u0000\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
     ML_ERR_FORMAT, "unknown dtype \"F16\\u0000\""},
    {"{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
     ML_ERR_FORMAT, "unknown dtype \"f32\""},
    {"{" T("a", "[0,8]", "[2]") "," T("b", "[4,12]", "[2]") "}", 12, ML_ERR_FORMAT,
     "tensors 'a' [0, 8) and 'b' [4, 12) overlap"},
    {"{" T("b", "[4,12]", "[2]") "," T("a", "[0,8]", "[2]") "}", 12, ML_ERR_FORMAT,
     "tensors 'a' [0, 8) and 'b' [4, 12) overlap"},
    {"{" T("a", "[0,8]", "[2]") "," T("b", "[0,8]", "[2]") "}", 8, ML_ERR_FORMAT,
     "overlap"},
    {"{" T("a", "[0,8]", "[2]") "," T("b", "[12,20]", "[2]") "}", 20, ML_ERR_FORMAT,
     "data bytes [8, 12) belong to no tensor (before 'b')"},
    {"{" T("a", "[4,12]", "[2]") "}", 12, ML_ERR_FORMAT, "data bytes [0, 4) belong to no"},
    {"{" T("a", "[0,20]", "[2, 3]") "}", 20, ML_ERR_FORMAT,
     "tensor 'a' has shape [2, 3] (6 F32 values, 24 bytes) but data_offsets [0, 20] span "
     "20 bytes"},
    {"{" T("a", "[0,0]", "[0, 3]") "}", 0, 0, NULL},
    {"{" T("a", "[8,0]", "[0]") "}", 8, ML_ERR_FORMAT, "0 <= begin <= end"},
    {"{" T("a", "[-4,0]", "[1]") "}", 0, ML_ERR_FORMAT, "0 <= begin <= end"},
    {"{" T("a", "[0,4,8]", "[1]") "}", 8, ML_ERR_FORMAT, "not a [begin, end] pair"},
    {"{" T("a", "[0,4.0]", "[1]") "}", 4, ML_ERR_FORMAT, "must be integers"},
    {"{" T("a", "[0,4]", "[-1]") "}", 4, ML_ERR_FORMAT, "shape[0] is not a non-negative"},
    {"{" T("a", "[0,4]", "[1.0]") "}", 4, ML_ERR_FORMAT, "shape[0] is not a non-negative"},
    {"{" T("a", "[0,4]", "{}") "}", 4, ML_ERR_FORMAT, "shape is a object, not an array"},
    {"{" T("a", "[0,4]", "[1,1,1,1,1,1,1,1,1]") "}", 4, ML_ERR_UNSUPPORTED,
     "has 9 dimensions; modlab supports at most 8"},
    {"{" T("a", "[0,4]", "[4294967296,4294967296,4294967296]") "}", 4, ML_ERR_FORMAT,
     "shape overflows"},
    {"{" T("a", "[0,4]", "[4611686018427387904]") "}", 4, ML_ERR_FORMAT,
     "but data_offsets [0, 4]"},
    {"{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, ML_ERR_FORMAT,
     "tensor 'a' lacks 'dtype'"},
    {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, ML_ERR_FORMAT, "lacks 'shape'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, ML_ERR_FORMAT, "lacks 'data_offsets'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
     ML_ERR_FORMAT, "unknown field 'x'"},
    {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
     ML_ERR_FORMAT, "has 'dtype' twice"},
    {"{\"a\":[1]}", 0, ML_ERR_FORMAT, "tensor 'a' is a JSON array in the header"},
    {"{" T("a", "[0,4]", "[1]") "," T("a", "[4,8]", "[1]") "}", 8, ML_ERR_FORMAT,
     "tensor 'a' appears twice"},
    {"{\"a\\u0000b\":{}}", 0, ML_ERR_FORMAT, "NUL character"},
    {"{\"__metadata__\":[]}", 0, ML_ERR_FORMAT, "__metadata__ is a JSON array"},
    {"{\"__metadata__\":{\"k\":1}}", 0, ML_ERR_FORMAT,
     "__metadata__ entry 'k' is not a string"},
    {"{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, ML_ERR_FORMAT, "the key 'k' twice"},
    {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, ML_ERR_FORMAT, "appears twice"},
    {"{\"__metadata__\":{\"k\":\"v\"}}", 0, 0, NULL},
    {"{}", 0, 0, NULL},
};

static void test_malformed(void)
{
    for (size_t k = 0; k < sizeof bad_cases / sizeof bad_cases[0]; k++) {
        const struct bad *b = &bad_cases[k];
        size_t len;
        unsigned char *buf = mk(b->header, b->data_len, &len);
        ml_err err = {0};
        ml_st_file *f = mli_st_parse(buf, len, "x.safetensors", &err);
        if (!b->msg) {
            if (!ok(f != NULL, "valid: %.60s", b->header))
                tap_diag("  %s", err.msg);
        } else {
            int good = !f && err.code == b->code && strstr(err.msg, b->msg) &&
                       strncmp(err.msg, "x.safetensors: ", 15) == 0;
            if (!ok(good, "invalid: %.50s -> '%.50s'", b->header, b->msg))
                tap_diag("  got code %d: %s", err.code, err.msg);
        }
        mli_st_close(f);
        free(buf);
    }
}

static void test_lengths(void)
{
    ml_err err = {0};
    unsigned char small[7] = {0};
    ml_st_file *f = mli_st_parse(small, sizeof small, "x", &err);
    ok(!f && err.code == ML_ERR_FORMAT, "7-byte file rejected");
    like(err.msg, "too short for a safetensors header", "short-file message");

    size_t len;
    unsigned char *b = mk("{}", 0, &len);
    b[0] = 200;   /* header length 200 > file */
    f = mli_st_parse(b, len, "x", &err);
    ok(!f && err.code == ML_ERR_FORMAT, "header length beyond the file rejected");
    like(err.msg, "header length 200 exceeds the file size (16 bytes): the file is truncated",
         "header-length message");
    memset(b, 0xff, 8);   /* 2^64 - 1 */
    f = mli_st_parse(b, len, "x", &err);
    like(err.msg, "header length 18446744073709551615 exceeds", "2^64-1 header length");
    memset(b, 0, 8);
    f = mli_st_parse(b, len, "x", &err);
    like(err.msg, "too small for a JSON object", "zero header length");
    free(b);

    /* Header over the 100 MB limit, with a file big enough to hold it (sparse read). */
    unsigned char hdr[16] = {0};
    uint64_t big = (uint64_t)ML_ST_MAX_HEADER + 8;
    for (int k = 0; k < 8; k++)
        hdr[k] = (unsigned char)(big >> (8 * k));
    unsigned char *huge = calloc(1, (size_t)big + 8);
    if (huge) {
        memcpy(huge, hdr, 8);
        f = mli_st_parse(huge, (size_t)big + 8, "x", &err);
        ok(!f, "header over 100 MB rejected");
        like(err.msg, "over the 100000000-byte limit", "limit message");
        free(huge);
    }

    /* Every truncation of a valid file is rejected without reading past the end. */
    ml_st_writer *w;
    void *good;
    size_t glen;
    w = sample_writer(&err);
    mli_st_writer_to_memory(w, &good, &glen, &err);
    int all = 1;
    for (size_t cut = 0; cut < glen; cut++) {
        unsigned char *copy = malloc(cut ? cut : 1);
        memcpy(copy, good, cut);
        f = mli_st_parse(copy, cut, "x", &err);
        all = all && !f && err.code == ML_ERR_FORMAT;
        mli_st_close(f);
        free(copy);
    }
    ok(all, "all %zu truncations rejected with ML_ERR_FORMAT", glen);

    /* Corrupting any single header byte never crashes (ASan/valgrind watch the reads). */
    int survived = 1;
    for (size_t at = 0; at < 8 + 64 && at < glen; at++) {
        for (int bit = 0; bit < 8; bit++) {
            unsigned char *copy = malloc(glen);
            memcpy(copy, good, glen);
            copy[at] ^= (unsigned char)(1u << bit);
            f = mli_st_parse(copy, glen, "x", &err);
            if (f)
                for (int32_t i = 0; i < mli_st_count(f); i++) {
                    const ml_st_tensor *t = mli_st_tensor_at(f, i);
                    survived = survived && t->end <= glen;
                }
            mli_st_close(f);
            free(copy);
        }
    }
    ok(survived, "single-bit corruption of the first 72 bytes handled");
    mli_free(good);
    mli_st_writer_free(w);
}

/* A serialised checkpoint, for the allocation-failure sweeps of test_nomem. */
typedef struct blob {
    void *buf;
    size_t len;
    ml_st_writer *w;
} blob;

static int parse_once(void *arg)
{
    const blob *b = arg;
    ml_err err = {0};
    ml_st_file *f = mli_st_parse(b->buf, b->len, "x", &err);
    mli_st_close(f);
    return f ? 0 : tap_oom_code(err.code);
}

static int write_once(void *arg)
{
    const blob *b = arg;
    ml_err err = {0};
    void *out = NULL;
    size_t olen = 0;
    int rc = mli_st_writer_to_memory(b->w, &out, &olen, &err);
    mli_free(out);
    return rc;
}

static void test_nomem(void)
{
    ml_err err = {0};
    ml_st_writer *w = sample_writer(&err);
    void *buf;
    size_t len;
    mli_st_writer_to_memory(w, &buf, &len, &err);
    blob b = {buf, len, w};
    int64_t before = ml_mem_live_blocks();
    tap_oom r = tap_fail_each_alloc(parse_once, &b, 200);
    ok(r.worked && r.failures >= 3 && r.nomem == r.failures,
       "parse: each allocation failure is ML_ERR_NOMEM (%d)", r.failures);
    is_int(ml_mem_live_blocks(), before, "parse: nothing leaks on allocation failure");
    r = tap_fail_each_alloc(write_once, &b, 200);
    ok(r.worked && r.failures >= 1 && r.nomem == r.failures,
       "write: each allocation failure is ML_ERR_NOMEM (%d)", r.failures);
    is_int(ml_mem_live_blocks(), before, "write: nothing leaks on allocation failure");
    mli_free(buf);
    mli_st_writer_free(w);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write") == 0)
        return write_mode(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--dump") == 0) {
        ml_err err = {0};
        ml_st_file *f = mli_st_open(argv[2], &err);
        if (!f) {
            fprintf(stderr, "test_safetensors: %s\n", err.msg);
            return 1;
        }
        dump(f);
        mli_st_close(f);
        return 0;
    }
    const char *top = getenv("top_builddir");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tests/out/safetensors.%ld", top ? top : ".", (long)getpid());
    ml_err err = {0};
    if (ml_mkdirs(dir, &err) != 0) {
        printf("Bail out! %s\n", err.msg);
        return 1;
    }
    test_layout();
    test_roundtrip(dir);
    test_writer_errors();
    test_malformed();
    test_lengths();
    test_nomem();
    tap_cleanup_dir(dir);
    return done_testing();
}
