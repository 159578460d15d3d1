/* SPDX-License-Identifier: MIT */
/* Graph models through the C API: whole residual, concat and tied-weight graphs pass the
 * finite-difference gradient check; a chain written as nodes is the chain; wrong graphs are
 * errors at build naming the node; the input normalisation is part of the model (a residual
 * CNN's steps allocate nothing: test_trainer.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "runtime/model.h"
#include "tap.h"
#include "tap_model.h"

enum { IN = ML_MODEL_INPUT };

static ml_registry *reg;

/* A node of `layer` ("name k=v ...") reading inputs[0..nin); -1 after a failed check. */
static int32_t node(ml_model *m, const char *spec, const int32_t *inputs, int32_t nin,
                    ml_err *err)
{
    char name[64];
    const char *sp = strchr(spec, ' ');
    size_t n = sp ? (size_t)(sp - spec) : strlen(spec);
    snprintf(name, sizeof name, "%.*s", (int)n, spec);
    return ml_model_node(m, name, tap_opts(sp ? sp + 1 : NULL), inputs, nin, err);
}

#define NODE(m, spec, ...)                                                                  \
    node(m, spec, (const int32_t[]){__VA_ARGS__},                                           \
         sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t), &err)

static void gradcheck(ml_model *m, const ml_shape *in, const char *what)
{
    ml_gradcheck_result res;
    ml_err err = {0};
    int rc = mli_gradcheck_model(m, in, 7, &res, &err);
    if (!ok(rc == 0, "%s: the gradient check runs", what)) {
        tap_diag("  %s", err.msg);
        return;
    }
    ok(res.max_rel_err_input >= 0 && res.max_rel_err_input < 1e-2,
       "%s: input gradient (max rel err %.2e)", what, res.max_rel_err_input);
    ok(res.max_rel_err_params >= 0 && res.max_rel_err_params < 1e-2,
       "%s: parameter gradient (max rel err %.2e, %lld coordinates)", what,
       res.max_rel_err_params, (long long)res.checked);
}

/* x -> linear -> [linear, tanh, linear] + identity -> add -> tanh. */
static void test_residual(void)
{
    ml_err err = {0};
    ml_shape in = {1, {4}};
    ml_model *m = ml_model_new(reg, 3, &err);
    int32_t a = NODE(m, "linear out=5", IN);
    int32_t b = NODE(m, "linear out=5", a);
    int32_t c = NODE(m, "tanh", b);
    int32_t d = NODE(m, "linear out=5", c);
    int32_t s = NODE(m, "add", d, a);
    ok(a == 0 && s == 4, "residual: node ids count up from 0 (%d, %d)", a, s);
    NODE(m, "tanh", s);
    gradcheck(m, &in, "residual MLP");
    ml_model_free(m);
}

/* The input's gradient passes through nodes without parameters (tanh, then a branch). */
static void test_input_gradient(void)
{
    ml_err err = {0};
    ml_shape in = {1, {4}};
    ml_model *m = ml_model_new(reg, 6, &err);
    int32_t a = NODE(m, "tanh", IN);
    int32_t b = NODE(m, "sigmoid", a);
    int32_t c = NODE(m, "linear out=3", a);
    int32_t d = NODE(m, "linear out=3", b);
    NODE(m, "add", c, d);
    gradcheck(m, &in, "input gradient through parameterless nodes");
    ml_model_free(m);
}

/* Gradient buffers shared by liveness: a deep chain holds two, and training gives the same
 * parameters, bit for bit, with sharing on and off. */
