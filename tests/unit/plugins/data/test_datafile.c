/* SPDX-License-Identifier: MIT */
/* datafile.c on its own (compiled into this test, as the fuzz targets do): the libdeflate
 * whole-file path holds a clean gzip file decoded, and every file it must not trust -- a bad
 * CRC, an ISIZE that lies low, high or absurdly, a cut stream, a second member, bytes after
 * the member -- goes back to zlib's stream, which reads or refuses it as before. */
#define _GNU_SOURCE
#include <config.h>

#include <modlab/modlab.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "datafile.h"
#include "runtime/registry.h"
#include "tap.h"
#include "tap_fs.h"

#ifdef HAVE_LIBDEFLATE
enum { WHOLE = 1 };
#else
enum { WHOLE = 0 };
#endif

enum { N = 100000 };
static char dir[512];
static uint8_t plain[N];

/* A gzip member of b[0..n) into out (cap bytes); returns its length. */
static size_t gz_member(const uint8_t *b, size_t n, uint8_t *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    z.next_in = (uint8_t *)b;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t len = rc == Z_STREAM_END ? z.total_out : 0;
    deflateEnd(&z);
    return len;
}

static const char *put(const char *name, const uint8_t *b, size_t n)
{
    static char path[8][600];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(b, 1, n, f);
        fclose(f);
    }
    return p;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Open `path`, check which path holds it, read it all in uneven pieces; returns the read's
 * return code, with the bytes read in *got and the truncated flag in *cut. */
static int read_whole(const char *path, int want_whole, const char *name, uint8_t *buf,
                      size_t cap, size_t *got, int *cut)
{
    const ml_host *h = mli_host_table();
    ml_data_file f;
    ml_err err;
    int rc;

    memset(&err, 0, sizeof err);
    *got = 0;
    *cut = 0;
    rc = ml_data_file_open(h, &f, path, "test", &err);
    ok(rc == 0, "%s: opens", name);
    if (rc)
        return rc;
    ok((f.gz == NULL) == want_whole, "  %s",
       want_whole ? "held whole (libdeflate)" : "streamed through zlib");
    while (*got < cap) {
        size_t piece = cap - *got < 777 ? cap - *got : 777, n = 0;
        rc = ml_data_file_read(h, &f, buf + *got, piece, &n, &err);
        *got += n;
        if (rc || n < piece)
            break;
    }
    if (rc)
        tap_diag("  %s", err.msg);
    *cut = f.truncated;
    ml_data_file_close(&f);
    return rc;
}

static void test_clean(void)
{
    static uint8_t gz[N + 1024], back[N + 16];
    const int64_t live = ml_mem_live_bytes();
    size_t n = gz_member(plain, N, gz, sizeof gz), got;
    int cut;
    const char *p = put("clean.gz", gz, n);

    ok(read_whole(p, WHOLE, "clean gzip", back, sizeof back, &got, &cut) == 0 && got == N &&
           !cut && !memcmp(back, plain, N),
       "  every byte, nothing more, not truncated");
    /* size and rewind: what cifar10 and text call straight after opening. */
    const ml_host *h = mli_host_table();
    ml_data_file f;
    ml_err err;
    int64_t bytes = -1;
    size_t g = 0;
    memset(&err, 0, sizeof err);
    if (ml_data_file_open(h, &f, p, "test", &err) == 0) {
        int rc = ml_data_file_size(h, &f, &bytes, &err);
        ok(rc == 0 && bytes == N, "size: %lld %s", (long long)bytes, rc ? err.msg : "");
        ok(ml_data_file_read(h, &f, back, 16, &g, &err) == 0 && g == 16 &&
               !memcmp(back, plain, 16),
           "  and the file is rewound to its start");
        ml_data_file_close(&f);
    }
    /* take: the payload after a header handed over without a copy (idx's use), only for
     * exactly the bytes left; a raw or streamed file has nothing to hand over. */
    memset(&err, 0, sizeof err);
    if (ml_data_file_open(h, &f, p, "test", &err) == 0) {
        uint8_t hdr[16], *t;
        ml_data_file_read(h, &f, hdr, 16, &g, &err);
        ok(ml_data_file_take(&f, N - 17) == NULL && ml_data_file_take(&f, N - 15) == NULL,
           "take: refuses any count but what is left");
        t = ml_data_file_take(&f, N - 16);
        ok(WHOLE ? t && !memcmp(t, plain + 16, N - 16) : t == NULL, "take: %s",
           WHOLE ? "the 99984 bytes after the header, in order" : "nothing (zlib stream)");
        ok(ml_data_file_read(h, &f, back, 1, &g, &err) == 0 && (WHOLE ? g == 0 : g == 1),
           "  and the file is then %s", WHOLE ? "at its end" : "where it was");
        h->free(t);
        ml_data_file_close(&f);
    }
    /* A raw file that is not gzip at all streams through zlib's pass-through. */
    p = put("raw.bin", plain, 5000);
    ok(read_whole(p, 0, "raw file", back, sizeof back, &got, &cut) == 0 && got == 5000 &&
           !memcmp(back, plain, 5000),
       "  passed through unchanged");
    /* The empty input: a valid gzip member that holds nothing. */
    n = gz_member(plain, 0, gz, sizeof gz);
    p = put("empty.gz", gz, n);
    ok(read_whole(p, WHOLE, "empty gzip member", back, sizeof back, &got, &cut) == 0 &&
           got == 0 && !cut,
       "  holds 0 bytes");
    is_int(ml_mem_live_bytes(), live, "nothing leaked");
}

