/* SPDX-License-Identifier: MIT */
/* nn layers: behaviour a gradient check cannot see (forward values against naive references,
 * training vs evaluation modes, running statistics, errors). Losses, training: test_nn_train.c;
 * embedding and lstm: test_nn_sequence.c */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modlab/modlab.h>

#include "runtime/model.h"   /* internal: backward with an input gradient */
#include "nn_test.h"
#include "tap.h"

static ml_registry *reg;


/* ---- conv2d --------------------------------------------------------------------------- */

static void naive_conv(const float *x, const float *w, const float *b, int B, int C, int H,
                       int W, int O, int K, int S, int P, double *y)
{
    int OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1;
    for (int n = 0; n < B; n++)
        for (int o = 0; o < O; o++)
            for (int i = 0; i < OH; i++)
                for (int j = 0; j < OW; j++) {
                    double s = b ? b[o] : 0.0;
                    for (int c = 0; c < C; c++)
                        for (int ki = 0; ki < K; ki++)
                            for (int kj = 0; kj < K; kj++) {
                                int yy = i * S - P + ki, xx = j * S - P + kj;
                                if (yy < 0 || yy >= H || xx < 0 || xx >= W)
                                    continue;
                                s += (double)w[((o * C + c) * K + ki) * K + kj] *
                                     x[((n * C + c) * H + yy) * W + xx];
                            }
                    y[((n * O + o) * OH + i) * OW + j] = s;
                }
}

static void test_conv2d(void)
{
    static const struct {
        const char *opts;
        int c, h, w, o, k, s, p, bias;
    } cs[] = {
        { "out=4 kernel=3 stride=2 padding=1", 3, 7, 6, 4, 3, 2, 1, 1 },
        { "out=3 kernel=2 bias=false", 2, 5, 5, 3, 2, 1, 0, 0 },
        { "out=5 kernel=1", 3, 4, 3, 5, 1, 1, 0, 1 },
        { "out=2 kernel=5 stride=3 padding=2", 1, 9, 8, 2, 5, 3, 2, 1 },
        /* 10x10 outputs: chunks of 6 examples, so batch 8 ends with a partial chunk. */
        { "out=3 kernel=3 padding=1", 2, 10, 10, 3, 3, 1, 1, 1 },
        /* 24x24 outputs: one example per GEMM. */
        { "out=4 kernel=3 padding=1", 1, 24, 24, 4, 3, 1, 1, 1 },
    };
    ml_err err = { 0 };
    for (size_t t = 0; t < sizeof cs / sizeof cs[0]; t++) {
        const int B = 8;
        ml_model *m = model1(reg, "conv2d", cs[t].opts, shp(3, cs[t].c, cs[t].h, cs[t].w), B, &err);
        if (!ok(m != NULL, "conv2d %s builds", cs[t].opts)) {
            tap_diag("%s", err.msg);
            continue;
        }
        int OH = (cs[t].h + 2 * cs[t].p - cs[t].k) / cs[t].s + 1;
        int OW = (cs[t].w + 2 * cs[t].p - cs[t].k) / cs[t].s + 1;
        const ml_shape *os = ml_model_out_shape(m, 0);
        ok(os->ndim == 3 && os->dim[0] == cs[t].o && os->dim[1] == OH && os->dim[2] == OW,
           "conv2d %s output shape {%d,%d,%d}", cs[t].opts, cs[t].o, OH, OW);
        int64_t nx = (int64_t)B * cs[t].c * cs[t].h * cs[t].w;
        int64_t ny = (int64_t)B * cs[t].o * OH * OW;
        float *x = malloc(sizeof(float) * nx);
        double *ref = malloc(sizeof(double) * ny);
        fill(x, nx, 7 + (unsigned)t);
        ml_param *w = param(m, "weight"), *b = param(m, "bias");
        ok(w && (b != NULL) == cs[t].bias, "conv2d %s has weight%s", cs[t].opts,
           cs[t].bias ? " and bias" : " and no bias");
        const float *y = ml_model_forward(m, x, B, &err);
        if (w && y) {
            naive_conv(x, w->value, b ? b->value : NULL, B, cs[t].c, cs[t].h, cs[t].w,
                       cs[t].o, cs[t].k, cs[t].s, cs[t].p, ref);
            double d = max_abs_diff(y, ref, ny);
            ok(d < 1e-5, "conv2d %s matches a direct convolution (max diff %.2g)",
               cs[t].opts, d);
        } else {
            ok(0, "conv2d %s forward: %s", cs[t].opts, err.msg);
        }
        free(x);
        free(ref);
        ml_model_free(m);
    }

    /* Weights set by formula; expected values from PyTorch 1.13 (python3-torch), generated
     * offline with torch.nn.Conv2d(2, 3, 3, stride=2, padding=1), weight[i] =
     * 0.3 sin(0.41 i + 0.2), bias[i] = 0.1 i - 0.1, x[k] = cos(0.37 k) for x of (1,2,5,4). */
    static const float want[18] = {
        -0.008970f, 0.273054f, 0.315560f, -0.064873f, -0.297478f, 0.060344f,
        -0.402964f, -0.317933f, 0.698556f, 0.535002f, -0.199305f, -0.153167f,
        -0.358882f, -0.563284f, 0.322128f, 0.553257f, 0.115539f, -0.200164f,
    };
    ml_model *m = model1(reg, "conv2d", "out=3 kernel=3 stride=2 padding=1", shp(3, 2, 5, 4), 1,
                         &err);
    if (ok(m != NULL, "conv2d torch case builds")) {
        ml_param *w = param(m, "weight"), *b = param(m, "bias");
        float x[40];
        double ref[18];
        for (int i = 0; i < 54; i++)
            w->value[i] = 0.3f * sinf(0.41f * i + 0.2f);
        for (int i = 0; i < 3; i++)
            b->value[i] = 0.1f * i - 0.1f;
        for (int k = 0; k < 40; k++)
            x[k] = cosf(0.37f * k);
        for (int i = 0; i < 18; i++)
            ref[i] = want[i];
        const float *y = ml_model_forward(m, x, 1, &err);
        ok(y && max_abs_diff(y, ref, 18) < 2e-5, "conv2d matches PyTorch's Conv2d");
        ml_model_free(m);
    }

    m = model1(reg, "conv2d", "out=2 kernel=5", shp(3, 1, 4, 4), 2, &err);
    ok(m == NULL && err.code == ML_ERR_SHAPE, "conv2d: kernel bigger than input is an error");
    like(err.msg, "does not fit", "conv2d: the message says the kernel does not fit");
    m = model1(reg, "conv2d", "out=2 kernel=3", shp(1, 16, 0, 0), 2, &err);
    ok(m == NULL && err.code == ML_ERR_SHAPE, "conv2d: flat input is an error");
    like(err.msg, "{C,H,W}", "conv2d: the message names the expected shape");
    m = model1(reg, "conv2d", "out=2 kernel=3 stride=0", shp(3, 1, 4, 4), 2, &err);
    ok(m == NULL && err.code == ML_ERR_INVALID, "conv2d: stride 0 is an error");
    m = model1(reg, "conv2d", "kernel=3", shp(3, 1, 4, 4), 2, &err);
    ok(m == NULL, "conv2d: missing out is an error");
    like(err.msg, "out", "conv2d: the message names the missing option");
}