static void test_sharing(void)
{
    ml_err err = {0};
    ml_shape in = {1, {16}}, target = {0, {0}};
    float *params[2] = {NULL, NULL};
    int64_t bytes[2], unshared[2];
    size_t np = 0;
    for (int off = 0; off < 2; off++) {
        if (off)
            setenv("MODLAB_SHARE_BUFFERS", "0", 1);
        ml_model *m = tap_model(reg, 8, "linear out=16|relu|linear out=16|relu|linear out=16|"
                                "relu|linear out=16|relu|linear out=3", &in, 8, &err);
        unsetenv("MODLAB_SHARE_BUFFERS");
        ml_trainer *t = m ? ml_trainer_new(m, &target, "cross_entropy", tap_opts(NULL), "sgd",
                                           tap_opts("lr=0.1"), &err) : NULL;
        ml_dataset *ds = ml_dataset_open(reg, "synthetic",
                                         tap_opts("kind=blobs size=32 classes=3 dims=16"), &err);
        int64_t order[32];
        ml_step_stats st = {0};
        for (int i = 0; i < 32; i++)
            order[i] = i;
        if (!ok(t && ds && ml_trainer_run(t, ds, order, 32, 8, 0, 4, 1, &st, &err) == 0,
                "sharing %s: 4 training steps", off ? "off" : "on"))
            tap_diag("  %s", err.msg);
        bytes[off] = m ? ml_model_buffer_bytes(m, &unshared[off]) : 0;
        params[off] = m ? tap_snapshot(m, &np) : NULL;
        ml_dataset_close(ds);
        ml_trainer_free(t);
        ml_model_free(m);
    }
    /* 9 nodes, 8 of batch 8 x 16 floats and the last 8 x 3: activations 4,192 B either way;
     * gradients in 2 buffers of 512 B shared, in 9 (4,192 B) not. */
    int64_t acts = 8 * (8 * 16 * 4) + 8 * 3 * 4;
    is_int(bytes[0], acts + 2 * 8 * 16 * 4, "shared: the activations and two gradient buffers");
    is_int(unshared[0], 2 * acts, "unshared: a gradient buffer per node");
    is_int(bytes[1], unshared[1], "with MODLAB_SHARE_BUFFERS=0 nothing is shared");
    ok(params[0] && params[1] && !memcmp(params[0], params[1], np * sizeof(float)),
       "the same parameters after training, bit for bit");
    free(params[0]);
    free(params[1]);
}

/* Two conv branches of different widths on one input, joined along channels. */
static void test_concat(void)
{
    ml_err err = {0};
    ml_shape in = {3, {2, 5, 5}};
    ml_model *m = ml_model_new(reg, 4, &err);
    int32_t a = NODE(m, "conv2d out=3 kernel=3 padding=1", IN);
    int32_t b = NODE(m, "conv2d out=2 kernel=1", IN);
    int32_t c = NODE(m, "concat", a, b);
    int32_t f = NODE(m, "flatten", c);
    NODE(m, "linear out=3", f);
    gradcheck(m, &in, "concat CNN");
    ok(ml_model_out_shape(m, c) && ml_model_out_shape(m, c)->dim[0] == 5,
       "concat of 3 and 2 channels has 5");
    ml_model_free(m);
}

/* One linear layer applied twice: one set of weights, the gradients of both places. */
static void test_tied(void)
{
    ml_err err = {0};
    ml_shape in = {1, {4}};
    ml_model *m = ml_model_new(reg, 5, &err);
    int32_t a = NODE(m, "linear out=4", IN);
    int32_t b = NODE(m, "tanh", a);
    int32_t c = ml_model_apply(m, a, (const int32_t[]){b}, 1, &err);
    int32_t d = NODE(m, "mul", c, b);
    ok(c == 2 && d == 3, "apply makes a node (%d) %s", c, err.msg);
    gradcheck(m, &in, "tied linear");
    is_int(ml_model_nlayers(m), 3, "3 layer instances for 4 nodes");
    is_int(ml_model_nparams(m), 20, "one 4x4 weight and bias");
    ml_model_free(m);
}

/* The chain as nodes is the chain: same parameters, same outputs, bit for bit. */
static void test_chain_equivalence(void)
{
    ml_err err = {0};
    ml_shape in = {1, {6}};
    float x[3 * 6];
    for (int i = 0; i < 18; i++)
        x[i] = sinf((float)i);
    ml_model *a = tap_model(reg, 9, "linear out=5|dropout p=0.3|relu|linear out=2", &in, 3,
                            &err);
    ml_model *b = ml_model_new(reg, 9, &err);
    int32_t n = NODE(b, "linear out=5", IN);
    n = NODE(b, "dropout p=0.3", n);
    n = NODE(b, "relu", n);
    NODE(b, "linear out=2", n);
    if (!ok(a && ml_model_build(b, &in, 3, &err) == 0, "a chain and its graph build")) {
        tap_diag("  %s", err.msg);
        goto done;
    }
    const float *ya = ml_model_forward(a, x, 3, &err);
    float keep[6];
    memcpy(keep, ya, sizeof keep);
    const float *yb = ml_model_forward(b, x, 3, &err);
    ok(yb && !memcmp(keep, yb, sizeof keep), "the same outputs, bit for bit (dropout on)");
done:
    ml_model_free(a);
    ml_model_free(b);
}

typedef struct bad_graph {
    const char *what, *want;
    int32_t nodes[6][4];   /* layer index into specs, then inputs (-2 ends) */
    int32_t output;        /* -2: the default */
} bad_graph;

