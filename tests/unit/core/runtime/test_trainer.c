/* SPDX-License-Identifier: MIT */
/* The training-step driver allocates nothing per step: after a warm-up, the allocator is set
 * to fail the very next allocation, and further steps (and evaluations) must still succeed.
 * Runs an MLP, a CNN with batchnorm and dropout and a residual CNN, through ml_trainer_run. */
#include <stdlib.h>

#include "base/mem.h"
#include "tap.h"
#include "tap_model.h"
#include <modlab/modlab.h>

/* Steps of model m (specified, not built; freed here) with allocation forbidden. */
static void check_steps(ml_registry *reg, const char *name, ml_model *m, const ml_shape *in,
                        const char *optimizer)
{
    ml_err err = {0};
    ml_shape target = {0, {0}};
    int rc;
    if (!ok(ml_model_build(m, in, 16, &err) == 0, "%s builds", name)) {
        tap_diag("  %s", err.msg);
        ml_model_free(m);
        return;
    }
    ml_trainer *t = ml_trainer_new(m, &target, "cross_entropy", tap_opts(NULL), optimizer,
                                   tap_opts(NULL), &err);
    ml_opts *dopts = tap_opts("kind=blobs size=64 classes=3");
    char dims[32];
    snprintf(dims, sizeof dims, "dims=%lld", (long long)ml_shape_numel(in));
    ml_opts_parse(dopts, dims, &err);
    ml_dataset *d = ml_dataset_open(reg, "synthetic", dopts, &err);
    if (!ok(t && d, "%s: trainer and data", name)) {
        tap_diag("  %s", err.msg);
        goto done;
    }
    int64_t order[64];
    for (int i = 0; i < 64; i++)
        order[i] = i;
    ml_step_stats st = {0};
    ok(ml_trainer_run(t, d, order, 64, 16, 0, 2, 1, &st, &err) == 0, "%s: warm-up steps",
       name);
    int64_t blocks = ml_mem_live_blocks();
    ml_mem_fail_at(1);   /* the next allocation, wherever it happens, fails */
    rc = ml_trainer_run(t, d, order, 64, 16, 0, 4, 1, &st, &err);
    int rc_eval = ml_trainer_run(t, d, order, 64, 16, 0, 4, 0, &st, &err);
    /* Still armed: no allocation during the steps consumed the failure. */
    void *probe = mli_alloc(1);
    int armed = probe == NULL;
    mli_free(probe);
    ml_mem_fail_at(0);
    ok(rc == 0, "%s: 4 training steps with allocation forbidden", name);
    ok(rc_eval == 0, "%s: 4 evaluation batches with allocation forbidden", name);
    ok(armed && ml_mem_live_blocks() == blocks, "%s: no allocation happened during the steps",
       name);
    ok(st.steps == 10 && st.seen > 0, "%s: the steps really ran (%lld)", name,
       (long long)st.steps);
done:
    ml_dataset_close(d);
    ml_trainer_free(t);
    ml_model_free(m);
}

static void check_model(ml_registry *reg, const char *name, const char *const *layers,
                        const ml_shape *in, const char *optimizer)
{
    ml_err err;
    ml_model *m = ml_model_new(reg, 1, &err);
    for (int i = 0; layers[i]; i += 2)
        if (ml_model_add(m, layers[i], tap_opts(layers[i + 1]), &err)) {
            ok(0, "%s: layer %s: %s", name, layers[i], err.msg);
            ml_model_free(m);
            return;
        }
    check_steps(reg, name, m, in, optimizer);
}

/* A residual CNN as recipes/resnet.lua builds it (a graph): a stem, an identity block and
 * a stride-2 block with a 1x1 projection shortcut, global average pooling. */