/* ---- pooling ---------------------------------------------------------------------------- */

static void test_pooling(void)
{
    ml_err err = { 0 };
    const int B = 2, C = 2, H = 7, W = 6;
    float x[2 * 2 * 7 * 6];
    fill(x, B * C * H * W, 99);
    static const struct {
        const char *opts;
        int k, s;
    } cs[] = {
        { "kernel=2", 2, 2 },
        { "kernel=3 stride=2", 3, 2 },
        { "kernel=2 stride=1", 2, 1 },
    };
    for (int pass = 0; pass < 2; pass++) {
        const char *layer = pass ? "avgpool2d" : "maxpool2d";
        for (size_t t = 0; t < sizeof cs / sizeof cs[0]; t++) {
            int k = cs[t].k, s = cs[t].s, OH = (H - k) / s + 1, OW = (W - k) / s + 1;
            ml_model *m = model1(reg, layer, cs[t].opts, shp(3, C, H, W), B, &err);
            if (!ok(m != NULL, "%s %s builds", layer, cs[t].opts)) {
                tap_diag("%s", err.msg);
                continue;
            }
            const ml_shape *os = ml_model_out_shape(m, 0);
            ok(os->dim[0] == C && os->dim[1] == OH && os->dim[2] == OW,
               "%s %s output shape {%d,%d,%d}", layer, cs[t].opts, C, OH, OW);
            double ref[2 * 2 * 6 * 5];
            for (int pl = 0; pl < B * C; pl++)
                for (int i = 0; i < OH; i++)
                    for (int j = 0; j < OW; j++) {
                        double acc = pass ? 0.0 : -INFINITY;
                        for (int a = 0; a < k; a++)
                            for (int b = 0; b < k; b++) {
                                double v = x[(pl * H + i * s + a) * W + j * s + b];
                                acc = pass ? acc + v : fmax(acc, v);
                            }
                        ref[(pl * OH + i) * OW + j] = pass ? acc / (k * k) : acc;
                    }
            const float *y = ml_model_forward(m, x, B, &err);
            ok(y && max_abs_diff(y, ref, B * C * OH * OW) < 1e-6,
               "%s %s picks the %s of each window", layer, cs[t].opts,
               pass ? "mean" : "maximum");
            ml_model_free(m);
        }
    }
    /* A NaN in a window wins, as in PyTorch (it must not be silently dropped). */
    ml_model *m = model1(reg, "maxpool2d", "kernel=2", shp(3, 1, 2, 4), 1, &err);
    if (m) {
        const float xn[8] = { 1, 2, 5, 1, NAN, 0, 3, 4 };
        const float *y = ml_model_forward(m, xn, 1, &err);
        ok(y && isnan(y[0]) && y[1] == 5.0f, "maxpool2d propagates NaN like PyTorch");
        ml_model_free(m);
    }
    m = model1(reg, "maxpool2d", "kernel=8", shp(3, 2, 7, 6), B, &err);
    ok(m == NULL && err.code == ML_ERR_SHAPE,
       "maxpool2d: kernel bigger than input is an error");
    like(err.msg, "bigger than the input", "maxpool2d: the message says so");

    m = model1(reg, "global_avgpool", "", shp(3, C, H, W), B, &err);
    if (ok(m != NULL, "global_avgpool builds")) {
        const ml_shape *os = ml_model_out_shape(m, 0);
        ok(os->ndim == 1 && os->dim[0] == C, "global_avgpool output shape {C}");
        double ref[4];
        for (int pl = 0; pl < B * C; pl++) {
            double acc = 0.0;
            for (int i = 0; i < H * W; i++)
                acc += x[pl * H * W + i];
            ref[pl] = acc / (H * W);
        }
        const float *y = ml_model_forward(m, x, B, &err);
        ok(y && max_abs_diff(y, ref, B * C) < 1e-6, "global_avgpool is the plane mean");
        ml_model_free(m);
    }
}