static void test_bad_graphs(void)
{
    static const char *const specs[] = {"linear out=4", "linear out=3", "add", "relu",
                                        "concat", "reshape shape=2x2"};
    static const bad_graph bad[] = {
        {"shape mismatch at add", "node 3 (add) with input {4} and others: add: "
         "input 2 has shape {3} but input 1 has {4}",
         {{0, IN, -2}, {1, IN, -2}, {2, 0, 1, -2}, {-2}}, -2},
        {"concat of different ranks", "concat: input 2 has shape {4} but input 1 has "
         "{2,2}; concat joins along the first axis",
         {{5, IN, -2}, {4, 0, IN, -2}, {-2}}, -2},
        {"a node nothing reads", "node 2 (relu) is never used: its output does not lead "
         "to the model's output (node 3)",
         {{0, IN, -2}, {3, 0, -2}, {1, 0, -2}, {-2}}, -2},
        {"an output before the end", "node 2 (linear) is never used",
         {{0, IN, -2}, {1, 0, -2}, {-2}}, 0},
        {"several inputs to a plain layer", "node 2 (relu) is given 2 inputs, but relu is "
         "not a merge layer",
         {{0, IN, -2}, {3, 0, IN, -2}, {-2}}, -2},
        {"a node reading a later one", "reads node 3, which does not exist yet",
         {{0, IN, -2}, {3, 2, -2}, {-2}}, -2},
    };
    ml_shape in = {1, {4}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ml_err err = {0};
        ml_model *m = ml_model_new(reg, 1, &err);
        int rc = 0;
        for (int r = 0; r < 6 && bad[i].nodes[r][0] != -2 && rc >= 0; r++) {
            int32_t ins[3], nin = 0;
            while (bad[i].nodes[r][1 + nin] != -2)
                ins[nin] = bad[i].nodes[r][1 + nin], nin++;
            rc = node(m, specs[bad[i].nodes[r][0]], ins, nin, &err);
        }
        if (rc >= 0 && bad[i].output != -2)
            rc = ml_model_set_output(m, bad[i].output, &err);
        if (rc >= 0)
            rc = ml_model_build(m, &in, 2, &err);
        ok(rc < 0, "%s: an error before anything runs", bad[i].what);
        like(err.msg, bad[i].want, "  and the message names the node");
        ml_model_free(m);
    }

    /* A tied layer at a second input shape. */
    ml_err err = {0};
    ml_model *m = ml_model_new(reg, 1, &err);
    int32_t a = NODE(m, "linear out=3", IN);
    ml_model_apply(m, a, (const int32_t[]){a}, 1, &err);
    ok(ml_model_build(m, &in, 2, &err) < 0, "a tied layer at another input shape: an error");
    like(err.msg, "node 2 (linear) with input {3}: the layer of node 1 is applied here "
         "(tied weights) to input {3}, but it was made for {4}", "  naming both");
    ml_model_free(m);
}

/* Two outputs (a main and an auxiliary head): the gradient check covers both, and a
 * trainer needs a loss for each. */
static void test_outputs(void)
{
    ml_err err = {0};
    ml_shape in = {1, {4}}, target = {0, {0}};
    ml_model *m = ml_model_new(reg, 7, &err);
    int32_t h = NODE(m, "linear out=5", IN);
    int32_t a = NODE(m, "tanh", h);
    int32_t y = NODE(m, "linear out=3", a);
    int32_t aux = NODE(m, "linear out=3", h);
    ok(ml_model_set_outputs(m, (const int32_t[]){y, y}, 2, &err) != 0, "the same node twice: "
       "an error");
    like(err.msg, "node 3 is given as output 1 and 2", "  saying so");
    ok(ml_model_set_outputs(m, (const int32_t[]){y, aux}, 2, &err) == 0 &&
       ml_model_noutputs(m) == 2 && ml_model_output_node(m, 1) == aux, "two outputs set");
    gradcheck(m, &in, "a main and an auxiliary head");
    ml_trainer *t = ml_trainer_new(m, &target, "cross_entropy", tap_opts(NULL), "sgd",
                                   tap_opts(NULL), &err);
    float x[8] = {1, 2, 3, 4, -1, 0, 1, 0}, yv[2] = {0, 2};
    ml_step_stats st = {0};
    ok(t && ml_trainer_step(t, x, yv, 2, &st, &err) != 0, "a step without the head's loss: an "
       "error");
    like(err.msg, "output 2 of the model has no loss", "  naming the output");
    ok(t && ml_trainer_add_loss(t, 2, "cross_entropy", tap_opts(NULL), 1, &err) != 0,
       "a loss for an output the model does not have: an error");
    ok(t && ml_trainer_add_loss(t, 1, "cross_entropy", tap_opts(NULL), 0.5f, &err) == 0,
       "the head's loss, weight 0.5");
    ml_step_stats s1 = {0};
    ok(t && ml_trainer_eval(t, x, yv, 2, &s1, &err) == 0, "an evaluation");
    /* The total is main + 0.5 * head: with the head's weight 0 it is the main loss alone. */
    ml_trainer *t0 = ml_trainer_new(m, &target, "cross_entropy", tap_opts(NULL), NULL, NULL,
                                    &err);
    ml_step_stats s0 = {0}, sh = {0};
    ok(t0 && ml_trainer_add_loss(t0, 1, "cross_entropy", tap_opts(NULL), 0, &err) == 0 &&
       ml_trainer_eval(t0, x, yv, 2, &s0, &err) == 0, "the same with the head's weight 0");
    ml_trainer_free(t0);
    t0 = ml_trainer_new(m, &target, "cross_entropy", tap_opts(NULL), NULL, NULL, &err);
    ok(t0 && ml_trainer_add_loss(t0, 1, "cross_entropy", tap_opts(NULL), 1, &err) == 0 &&
       ml_trainer_eval(t0, x, yv, 2, &sh, &err) == 0, "and with weight 1");
    double head = sh.loss - s0.loss;
    ok(fabs(s1.loss - (s0.loss + 0.5 * head)) < 1e-9 && head > 0,
       "the reported loss is main + weight x head (%.6f = %.6f + 0.5 x %.6f)", s1.loss / 2,
       s0.loss / 2, head / 2);
    ok(t && ml_trainer_step(t, x, yv, 2, &st, &err) == 0, "then a training step runs %s", err.msg);
    ml_trainer_free(t0);
    ml_trainer_free(t);
    ml_model_free(m);
}

