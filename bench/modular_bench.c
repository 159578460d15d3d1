/* SPDX-License-Identifier: MIT */
/* Does conditional computation pay? Forward CPU time of a `modular` layer (M modules, K
 * per row, controller included) against one dense module of the same size (nn's `linear`)
 * on the same batch, in evaluation and in training mode (argmax routing; with example ids
 * EM routes by its stored choice, which costs the same), and the same modular layer with
 * small_gemm=false (every GEMM through the sgemm, the controller's too), measured side by
 * side, interleaved rep by rep so that load changes hit all three alike. Reports the
 * median of `--reps` timings of `--iters` forwards each, in CPU seconds (steadier than wall
 * time on a shared machine; run with OPENBLAS_NUM_THREADS=1). Each mode also gets a
 * `modular key=value` line (`make bench` collects them: bench/run.sh, bench/table.awk).
 *   bench/modular_bench [--in 512] [--out 512] [--batch 256] [--modules 8] [--select 1]
 *                       [--reps 7] [--iters 20] [--train em]                         */
#include <modlab/modlab.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"

static ml_err err;

static ml_model *one_layer(ml_registry *reg, const char *layer, const char *opts, int in,
                           int batch)
{
    ml_shape s = {1, {in}};
    ml_opts *o = ml_opts_new(&err);
    ml_model *m = ml_model_new(reg, 1, &err);
    if (!o || !m || ml_opts_parse(o, opts, &err) || ml_model_add(m, layer, o, &err) ||
        ml_model_build(m, &s, batch, &err)) {
        fprintf(stderr, "modular_bench: %s [%s]: %s\n", layer, opts, err.msg);
        exit(1);
    }
    return m;
}

/* CPU seconds per forward of `iters` forwards. */
static double time_forward(ml_model *m, const float *x, int batch, int iters)
{
    double c0 = bench_cpu();
    for (int i = 0; i < iters; i++)
        if (!ml_model_forward(m, x, batch, &err)) {
            fprintf(stderr, "modular_bench: forward: %s\n", err.msg);
            exit(1);
        }
    return (bench_cpu() - c0) / iters;
}

/* Median per model over `reps` rounds; each round times every model once. */
static void time_all(ml_model **m, int n, const float *x, int batch, int reps, int iters,
                     double *med)
{
    double t[3][64];
    for (int k = 0; k < n; k++)
        ml_model_forward(m[k], x, batch, &err);   /* warm-up: page in weights, workspace */
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < n; k++)
            t[k][r] = time_forward(m[k], x, batch, iters);
    for (int k = 0; k < n; k++)
        med[k] = bench_median(t[k], reps);
}

int main(int argc, char **argv)
{
    int in = bench_arg_int(argc, argv, "--in", 512);
    int out = bench_arg_int(argc, argv, "--out", 512);
    int batch = bench_arg_int(argc, argv, "--batch", 256);
    int M = bench_arg_int(argc, argv, "--modules", 8);
    int K = bench_arg_int(argc, argv, "--select", 1);
    int reps = bench_arg_int(argc, argv, "--reps", 7);
    int iters = bench_arg_int(argc, argv, "--iters", 20);
    const char *train = bench_arg(argc, argv, "--train", "em");
    char mo[160], mo2[192], lo[64];
    if (reps < 1 || reps > 64 || iters < 1) {
        fprintf(stderr, "modular_bench: --reps in 1..64, --iters >= 1\n");
        return 2;
    }
    ml_registry *reg = ml_registry_new(&err);
    if (!reg || ml_registry_load_default(reg, NULL, &err)) {
        fprintf(stderr, "modular_bench: %s\n", err.msg);
        return 1;
    }
    snprintf(mo, sizeof mo, "out=%d modules=%d select=%d train=%s", out, M, K, train);
    snprintf(mo2, sizeof mo2, "%s small_gemm=false", mo);
    snprintf(lo, sizeof lo, "out=%d", out);
    ml_model *mod = one_layer(reg, "modular", mo, in, batch);
    ml_model *sg = one_layer(reg, "modular", mo2, in, batch);
    ml_model *lin = one_layer(reg, "linear", lo, in, batch);
    float *x = malloc((size_t)batch * in * sizeof(float));
    for (size_t i = 0; i < (size_t)batch * in; i++)
        x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    printf("modular_bench: in=%d out=%d batch=%d modules=%d select=%d train=%s, "
           "median of %d x %d forwards, CPU ms per forward\n", in, out, batch, M, K, train,
           reps, iters);
    for (int training = 0; training <= 1; training++) {
        ml_model *ms[3] = {lin, mod, sg};
        double t[3];
        for (int k = 0; k < 3; k++)
            ml_model_set_training(ms[k], training);
        time_all(ms, 3, x, batch, reps, iters, t);
        printf("%-10s single module (linear) %.3f ms, modular %.3f ms, ratio %.2f; "
               "small_gemm=false %.3f ms, ratio %.2f\n", training ? "training" : "eval",
               1e3 * t[0], 1e3 * t[1], t[1] / t[0], 1e3 * t[2], t[2] / t[0]);
        /* The same as key=value for bench/run.sh and bench/table.awk. */
        printf("modular in=%d out=%d batch=%d modules=%d select=%d mode=%s reps=%d "
               "linear_ms=%.4f modular_ms=%.4f ratio=%.3f sgemm_only_ms=%.4f "
               "sgemm_only_ratio=%.3f\n", in, out, batch, M, K, training ? "training" : "eval",
               reps, 1e3 * t[0], 1e3 * t[1], t[1] / t[0], 1e3 * t[2], t[2] / t[0]);
    }
    free(x);
    ml_model_free(mod);
    ml_model_free(sg);
    ml_model_free(lin);
    ml_registry_free(reg);
    return 0;
}
