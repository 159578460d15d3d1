/* SPDX-License-Identifier: MIT */
/* The safetensors reader: every header field is checked against the bytes (header length,
 * strict JSON, dtype, shapes against offsets, offsets tiling the data section) before a
 * tensor is handed out; the file is untrusted. */
#define _GNU_SOURCE
#include "formats/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/mem.h"
#include "formats/json.h"
#include "formats/safetensors_le.h"

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = (v << 8) | p[k];
    return v;
}

/* ---- reader ------------------------------------------------------------------------------ */

typedef struct rmeta {
    const char *key, *value;
} rmeta;

struct ml_st_file {
    void *owned;                 /* the file's bytes when read by mli_st_open */
    const unsigned char *data;   /* the data section */
    uint64_t data_len;
    ml_json_doc *doc;
    ml_st_tensor *t;
    int32_t nt;
    int32_t *by_name;            /* tensor indices sorted by name */
    rmeta *m;
    int32_t nm;
};

void mli_st_close(ml_st_file *f)
{
    if (!f)
        return;
    mli_json_free(f->doc);
    mli_free(f->t);
    mli_free(f->by_name);
    mli_free(f->m);
    mli_free(f->owned);
    mli_free(f);
}

int32_t mli_st_count(const ml_st_file *f) { return f->nt; }

const ml_st_tensor *mli_st_tensor_at(const ml_st_file *f, int32_t i)
{
    return i >= 0 && i < f->nt ? &f->t[i] : NULL;
}

int32_t mli_st_meta_count(const ml_st_file *f) { return f->nm; }
const char *mli_st_meta_key(const ml_st_file *f, int32_t i)
{
    return i >= 0 && i < f->nm ? f->m[i].key : NULL;
}
const char *mli_st_meta_value(const ml_st_file *f, int32_t i)
{
    return i >= 0 && i < f->nm ? f->m[i].value : NULL;
}

const char *mli_st_meta_get(const ml_st_file *f, const char *key)
{
    for (int32_t i = 0; i < f->nm; i++)
        if (strcmp(f->m[i].key, key) == 0)
            return f->m[i].value;
    return NULL;
}

int32_t mli_st_find(const ml_st_file *f, const char *name)
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

void mli_st_read_f32(const ml_st_file *f, int32_t i, float *dst)
{
    const ml_st_tensor *t = &f->t[i];
    copy_f32_le(dst, f->data + t->begin, (size_t)t->numel);
}