/* The input normalisation is part of the model: applied in forward, saved, loaded. */
static void test_normalization(void)
{
    ml_err err = {0};
    ml_shape in = {3, {2, 3, 3}};
    const double mean[2] = {1.5, -2}, std[2] = {2, 0.5}, bad[3] = {0, 0, 0};
    float x[18], x2[18];
    char path[] = "/tmp/modlab-test-norm-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    for (int i = 0; i < 18; i++)
        x[i] = (float)i / 3.0f;
    ml_model *a = tap_model(reg, 4, "flatten|linear out=2", &in, 1, &err);
    ml_model *b = tap_model(reg, 5, "flatten|linear out=2", &in, 1, &err);
    if (!ok(a && b, "two models build")) {
        ml_model_free(a);
        ml_model_free(b);
        return;
    }
    ok(ml_model_set_normalization(a, mean, std, 3, &err) != 0, "3 channels for a 2-channel input: "
       "an error");
    like(err.msg, "3 channels given, the model's input has 2", "  saying so");
    ok(ml_model_set_normalization(a, bad, std, 0, &err) == 0 && ml_model_normalization(a, NULL,
       NULL) == 0, "0 channels: none");
    ok(ml_model_set_normalization(a, mean, std, 2, &err) == 0, "2 channels set");
    /* Normalising by hand and forwarding raw must agree. */
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 9; i++)
            x2[c * 9 + i] = (float)((x[c * 9 + i] - mean[c]) / std[c]);
    float ya[2];
    memcpy(ya, ml_model_forward(a, x, 1, &err), sizeof ya);
    ml_model_set_normalization(a, bad, std, 0, &err);
    const float *yr = ml_model_forward(a, x2, 1, &err);
    ok(fabsf(yr[0] - ya[0]) < 1e-5f && fabsf(yr[1] - ya[1]) < 1e-5f,
       "forward on raw inputs = forward on inputs normalised by hand");
    ml_model_set_normalization(a, mean, std, 2, &err);
    ok(ml_model_save(a, path, &err) == 0 && ml_model_load(b, path, &err) == 0,
       "saved and loaded into another model %s", err.msg);
    const double *m2 = NULL, *s2 = NULL;
    ok(ml_model_normalization(b, &m2, &s2) == 2 && m2[1] == -2 && s2[0] == 2,
       "the statistics came with the checkpoint");
    const float *yb = ml_model_forward(b, x, 1, &err);
    ok(yb && yb[0] == ya[0] && yb[1] == ya[1], "and the loaded model computes the same");
    /* A checkpoint without statistics removes them: the file defines the model. */
    ml_model_set_normalization(a, bad, std, 0, &err);
    ok(ml_model_save(a, path, &err) == 0 && ml_model_load(b, path, &err) == 0 &&
       ml_model_normalization(b, NULL, NULL) == 0, "a checkpoint without them clears them");
    unlink(path);
    ml_model_free(a);
    ml_model_free(b);
}

int main(void)
{
    if (!(reg = tap_registry(NULL, NULL)))
        return 1;
    test_residual();
    test_concat();
    test_input_gradient();
    test_sharing();
    test_tied();
    test_chain_equivalence();
    test_bad_graphs();
    test_normalization();
    test_outputs();
    ml_registry_free(reg);
    is_int(ml_mem_live_blocks(), 0, "nothing left allocated");
    return done_testing();
}
