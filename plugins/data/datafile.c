/* SPDX-License-Identifier: MIT */
/* Reading dataset files for the readers in plugins/data: raw or gzip, bounded, checked. */
#define _GNU_SOURCE
#include <config.h>

#include "datafile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif
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

/* Big dataset buffers are written once, start to end, on every start. On these VMs a
 * first-touch page fault costs more than decoding the page (47 MB of Fashion-MNIST: 0.15 s of
 * faults against 0.07 s of libdeflate), so ask for huge pages, as mli_alloc_big does for
 * activations. Advice only: errors and kernels without THP change nothing. */
enum { HUGE_MIN = 4 << 20 };

static void advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
    const uintptr_t hi = ((uintptr_t)p + n) & ~(uintptr_t)4095;
    if (p && n >= HUGE_MIN && hi > lo)
        madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p, (void)n;
#endif
}

void *ml_data_alloc(const ml_host *host, size_t n, const char *who, const char *what,
                    ml_err *err)
{
    void *p = host->alloc(n ? n : 1);
    advise_huge(p, n);
    if (!p)
        host->error(err, ML_ERR_NOMEM, "%s: out of memory allocating %zu bytes for %s", who,
                    n, what);
    return p;
}

#ifdef HAVE_LIBDEFLATE
/* Whole gzip files at most this big on disk are decoded in one call: Fashion-MNIST's
 * largest is 26 MB. Bigger ones stream through zlib rather than sit twice in memory. */
#define WHOLE_MAX_DISK (INT64_C(1) << 30)

/* Read all of fd (disk_bytes of it) with pread, leaving the offset at 0 for gzdopen. */
static int read_all(int fd, uint8_t *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, buf + done, n - done, (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

/* The fast path: libdeflate decodes a whole single-member gzip file 2-3x faster than zlib's
 * inflate, but needs the output size first, and the only hint is the trailer's ISIZE, which
 * is data. So ISIZE only sizes the buffer after the ratio bound has capped it, and the
 * result is kept only when libdeflate reports success (CRC-32 and ISIZE checked against
 * what it decoded), consumed the file to its last byte (no second member, nothing after)
 * and filled the buffer exactly. Anything else -- a lie, a cut, a bad CRC, a second member,
 * no memory -- returns 0 and the file streams through zlib as before, which words the
 * error or reads what libdeflate does not; so the two paths accept the same files and
 * report the same messages. Returns 1 with f->mem holding the stream. */
static int whole_gzip(const ml_host *host, ml_data_file *f, int fd)
{
    const int64_t disk = f->disk_bytes;
    uint8_t *in = NULL, *out = NULL;
    struct libdeflate_decompressor *d = NULL;
    size_t in_used = 0, out_used = 0;
    int ok = 0;

    /* 18 bytes: the smallest gzip member (10 header, 2 empty block, 8 trailer). */
    if (disk < 18 || disk > WHOLE_MAX_DISK)
        return 0;
    in = host->alloc((size_t)disk);
    advise_huge(in, (size_t)disk);
    if (!in || read_all(fd, in, (size_t)disk) != 0 || in[0] != 0x1f || in[1] != 0x8b)
        goto out;
    const uint8_t *t = in + disk - 4;
    const uint64_t isize = (uint64_t)t[0] | (uint64_t)t[1] << 8 | (uint64_t)t[2] << 16 |
                           (uint64_t)t[3] << 24;
    if (isize > (uint64_t)disk * ML_DATA_GZ_MAX_RATIO + 4096)
        goto out;
    out = host->alloc(isize ? (size_t)isize : 1);
    advise_huge(out, (size_t)isize);
    d = libdeflate_alloc_decompressor();
    if (!out || !d)
        goto out;
    if (libdeflate_gzip_decompress_ex(d, in, (size_t)disk, out, (size_t)isize, &in_used,
                                      &out_used) == LIBDEFLATE_SUCCESS &&
        in_used == (size_t)disk && out_used == (size_t)isize) {
        f->mem = out;
        f->mem_len = out_used;
        f->mem_pos = 0;
        out = NULL;
        ok = 1;
    }
out:
    if (d)
        libdeflate_free_decompressor(d);
    host->free(out);
    host->free(in);
    return ok;
}
#else
static int whole_gzip(const ml_host *host, ml_data_file *f, int fd)
{
    (void)host, (void)f, (void)fd;
    return 0;
}
#endif

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
    f->host = host;
    if (whole_gzip(host, f, fd)) {
        close(fd);
        f->compressed = 1;
        return 0;
    }
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
    if (f->mem)
        f->host->free(f->mem);
    f->mem = NULL;
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

    if (!f->gz) {   /* held whole: checked when it was decoded, so never truncated */
        size_t left = f->mem_len - f->mem_pos;
        done = n < left ? n : left;
        if (done)
            memcpy(p, f->mem + f->mem_pos, done);
        f->mem_pos += done;
        *got = done;
        return 0;
    }
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

uint8_t *ml_data_file_take(ml_data_file *f, size_t n)
{
    if (f->gz || !f->mem || f->mem_len - f->mem_pos != n)
        return NULL;
    uint8_t *p = f->mem;
    /* Within a buffer decoding just touched: far cheaper than a fresh n-byte copy, whose
     * first-touch page faults cost as much as the decoding itself on a VM. */
    if (f->mem_pos)
        memmove(p, p + f->mem_pos, n);
    f->mem = NULL;
    f->mem_len = f->mem_pos = 0;
    return p;
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
    if (!f->gz) {
        f->mem_pos = 0;
        return 0;
    }
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
    if (!f->gz) {   /* as the count below: what is left from here, then rewound */
        *bytes = (int64_t)(f->mem_len - f->mem_pos);
        f->mem_pos = 0;
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