/* ---- batchnorm, layernorm ------------------------------------------------------------- */

static void test_batchnorm(void)
{
    ml_err err = { 0 };
    const int B = 4, F = 3;
    float x[12];
    fill(x, B * F, 5);
    for (int i = 0; i < B * F; i++)
        x[i] = 2.0f * x[i] + (float)(i % F);   /* feature f has mean near f */
    ml_model *m = model1(reg, "batchnorm", "momentum=0.1", shp(1, F, 0, 0), B, &err);
    if (!ok(m != NULL, "batchnorm 1d builds")) {
        tap_diag("%s", err.msg);
        return;
    }
    ml_param *rm = param(m, "running_mean"), *rv = param(m, "running_var");
    ml_param *g = param(m, "weight"), *be = param(m, "bias");
    ok(rm && rv && g && be, "batchnorm has weight, bias, running_mean, running_var");
    ok(rm && rv && rm->grad == NULL && rv->grad == NULL &&
           (rm->flags & ML_PARAM_BUFFER) && (rv->flags & ML_PARAM_BUFFER),
       "running statistics are buffers without gradients");
    ok(g && be && (g->flags & ML_PARAM_NO_DECAY) && (be->flags & ML_PARAM_NO_DECAY),
       "weight and bias are not decayed");
    ok(ml_model_nparams(m) == 2 * F, "batchnorm trains 2F scalars");
    ml_model_set_training(m, 1);
    const float *y = ml_model_forward(m, x, B, &err);
    double worst_mean = 0.0, worst_var = 0.0, worst_rm = 0.0, worst_rv = 0.0;
    for (int f = 0; f < F && y; f++) {
        double mx = 0.0, vx = 0.0, my = 0.0, vy = 0.0;
        for (int b = 0; b < B; b++) {
            mx += x[b * F + f] / (double)B;
            my += y[b * F + f] / (double)B;
        }
        for (int b = 0; b < B; b++) {
            vx += (x[b * F + f] - mx) * (x[b * F + f] - mx);
            vy += (y[b * F + f] - my) * (y[b * F + f] - my) / B;
        }
        double want_vy = (vx / B) / (vx / B + 1e-5);
        worst_mean = fmax(worst_mean, fabs(my));
        worst_var = fmax(worst_var, fabs(vy - want_vy));
        worst_rm = fmax(worst_rm, fabs(rm->value[f] - 0.1 * mx));
        worst_rv = fmax(worst_rv, fabs(rv->value[f] - (0.9 + 0.1 * vx / (B - 1))));
    }
    ok(y && worst_mean < 1e-6 && worst_var < 1e-5,
       "training: each feature normalised with batch statistics (mean %.2g, var err %.2g)",
       worst_mean, worst_var);
    ok(worst_rm < 1e-6, "running mean moves by momentum toward the batch mean (%.2g)",
       worst_rm);
    ok(worst_rv < 1e-5, "running var moves toward the unbiased batch variance (%.2g)",
       worst_rv);

    /* Evaluation uses (and keeps) the running statistics. */
    for (int f = 0; f < F; f++) {
        rm->value[f] = 0.5f * f;
        rv->value[f] = 1.0f + f;
        g->value[f] = 2.0f;
        be->value[f] = -1.0f;
    }
    ml_model_set_training(m, 0);
    y = ml_model_forward(m, x, B, &err);
    double ref[12];
    for (int i = 0; i < B * F; i++) {
        int f = i % F;
        ref[i] = 2.0 * (x[i] - 0.5 * f) / sqrt(1.0 + f + 1e-5) - 1.0;
    }
    ok(y && max_abs_diff(y, ref, B * F) < 1e-5, "evaluation: uses the running statistics");
    ok(rm->value[1] == 0.5f && rv->value[2] == 3.0f, "evaluation: running stats unchanged");
    /* Batch 1 of {F} in training: one value per channel, no variance to learn from. */
    ml_model_set_training(m, 1);
    y = ml_model_forward(m, x, 1, &err);
    ok(y && rm->value[1] == 0.5f && rv->value[2] == 3.0f && y[0] == -1.0f,
       "training on one value per channel leaves running stats alone (output = bias)");
    ml_model_free(m);

    /* 2d: statistics per channel over batch, height and width. */
    float x2[2 * 3 * 2 * 2];
    fill(x2, 24, 11);
    for (int i = 0; i < 24; i++)
        x2[i] = 3.0f * x2[i] + 1.0f;
    m = model1(reg, "batchnorm", "", shp(3, 3, 2, 2), 2, &err);
    if (ok(m != NULL, "batchnorm 2d builds")) {
        ml_model_set_training(m, 1);
        y = ml_model_forward(m, x2, 2, &err);
        double worst = 0.0, worst_v = 0.0;
        for (int c = 0; c < 3 && y; c++) {
            double s = 0.0, q = 0.0;
            for (int b = 0; b < 2; b++)
                for (int i = 0; i < 4; i++) {
                    double v = y[(b * 3 + c) * 4 + i];
                    s += v / 8;
                    q += v * v / 8;
                }
            worst = fmax(worst, fabs(s));
            worst_v = fmax(worst_v, fabs(q - s * s - 1.0));
        }
        ok(y && worst < 1e-6 && worst_v < 1e-3,
           "batchnorm 2d normalises each channel over batch and space");
        ml_model_free(m);
    }
    m = model1(reg, "batchnorm", "momentum=1.5", shp(1, 3, 0, 0), 2, &err);
    ok(m == NULL && err.code == ML_ERR_INVALID, "batchnorm: momentum 1.5 is an error");
}

