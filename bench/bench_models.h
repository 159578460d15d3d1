/* SPDX-License-Identifier: MIT */
/* The two benchmark models of issue 4, as modlab layer lists, with their training settings. */
#ifndef MODLAB_BENCH_MODELS_H
#define MODLAB_BENCH_MODELS_H

#include <modlab/modlab.h>

typedef struct bench_spec {
    const char *name;         /* "mlp" or "cnn" */
    int32_t batch;            /* training batch */
    int32_t train_steps;      /* steps per repetition; 0 = one full epoch */
    int32_t infer_batch;      /* inference batch */
    int32_t infer_batches;    /* inference batches per repetition */
    const char *optimizer;    /* modlab optimizer name */
    const char *opt_options;  /* "lr=0.1 momentum=0.9" */
} bench_spec;

/* The spec named `name`, or NULL. */
const bench_spec *bench_spec_find(const char *name);
/* A built model (MLP input {784}, CNN {1,28,28}; max batch max(batch, infer_batch)),
 * or NULL with err. */
ml_model *bench_model_build(ml_registry *reg, const bench_spec *s, uint64_t seed, ml_err *err);

#endif
