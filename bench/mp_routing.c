/* SPDX-License-Identifier: MIT */
/* Routing overhead of multipath blocks: the CPU time of a router's forward pass as a share
 * of the forward pass of the block that contains it (the router plus n conv3x3 + batchnorm
 * + relu paths), for n = 2 and 4 and each router, on the recipe's second-block shape
 * {n, C, 14, 14}. The router is timed on its own (the same layer the block uses as its
 * sublayer) on the same input, alternating with the block so load changes hit both.
 *   make bench-multipath   or   bench/mp_routing [--reps 40] [--batch 128] [--hw 14] [--kv 1]
 * Run with OPENBLAS_NUM_THREADS=1; medians of per-pass CPU seconds are printed. */
#include <stdio.h>
#include <stdlib.h>

#include <modlab/modlab.h>

#include "bench_util.h"

static void die(const char *what, const ml_err *err)
{
    fprintf(stderr, "mp_routing: %s: %s\n", what, err->msg);
    exit(1);
}

static ml_model *one_layer(ml_registry *reg, const char *layer, const char *opts,
                           const ml_shape *in, int32_t batch)
{
    ml_err err = {0};
    ml_model *m = ml_model_new(reg, 1, &err);
    ml_opts *o = m ? ml_opts_new(&err) : NULL;
    if (!o || ml_opts_parse(o, opts, &err) || ml_model_add(m, layer, o, &err) ||
        ml_model_build(m, in, batch, &err))
        die(layer, &err);
    ml_model_set_training(m, 0);
    return m;
}

static double time_forward(ml_model *m, const float *x, int32_t batch)
{
    ml_err err = {0};
    double t0 = bench_cpu();
    if (!ml_model_forward(m, x, batch, &err))
        die("forward", &err);
    return bench_cpu() - t0;
}

int main(int argc, char **argv)
{
    int reps = bench_arg_int(argc, argv, "--reps", 40);
    int32_t batch = bench_arg_int(argc, argv, "--batch", 128);
    int hw = bench_arg_int(argc, argv, "--hw", 14);
    int kv = bench_arg_int(argc, argv, "--kv", 0);   /* 1: also key=value lines */
    /* {routing, router options, label}: cross_prediction with both its predictors. */
    static const char *routings[][3] = {
        {"fdcc", "", "fdcc"},
        {"cross_prediction", "predictor=conv", "cross_pred(conv)"},
        {"cross_prediction", "predictor=linear", "cross_pred(linear)"},
        {"static", "", "static"},
    };
    enum { NROUTINGS = sizeof routings / sizeof routings[0] };
    static const int paths[] = {2, 4}, widths[] = {8, 16};
    ml_err err = {0};
    ml_registry *reg = ml_registry_new(&err);
    if (!reg || ml_registry_load_default(reg, NULL, &err))
        die("plugins", &err);
    double *tb = malloc((size_t)reps * sizeof *tb), *tr = malloc((size_t)reps * sizeof *tr);
    if (!tb || !tr)
        return 1;
    printf("%-5s %-5s %-18s %12s %12s %8s\n", "paths", "width", "routing", "block_ms",
           "router_ms", "share");
    for (int pi = 0; pi < 2; pi++)
        for (int wi = 0; wi < 2; wi++)
            for (int ri = 0; ri < NROUTINGS; ri++) {
                int n = paths[pi], c = widths[wi];
                ml_shape in = {4, {n, c, hw, hw}};
                char bopts[160];
                snprintf(bopts, sizeof bopts, "paths=%d out=%d kernel=3 padding=1 "
                         "batchnorm=true routing=%s %s", n, c, routings[ri][0],
                         routings[ri][1]);
                char layer[48];
                snprintf(layer, sizeof layer, "mp_route_%s", routings[ri][0]);
                ml_model *block = one_layer(reg, "multipath", bopts, &in, batch);
                ml_model *router = one_layer(reg, layer, routings[ri][1], &in, batch);
                size_t nx = (size_t)batch * (size_t)ml_shape_numel(&in);
                float *x = malloc(nx * sizeof *x);
                if (!x)
                    return 1;
                for (size_t i = 0; i < nx; i++)
                    x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
                time_forward(block, x, batch);   /* warm-up */
                time_forward(router, x, batch);
                for (int r = 0; r < reps; r++) {
                    tb[r] = time_forward(block, x, batch);
                    tr[r] = time_forward(router, x, batch);
                }
                double b = bench_median(tb, reps), t = bench_median(tr, reps);
                printf("%-5d %-5d %-18s %12.3f %12.3f %7.1f%%\n", n, c, routings[ri][2],
                       1e3 * b, 1e3 * t, 100.0 * t / b);
                if (kv)   /* for bench/run.sh and bench/table.awk */
                    printf("routing paths=%d width=%d router=%s reps=%d block_ms=%.4f "
                           "router_ms=%.4f share=%.4f\n", n, c, routings[ri][2], reps,
                           1e3 * b, 1e3 * t, t / b);
                fflush(stdout);
                free(x);
                ml_model_free(block);
                ml_model_free(router);
            }
    free(tb);
    free(tr);
    ml_registry_free(reg);
    return 0;
}