static void test_layernorm(void)
{
    ml_err err = { 0 };
    float x[2 * 3 * 5];
    fill(x, 30, 3);
    ml_model *m = model1(reg, "layernorm", "", shp(2, 3, 5, 0), 2, &err);
    if (!ok(m != NULL, "layernorm builds")) {
        tap_diag("%s", err.msg);
        return;
    }
    ml_param *g = param(m, "weight"), *b = param(m, "bias");
    ok(g && b && g->value[0] == 1.0f && b->value[0] == 0.0f, "layernorm affine starts 1, 0");
    const float *y = ml_model_forward(m, x, 2, &err);
    double worst = 0.0;
    for (int r = 0; r < 6 && y; r++) {
        double s = 0.0, q = 0.0, sx = 0.0, qx = 0.0;
        for (int j = 0; j < 5; j++) {
            s += y[r * 5 + j] / 5;
            q += (double)y[r * 5 + j] * y[r * 5 + j] / 5;
            sx += x[r * 5 + j] / 5.0;
            qx += (double)x[r * 5 + j] * x[r * 5 + j] / 5;
        }
        double var = qx - sx * sx;
        worst = fmax(worst, fabs(s) + fabs(q - s * s - var / (var + 1e-5)));
    }
    ok(y && worst < 1e-5, "layernorm: each row has mean 0 and variance 1 (%.2g)", worst);
    ml_model_free(m);
    m = model1(reg, "layernorm", "affine=false", shp(1, 4, 0, 0), 2, &err);
    ok(m && ml_model_nparam_tensors(m) == 0, "layernorm affine=false has no parameters");
    ml_model_free(m);
}