static void check_residual(ml_registry *reg)
{
    ml_err err = {0};
    ml_shape flat = {1, {36}};
    ml_model *m = ml_model_new(reg, 2, &err);
    static const struct {
        const char *layer, *opts;
        int32_t in[2];   /* node ids read, -2: the node before; -3: none */
    } nodes[] = {
        {"reshape", "shape=1x6x6", {-2, -3}},                       /* 0 */
        {"conv2d", "out=4 kernel=3 padding=1 bias=false", {-2, -3}}, /* 1: stem */
        {"batchnorm", "", {-2, -3}}, {"relu", "", {-2, -3}},        /* 2, 3 */
        {"conv2d", "out=4 kernel=3 padding=1 bias=false", {-2, -3}}, {"batchnorm", "", {-2, -3}},
        {"add", "", {5, 3}}, {"relu", "", {-2, -3}},                /* 6, 7: identity block */
        {"conv2d", "out=8 kernel=3 stride=2 padding=1 bias=false", {-2, -3}},
        {"batchnorm", "", {-2, -3}},                                /* 9 */
        {"conv2d", "out=8 kernel=1 stride=2 bias=false", {7, -3}},  /* 10: projection */
        {"batchnorm", "", {-2, -3}}, {"add", "", {9, 11}}, {"relu", "", {-2, -3}},
        {"global_avgpool", "", {-2, -3}}, {"linear", "out=3", {-2, -3}},
    };
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        int32_t ins[2], n = 0;
        for (int k = 0; k < 2 && nodes[i].in[k] != -3; k++)
            ins[n++] = nodes[i].in[k] == -2 ? (int32_t)i - 1 : nodes[i].in[k];
        if (i == 0)
            ins[0] = ML_MODEL_INPUT;
        if (ml_model_node(m, nodes[i].layer, tap_opts(nodes[i].opts), ins, n, &err) < 0) {
            ok(0, "residual cnn: node %zu (%s): %s", i + 1, nodes[i].layer, err.msg);
            ml_model_free(m);
            return;
        }
    }
    check_steps(reg, "residual cnn with sgd", m, &flat, "sgd");
}

/* clip_norm bounds the update: plain SGD with lr 1 moves the parameters by exactly the
 * clipped gradient, whose global norm is the clip value. */
static void check_clipping(ml_registry *reg)
{
    ml_err err;
    ml_model *m = ml_model_new(reg, 3, &err);
    ml_shape in = {1, {4}}, target = {0, {0}};
    float x[8] = {10, -20, 30, 40, 5, 6, -70, 8}, y[2] = {0, 1}, before[64];
    ml_step_stats st = {0};
    if (!ok(ml_model_add(m, "linear", tap_opts("out=2"), &err) == 0 &&
            ml_model_build(m, &in, 2, &err) == 0, "clip: model builds")) {
        ml_model_free(m);
        return;
    }
    ml_trainer *t = ml_trainer_new(m, &target, "cross_entropy", tap_opts(NULL), "sgd",
                                   tap_opts("lr=1"), &err);
    int32_t np = ml_model_nparam_tensors(m), k = 0;
    for (int32_t i = 0; i < np; i++)
        for (int64_t j = 0; j < ml_model_param(m, i)->numel; j++)
            before[k++] = ml_model_param(m, i)->value[j];
    ml_trainer_set_clip_norm(t, 0.01f);
    ok(ml_trainer_step(t, x, y, 2, &st, &err) == 0, "clip: a step runs");
    double sq = 0;
    k = 0;
    for (int32_t i = 0; i < np; i++)
        for (int64_t j = 0; j < ml_model_param(m, i)->numel; j++) {
            double d = ml_model_param(m, i)->value[j] - before[k++];
            sq += d * d;
        }
    is_near(sqrt(sq), 0.01, 1e-5, "clip: the update's norm equals clip_norm");
    ml_trainer_free(t);
    ml_model_free(m);
}

int main(void)
{
    ml_err err;
    ml_registry *reg = ml_registry_new(&err);
    ml_registry_load_default(reg, getenv("MODLAB_PLUGIN_PATH"), &err);
    static const char *const mlp[] = {"linear", "out=32", "relu", "", "dropout", "p=0.2",
                                      "linear", "out=3", NULL};
    static const char *const cnn[] = {"reshape", "shape=1x6x6", "conv2d", "out=4 kernel=3 padding=1",
                                      "batchnorm", "", "relu", "", "maxpool2d", "kernel=2",
                                      "flatten", "", "linear", "out=3", NULL};
    ml_shape flat = {1, {36}};
    check_model(reg, "mlp with sgd", mlp, &flat, "sgd");
    check_model(reg, "cnn with adam", cnn, &flat, "adam");
    check_residual(reg);
    check_clipping(reg);
    ml_registry_free(reg);
    is_int(ml_mem_live_blocks(), 0, "everything freed");
    return done_testing();
}
