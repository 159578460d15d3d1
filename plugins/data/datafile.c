/* SPDX-License-Identifier: MIT */
/* Reading dataset files for the readers in plugins/data: raw or gzip, bounded, checked. */
#define _GNU_SOURCE
#include "datafile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* gzread takes an unsigned and returns an int: feed it pieces well below INT_MAX. */
#define CHUNK (1u << 30)

const char *ml_data_base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

const char *ml_data_advice(char *buf, size_t cap, const char *dataset)
{
    if (dataset && dataset[0])
        snprintf(buf, cap, "delete it from the cache (modlab data verify %s) and fetch again",
                 dataset);
    else
        snprintf(buf, cap, "delete it and fetch it again");
    return buf;
}

void ml_data_bytes_to_float(float *o, const uint8_t *p, int64_t n, float div)
{
    int64_t j = 0;
#if defined(__SSE2__)
    /* A table lookup per byte runs at a third of this; the division (not a multiplication by
     * 1/255) keeps the values bit-identical to p / 255.0f, as torchvision's ToTensor gives. */
    const __m128 d = _mm_set1_ps(div);
    const __m128i z = _mm_setzero_si128();
    for (; j + 16 <= n; j += 16) {
        const __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + j));
        const __m128i lo = _mm_unpacklo_epi8(b, z), hi = _mm_unpackhi_epi8(b, z);
        _mm_storeu_ps(o + j, _mm_div_ps(_mm_cvtepi32_ps(_mm_unpacklo_epi16(lo, z)), d));
        _mm_storeu_ps(o + j + 4, _mm_div_ps(_mm_cvtepi32_ps(_mm_unpackhi_epi16(lo, z)), d));
        _mm_storeu_ps(o + j + 8, _mm_div_ps(_mm_cvtepi32_ps(_mm_unpacklo_epi16(hi, z)), d));
        _mm_storeu_ps(o + j + 12, _mm_div_ps(_mm_cvtepi32_ps(_mm_unpackhi_epi16(hi, z)), d));
    }
#endif
    for (; j < n; j++)
        o[j] = (float)p[j] / div;
}

void *ml_data_alloc(const ml_host *host, size_t n, const char *who, const char *what,
                    ml_err *err)
{
    void *p = host->alloc(n ? n : 1);
    if (!p)
        host->error(err, ML_ERR_NOMEM, "%s: out of memory allocating %zu bytes for %s", who,
                    n, what);
    return p;
}

int ml_data_file_open(const ml_host *host, ml_data_file *f, const char *path,
                      const char *who, ml_err *err)
{
    struct stat st;
    int fd;

    memset(f, 0, sizeof *f);
    f->path = path;
    f->base = ml_data_base(path);
    f->who = who;
    if (!path || !path[0])
        return host->error(err, ML_ERR_INVALID, "%s: empty file path", who);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return host->error(err, errno == ENOENT ? ML_ERR_NOT_FOUND : ML_ERR_IO,
                           "%s: cannot open %s: %s", who, path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return host->error(err, ML_ERR_IO, "%s: cannot stat %s: %s", who, path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return host->error(err, ML_ERR_INVALID, "%s: %s is %s, not a regular file", who,
                           path, S_ISDIR(st.st_mode) ? "a directory" : "a device or pipe");
    }
    f->disk_bytes = (int64_t)st.st_size;
    f->gz = gzdopen(fd, "rb");
    if (!f->gz) {
        close(fd);
        return host->error(err, ML_ERR_NOMEM, "%s: %s: out of memory opening the file", who,
                           path);
    }
    /* Big buffers: the files are read start to end once. Must precede the first read. */
    gzbuffer(f->gz, 1u << 18);
    f->compressed = !gzdirect(f->gz);
    return 0;
}

void ml_data_file_close(ml_data_file *f)
{
    if (f->gz)
        gzclose_r(f->gz);
    f->gz = NULL;
}

/* Turn zlib's error state after a short read into ours. */
static int file_check(const ml_host *host, ml_data_file *f, int64_t at, ml_err *err)
{
    int zerr = Z_OK;
    const char *zmsg = gzerror(f->gz, &zerr);

    if (zerr == Z_OK)
        return 0;
    if (zerr == Z_BUF_ERROR) {   /* "unexpected end of file": the stream was cut */
        f->truncated = 1;
        return 0;
    }
    if (zerr == Z_ERRNO)
        return host->error(err, ML_ERR_IO, "%s: %s: read error after %lld bytes: %s",
                           f->who, f->path, (long long)at, strerror(errno));
    if (zerr == Z_MEM_ERROR)
        return host->error(err, ML_ERR_NOMEM, "%s: %s: out of memory decompressing", f->who,
                           f->base);
    char advice[160];
    return host->error(err, ML_ERR_FORMAT,
                       "%s: %s: corrupt gzip data after %lld bytes (%s); %s", f->who, f->base,
                       (long long)at, zmsg ? zmsg : "zlib error",
                       ml_data_advice(advice, sizeof advice, NULL));
}

int ml_data_file_read(const ml_host *host, ml_data_file *f, void *buf, size_t n,
                      size_t *got, ml_err *err)
{
    unsigned char *p = buf;
    size_t done = 0;

    while (done < n) {
        unsigned want = n - done > CHUNK ? CHUNK : (unsigned)(n - done);
        int r = gzread(f->gz, p + done, want);
        if (r > 0)
            done += (size_t)r;
        if (r < 0 || (unsigned)r < want) {
            int rc = file_check(host, f, (int64_t)done, err);
            if (rc)
                return rc;
            break;
        }
    }
    *got = done;
    return 0;
}

int ml_data_file_skip_rest(const ml_host *host, ml_data_file *f, int64_t limit,
                           int64_t *rest, ml_err *err)
{
    unsigned char scratch[1 << 14];
    int64_t seen = 0;

    while (seen < limit) {
        int64_t left = limit - seen;
        size_t want = left < (int64_t)sizeof scratch ? (size_t)left : sizeof scratch;
        size_t got = 0;
        int rc = ml_data_file_read(host, f, scratch, want, &got, err);
        if (rc)
            return rc;
        seen += (int64_t)got;
        if (got < want)
            break;
    }
    *rest = seen;
    return 0;
}

int ml_data_file_rewind(const ml_host *host, ml_data_file *f, ml_err *err)
{
    if (gzrewind(f->gz) != 0)
        return host->error(err, ML_ERR_IO, "%s: %s: cannot rewind: %s", f->who, f->path,
                           strerror(errno));
    f->truncated = 0;
    return 0;
}

int ml_data_file_size(const ml_host *host, ml_data_file *f, int64_t *bytes, ml_err *err)
{
    int64_t n = 0;
    int rc;

    if (!f->compressed) {
        *bytes = f->disk_bytes;
        return 0;
    }
    rc = ml_data_file_skip_rest(host, f, f->disk_bytes * ML_DATA_GZ_MAX_RATIO + 4096, &n,
                                err);
    if (rc == 0) {
        int cut = f->truncated;   /* keep what the count learned across the rewind */
        rc = ml_data_file_rewind(host, f, err);
        f->truncated = cut;
    }
    if (rc == 0)
        *bytes = n;
    return rc;
}
