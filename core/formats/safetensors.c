/* SPDX-License-Identifier: MIT */
/* safetensors reader (validates every header field against the file) and crash-safe writer. */
#define _GNU_SOURCE
#include "formats/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "formats/json.h"
#include "base/mem.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ML_BIG_ENDIAN 1
#else
#define ML_BIG_ENDIAN 0
#endif

/* ---- little-endian helpers --------------------------------------------------------------- */

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = (v << 8) | p[k];
    return v;
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int k = 0; k < 8; k++)
        p[k] = (unsigned char)(v >> (8 * k));
}

/* Copy n floats between host order and little-endian (either direction). */
static void copy_f32_le(void *dst, const void *src, size_t n)
{
    if (!n)
        return;   /* empty tensors may have NULL data */
    memcpy(dst, src, n * sizeof(float));
#if ML_BIG_ENDIAN
    unsigned char *d = dst;
    for (size_t i = 0; i < n; i++, d += 4) {
        unsigned char t = d[0];
        d[0] = d[3];
        d[3] = t;
        t = d[1];
        d[1] = d[2];
        d[2] = t;
    }
#endif
}

/* ---- writer ------------------------------------------------------------------------------ */

typedef struct wtensor {
    char *name;
    int32_t ndim;
    int64_t dims[ML_MAX_DIMS];
    const float *data;
    uint64_t nbytes;
} wtensor;

typedef struct wmeta {
    char *key, *value;
} wmeta;

struct ml_st_writer {
    wtensor *t;
    int32_t nt, capt;
    wmeta *m;
    int32_t nm, capm;
    uint64_t data_bytes;
};

ml_st_writer *ml_st_writer_new(ml_err *err)
{
    ml_st_writer *w = ml_zalloc(sizeof *w);
    if (!w)
        ml_error(err, ML_ERR_NOMEM, "safetensors writer: out of memory");
    return w;
}

void ml_st_writer_free(ml_st_writer *w)
{
    if (!w)
        return;
    for (int32_t i = 0; i < w->nt; i++)
        ml_free(w->t[i].name);
    for (int32_t i = 0; i < w->nm; i++) {
        ml_free(w->m[i].key);
        ml_free(w->m[i].value);
    }
    ml_free(w->t);
    ml_free(w->m);
    ml_free(w);
}