/* ---- elementwise ------------------------------------------------------------------------ */

static void test_elementwise(void)
{
    ml_err err = { 0 };
    const float x[6] = { -3.0f, -1.0f, -0.25f, 0.0f, 0.5f, 2.0f };
    /* From PyTorch 1.13 (python3-torch), offline: torch.nn.functional.gelu(x) and
     * gelu(x, approximate='tanh') for the x above. */
    static const double gelu_erf[6] = { -0.00404987, -0.15865529, -0.10032343, 0.0,
                                        0.34573120, 1.95449996 };
    static const double gelu_tanh[6] = { -0.00363743, -0.15880799, -0.10032465, 0.0,
                                         0.34571400, 1.95459771 };
    double ref[6];
    ml_model *m = model1(reg, "gelu", "", shp(1, 6, 0, 0), 1, &err);
    const float *y = m ? ml_model_forward(m, x, 1, &err) : NULL;
    ok(y && max_abs_diff(y, gelu_erf, 6) < 1e-6, "gelu (erf) matches PyTorch");
    ml_model_free(m);
    m = model1(reg, "gelu", "approximate=tanh", shp(1, 6, 0, 0), 1, &err);
    y = m ? ml_model_forward(m, x, 1, &err) : NULL;
    ok(y && max_abs_diff(y, gelu_tanh, 6) < 1e-6, "gelu (tanh) matches PyTorch");
    ml_model_free(m);
    m = model1(reg, "gelu", "approximate=fast", shp(1, 6, 0, 0), 1, &err);
    ok(m == NULL, "gelu: an unknown approximation is an error");
    ml_model_free(m);

    m = model1(reg, "leaky_relu", "slope=0.2", shp(1, 6, 0, 0), 1, &err);
    y = m ? ml_model_forward(m, x, 1, &err) : NULL;
    for (int i = 0; i < 6; i++)
        ref[i] = x[i] > 0 ? x[i] : 0.2 * x[i];
    ok(y && max_abs_diff(y, ref, 6) < 1e-7, "leaky_relu slope=0.2");
    ml_model_free(m);

    m = model1(reg, "tanh", "", shp(1, 6, 0, 0), 1, &err);
    y = m ? ml_model_forward(m, x, 1, &err) : NULL;
    for (int i = 0; i < 6; i++)
        ref[i] = tanh(x[i]);
    ok(y && max_abs_diff(y, ref, 6) < 1e-6, "tanh");
    ml_model_free(m);
    /* The fast tanh: relative accuracy near 0, saturation, NaN. */
    const float xt[5] = { 1e-3f, -0.2501f, 30.0f, -1e30f, NAN };
    m = model1(reg, "tanh", "", shp(1, 5, 0, 0), 1, &err);
    y = m ? ml_model_forward(m, xt, 1, &err) : NULL;
    ok(y && fabs(y[0] / tanh(1e-3) - 1.0) < 1e-6 && fabs(y[1] / tanh(-0.2501) - 1.0) < 1e-6 &&
           y[2] == 1.0f && y[3] == -1.0f && isnan(y[4]),
       "tanh: relative accuracy near 0, saturates, propagates NaN");
    ml_model_free(m);

    m = model1(reg, "sigmoid", "", shp(1, 6, 0, 0), 1, &err);
    y = m ? ml_model_forward(m, x, 1, &err) : NULL;
    for (int i = 0; i < 6; i++)
        ref[i] = 1.0 / (1.0 + exp(-x[i]));
    ok(y && max_abs_diff(y, ref, 6) < 1e-6, "sigmoid");
    ml_model_free(m);

    float xf[24];
    double rf[24];
    const ml_shape *os;
    fill(xf, 24, 1);
    for (int i = 0; i < 24; i++)
        rf[i] = xf[i];
    m = model1(reg, "flatten", "", shp(3, 2, 3, 2), 2, &err);
    ok(m && ml_model_out_shape(m, 0)->ndim == 1 && ml_model_out_shape(m, 0)->dim[0] == 12,
       "flatten {2,3,2} -> {12}");
    y = m ? ml_model_forward(m, xf, 2, &err) : NULL;
    ok(y && max_abs_diff(y, rf, 24) == 0.0, "flatten keeps the values in order");
    ml_model_free(m);

    m = model1(reg, "reshape", "shape=3x-1x2", shp(1, 12, 0, 0), 2, &err);
    os = m ? ml_model_out_shape(m, 0) : NULL;
    ok(os && os->ndim == 3 && os->dim[0] == 3 && os->dim[1] == 2 && os->dim[2] == 2,
       "reshape {12} -> 3x-1x2 infers {3,2,2}");
    y = m ? ml_model_forward(m, xf, 2, &err) : NULL;
    ok(y && max_abs_diff(y, rf, 24) == 0.0, "reshape keeps the values in order");
    ml_model_free(m);
    m = model1(reg, "reshape", "shape=5x-1", shp(1, 12, 0, 0), 2, &err);
    ok(m == NULL && err.code == ML_ERR_SHAPE, "reshape: 12 elements into 5x-1 is an error");
    like(err.msg, "cannot hold", "reshape: the message says the shape does not fit");
    m = model1(reg, "reshape", "shape=2xq", shp(1, 12, 0, 0), 2, &err);
    ok(m == NULL && err.code == ML_ERR_INVALID, "reshape: a malformed shape is an error");

    /* softmax: rows sum to 1; exact values; no overflow on large logits. */
    const float xs[6] = { 0.0f, 0.69314718f, 1.09861229f, 1000.0f, 1000.0f, -1000.0f };
    const double want[6] = { 1.0 / 6, 2.0 / 6, 3.0 / 6, 0.5, 0.5, 0.0 };
    m = model1(reg, "softmax", "", shp(2, 2, 3, 0), 1, &err);
    y = m ? ml_model_forward(m, xs, 1, &err) : NULL;
    ok(y && max_abs_diff(y, want, 6) < 1e-6, "softmax over the last dim, stable for 1000");
    ml_model_free(m);
    const double lwant[6] = { log(1.0 / 6), log(2.0 / 6), log(3.0 / 6), log(0.5), log(0.5),
                              -2000.0 - log(2.0) };
    m = model1(reg, "log_softmax", "", shp(2, 2, 3, 0), 1, &err);
    y = m ? ml_model_forward(m, xs, 1, &err) : NULL;
    /* -2000.69 carries float's ~1e-4 spacing there. */
    ok(y && max_abs_diff(y, lwant, 5) < 1e-6 && fabs(y[5] - lwant[5]) < 1e-3,
       "log_softmax is x - logsumexp(x), stable");
    ml_model_free(m);
    float xr[5 * 7];
    fill(xr, 35, 4);
    m = model1(reg, "softmax", "", shp(1, 7, 0, 0), 5, &err);
    y = m ? ml_model_forward(m, xr, 5, &err) : NULL;
    double worst = 0.0;
    for (int r = 0; r < 5 && y; r++) {
        double s = 0.0;
        for (int j = 0; j < 7; j++)
            s += y[r * 7 + j];
        worst = fmax(worst, fabs(s - 1.0));
    }
    ok(y && worst < 1e-6, "softmax rows sum to 1");
    ml_model_free(m);
}

