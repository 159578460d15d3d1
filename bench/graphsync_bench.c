/* SPDX-License-Identifier: MIT */
/* graphsync_bench: how much faster one graphsync layer runs after block-diagonalisation.
 * The same layer (784 inputs, units 256, steps 4, modules 4 by default) is timed in its
 * dense form, then pruned (one training step with prune_after=1: hard modules, cross-module
 * edges dropped, K block GEMMs) and timed again; forward (evaluation) and a training
 * forward+backward, medians over interleaved rounds (odd REPEATS, so the median is one round). A balanced fixed mask (random_blocks)
 * is timed too.
 *   graphsync_bench [units] [steps] [modules] [batch] [activation]
 * Built by `make bench-graphsync` (also part of `make bench`), never by make / make check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/model.h"
#include "runtime/registry.h"
#include "base/rng.h"
#include "bench_util.h"

enum { REPEATS = 9, IN = 784 };

/* Mean time of `iters` calls in milliseconds: forward only, or forward and backward. */
static double time_once(ml_model *m, const float *x, int batch, int train, int iters)
{
    ml_err err;
    m->training = train;
    double t0 = bench_now();
    for (int i = 0; i < iters; i++) {
        if (mli_model_forward_into(m, x, batch, &err) ||
            (train && mli_model_backward(m, x, batch, 0, &err))) {
            fprintf(stderr, "graphsync_bench: %s\n", err.msg);
            exit(1);
        }
    }
    return (bench_now() - t0) * 1e3 / iters;
}

static ml_model *build(ml_registry *reg, const char *options, int batch)
{
    ml_err err;
    ml_model *m = ml_model_new(reg, 1, &err);
    ml_opts *o = m ? ml_opts_new(&err) : NULL;
    ml_shape in = {1, {IN}};
    if (!o || ml_opts_parse(o, options, &err) || ml_model_add(m, "graphsync", o, &err) ||
        ml_model_build(m, &in, batch, &err)) {
        fprintf(stderr, "graphsync_bench: %s\n", err.msg);
        exit(1);
    }
    return m;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 256, t = argc > 2 ? atoi(argv[2]) : 4;
    int k = argc > 3 ? atoi(argv[3]) : 4, batch = argc > 4 ? atoi(argv[4]) : 128;
    const char *act = argc > 5 ? argv[5] : "tanh";
    int iters = 20;
    char opts[192];
    ml_err err;
    ml_rng rng;
    ml_registry *reg = ml_registry_new(&err);
    if (!reg || ml_registry_load_default(reg, getenv("MODLAB_PLUGIN_PATH"), &err)) {
        fprintf(stderr, "graphsync_bench: %s\n", err.msg);
        return 1;
    }
    float *x = malloc(sizeof(float) * (size_t)batch * IN);
    mli_rng_init(&rng, 1, 1);
    mli_rng_fill_uniform(&rng, x, (int64_t)batch * IN, -1.0f, 1.0f);

    snprintf(opts, sizeof opts, "units=%d steps=%d modules=%d reg=none activation=%s", n, t, k,
             act);
    ml_model *ms[3];
    ms[0] = build(reg, opts, batch);
    /* The same layer (same seed) pruned: one training step makes prune_after=1 due, the
     * next training forward prunes. */
    strcat(opts, " prune_after=1");
    ms[1] = build(reg, opts, batch);
    ms[1]->training = 1;
    if (mli_model_forward_into(ms[1], x, batch, &err) ||
        mli_model_backward(ms[1], x, batch, 0, &err) ||
        mli_model_forward_into(ms[1], x, batch, &err)) {
        fprintf(stderr, "graphsync_bench: %s\n", err.msg);
        return 1;
    }
    char sizes[128] = "", rep[512];
    const ml_diagnostics_iface *di = ms[1]->layers[0].entry.extension(ML_IFACE_DIAGNOSTICS);
    di->report(ms[1]->layers[0].self, rep, sizeof rep);
    const char *p = strstr(rep, "\"module_sizes\":");
    snprintf(sizes, sizeof sizes, "%s", p ? p + 15 : "?");
    sizes[strcspn(sizes, "}")] = '\0';
    snprintf(opts, sizeof opts, "units=%d steps=%d modules=%d reg=none mask=random_blocks "
             "activation=%s", n, t, k, act);
    ms[2] = build(reg, opts, batch);
    /* Rounds interleave the three layers, so a load change on a shared machine hits all of
     * them alike; the medians over rounds are compared. */
    double fwd[3][REPEATS], step[3][REPEATS], f[3], s[3];
    for (int r = 0; r < REPEATS; r++)
        for (int i = 0; i < 3; i++) {
            fwd[i][r] = time_once(ms[i], x, batch, 0, iters);
            step[i][r] = time_once(ms[i], x, batch, 1, iters);
        }
    for (int i = 0; i < 3; i++) {
        f[i] = bench_median(fwd[i], REPEATS);
        s[i] = bench_median(step[i], REPEATS);
        ml_model_free(ms[i]);
    }
    double fwd_dense = f[0], fwd_blocked = f[1], fwd_mask = f[2];
    double step_dense = s[0], step_blocked = s[1], step_mask = s[2];

    printf("graphsync %d inputs, units %d, steps %d, modules %d, %s, batch %d, median of %d x "
           "%d calls (interleaved), OPENBLAS_NUM_THREADS=%s\n", IN, n, t, k, act, batch, REPEATS,
           iters,
           getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)");
    printf("%-34s %12s %16s\n", "layer", "forward ms", "fwd+bwd ms");
    printf("%-34s %12.3f %16.3f\n", "dense", fwd_dense, step_dense);
    printf("%-34s %12.3f %16.3f\n", "pruned", fwd_blocked, step_blocked);
    printf("  (module sizes %s, from the untrained graph)\n", sizes);
    printf("%-34s %12.3f %16.3f\n", "random_blocks (balanced)", fwd_mask, step_mask);
    printf("speed-up of the pruned layer: forward %.2fx, forward+backward %.2fx\n",
           fwd_dense / fwd_blocked, step_dense / step_blocked);
    printf("speed-up of balanced blocks:  forward %.2fx, forward+backward %.2fx\n",
           fwd_dense / fwd_mask, step_dense / step_mask);
    free(x);
    ml_registry_free(reg);
    return 0;
}