int mli_st_check_finite(const ml_st_file *f, int32_t i, const char *what, ml_err *err)
{
    const ml_st_tensor *t = &f->t[i];
    const unsigned char *p = f->data + t->begin;
    for (int64_t k = 0; k < t->numel; k++, p += 4) {
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        if ((u & 0x7f800000u) != 0x7f800000u)
            continue;   /* exponent not all ones: a finite number */
        return mli_error(err, ML_ERR_FORMAT, "%s: tensor '%s' holds %s (element %lld of %lld): "
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
        return mli_error(err, ML_ERR_FORMAT,
                        "%s: tensor '%s' is a JSON %s in the header, not an object with dtype, "
                        "shape and data_offsets", what, name, mli_json_type_name(e->type));
    for (const ml_json *f = e->first; f; f = f->next) {
        const ml_json **slot = strcmp(f->key, "dtype") == 0          ? &dtype
                               : strcmp(f->key, "shape") == 0        ? &shape
                               : strcmp(f->key, "data_offsets") == 0 ? &offs
                                                                     : NULL;
        if (!slot)
            return mli_error(err, ML_ERR_FORMAT,
                            "%s: tensor '%s' has an unknown field '%s' in the header (expected "
                            "dtype, shape, data_offsets)", what, name, f->key);
        if (*slot)
            return mli_error(err, ML_ERR_FORMAT, "%s: tensor '%s' has '%s' twice", what, name,
                            f->key);
        *slot = f;
    }
    if (!dtype || !shape || !offs)
        return mli_error(err, ML_ERR_FORMAT, "%s: tensor '%s' lacks '%s' in the header", what,
                        name, !dtype ? "dtype" : !shape ? "shape" : "data_offsets");
    if (dtype->type != ML_JSON_STRING)
        return mli_error(err, ML_ERR_FORMAT, "%s: tensor '%s': dtype is a %s, not a string",
                        what, name, mli_json_type_name(dtype->type));
    /* Names compare over the string's whole length: "F32\u0000x" is not F32. */
    if (!same_name(dtype, "F32")) {
        char shown[100];
        for (int k = 0; unsupported_dtypes[k]; k++)
            if (same_name(dtype, unsupported_dtypes[k]))
                return mli_error(err, ML_ERR_UNSUPPORTED,
                                "%s: tensor '%s' has unsupported dtype %s: modlab reads only "
                                "F32; convert it (in Python: tensor.float()) and save again",
                                what, name, dtype->str);
        mli_json_escape(shown, sizeof shown, dtype->str, dtype->len < 32 ? dtype->len : 32);
        return mli_error(err, ML_ERR_FORMAT, "%s: tensor '%s' has an unknown dtype %s%s", what,
                        name, shown, dtype->len > 32 ? " (cut)" : "");
    }
    if (shape->type != ML_JSON_ARRAY)
        return mli_error(err, ML_ERR_FORMAT, "%s: tensor '%s': shape is a %s, not an array",
                        what, name, mli_json_type_name(shape->type));
    if (shape->count > ML_MAX_DIMS)
        return mli_error(err, ML_ERR_UNSUPPORTED,
                        "%s: tensor '%s' has %zu dimensions; modlab supports at most %d", what,
                        name, shape->count, ML_MAX_DIMS);
    uint64_t numel = 1;
    int32_t nd = 0;
    for (const ml_json *d = shape->first; d; d = d->next, nd++) {
        if (d->type != ML_JSON_NUMBER || !d->is_int || d->i < 0)
            return mli_error(err, ML_ERR_FORMAT,
                            "%s: tensor '%s': shape[%d] is not a non-negative integer", what,
                            name, nd);
        if (__builtin_mul_overflow(numel, (uint64_t)d->i, &numel))
            return mli_error(err, ML_ERR_FORMAT, "%s: tensor '%s': shape overflows", what,
                            name);
        t->dims[nd] = d->i;
    }
    if (offs->type != ML_JSON_ARRAY || offs->count != 2)
        return mli_error(err, ML_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets is not a [begin, end] pair", what, name);
    const ml_json *b = offs->first, *en = b->next;
    if (b->type != ML_JSON_NUMBER || !b->is_int || b->i < 0 || en->type != ML_JSON_NUMBER ||
        !en->is_int || en->i < b->i)
        return mli_error(err, ML_ERR_FORMAT,
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
        return mli_error(err, ML_ERR_FORMAT,
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

ml_st_file *mli_st_parse(const void *bytes, size_t len, const char *what, ml_err *err)
{
    const unsigned char *s = bytes;
    ml_st_file *f = NULL;
    range_key *ranges = NULL;
    name_key *names = NULL;
    what = what ? what : "safetensors";

    if (len < 8) {
        mli_error(err, ML_ERR_FORMAT,
                 "%s: file of %zu bytes is too short for a safetensors header (8-byte length "
                 "first): it is truncated or not a safetensors file", what, len);
        goto fail;
    }
    uint64_t hlen = get_le64(s);
    if (hlen > len - 8) {
        mli_error(err, ML_ERR_FORMAT,
                 "%s: header length %llu exceeds the file size (%zu bytes): the file is "
                 "truncated or not a safetensors file", what, (unsigned long long)hlen, len);
        goto fail;
    }
    if (hlen > ML_ST_MAX_HEADER) {
        mli_error(err, ML_ERR_FORMAT, "%s: header length %llu is over the %d-byte limit: not a "
                 "safetensors file", what, (unsigned long long)hlen, ML_ST_MAX_HEADER);
        goto fail;
    }
    if (hlen < 2) {
        mli_error(err, ML_ERR_FORMAT, "%s: header length %llu is too small for a JSON object",
                 what, (unsigned long long)hlen);
        goto fail;
    }
    f = mli_zalloc(sizeof *f);
    if (!f)
        goto nomem;
    f->data = s + 8 + hlen;
    f->data_len = len - 8 - hlen;
    size_t where = 0;
    ml_json_limits lim = {.max_depth = 64, .max_bytes = ML_ST_MAX_HEADER};
    f->doc = mli_json_parse((const char *)s + 8, (size_t)hlen, &lim, &where, err);
    if (!f->doc) {
        if (err && err->code == ML_ERR_NOMEM)
            goto nomem;
        mli_error_prefix(err, "%s: header (file byte %zu)", what, where + 8);
        goto fail;
    }
    const ml_json *root = mli_json_root(f->doc);
    if (root->type != ML_JSON_OBJECT) {
        mli_error(err, ML_ERR_FORMAT, "%s: header is a JSON %s, not an object", what,
                 mli_json_type_name(root->type));
        goto fail;
    }
    if (root->count > INT32_MAX) {
        mli_error(err, ML_ERR_FORMAT, "%s: too many tensors", what);
        goto fail;
    }
    f->t = mli_zalloc((root->count ? root->count : 1) * sizeof *f->t);
    ranges = mli_alloc((root->count ? root->count : 1) * sizeof *ranges);
    names = mli_alloc((root->count ? root->count : 1) * sizeof *names);
    f->by_name = mli_alloc((root->count ? root->count : 1) * sizeof *f->by_name);
    if (!f->t || !ranges || !names || !f->by_name)
        goto nomem;
    int seen_meta = 0;
    for (const ml_json *e = root->first; e; e = e->next) {
        if (strlen(e->key) != e->key_len) {
            mli_error(err, ML_ERR_FORMAT, "%s: a tensor name contains a NUL character", what);
            goto fail;
        }
        if (strcmp(e->key, "__metadata__") == 0) {
            if (seen_meta++) {
                mli_error(err, ML_ERR_FORMAT, "%s: __metadata__ appears twice in the header",
                         what);
                goto fail;
            }
            if (e->type != ML_JSON_OBJECT) {
                mli_error(err, ML_ERR_FORMAT, "%s: __metadata__ is a JSON %s, not an object of "
                         "strings", what, mli_json_type_name(e->type));
                goto fail;
            }
            f->m = mli_alloc((e->count ? e->count : 1) * sizeof *f->m);
            if (!f->m)
                goto nomem;
            for (const ml_json *kv = e->first; kv; kv = kv->next) {
                if (kv->type != ML_JSON_STRING || strlen(kv->str) != kv->len ||
                    strlen(kv->key) != kv->key_len) {
                    mli_error(err, ML_ERR_FORMAT, "%s: __metadata__ entry '%s' is not a string "
                             "(without NUL characters)", what, kv->key);
                    goto fail;
                }
                if (mli_st_meta_get(f, kv->key)) {
                    mli_error(err, ML_ERR_FORMAT, "%s: __metadata__ has the key '%s' twice",
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
            mli_error(err, ML_ERR_FORMAT,
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
            mli_error(err, ML_ERR_FORMAT, "%s: tensor '%s' appears twice in the header", what,
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
            mli_error(err, ML_ERR_FORMAT,
                     "%s: tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap in the "
                     "data section: the header is corrupt", what, prev->name,
                     (unsigned long long)prev->begin, (unsigned long long)prev->end,
                     f->t[r->idx].name, (unsigned long long)r->begin,
                     (unsigned long long)r->end);
            goto fail;
        }
        if (r->begin > at) {
            mli_error(err, ML_ERR_FORMAT,
                     "%s: data bytes [%llu, %llu) belong to no tensor (before '%s'): the "
                     "header is corrupt", what, (unsigned long long)at,
                     (unsigned long long)r->begin, f->t[r->idx].name);
            goto fail;
        }
        at = r->end;
    }
    if (at != f->data_len) {
        mli_error(err, ML_ERR_FORMAT,
                 "%s: the data section has %llu bytes but the tensors cover %llu: extra bytes "
                 "at the end, or the header is corrupt", what,
                 (unsigned long long)f->data_len, (unsigned long long)at);
        goto fail;
    }
    mli_free(ranges);
    mli_free(names);
    return f;

nomem:
    mli_error(err, ML_ERR_NOMEM, "%s: out of memory reading the safetensors header", what);
fail:
    mli_free(ranges);
    mli_free(names);
    mli_st_close(f);
    return NULL;
}

ml_st_file *mli_st_open(const char *path, ml_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    unsigned char *buf = NULL;
    ml_st_file *f = NULL;
    struct stat st;

    if (fd < 0) {
        mli_error(err, errno == ENOENT ? ML_ERR_NOT_FOUND : ML_ERR_IO, "%s: cannot open: %s",
                 path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0) {
        mli_error(err, ML_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        mli_error(err, ML_ERR_INVALID, "%s: not a regular file", path);
        goto fail;
    }
    size_t len = (size_t)st.st_size;
    buf = mli_alloc_big(len ? len : 1);
    if (!buf) {
        mli_error(err, ML_ERR_NOMEM, "%s: out of memory for %zu bytes", path, len);
        goto fail;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            mli_error(err, ML_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;   /* shrank while reading: validate what is there */
        got += (size_t)n;
    }
    f = mli_st_parse(buf, got, path, err);
    if (!f)
        goto fail;
    f->owned = buf;
    close(fd);
    return f;
fail:
    mli_free(buf);
    close(fd);
    return NULL;
}