static void test_dropout(void)
{
    ml_err err = { 0 };
    enum { N = 4000, B = 2 };
    static float x[N * B];
    for (int i = 0; i < N * B; i++)
        x[i] = 1.0f + (float)(i % 3);
    ml_model *m = model1(reg, "dropout", "p=0.25", shp(1, N, 0, 0), B, &err);
    if (!ok(m != NULL, "dropout builds")) {
        tap_diag("%s", err.msg);
        return;
    }
    ml_model_set_training(m, 1);
    const float *y = ml_model_forward(m, x, B, &err);
    int64_t zeros = 0, bad = 0;
    for (int i = 0; i < N * B && y; i++) {
        if (y[i] == 0.0f)
            zeros++;
        else if (fabsf(y[i] - x[i] / 0.75f) > 1e-6f)
            bad++;
    }
    ok(y && bad == 0, "training: kept elements are scaled by 1/(1-p)");
    ok(y && fabs((double)zeros / (N * B) - 0.25) < 0.03,
       "training: about p of the elements are dropped (%.3f)", (double)zeros / (N * B));
    ml_model_set_training(m, 0);
    y = ml_model_forward(m, x, B, &err);
    int same = y != NULL;
    for (int i = 0; i < N * B && y; i++)
        same &= y[i] == x[i];
    ok(same, "evaluation: dropout is the identity");
    ml_model_free(m);
    m = model1(reg, "dropout", "p=1.5", shp(1, 4, 0, 0), 1, &err);
    ok(m == NULL && err.code == ML_ERR_INVALID, "dropout: p=1.5 is an error");
    like(err.msg, "probability", "dropout: the message says p must be a probability");
}

