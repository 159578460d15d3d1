/* SPDX-License-Identifier: MIT */
/* bench_hash: how fast modlab checks a download. A 100 MB file (page-cached after it is
 * written) is hashed with mli_hash_file: SHA-256 alone, MD5 alone, and both in one pass as
 * manifests verify them; median of 5 runs each, in MB/s (10^6 bytes per second).
 *   bench_hash [--mb N] [--runs N] [--dir DIR]
 * Built by `make bench-hash` (also part of `make bench`), never by make / make check. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/rng.h"
#include "bench_util.h"
#include <modlab/modlab.h>

static int write_file(const char *path, int mb)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    static uint64_t chunk[1 << 17]; /* 1 MiB of counter-based random bytes */
    for (int m = 0; m < mb; m++) {
        for (size_t i = 0; i < sizeof chunk / sizeof chunk[0]; i++)
            chunk[i] = ml_rng_at(1, 0, (uint64_t)m * (sizeof chunk / 8) + i);
        size_t want = 1000000; /* MB, not MiB */
        if (fwrite(chunk, 1, want, f) != want) {
            fclose(f);
            return -1;
        }
    }
    return fclose(f);
}

static double rate(const char *path, int mb, int runs, int sha, int md5)
{
    double t[16];
    char sh[ML_SHA256_HEX], md[ML_MD5_HEX];
    ml_err err;
    for (int r = 0; r < runs; r++) {
        double t0 = bench_now();
        if (mli_hash_file(path, sha ? sh : NULL, md5 ? md : NULL, NULL, &err)) {
            fprintf(stderr, "bench_hash: %s\n", err.msg);
            exit(1);
        }
        t[r] = bench_now() - t0;
    }
    return mb / bench_median(t, runs);
}

int main(int argc, char **argv)
{
    int mb = bench_arg_int(argc, argv, "--mb", 100);
    int runs = bench_arg_int(argc, argv, "--runs", 5);
    const char *dir = bench_arg(argc, argv, "--dir", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mb < 1 || mb > 100000 || runs < 1 || runs > 16) {
        fprintf(stderr, "bench_hash: --mb in [1, 100000], --runs in [1, 16]\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/modlab-bench-hash-%ld.bin", dir, (long)getpid());
    if (write_file(path, mb)) {
        fprintf(stderr, "bench_hash: cannot write %s\n", path);
        unlink(path);
        return 1;
    }
    rate(path, mb, 1, 1, 1); /* warm the page cache */
    double sha = rate(path, mb, runs, 1, 0), md5 = rate(path, mb, runs, 0, 1),
           both = rate(path, mb, runs, 1, 1);
    unlink(path);
    printf("hash %d MB file, median of %d runs (MB/s)\n", mb, runs);
    printf("sha256 %.0f\nmd5 %.0f\nsha256+md5 %.0f\n", sha, md5, both);
    return 0;
}