static int grow(void **arr, int32_t *cap, int32_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    if (*cap > INT32_MAX / 2)
        return -1;
    int32_t c = *cap ? *cap * 2 : 16;
    void *p = ml_realloc(*arr, (size_t)c * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = c;
    return 0;
}

int ml_st_writer_add(ml_st_writer *w, const char *name, int32_t ndim, const int64_t *dims,
                     const float *data, ml_err *err)
{
    if (!name || !*name || strcmp(name, "__metadata__") == 0)
        return ml_error(err, ML_ERR_INVALID,
                        "safetensors writer: bad tensor name '%s' (must be non-empty and not "
                        "__metadata__)", name ? name : "(null)");
    if (ndim < 0 || ndim > ML_MAX_DIMS || (ndim > 0 && !dims))
        return ml_error(err, ML_ERR_INVALID,
                        "safetensors writer: tensor '%s' has %d dimensions (0..%d allowed)",
                        name, ndim, ML_MAX_DIMS);
    uint64_t numel = 1;
    for (int32_t k = 0; k < ndim; k++) {
        if (dims[k] < 0 || __builtin_mul_overflow(numel, (uint64_t)dims[k], &numel))
            return ml_error(err, ML_ERR_INVALID,
                            "safetensors writer: tensor '%s' has a bad dimension %lld", name,
                            (long long)dims[k]);
    }
    if (numel > UINT64_MAX / 8 || (numel && !data))
        return ml_error(err, ML_ERR_INVALID, "safetensors writer: tensor '%s' has no data",
                        name);
    for (int32_t i = 0; i < w->nt; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return ml_error(err, ML_ERR_INVALID,
                            "safetensors writer: duplicate tensor name '%s'", name);
    if (grow((void **)&w->t, &w->capt, w->nt, sizeof *w->t) < 0)
        return ml_error(err, ML_ERR_NOMEM, "safetensors writer: out of memory");
    wtensor *t = &w->t[w->nt];
    memset(t, 0, sizeof *t);
    t->name = ml_strdup(name);
    if (!t->name)
        return ml_error(err, ML_ERR_NOMEM, "safetensors writer: out of memory");
    t->ndim = ndim;
    for (int32_t k = 0; k < ndim; k++)
        t->dims[k] = dims[k];
    t->data = data;
    t->nbytes = numel * sizeof(float);
    w->data_bytes += t->nbytes;
    w->nt++;
    return 0;
}

int ml_st_writer_meta(ml_st_writer *w, const char *key, const char *value, ml_err *err)
{
    if (!key || !value)
        return ml_error(err, ML_ERR_INVALID, "safetensors writer: NULL metadata key or value");
    for (int32_t i = 0; i < w->nm; i++)
        if (strcmp(w->m[i].key, key) == 0)
            return ml_error(err, ML_ERR_INVALID,
                            "safetensors writer: duplicate metadata key '%s'", key);
    if (grow((void **)&w->m, &w->capm, w->nm, sizeof *w->m) < 0)
        return ml_error(err, ML_ERR_NOMEM, "safetensors writer: out of memory");
    char *k = ml_strdup(key), *v = ml_strdup(value);
    if (!k || !v) {
        ml_free(k);
        ml_free(v);
        return ml_error(err, ML_ERR_NOMEM, "safetensors writer: out of memory");
    }
    w->m[w->nm].key = k;
    w->m[w->nm].value = v;
    w->nm++;
    return 0;
}

/* 8-byte length + header JSON padded with spaces to a multiple of 8. */
static int build_header(ml_st_writer *w, ml_jbuf *b, ml_err *err)
{
    ml_jbuf_init(b);
    ml_jbuf_putn(b, "\0\0\0\0\0\0\0\0{", 9);
    int first = 1;
    if (w->nm) {
        ml_jbuf_puts(b, "\"__metadata__\":{");
        for (int32_t i = 0; i < w->nm; i++) {
            if (i)
                ml_jbuf_puts(b, ",");
            ml_jbuf_str(b, w->m[i].key, strlen(w->m[i].key));
            ml_jbuf_puts(b, ":");
            ml_jbuf_str(b, w->m[i].value, strlen(w->m[i].value));
        }
        ml_jbuf_puts(b, "}");
        first = 0;
    }
    uint64_t off = 0;
    for (int32_t i = 0; i < w->nt; i++) {
        const wtensor *t = &w->t[i];
        if (!first)
            ml_jbuf_puts(b, ",");
        first = 0;
        ml_jbuf_str(b, t->name, strlen(t->name));
        ml_jbuf_puts(b, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int32_t k = 0; k < t->ndim; k++)
            ml_jbuf_printf(b, "%s%lld", k ? "," : "", (long long)t->dims[k]);
        ml_jbuf_printf(b, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                       (unsigned long long)(off + t->nbytes));
        off += t->nbytes;
    }
    ml_jbuf_puts(b, "}");
    while (b->len % 8 && !b->failed)
        ml_jbuf_puts(b, " ");
    if (ml_jbuf_finish(b, "safetensors writer", err) < 0)
        goto fail;
    if (b->len - 8 > ML_ST_MAX_HEADER) {
        ml_error(err, ML_ERR_INVALID,
                 "safetensors writer: header of %zu bytes exceeds the %d-byte limit readers "
                 "accept (too many tensors or too much metadata)", b->len - 8,
                 ML_ST_MAX_HEADER);
        goto fail;
    }
    put_le64((unsigned char *)b->data, (uint64_t)(b->len - 8));
    return 0;
fail:
    ml_jbuf_free(b);
    return err ? err->code : ML_ERR_NOMEM;
}

int ml_st_writer_to_memory(ml_st_writer *w, void **out, size_t *len, ml_err *err)
{
    ml_jbuf b;
    int rc = build_header(w, &b, err);
    if (rc < 0)
        return rc;
    size_t total = b.len + (size_t)w->data_bytes;
    unsigned char *buf = ml_alloc(total ? total : 1);
    if (!buf) {
        ml_jbuf_free(&b);
        return ml_error(err, ML_ERR_NOMEM,
                        "safetensors writer: out of memory for a %zu-byte file", total);
    }
    memcpy(buf, b.data, b.len);
    size_t at = b.len;
    for (int32_t i = 0; i < w->nt; i++) {
        copy_f32_le(buf + at, w->t[i].data, (size_t)(w->t[i].nbytes / sizeof(float)));
        at += (size_t)w->t[i].nbytes;
    }
    ml_jbuf_free(&b);
    *out = buf;
    *len = total;
    return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        size_t chunk = len > ((size_t)1 << 30) ? (size_t)1 << 30 : len;
        ssize_t n = write(fd, p, chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_f32_le(int fd, const float *data, size_t n)
{
#if ML_BIG_ENDIAN
    float buf[4096];
    while (n > 0) {
        size_t k = n < 4096 ? n : 4096;
        copy_f32_le(buf, data, k);
        if (write_all(fd, buf, k * sizeof(float)) < 0)
            return -1;
        data += k;
        n -= k;
    }
    return 0;
#else
    return write_all(fd, data, n * sizeof(float));
#endif
}

/* Streams header and tensors to a temp file next to `path` (no copy of the data in memory;
 * ml_file_write_atomic takes one buffer), then fsync + rename + fsync of the directory. */
int ml_st_writer_write(ml_st_writer *w, const char *path, ml_err *err)
{
    static unsigned counter;
    ml_jbuf b;
    char tmp[PATH_MAX];
    int fd = -1, rc;
    const char *step = "create";

    if (!path || !*path)
        return ml_error(err, ML_ERR_INVALID, "safetensors writer: empty output path");
    rc = build_header(w, &b, err);
    if (rc < 0)
        return ml_error_prefix(err, "%s", path);
    for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
        unsigned n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
        if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), n) >=
            (int)sizeof tmp) {
            ml_jbuf_free(&b);
            return ml_error(err, ML_ERR_INVALID, "%s: path too long", path);
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        rc = ml_error(err, ML_ERR_IO,
                      "%s: cannot create the temp file %s: %s; check that the directory "
                      "exists and is writable", path, tmp, strerror(errno));
        ml_jbuf_free(&b);
        return rc;
    }
    step = "write";
    if (ml_test_write_fault(path) < 0 || write_all(fd, b.data, b.len) < 0)
        goto fail;
    for (int32_t i = 0; i < w->nt; i++)
        if (write_f32_le(fd, w->t[i].data, (size_t)(w->t[i].nbytes / sizeof(float))) < 0)
            goto fail;
    step = "fsync";
    if (fsync(fd) != 0)
        goto fail;
    step = "close";
    rc = close(fd);
    fd = -1;
    if (rc != 0)
        goto fail;
    step = "rename";
    ml_test_pause_before_rename(path);
    if (rename(tmp, path) != 0)
        goto fail;
    ml_fsync_dir_of(path);
    ml_jbuf_free(&b);
    return 0;

fail:
    rc = ml_error(err, ML_ERR_IO, "%s: %s of %s failed: %s; the previous file (if any) is "
                  "untouched: free disk space or check permissions", path, step, tmp,
                  strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    ml_jbuf_free(&b);
    return rc;
}

/* ---- reader ------------------------------------------------------------------------------ */

typedef struct rmeta {
    const char *key, *value;
} rmeta;

struct ml_st_file {
    void *owned;                 /* the file's bytes when read by ml_st_open */
    const unsigned char *data;   /* the data section */
    uint64_t data_len;
    ml_json_doc *doc;
    ml_st_tensor *t;
    int32_t nt;
    int32_t *by_name;            /* tensor indices sorted by name */
    rmeta *m;
    int32_t nm;
};

void ml_st_close(ml_st_file *f)
{
    if (!f)
        return;
    ml_json_free(f->doc);
    ml_free(f->t);
    ml_free(f->by_name);
    ml_free(f->m);
    ml_free(f->owned);
    ml_free(f);
}

int32_t ml_st_count(const ml_st_file *f) { return f->nt; }

const ml_st_tensor *ml_st_tensor_at(const ml_st_file *f, int32_t i)
{
    return i >= 0 && i < f->nt ? &f->t[i] : NULL;
}

int32_t ml_st_meta_count(const ml_st_file *f) { return f->nm; }
const char *ml_st_meta_key(const ml_st_file *f, int32_t i)
{
    return i >= 0 && i < f->nm ? f->m[i].key : NULL;
}
const char *ml_st_meta_value(const ml_st_file *f, int32_t i)
{
    return i >= 0 && i < f->nm ? f->m[i].value : NULL;
}

const char *ml_st_meta_get(const ml_st_file *f, const char *key)
{
    for (int32_t i = 0; i < f->nm; i++)
        if (strcmp(f->m[i].key, key) == 0)
            return f->m[i].value;
    return NULL;
}

int32_t ml_st_find(const ml_st_file *f, const char *name)
{
    int32_t lo = 0, hi = f->nt;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->t[f->by_name[mid]].name, name);
        if (c == 0)
            return f->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

void ml_st_read_f32(const ml_st_file *f, int32_t i, float *dst)
{
    const ml_st_tensor *t = &f->t[i];
    copy_f32_le(dst, f->data + t->begin, (size_t)t->numel);
}

int ml_st_check_finite(const ml_st_file *f, int32_t i, const char *what, ml_err *err)
{
    const ml_st_tensor *t = &f->t[i];
    const unsigned char *p = f->data + t->begin;
    for (int64_t k = 0; k < t->numel; k++, p += 4) {
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        if ((u & 0x7f800000u) != 0x7f800000u)
            continue;   /* exponent not all ones: a finite number */
        return ml_error(err, ML_ERR_FORMAT, "%s: tensor '%s' holds %s (element %lld of %lld): "
                        "the run that saved it diverged or the file is corrupt; refusing to "
                        "load it", what, t->name, u & 0x007fffffu ? "NaN"
                                                  : u >> 31   ? "-Inf" : "Inf",
                        (long long)k, (long long)t->numel);
    }
    return 0;
}

/* qsort has no context argument: sort index arrays through a file-local pointer would not be
 * thread-safe, so these sort small structs that carry what they compare. */
typedef struct name_key {
    const char *name;
    int32_t idx;
} name_key;

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const name_key *)a)->name, ((const name_key *)b)->name);
}