/* ---- every layer offers gradient-check cases -------------------------------------------- */

static void test_gradcheck_cases(void)
{
    static const char *const layers[] = {
        "flatten", "reshape", "leaky_relu", "tanh", "sigmoid", "gelu", "softmax",
        "log_softmax", "dropout", "conv2d",
        "maxpool2d", "avgpool2d", "global_avgpool", "batchnorm", "layernorm", "embedding",
        "lstm",
    };
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        int32_t k = ml_registry_find(reg, ML_KIND_LAYER, layers[i]);
        const ml_entry *e = k < 0 ? NULL : ml_registry_entry(reg, k);
        const ml_gradcheck_iface *gi =
            e && e->extension ? e->extension(ML_IFACE_GRADCHECK) : NULL;
        if (!ok(gi && gi->ncases > 0, "%s offers gradient-check cases", layers[i]))
            continue;
        for (int32_t c = 0; c < gi->ncases; c++) {
            ml_gradcheck_result res;
            ml_err err = { 0 };
            const ml_gradcheck_case *cs = &gi->cases[c];
            int rc = ml_gradcheck_layer(reg, layers[i], cs->options, &cs->in, cs->int_inputs,
                                        42, &res, &err);
            ok(rc == 0 && res.max_rel_err_input < 1e-2 && res.max_rel_err_params < 1e-2,
               "gradcheck %s '%s': input %.2g params %.2g (%lld coords)", layers[i],
               cs->options, res.max_rel_err_input, res.max_rel_err_params,
               (long long)res.checked);
            if (rc)
                tap_diag("%s", err.msg);
        }
    }
}

/* Forward and input gradient of one layer on a batch of 4 at `threads`, copied out:
 * out[0] the output (n[0] floats), out[1] dL/dx (n[1] floats) for a fixed dL/dy. */
static void one_pass(const char *layer, const char *opts, ml_shape in, int threads,
                     float *out[2], int64_t n[2])
{
    enum { B = 4 };
    ml_err err = { 0 };
    ml_model *m = model1(reg, layer, opts, in, B, &err);
    if (!m)
        return;
    ml_blas_set_threads(threads);
    n[0] = B * m->nodes[0].out_numel;
    n[1] = B * m->in_numel;
    float *x = malloc(sizeof(float) * (size_t)n[1]);
    fill(x, n[1], 3);
    fill(m->nodes[0].gact, n[0], 4);
    out[0] = malloc(sizeof(float) * (size_t)n[0]);
    out[1] = malloc(sizeof(float) * (size_t)n[1]);
    if (mli_model_forward_into(m, x, B, &err) == 0 && mli_model_backward(m, x, B, 1, &err) == 0) {
        memcpy(out[0], m->nodes[0].act, sizeof(float) * (size_t)n[0]);
        memcpy(out[1], m->gin, sizeof(float) * (size_t)n[1]);
    } else {
        tap_diag("%s: %s", layer, err.msg);
        n[0] = 0;
    }
    free(x);
    ml_model_free(m);
}

/* relu's edge values, bit for bit, forward and backward, through the vectorised blocks of 8
 * and the scalar tail (19 values): x NaN (either sign), +-0 and negatives give +0.0f in
 * both directions; x > 0 passes x forward and the upstream gradient back unchanged, NaN and
 * -0 included. Guards the branch-free rewrite of relu_bwd against a change of meaning. */
