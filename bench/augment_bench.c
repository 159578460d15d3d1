/* SPDX-License-Identifier: MIT */
/* augment_bench: what data preparation costs the bench CNN (bench_models.c) when training
 * batches go through random_crop (padding 2) and hflip (issue 22). Fashion-MNIST is read
 * by the idx plugin through its manifest (uint8 pixels), as ml.train reads it. Timed side
 * by side, in interleaved rounds, medians of each:
 *   plain       ml_trainer_run over CHUNK batches, no transforms (reads prefetched)
 *   plain serial  the same, one batch per call (reads on the training thread, as before)
 *   augmented   the same with crop + flip (read and transformed on the prefetch thread)
 *   sync        augmented, one batch per call: nothing overlaps, preparation is serial
 *   prep        ml_pipeline_read of one batch alone (what the prefetch thread does)
 * The data-preparation share of step time is (augmented - plain) / plain: what the
 * overlap leaves visible; prep / plain is what it would cost without the overlap.
 *   augment_bench [--rounds N] [--threads T] [--chunk B]
 * Built by `make bench-augment` (also part of `make bench`), never by make / make check. */
#include <stdio.h>
#include <stdlib.h>

#include "bench_models.h"
#include "bench_util.h"
#include <modlab/modlab.h>

enum { MAX_ROUNDS = 31 };

static void die(const char *what, const ml_err *err)
{
    fprintf(stderr, "augment_bench: %s: %s\n", what, err->msg);
    exit(1);
}

static ml_pipeline *crop_flip(ml_registry *reg, ml_dataset *d)
{
    ml_err err = {0};
    ml_pipeline *p = ml_pipeline_new(reg, d, &err);
    ml_opts *crop = ml_opts_new(&err), *flip = ml_opts_new(&err);
    if (!p || !crop || !flip || ml_opts_parse(crop, "padding=2", &err) ||
        ml_pipeline_add(p, "random_crop", crop, &err) || ml_pipeline_add(p, "hflip", flip, &err))
        die("crop + flip pipeline", &err);
    return p;
}

/* Milliseconds per training step over `chunk` batches of `order`, `per_call` a call. */
static double time_steps(ml_trainer *t, ml_dataset *d, const int64_t *order, int64_t n,
                         int32_t batch, int64_t first, int chunk, int per_call)
{
    ml_err err = {0};
    ml_step_stats st = {0};
    double t0 = bench_now();
    for (int64_t b = first; b < first + chunk; b += per_call)
        if (ml_trainer_run(t, d, order, n, batch, b, per_call, 1, &st, &err))
            die("training", &err);
    return (bench_now() - t0) * 1e3 / chunk;
}

int main(int argc, char **argv)
{
    int rounds = bench_arg_int(argc, argv, "--rounds", 7);
    int threads = bench_arg_int(argc, argv, "--threads", 2);
    int chunk = bench_arg_int(argc, argv, "--chunk", 20);
    ml_err err = {0};
    if (rounds < 1 || rounds > MAX_ROUNDS || chunk < 2) {
        fprintf(stderr, "augment_bench: --rounds 1..%d, --chunk >= 2\n", MAX_ROUNDS);
        return 2;
    }
    ml_blas_set_threads(threads);
    ml_registry *reg = ml_registry_new(&err);
    ml_manifest *man = NULL;
    if (!reg || ml_registry_load_default(reg, NULL, &err) ||
        !(man = ml_manifest_load("fashion-mnist", &err)) || ml_manifest_fetch(man, 0, &err))
        die("fashion-mnist", &err);
    ml_opts *o = ml_manifest_split_opts(man, "train", &err);
    ml_dataset *d = o ? ml_dataset_open(reg, ml_manifest_format(man), o, &err) : NULL;
    if (!d)
        die("opening the training split", &err);
    const bench_spec *s = bench_spec_find("cnn");
    ml_model *m = bench_model_build(reg, s, 1, &err);
    ml_shape target = {0, {0}};
    ml_opts *lo = ml_opts_new(&err), *oo = ml_opts_new(&err);
    if (!m || !lo || !oo || ml_opts_parse(oo, s->opt_options, &err))
        die("the bench CNN", &err);
    ml_trainer *t = ml_trainer_new(m, &target, "cross_entropy", lo, s->optimizer, oo, &err);
    if (!t)
        die("trainer", &err);
    ml_pipeline *p = crop_flip(reg, d);
    int64_t n = ml_dataset_info(d)->size, *order = malloc((size_t)n * sizeof *order);
    float *x = malloc((size_t)s->batch * 784 * sizeof *x), *y = malloc((size_t)s->batch * 4);
    if (!order || !x || !y)
        return 1;
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    ml_shuffle(order, n, 1, 1000);
    double plain[MAX_ROUNDS], pser[MAX_ROUNDS], aug[MAX_ROUNDS], sync[MAX_ROUNDS];
    double prep[MAX_ROUNDS];
    int64_t first = 0;
    time_steps(t, d, order, n, s->batch, first, chunk, chunk);   /* warm-up */
    for (int r = 0; r < rounds; r++) {
        first = (first + chunk) % (n / s->batch - chunk);
        ml_trainer_set_augment(t, NULL, 0, 0);
        plain[r] = time_steps(t, d, order, n, s->batch, first, chunk, chunk);
        pser[r] = time_steps(t, d, order, n, s->batch, first, chunk, 1);
        ml_trainer_set_augment(t, p, 1, r + 1);
        aug[r] = time_steps(t, d, order, n, s->batch, first, chunk, chunk);
        sync[r] = time_steps(t, d, order, n, s->batch, first, chunk, 1);
        double t0 = bench_now();
        for (int b = 0; b < chunk; b++)
            if (ml_pipeline_read(p, d, order + (first + b) * s->batch, s->batch, 1, r + 1, x, y,
                                 &err))
                die("pipeline", &err);
        prep[r] = (bench_now() - t0) * 1e3 / chunk;
    }
    double mp = bench_median(plain, rounds), ma = bench_median(aug, rounds);
    double mps = bench_median(pser, rounds);
    double ms = bench_median(sync, rounds), mr = bench_median(prep, rounds);
    printf("augment_bench: bench CNN, batch %d, %d threads, %d rounds of %d steps (medians, "
           "ms per step)\n", s->batch, threads, rounds, chunk);
    printf("  plain                 %8.3f\n", mp);
    printf("  plain, serial reads   %8.3f   %+.1f%%\n", mps, 100.0 * (mps - mp) / mp);
    printf("  crop+flip, prefetched %8.3f   %+.1f%% of plain (the visible data-preparation "
           "share)\n", ma, 100.0 * (ma - mp) / mp);
    printf("  crop+flip, serial     %8.3f   %+.1f%%\n", ms, 100.0 * (ms - mp) / mp);
    printf("  preparation alone     %8.3f   %.1f%% of a plain step\n", mr, 100.0 * mr / mp);
    ml_pipeline_free(p);
    ml_trainer_free(t);
    ml_model_free(m);
    ml_dataset_close(d);
    ml_manifest_free(man);
    ml_registry_free(reg);
    free(order), free(x), free(y);
    return 0;
}
