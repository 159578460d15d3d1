/* SPDX-License-Identifier: MIT */
/* modlab's side of `make bench`: training and inference samples/s of the issue-4 models on
 * in-memory Fashion-MNIST tensors, through the public C API (what ml.train drives).
 *   ml_bench prep DIR                         decode Fashion-MNIST into DIR/ as .f32
 *   ml_bench run --model mlp|cnn --threads N --reps R --data DIR
 *   ml_bench accuracy --model mlp --epochs E --threads N --seed S --data DIR
 * Prints "rep ..." lines and one "result ..." (or "accuracy ...") line of key=value. */
#include <math.h>
#include <modlab/modlab.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_data.h"
#include "bench_models.h"
#include "bench_util.h"

enum { MAX_REPS = 64 };

typedef struct bench_run {
    const bench_spec *spec;
    bench_data data;
    ml_registry *reg;
    ml_model *m;
    ml_trainer *t;
    int64_t order[BENCH_TRAIN];
    int64_t pos;          /* next example of the current epoch's order */
    uint64_t seed, epoch;
    float *xb, *yb;       /* the batch, gathered as a data loader would */
} bench_run;

static void die(const char *what, const ml_err *err)
{
    fprintf(stderr, "ml_bench: %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

static void new_epoch(bench_run *r)
{
    for (int64_t i = 0; i < BENCH_TRAIN; i++)
        r->order[i] = i;
    ml_shuffle(r->order, BENCH_TRAIN, r->seed, 1000 + r->epoch++);
    r->pos = 0;
}

/* One optimizer step on the next batch of the shuffled order; returns its size. */
static int32_t train_step(bench_run *r, ml_step_stats *st)
{
    ml_err err = {0};
    if (r->pos >= BENCH_TRAIN)
        new_epoch(r);
    int32_t nb = (int32_t)(BENCH_TRAIN - r->pos < r->spec->batch ? BENCH_TRAIN - r->pos
                                                                    : r->spec->batch);
    for (int32_t i = 0; i < nb; i++) {
        int64_t k = r->order[r->pos + i];
        memcpy(r->xb + (size_t)i * BENCH_PIXELS, r->data.train_x + k * BENCH_PIXELS,
               BENCH_PIXELS * sizeof(float));
        r->yb[i] = r->data.train_y[k];
    }
    r->pos += nb;
    if (ml_trainer_step(r->t, r->xb, r->yb, nb, st, &err) != 0)
        die("training step", &err);
    return nb;
}

/* Test-set forward passes; returns correct predictions when `correct` is wanted. */
static int64_t infer(bench_run *r, int32_t batches, int64_t first)
{
    ml_err err = {0};
    int32_t B = r->spec->infer_batch;
    int64_t correct = 0;
    ml_model_set_training(r->m, 0);
    for (int32_t b = 0; b < batches; b++) {
        int64_t start = (first + (int64_t)b * B) % BENCH_TEST;
        const float *out = ml_model_forward(r->m, r->data.test_x + start * BENCH_PIXELS, B,
                                            &err);
        if (!out)
            die("inference", &err);
        for (int32_t i = 0; i < B; i++) {
            int best = 0;
            for (int c = 1; c < 10; c++)
                if (out[i * 10 + c] > out[i * 10 + best])
                    best = c;
            correct += best == (int)r->data.test_y[start + i];
        }
    }
    ml_model_set_training(r->m, 1);
    return correct;
}

static void setup(bench_run *r, int argc, char **argv)
{
    ml_err err = {0};
    const char *model = bench_arg(argc, argv, "--model", "mlp");
    if (!(r->spec = bench_spec_find(model))) {
        fprintf(stderr, "ml_bench: unknown model '%s' (mlp or cnn)\n", model);
        exit(2);
    }
    r->seed = (uint64_t)bench_arg_int(argc, argv, "--seed", 1);
    ml_blas_set_threads(bench_arg_int(argc, argv, "--threads", 1));
    if (bench_data_load(bench_arg(argc, argv, "--data", "bench/out/data"), &r->data) != 0)
        exit(1);
    if (!(r->reg = ml_registry_new(&err)) || ml_registry_load_default(r->reg, NULL, &err))
        die("plugins", &err);
    if (!(r->m = bench_model_build(r->reg, r->spec, r->seed, &err)))
        die("model", &err);
    ml_shape target = {0, {0}};
    ml_opts *lo = ml_opts_new(&err), *oo = ml_opts_new(&err);
    if (!lo || !oo || ml_opts_parse(oo, r->spec->opt_options, &err))
        die("optimizer options", &err);
    r->t = ml_trainer_new(r->m, &target, "cross_entropy", lo, r->spec->optimizer, oo, &err);
    if (!r->t)
        die("trainer", &err);
    r->xb = malloc((size_t)r->spec->batch * BENCH_PIXELS * sizeof(float));
    r->yb = malloc((size_t)r->spec->batch * sizeof(float));
    if (!r->xb || !r->yb)
        die("batch buffers", NULL);
    new_epoch(r);
}

static void teardown(bench_run *r)
{
    ml_trainer_free(r->t);
    ml_model_free(r->m);
    ml_registry_free(r->reg);
    bench_data_free(&r->data);
    free(r->xb);
    free(r->yb);
}

static int cmd_run(int argc, char **argv)
{
    static bench_run r;
    double train[MAX_REPS], infer_sps[MAX_REPS], cpu[MAX_REPS];
    int reps = bench_arg_int(argc, argv, "--reps", 5);
    int threads = bench_arg_int(argc, argv, "--threads", 1);
    ml_step_stats st = {0};
    if (reps < 1 || reps > MAX_REPS)
        reps = 5;
    setup(&r, argc, argv);
    const bench_spec *s = r.spec;
    int32_t steps = s->train_steps ? s->train_steps
                                   : (BENCH_TRAIN + s->batch - 1) / s->batch;
    /* Warm-up: first touches of every buffer, OpenBLAS thread start, one inference. */
    for (int i = 0; i < 5; i++)
        train_step(&r, &st);
    infer(&r, 1, 0);
    for (int rep = 0; rep < reps; rep++) {
        int64_t n = 0;
        if (!s->train_steps)
            r.pos = BENCH_TRAIN;   /* a repetition is exactly one fresh epoch */
        double t0 = bench_now(), c0 = bench_cpu();
        for (int32_t i = 0; i < steps; i++)
            n += train_step(&r, &st);
        train[rep] = (double)n / (bench_now() - t0);
        cpu[rep] = (double)n / (bench_cpu() - c0);
        t0 = bench_now();
        infer(&r, s->infer_batches, (int64_t)rep * s->infer_batches * s->infer_batch);
        infer_sps[rep] = (double)s->infer_batches * s->infer_batch / (bench_now() - t0);
        printf("rep side=modlab model=%s threads=%d rep=%d train_sps=%.0f infer_sps=%.0f "
               "train_cpu_sps=%.0f\n", s->name, threads, rep + 1, train[rep], infer_sps[rep],
               cpu[rep]);
        fflush(stdout);
    }
    printf("result side=modlab model=%s threads=%d", s->name, threads);
    bench_print_list("train_reps", train, reps);
    bench_print_list("infer_reps", infer_sps, reps);
    printf(" train_sps=%.0f infer_sps=%.0f rss_kb=%ld loss=%.4f train_cpu_sps=%.0f\n",
           bench_median(train, reps), bench_median(infer_sps, reps), bench_peak_rss_kb(),
           st.seen ? st.loss / (double)st.seen : NAN, bench_median(cpu, reps));
    teardown(&r);
    return 0;
}

static int cmd_accuracy(int argc, char **argv)
{
    static bench_run r;
    ml_step_stats st = {0};
    int epochs = bench_arg_int(argc, argv, "--epochs", 10);
    setup(&r, argc, argv);
    int32_t steps = (BENCH_TRAIN + r.spec->batch - 1) / r.spec->batch;
    double t0 = bench_now();
    for (int e = 0; e < epochs; e++)
        for (int32_t i = 0; i < steps; i++)
            train_step(&r, &st);
    double secs = bench_now() - t0;
    int64_t correct = infer(&r, BENCH_TEST / r.spec->infer_batch, 0);
    printf("accuracy side=modlab model=%s epochs=%d seed=%llu test_acc=%.4f train_s=%.1f\n",
           r.spec->name, epochs, (unsigned long long)r.seed, (double)correct / BENCH_TEST,
           secs);
    teardown(&r);
    return 0;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    if (strcmp(cmd, "prep") == 0 && argc == 3)
        return bench_data_prep(argv[2]) == 0 ? 0 : 1;
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc, argv);
    if (strcmp(cmd, "accuracy") == 0)
        return cmd_accuracy(argc, argv);
    fprintf(stderr, "usage: ml_bench prep DIR | run --model mlp|cnn --threads N --reps R "
            "--data DIR | accuracy --model mlp --epochs E --seed S --data DIR\n");
    return 2;
}