static void test_relu_edges(void)
{
    enum { N = 19 };
    const float inf = INFINITY, nan = NAN;
    const float x[N] = { -1.0f, -0.0f, 0.0f, nan, -nan, inf, -inf, 1e-45f, -1e-45f, 2.5f,
                         3.0f, 3.0f, 3.0f, -2.0f, 1.0f, 0.0f, nan, 7.0f, -0.0f };
    const float g[N] = { 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f, 8.0f, 9.0f, nan, -0.0f,
                         -inf, -3.0f, nan, -nan, 4.0f, 5.0f, 6.0f, 7.0f };
    ml_err err = { 0 };
    ml_model *m = model1(reg, "relu", "", shp(1, N, 0, 0), 1, &err);
    int fwd_ok = 0, bwd_ok = 0;
    if (m) {
        memcpy(m->nodes[0].gact, g, sizeof g);
        if (mli_model_forward_into(m, x, 1, &err) == 0 &&
            mli_model_backward(m, x, 1, 1, &err) == 0) {
            fwd_ok = bwd_ok = 1;
            for (int i = 0; i < N; i++) {
                const float wy = x[i] > 0.0f ? x[i] : 0.0f, wg = x[i] > 0.0f ? g[i] : 0.0f;
                if (memcmp(&m->nodes[0].act[i], &wy, sizeof wy)) {
                    fwd_ok = 0;
                    tap_diag("relu forward [%d]: x %g gives %g, want %g", i, x[i],
                             m->nodes[0].act[i], wy);
                }
                if (memcmp(&m->gin[i], &wg, sizeof wg)) {
                    bwd_ok = 0;
                    tap_diag("relu backward [%d]: x %g g %g gives %g, want %g", i, x[i], g[i],
                             m->gin[i], wg);
                }
            }
        } else {
            tap_diag("relu: %s", err.msg);
        }
    }
    ok(fwd_ok, "relu forward: NaN, +-0, negatives -> +0; positives, inf, denormals pass");
    ok(bwd_ok, "relu backward: gradient passes bit for bit where x > 0, else +0 (x NaN too)");
    ml_model_free(m);
}

/* conv2d splits a batch's chunks across workers: at 2 threads the forward still matches
 * the direct convolution, and the gradients (worker 1's private weight gradient summed into
 * worker 0's) pass the finite-difference check with two chunks, one per worker. */
static void test_conv2d_threads(void)
{
    ml_shape in = { 3, { 2, 24, 24 } };
    ml_gradcheck_result res;
    ml_err err = { 0 };
    ml_blas_set_threads(2);
    tap_diag("conv2d again at 2 threads");
    test_conv2d();
    int rc = ml_gradcheck_layer(reg, "conv2d", "out=3 kernel=3 padding=1", &in, 0, 5, &res,
                                &err);
    ok(rc == 0 && res.max_rel_err_input < 1e-2 && res.max_rel_err_params < 1e-2,
       "conv2d gradcheck at 2 threads, 2 chunks: input %.2g params %.2g",
       res.max_rel_err_input, res.max_rel_err_params);
    if (rc)
        tap_diag("%s", err.msg);
    /* Inputs big enough that relu and maxpool2d split them into several slices: the same
     * outputs and input gradients, bit for bit, as one thread. (A finite-difference check
     * of maxpool over 200K random inputs trips on near-ties, threads or not.) */
    static const struct { const char *layer, *opts; ml_shape in; } big[] = {
        { "maxpool2d", "kernel=2", { 3, { 128, 28, 28 } } },
        { "maxpool2d", "kernel=3 stride=2", { 3, { 128, 28, 28 } } },
        { "relu", "", { 1, { 100000 } } },
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        float *got[2][2] = { { NULL } };
        int64_t n[2] = { 0 };
        for (int threads = 1; threads <= 2; threads++)
            one_pass(big[i].layer, big[i].opts, big[i].in, threads, got[threads - 1], n);
        ok(got[0][0] && got[1][0] && n[0] > 0 &&
               !memcmp(got[0][0], got[1][0], sizeof(float) * (size_t)n[0]) &&
               !memcmp(got[0][1], got[1][1], sizeof(float) * (size_t)n[1]),
           "%s %s: 2 threads over several slices give 1 thread's output and gradient",
           big[i].layer, big[i].opts);
        for (int t = 0; t < 2; t++)
            free(got[t][0]), free(got[t][1]);
    }
    ml_blas_set_threads(1);
}

int main(void)
{
    ml_err err = { 0 };
    reg = ml_registry_new(&err);
    if (!reg || ml_registry_load_default(reg, ML_ABS_BUILDDIR "/build-plugins", &err)) {
        printf("Bail out! registry: %s\n", err.msg);
        return 1;
    }
    if (ml_registry_find(reg, ML_KIND_LAYER, "conv2d") < 0) {
        printf("Bail out! nn.so does not register the layers of plugins/nn/nn_entries.h: "
               "add them to the entry list in plugins/nn/nn.c\n");
        return 1;
    }
    test_conv2d();
    test_pooling();
    test_batchnorm();
    test_layernorm();
    test_elementwise();
    test_relu_edges();
    test_dropout();
    test_gradcheck_cases();
    test_conv2d_threads();
    ml_registry_free(reg);
    return done_testing();
}
