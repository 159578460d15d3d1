/* SPDX-License-Identifier: MIT */
/* The safetensors writer: tensors and metadata collected, the JSON header built (padded so
 * the data is 8-aligned), and the file written crash-safely (temp file, fsync, rename). */
#define _GNU_SOURCE
#include "formats/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/mem.h"
#include "formats/json.h"
#include "formats/safetensors_le.h"

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int k = 0; k < 8; k++)
        p[k] = (unsigned char)(v >> (8 * k));
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

ml_st_writer *mli_st_writer_new(ml_err *err)
{
    return mli_znew(sizeof(ml_st_writer), "safetensors writer", err);
}

void mli_st_writer_free(ml_st_writer *w)
{
    if (!w)
        return;
    for (int32_t i = 0; i < w->nt; i++)
        mli_free(w->t[i].name);
    for (int32_t i = 0; i < w->nm; i++) {
        mli_free(w->m[i].key);
        mli_free(w->m[i].value);
    }
    mli_free(w->t);
    mli_free(w->m);
    mli_free(w);
}

static int grow(void **arr, int32_t *cap, int32_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    if (*cap > INT32_MAX / 2)
        return -1;
    int32_t c = *cap ? *cap * 2 : 16;
    void *p = mli_realloc(*arr, (size_t)c * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = c;
    return 0;
}

int mli_st_writer_add(ml_st_writer *w, const char *name, int32_t ndim, const int64_t *dims,
                     const float *data, ml_err *err)
{
    if (!name || !*name || strcmp(name, "__metadata__") == 0)
        return mli_error(err, ML_ERR_INVALID,
                        "safetensors writer: bad tensor name '%s' (must be non-empty and not "
                        "__metadata__)", name ? name : "(null)");
    if (ndim < 0 || ndim > ML_MAX_DIMS || (ndim > 0 && !dims))
        return mli_error(err, ML_ERR_INVALID,
                        "safetensors writer: tensor '%s' has %d dimensions (0..%d allowed)",
                        name, ndim, ML_MAX_DIMS);
    uint64_t numel = 1;
    for (int32_t k = 0; k < ndim; k++) {
        if (dims[k] < 0 || __builtin_mul_overflow(numel, (uint64_t)dims[k], &numel))
            return mli_error(err, ML_ERR_INVALID,
                            "safetensors writer: tensor '%s' has a bad dimension %lld", name,
                            (long long)dims[k]);
    }
    if (numel > UINT64_MAX / 8 || (numel && !data))
        return mli_error(err, ML_ERR_INVALID, "safetensors writer: tensor '%s' has no data",
                        name);
    for (int32_t i = 0; i < w->nt; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return mli_error(err, ML_ERR_INVALID,
                            "safetensors writer: duplicate tensor name '%s'", name);
    if (grow((void **)&w->t, &w->capt, w->nt, sizeof *w->t) < 0)
        return mli_error(err, ML_ERR_NOMEM, "safetensors writer: out of memory");
    wtensor *t = &w->t[w->nt];
    memset(t, 0, sizeof *t);
    t->name = mli_strdup(name);
    if (!t->name)
        return mli_error(err, ML_ERR_NOMEM, "safetensors writer: out of memory");
    t->ndim = ndim;
    for (int32_t k = 0; k < ndim; k++)
        t->dims[k] = dims[k];
    t->data = data;
    t->nbytes = numel * sizeof(float);
    w->data_bytes += t->nbytes;
    w->nt++;
    return 0;
}

int mli_st_writer_meta(ml_st_writer *w, const char *key, const char *value, ml_err *err)
{
    if (!key || !value)
        return mli_error(err, ML_ERR_INVALID, "safetensors writer: NULL metadata key or value");
    for (int32_t i = 0; i < w->nm; i++)
        if (strcmp(w->m[i].key, key) == 0)
            return mli_error(err, ML_ERR_INVALID,
                            "safetensors writer: duplicate metadata key '%s'", key);
    if (grow((void **)&w->m, &w->capm, w->nm, sizeof *w->m) < 0)
        return mli_error(err, ML_ERR_NOMEM, "safetensors writer: out of memory");
    char *k = mli_strdup(key), *v = mli_strdup(value);
    if (!k || !v) {
        mli_free(k);
        mli_free(v);
        return mli_error(err, ML_ERR_NOMEM, "safetensors writer: out of memory");
    }
    w->m[w->nm].key = k;
    w->m[w->nm].value = v;
    w->nm++;
    return 0;
}

/* 8-byte length + header JSON padded with spaces to a multiple of 8. */
static int build_header(ml_st_writer *w, ml_jbuf *b, ml_err *err)
{
    mli_jbuf_init(b);
    mli_jbuf_putn(b, "\0\0\0\0\0\0\0\0{", 9);
    int first = 1;
    if (w->nm) {
        mli_jbuf_puts(b, "\"__metadata__\":{");
        for (int32_t i = 0; i < w->nm; i++) {
            if (i)
                mli_jbuf_puts(b, ",");
            mli_jbuf_str(b, w->m[i].key, strlen(w->m[i].key));
            mli_jbuf_puts(b, ":");
            mli_jbuf_str(b, w->m[i].value, strlen(w->m[i].value));
        }
        mli_jbuf_puts(b, "}");
        first = 0;
    }
    uint64_t off = 0;
    for (int32_t i = 0; i < w->nt; i++) {
        const wtensor *t = &w->t[i];
        if (!first)
            mli_jbuf_puts(b, ",");
        first = 0;
        mli_jbuf_str(b, t->name, strlen(t->name));
        mli_jbuf_puts(b, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int32_t k = 0; k < t->ndim; k++)
            mli_jbuf_printf(b, "%s%lld", k ? "," : "", (long long)t->dims[k]);
        mli_jbuf_printf(b, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                       (unsigned long long)(off + t->nbytes));
        off += t->nbytes;
    }
    mli_jbuf_puts(b, "}");
    while (b->len % 8 && !b->failed)
        mli_jbuf_puts(b, " ");
    if (mli_jbuf_finish(b, "safetensors writer", err) < 0)
        goto fail;
    if (b->len - 8 > ML_ST_MAX_HEADER) {
        mli_error(err, ML_ERR_INVALID,
                 "safetensors writer: header of %zu bytes exceeds the %d-byte limit readers "
                 "accept (too many tensors or too much metadata)", b->len - 8,
                 ML_ST_MAX_HEADER);
        goto fail;
    }
    put_le64((unsigned char *)b->data, (uint64_t)(b->len - 8));
    return 0;
fail:
    mli_jbuf_free(b);
    return err ? err->code : ML_ERR_NOMEM;
}

int mli_st_writer_to_memory(ml_st_writer *w, void **out, size_t *len, ml_err *err)
{
    ml_jbuf b;
    int rc = build_header(w, &b, err);
    if (rc < 0)
        return rc;
    size_t total = b.len + (size_t)w->data_bytes;
    unsigned char *buf = mli_alloc(total ? total : 1);
    if (!buf) {
        mli_jbuf_free(&b);
        return mli_error(err, ML_ERR_NOMEM,
                        "safetensors writer: out of memory for a %zu-byte file", total);
    }
    memcpy(buf, b.data, b.len);
    size_t at = b.len;
    for (int32_t i = 0; i < w->nt; i++) {
        copy_f32_le(buf + at, w->t[i].data, (size_t)(w->t[i].nbytes / sizeof(float)));
        at += (size_t)w->t[i].nbytes;
    }
    mli_jbuf_free(&b);
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
int mli_st_writer_write(ml_st_writer *w, const char *path, ml_err *err)
{
    static unsigned counter;
    ml_jbuf b;
    char tmp[PATH_MAX];
    int fd = -1, rc;
    const char *step = "create";

    if (!path || !*path)
        return mli_error(err, ML_ERR_INVALID, "safetensors writer: empty output path");
    rc = build_header(w, &b, err);
    if (rc < 0)
        return mli_error_prefix(err, "%s", path);
    for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
        unsigned n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
        if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), n) >=
            (int)sizeof tmp) {
            mli_jbuf_free(&b);
            return mli_error(err, ML_ERR_INVALID, "%s: path too long", path);
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        rc = mli_error(err, ML_ERR_IO,
                      "%s: cannot create the temp file %s: %s; check that the directory "
                      "exists and is writable", path, tmp, strerror(errno));
        mli_jbuf_free(&b);
        return rc;
    }
    step = "write";
    if (mli_test_write_fault(path) < 0 || write_all(fd, b.data, b.len) < 0)
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
    mli_test_pause_before_rename(path);
    if (rename(tmp, path) != 0)
        goto fail;
    mli_fsync_dir_of(path);
    mli_jbuf_free(&b);
    return 0;

fail:
    rc = mli_error(err, ML_ERR_IO, "%s: %s of %s failed: %s; the previous file (if any) is "
                  "untouched: free disk space or check permissions", path, step, tmp,
                  strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    mli_jbuf_free(&b);
    return rc;
}