/* Each damaged file: libdeflate must not keep it, and zlib's answer stands. */
static void test_untrusted(void)
{
    static uint8_t gz[2 * N + 2048], bad[2 * N + 2048], back[2 * N + 16];
    const int64_t live = ml_mem_live_bytes();
    const size_t n = gz_member(plain, N, gz, sizeof gz);
    const uint32_t isize = N;
    size_t got;
    int cut;

    memcpy(bad, gz, n);
    bad[n - 8] ^= 0x01;   /* CRC-32 */
    ok(read_whole(put("crc.gz", bad, n), 0, "bad CRC", back, sizeof back, &got, &cut) ==
           ML_ERR_FORMAT,
       "  refused as corrupt (zlib: incorrect data check)");

    memcpy(bad, gz, n);
    put_le32(bad + n - 4, isize - 1);
    ok(read_whole(put("isize-low.gz", bad, n), 0, "ISIZE one too low", back, sizeof back,
                  &got, &cut) == ML_ERR_FORMAT,
       "  refused (zlib: incorrect length check), never written past the short buffer");

    put_le32(bad + n - 4, isize + 1);
    ok(read_whole(put("isize-high.gz", bad, n), 0, "ISIZE one too high", back, sizeof back,
                  &got, &cut) == ML_ERR_FORMAT,
       "  refused");

    put_le32(bad + n - 4, 0xFFFFFFFFu);
    ok(read_whole(put("isize-huge.gz", bad, n), 0, "ISIZE 4 GiB from a small file", back,
                  sizeof back, &got, &cut) == ML_ERR_FORMAT,
       "  refused without allocating for it (beyond the deflate ratio bound)");

    ok(read_whole(put("cut-half.gz", gz, n / 2), 0, "cut in half", back, sizeof back, &got,
                  &cut) == 0 && cut && got < N,
       "  reads short and flags truncated (%zu bytes)", got);
    ok(read_whole(put("cut-trailer.gz", gz, n - 8), 0, "trailer missing", back, sizeof back,
                  &got, &cut) == 0 && cut && got == N,
       "  all data, flagged truncated: its CRC is unverified");

    /* Two members: zlib reads both; libdeflate would stop after the first. */
    size_t m1 = gz_member(plain, N / 2, bad, sizeof bad);
    size_t m2 = gz_member(plain + N / 2, N - N / 2, bad + m1, sizeof bad - m1);
    ok(read_whole(put("two.gz", bad, m1 + m2), 0, "two gzip members", back, sizeof back, &got,
                  &cut) == 0 && got == N && !memcmp(back, plain, N) && !cut,
       "  both read, in order");

    /* Bytes after the member: left to zlib, which ignores non-gzip trailing bytes. */
    memcpy(bad, gz, n);
    memset(bad + n, 0x5a, 100);
    ok(read_whole(put("garbage.gz", bad, n + 100), 0, "100 bytes after the member", back,
                  sizeof back, &got, &cut) == 0 && got == N && !memcmp(back, plain, N),
       "  the member read as zlib reads it");
    is_int(ml_mem_live_bytes(), live, "nothing leaked");
}

int main(void)
{
    /* Compressible but not trivial: a byte pattern like an image's, with some noise. */
    uint32_t s = 12345;
    for (int i = 0; i < N; i++) {
        s = s * 1103515245u + 12345u;
        plain[i] = (uint8_t)((i % 28) * 9 + ((s >> 16) & 7));
    }
    if (tap_mkdtemp(dir, sizeof dir, "datafile") != 0)
        return 1;
    tap_diag("whole-file gzip path: %s", WHOLE ? "libdeflate" : "not built (zlib only)");
    test_clean();
    test_untrusted();
    tap_cleanup_dir(dir);
    return done_testing();
}
