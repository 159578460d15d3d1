/* SPDX-License-Identifier: MIT */
/* The two benchmark models of issue 4, as modlab layer lists, with their training settings. */
#include "bench_models.h"

#include <string.h>

/* MLP 784-256-128-10, SGD 0.1 momentum 0.9, batch 128, a full epoch per repetition.
 * CNN conv5x5-32 (same padding), ReLU, maxpool2, conv5x5-64, ReLU, maxpool2, fc1024, ReLU,
 * fc10, Adam 1e-3, batch 64, 40 steps per repetition (5 repetitions: 200 batches). */
static const bench_spec specs[] = {
    {"mlp", 128, 0, 1000, 10, "sgd", "lr=0.1 momentum=0.9"},
    {"cnn", 64, 40, 1000, 2, "adam", "lr=0.001"},
};

static const char *const mlp_layers[][2] = {
    {"linear", "out=256"}, {"relu", ""}, {"linear", "out=128"},
    {"relu", ""}, {"linear", "out=10"}, {NULL, NULL},
};
static const char *const cnn_layers[][2] = {
    {"conv2d", "out=32 kernel=5 padding=2"}, {"relu", ""}, {"maxpool2d", "kernel=2 stride=2"},
    {"conv2d", "out=64 kernel=5 padding=2"}, {"relu", ""}, {"maxpool2d", "kernel=2 stride=2"},
    {"flatten", ""}, {"linear", "out=1024"}, {"relu", ""}, {"linear", "out=10"},
    {NULL, NULL},
};

const bench_spec *bench_spec_find(const char *name)
{
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    return NULL;
}

ml_model *bench_model_build(ml_registry *reg, const bench_spec *s, uint64_t seed, ml_err *err)
{
    const int mlp = strcmp(s->name, "mlp") == 0;
    const char *const(*layers)[2] = mlp ? mlp_layers : cnn_layers;
    ml_model *m = ml_model_new(reg, seed, err);
    /* The MLP takes the flat 784 pixels (no flatten layer needed), the CNN an image. */
    ml_shape in = mlp ? (ml_shape){1, {784}} : (ml_shape){3, {1, 28, 28}};
    if (!m)
        return NULL;
    for (int i = 0; layers[i][0]; i++) {
        ml_opts *o = ml_opts_new(err);
        if (o && ml_opts_parse(o, layers[i][1], err) != 0) {
            ml_opts_free(o);
            o = NULL;
        }
        /* ml_model_add owns o from here on, also when it fails. */
        if (!o || ml_model_add(m, layers[i][0], o, err) != 0) {
            ml_model_free(m);
            return NULL;
        }
    }
    int32_t max_batch = s->batch > s->infer_batch ? s->batch : s->infer_batch;
    if (ml_model_build(m, &in, max_batch, err) != 0) {
        ml_model_free(m);
        return NULL;
    }
    return m;
}
