/* SPDX-License-Identifier: MIT */
/* The benchmark's Fashion-MNIST tensors: decoded by modlab's idx reader, stored raw. */
#include "bench_data.h"

#include <modlab/modlab.h>
#include <stdio.h>
#include <stdlib.h>

static int write_file(const char *dir, const char *name, const float *v, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(v, sizeof *v, n, f) == n;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "bench: cannot write %s\n", path);
    return ok ? 0 : -1;
}

/* One split, every example in file order, through the same reader ml.dataset uses. */
static int prep_split(ml_registry *reg, ml_manifest *man, const char *split, const char *dir,
                      int64_t want)
{
    ml_err err = {0};
    ml_opts *o = ml_manifest_split_opts(man, split, &err);
    ml_dataset *d = o ? ml_dataset_open(reg, ml_manifest_format(man), o, &err) : NULL;
    int rc = -1;
    if (!d) {
        fprintf(stderr, "bench: fashion-mnist %s: %s\n", split, err.msg);
        return -1;
    }
    const ml_data_info *info = ml_dataset_info(d);
    if (info->size != want || ml_shape_numel(&info->x_shape) != BENCH_PIXELS) {
        fprintf(stderr, "bench: fashion-mnist %s has %lld examples, expected %lld\n", split,
                (long long)info->size, (long long)want);
        ml_dataset_close(d);
        return -1;
    }
    float *x = malloc((size_t)want * BENCH_PIXELS * sizeof *x);
    float *y = malloc((size_t)want * sizeof *y);
    int64_t *idx = malloc((size_t)want * sizeof *idx);
    char xn[64], yn[64];
    if (x && y && idx) {
        for (int64_t i = 0; i < want; i++)
            idx[i] = i;
        if (ml_dataset_read(d, idx, (int32_t)want, x, y, &err) != 0)
            fprintf(stderr, "bench: reading %s: %s\n", split, err.msg);
        else {
            snprintf(xn, sizeof xn, "%s_x.f32", split);
            snprintf(yn, sizeof yn, "%s_y.f32", split);
            rc = write_file(dir, xn, x, (size_t)want * BENCH_PIXELS) ||
                 write_file(dir, yn, y, (size_t)want) ? -1 : 0;
        }
    }
    free(x);
    free(y);
    free(idx);
    ml_dataset_close(d);
    return rc;
}

int bench_data_prep(const char *dir)
{
    ml_err err = {0};
    ml_registry *reg = ml_registry_new(&err);
    ml_manifest *man = NULL;
    int rc = -1;
    if (!reg || ml_registry_load_default(reg, NULL, &err) != 0 ||
        !(man = ml_manifest_load("fashion-mnist", &err)) ||
        ml_manifest_fetch(man, 0, &err) != 0) {
        fprintf(stderr, "bench: fashion-mnist: %s\n", err.msg);
        goto out;
    }
    if (prep_split(reg, man, "train", dir, BENCH_TRAIN) == 0 &&
        prep_split(reg, man, "test", dir, BENCH_TEST) == 0)
        rc = 0;
out:
    ml_manifest_free(man);
    ml_registry_free(reg);
    return rc;
}

static float *read_file(const char *dir, const char *name, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    float *v = malloc(n * sizeof *v);
    int ok = f && v && fread(v, sizeof *v, n, f) == n && fgetc(f) == EOF;
    if (f)
        fclose(f);
    if (!ok) {
        fprintf(stderr, "bench: %s is missing or not %zu floats; run `ml_bench prep`\n",
                path, n);
        free(v);
        return NULL;
    }
    return v;
}

int bench_data_load(const char *dir, bench_data *d)
{
    d->train_x = read_file(dir, "train_x.f32", (size_t)BENCH_TRAIN * BENCH_PIXELS);
    d->train_y = read_file(dir, "train_y.f32", BENCH_TRAIN);
    d->test_x = read_file(dir, "test_x.f32", (size_t)BENCH_TEST * BENCH_PIXELS);
    d->test_y = read_file(dir, "test_y.f32", BENCH_TEST);
    if (d->train_x && d->train_y && d->test_x && d->test_y)
        return 0;
    bench_data_free(d);
    return -1;
}

void bench_data_free(bench_data *d)
{
    free(d->train_x);
    free(d->train_y);
    free(d->test_x);
    free(d->test_y);
    d->train_x = d->train_y = d->test_x = d->test_y = NULL;
}