typedef struct range_key {
    uint64_t begin, end;
    int32_t idx;
} range_key;

static int cmp_range(const void *a, const void *b)
{
    const range_key *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

static const char *const unsupported_dtypes[] = {
    "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL",
    "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64", NULL,
};

/* 1 when the JSON string is exactly `name`, embedded NULs included. */
static int same_name(const ml_json *str, const char *name)
{
    size_t n = strlen(name);
    return str->len == n && memcmp(str->str, name, n) == 0;
}

static int parse_tensor(const char *what, const ml_json *e, ml_st_tensor *t, ml_err *err)
{
    const char *name = e->key;
    const ml_json *dtype = NULL, *shape = NULL, *offs = NULL;
    if (e->type != ML_JSON_OBJECT)
        return ml_error(err, ML_ERR_FORMAT,
                        "%s: tensor '%s' is a JSON %s in the header, not an object with dtype, "
                        "shape and data_offsets", what, name, ml_json_type_name(e->type));
    for (const ml_json *f = e->first; f; f = f->next) {
        const ml_json **slot = strcmp(f->key, "dtype") == 0          ? &dtype
                               : strcmp(f->key, "shape") == 0        ? &shape
                               : strcmp(f->key, "data_offsets") == 0 ? &offs
                                                                     : NULL;
        if (!slot)
            return ml_error(err, ML_ERR_FORMAT,
                            "%s: tensor '%s' has an unknown field '%s' in the header (expected "
                            "dtype, shape, data_offsets)", what, name, f->key);
        if (*slot)
            return ml_error(err, ML_ERR_FORMAT, "%s: tensor '%s' has '%s' twice", what, name,
                            f->key);
        *slot = f;
    }
    if (!dtype || !shape || !offs)
        return ml_error(err, ML_ERR_FORMAT, "%s: tensor '%s' lacks '%s' in the header", what,
                        name, !dtype ? "dtype" : !shape ? "shape" : "data_offsets");
    if (dtype->type != ML_JSON_STRING)
        return ml_error(err, ML_ERR_FORMAT, "%s: tensor '%s': dtype is a %s, not a string",
                        what, name, ml_json_type_name(dtype->type));
    /* Names compare over the string's whole length: "F32\u0000x" is not F32. */
    if (!same_name(dtype, "F32")) {
        char shown[100];
        for (int k = 0; unsupported_dtypes[k]; k++)
            if (same_name(dtype, unsupported_dtypes[k]))
                return ml_error(err, ML_ERR_UNSUPPORTED,
                                "%s: tensor '%s' has unsupported dtype %s: modlab reads only "
                                "F32; convert it (in Python: tensor.float()) and save again",
                                what, name, dtype->str);
        ml_json_escape(shown, sizeof shown, dtype->str, dtype->len < 32 ? dtype->len : 32);
        return ml_error(err, ML_ERR_FORMAT, "%s: tensor '%s' has an unknown dtype %s%s", what,
                        name, shown, dtype->len > 32 ? " (cut)" : "");
    }
    if (shape->type != ML_JSON_ARRAY)
        return ml_error(err, ML_ERR_FORMAT, "%s: tensor '%s': shape is a %s, not an array",
                        what, name, ml_json_type_name(shape->type));
    if (shape->count > ML_MAX_DIMS)
        return ml_error(err, ML_ERR_UNSUPPORTED,
                        "%s: tensor '%s' has %zu dimensions; modlab supports at most %d", what,
                        name, shape->count, ML_MAX_DIMS);
    uint64_t numel = 1;
    int32_t nd = 0;
    for (const ml_json *d = shape->first; d; d = d->next, nd++) {
        if (d->type != ML_JSON_NUMBER || !d->is_int || d->i < 0)
            return ml_error(err, ML_ERR_FORMAT,
                            "%s: tensor '%s': shape[%d] is not a non-negative integer", what,
                            name, nd);
        if (__builtin_mul_overflow(numel, (uint64_t)d->i, &numel))
            return ml_error(err, ML_ERR_FORMAT, "%s: tensor '%s': shape overflows", what,
                            name);
        t->dims[nd] = d->i;
    }
    if (offs->type != ML_JSON_ARRAY || offs->count != 2)
        return ml_error(err, ML_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets is not a [begin, end] pair", what, name);
    const ml_json *b = offs->first, *en = b->next;
    if (b->type != ML_JSON_NUMBER || !b->is_int || b->i < 0 || en->type != ML_JSON_NUMBER ||
        !en->is_int || en->i < b->i)
        return ml_error(err, ML_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets must be integers 0 <= begin <= end",
                        what, name);
    uint64_t bytes;
    if (__builtin_mul_overflow(numel, (uint64_t)sizeof(float), &bytes) ||
        bytes != (uint64_t)(en->i - b->i)) {
        char dims[128];
        size_t at = 0;
        dims[0] = '\0';
        for (int32_t k = 0; k < nd && at < sizeof dims; k++)
            at += (size_t)snprintf(dims + at, sizeof dims - at, "%s%lld", k ? ", " : "",
                                   (long long)t->dims[k]);
        return ml_error(err, ML_ERR_FORMAT,
                        "%s: tensor '%s' has shape [%s] (%llu F32 values, %llu bytes) but "
                        "data_offsets [%lld, %lld] span %lld bytes: the header is corrupt",
                        what, name, dims, (unsigned long long)numel,
                        (unsigned long long)numel * 4, (long long)b->i, (long long)en->i,
                        (long long)(en->i - b->i));
    }
    t->name = name;
    t->ndim = nd;
    t->numel = (int64_t)numel;
    t->begin = (uint64_t)b->i;
    t->end = (uint64_t)en->i;
    return 0;
}

ml_st_file *ml_st_parse(const void *bytes, size_t len, const char *what, ml_err *err)
{
    const unsigned char *s = bytes;
    ml_st_file *f = NULL;
    range_key *ranges = NULL;
    name_key *names = NULL;
    what = what ? what : "safetensors";

    if (len < 8) {
        ml_error(err, ML_ERR_FORMAT,
                 "%s: file of %zu bytes is too short for a safetensors header (8-byte length "
                 "first): it is truncated or not a safetensors file", what, len);
        goto fail;
    }
    uint64_t hlen = get_le64(s);
    if (hlen > len - 8) {
        ml_error(err, ML_ERR_FORMAT,
                 "%s: header length %llu exceeds the file size (%zu bytes): the file is "
                 "truncated or not a safetensors file", what, (unsigned long long)hlen, len);
        goto fail;
    }
    if (hlen > ML_ST_MAX_HEADER) {
        ml_error(err, ML_ERR_FORMAT, "%s: header length %llu is over the %d-byte limit: not a "
                 "safetensors file", what, (unsigned long long)hlen, ML_ST_MAX_HEADER);
        goto fail;
    }
    if (hlen < 2) {
        ml_error(err, ML_ERR_FORMAT, "%s: header length %llu is too small for a JSON object",
                 what, (unsigned long long)hlen);
        goto fail;
    }
    f = ml_zalloc(sizeof *f);
    if (!f)
        goto nomem;
    f->data = s + 8 + hlen;
    f->data_len = len - 8 - hlen;
    size_t where = 0;
    ml_json_limits lim = {.max_depth = 64, .max_bytes = ML_ST_MAX_HEADER};
    f->doc = ml_json_parse((const char *)s + 8, (size_t)hlen, &lim, &where, err);
    if (!f->doc) {
        if (err && err->code == ML_ERR_NOMEM)
            goto nomem;
        ml_error_prefix(err, "%s: header (file byte %zu)", what, where + 8);
        goto fail;
    }
    const ml_json *root = ml_json_root(f->doc);
    if (root->type != ML_JSON_OBJECT) {
        ml_error(err, ML_ERR_FORMAT, "%s: header is a JSON %s, not an object", what,
                 ml_json_type_name(root->type));
        goto fail;
    }
    if (root->count > INT32_MAX) {
        ml_error(err, ML_ERR_FORMAT, "%s: too many tensors", what);
        goto fail;
    }
    f->t = ml_zalloc((root->count ? root->count : 1) * sizeof *f->t);
    ranges = ml_alloc((root->count ? root->count : 1) * sizeof *ranges);
    names = ml_alloc((root->count ? root->count : 1) * sizeof *names);
    f->by_name = ml_alloc((root->count ? root->count : 1) * sizeof *f->by_name);
    if (!f->t || !ranges || !names || !f->by_name)
        goto nomem;
    int seen_meta = 0;
    for (const ml_json *e = root->first; e; e = e->next) {
        if (strlen(e->key) != e->key_len) {
            ml_error(err, ML_ERR_FORMAT, "%s: a tensor name contains a NUL character", what);
            goto fail;
        }
        if (strcmp(e->key, "__metadata__") == 0) {
            if (seen_meta++) {
                ml_error(err, ML_ERR_FORMAT, "%s: __metadata__ appears twice in the header",
                         what);
                goto fail;
            }
            if (e->type != ML_JSON_OBJECT) {
                ml_error(err, ML_ERR_FORMAT, "%s: __metadata__ is a JSON %s, not an object of "
                         "strings", what, ml_json_type_name(e->type));
                goto fail;
            }
            f->m = ml_alloc((e->count ? e->count : 1) * sizeof *f->m);
            if (!f->m)
                goto nomem;
            for (const ml_json *kv = e->first; kv; kv = kv->next) {
                if (kv->type != ML_JSON_STRING || strlen(kv->str) != kv->len ||
                    strlen(kv->key) != kv->key_len) {
                    ml_error(err, ML_ERR_FORMAT, "%s: __metadata__ entry '%s' is not a string "
                             "(without NUL characters)", what, kv->key);
                    goto fail;
                }
                if (ml_st_meta_get(f, kv->key)) {
                    ml_error(err, ML_ERR_FORMAT, "%s: __metadata__ has the key '%s' twice",
                             what, kv->key);
                    goto fail;
                }
                f->m[f->nm].key = kv->key;
                f->m[f->nm].value = kv->str;
                f->nm++;
            }
            continue;
        }
        ml_st_tensor *t = &f->t[f->nt];
        if (parse_tensor(what, e, t, err) < 0)
            goto fail;
        if (t->end > f->data_len) {
            ml_error(err, ML_ERR_FORMAT,
                     "%s: tensor '%s' ends at data byte %llu but the data section has only "
                     "%llu bytes: the file is truncated", what, t->name,
                     (unsigned long long)t->end, (unsigned long long)f->data_len);
            goto fail;
        }
        ranges[f->nt] = (range_key){t->begin, t->end, f->nt};
        names[f->nt] = (name_key){t->name, f->nt};
        f->nt++;
    }

    /* Unique names (binary search needs them sorted anyway). */
    qsort(names, (size_t)f->nt, sizeof *names, cmp_name);
    for (int32_t i = 0; i < f->nt; i++) {
        if (i && strcmp(names[i - 1].name, names[i].name) == 0) {
            ml_error(err, ML_ERR_FORMAT, "%s: tensor '%s' appears twice in the header", what,
                     names[i].name);
            goto fail;
        }
        f->by_name[i] = names[i].idx;
    }
    /* Sorted by offset, the tensors must tile the data section exactly. */
    qsort(ranges, (size_t)f->nt, sizeof *ranges, cmp_range);
    uint64_t at = 0;
    for (int32_t i = 0; i < f->nt; i++) {
        const range_key *r = &ranges[i];
        if (r->begin < at) {
            const ml_st_tensor *prev = &f->t[ranges[i - 1].idx];
            ml_error(err, ML_ERR_FORMAT,
                     "%s: tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap in the "
                     "data section: the header is corrupt", what, prev->name,
                     (unsigned long long)prev->begin, (unsigned long long)prev->end,
                     f->t[r->idx].name, (unsigned long long)r->begin,
                     (unsigned long long)r->end);
            goto fail;
        }
        if (r->begin > at) {
            ml_error(err, ML_ERR_FORMAT,
                     "%s: data bytes [%llu, %llu) belong to no tensor (before '%s'): the "
                     "header is corrupt", what, (unsigned long long)at,
                     (unsigned long long)r->begin, f->t[r->idx].name);
            goto fail;
        }
        at = r->end;
    }
    if (at != f->data_len) {
        ml_error(err, ML_ERR_FORMAT,
                 "%s: the data section has %llu bytes but the tensors cover %llu: extra bytes "
                 "at the end, or the header is corrupt", what,
                 (unsigned long long)f->data_len, (unsigned long long)at);
        goto fail;
    }
    ml_free(ranges);
    ml_free(names);
    return f;

nomem:
    ml_error(err, ML_ERR_NOMEM, "%s: out of memory reading the safetensors header", what);
fail:
    ml_free(ranges);
    ml_free(names);
    ml_st_close(f);
    return NULL;
}

ml_st_file *ml_st_open(const char *path, ml_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    unsigned char *buf = NULL;
    ml_st_file *f = NULL;
    struct stat st;

    if (fd < 0) {
        ml_error(err, errno == ENOENT ? ML_ERR_NOT_FOUND : ML_ERR_IO, "%s: cannot open: %s",
                 path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0) {
        ml_error(err, ML_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        ml_error(err, ML_ERR_INVALID, "%s: not a regular file", path);
        goto fail;
    }
    size_t len = (size_t)st.st_size;
    buf = ml_alloc_big(len ? len : 1);
    if (!buf) {
        ml_error(err, ML_ERR_NOMEM, "%s: out of memory for %zu bytes", path, len);
        goto fail;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ml_error(err, ML_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;   /* shrank while reading: validate what is there */
        got += (size_t)n;
    }
    f = ml_st_parse(buf, got, path, err);
    if (!f)
        goto fail;
    f->owned = buf;
    close(fd);
    return f;
fail:
    ml_free(buf);
    close(fd);
    return NULL;
}
