/* SPDX-License-Identifier: MIT */
/* The idx reader on the real Fashion-MNIST files of Debian's dataset-fashion-mnist package. */
#define _GNU_SOURCE
#include <modlab/modlab.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "tap.h"
#include "tap_model.h"

/* MODLAB_FASHION_DIR overrides where the files are looked for. */
#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static ml_registry *reg;
static ml_err err;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of this process: steadier than wall time on a shared, loaded machine. */
static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static ml_dataset *open_split(const char *dir, const char *prefix)
{
    char im[600], lb[600];
    snprintf(im, sizeof im, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(lb, sizeof lb, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    ml_opts *o = ml_opts_new(&err);
    if (!o)
        return NULL;
    if (ml_opts_set(o, "images", ML_OPT_STRING, im, &err) != 0 ||
        ml_opts_set(o, "labels", ML_OPT_STRING, lb, &err) != 0 ||
        ml_opts_set(o, "dataset", ML_OPT_STRING, "fashion-mnist", &err) != 0) {
        ml_opts_free(o);
        return NULL;
    }
    return ml_dataset_open(reg, "idx", o, &err);
}

/* Read every example in batches of 128 (labels per class, pixel range, mean), the way the
 * trainer does, and time it. */
static void check_split(const char *dir, const char *prefix, int64_t want, int64_t per_class)
{
    double t0 = now(), c0 = cpu();
    ml_dataset *d = open_split(dir, prefix);
    double t_open = now() - t0, c_open = cpu() - c0;
    if (!ok(d != NULL, "%s split opens", prefix)) {
        tap_diag("  %s", err.msg);
        return;
    }
    tap_diag("  open %s: %.3f s (%.3f s of CPU)", prefix, t_open, c_open);
    const ml_data_info *in = ml_dataset_info(d);
    is_int(in->size, want, "  examples");
    ok(in->x_shape.ndim == 3 && in->x_shape.dim[0] == 1 && in->x_shape.dim[1] == 28 &&
           in->x_shape.dim[2] == 28, "  x_shape {1,28,28}");
    is_int(in->classes, 10, "  10 classes");

    enum { B = 128 };
    static float x[B * 784], y[B];
    int64_t idx[B], count[10] = {0}, bad_label = 0, bad_pixel = 0;
    double sum = 0;
    int rc = 0;
    t0 = now();
    for (int64_t first = 0; first < in->size && rc == 0; first += B) {
        int32_t n = (int32_t)(in->size - first < B ? in->size - first : B);
        for (int32_t i = 0; i < n; i++)   /* a strided order, not just sequential */
            idx[i] = (first + i) * 7919 % in->size;
        rc = ml_dataset_read(d, idx, n, x, y, &err);
        for (int32_t i = 0; i < n && rc == 0; i++) {
            int l = (int)y[i];
            if (l < 0 || l > 9 || (float)l != y[i])
                bad_label++;
            else
                count[l]++;
            for (int j = 0; j < 784; j++) {
                float v = x[i * 784 + j];
                bad_pixel += !(v >= 0.0f && v <= 1.0f);
                sum += v;
            }
        }
    }
    double t_read = now() - t0;
    is_int(rc, 0, "  every batch reads");
    is_int(bad_label, 0, "  labels are integers in 0..9");
    is_int(bad_pixel, 0, "  pixels in [0,1]");
    int even = 1;
    for (int c = 0; c < 10; c++)
        even &= count[c] == per_class;
    ok(even, "  %lld examples of each class", (long long)per_class);
    /* Fashion-MNIST's published mean pixel is 0.2860 (train) / 0.2868 (test). */
    is_near(sum / ((double)in->size * 784), strcmp(prefix, "train") == 0 ? 0.2860 : 0.2868,
            0.0005, "  mean pixel as published");
    tap_diag("  read %s: %.0f examples/s (batches of %d, strided order, checking included)",
             prefix, (double)in->size / t_read, B);

    /* The bare copy rate, without the checks above. */
    t0 = now();
    c0 = cpu();
    int64_t done = 0;
    while (now() - t0 < 0.3) {
        for (int32_t i = 0; i < B; i++)
            idx[i] = (done + i) * 7919 % in->size;
        ml_dataset_read(d, idx, B, x, y, &err);
        done += B;
    }
    tap_diag("  read %s: %.2f M examples/s, bare copy (%.2f M per CPU second)", prefix,
             (double)done / (now() - t0) / 1e6, (double)done / (cpu() - c0) / 1e6);
    ml_dataset_close(d);
}

int main(void)
{
    const char *dir = getenv("MODLAB_FASHION_DIR");
    struct stat st;
    dir = dir ? dir : FASHION_DIR;
    if (stat(dir, &st) != 0) {
        printf("1..0 # SKIP %s is missing (apt-get install dataset-fashion-mnist)\n", dir);
        return 0;
    }
    if (!(reg = tap_registry(NULL, NULL)))
        return 1;
    int64_t live = ml_mem_live_bytes();
    check_split(dir, "train", 60000, 6000);
    check_split(dir, "t10k", 10000, 1000);
    is_int(ml_mem_live_bytes(), live, "everything freed on close");
    ml_registry_free(reg);
    return done_testing();
}
