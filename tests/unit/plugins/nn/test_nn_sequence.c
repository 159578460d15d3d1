/* SPDX-License-Identifier: MIT */
/* nn's sequence layers: embedding lookups and their errors, lstm against a naive reference
 * (PyTorch gate order). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modlab/modlab.h>

#include "nn_test.h"
#include "tap.h"
#include "tap_model.h"

static ml_registry *reg;

/* ---- embedding, lstm -------------------------------------------------------------------- */

static void test_embedding(void)
{
    ml_err err = { 0 };
    ml_model *m = model1(reg, "embedding", "vocab=5 dim=3", shp(1, 4, 0, 0), 2, &err);
    if (!ok(m != NULL, "embedding builds")) {
        tap_diag("%s", err.msg);
        return;
    }
    const ml_shape *os = ml_model_out_shape(m, 0);
    ok(os->ndim == 2 && os->dim[0] == 4 && os->dim[1] == 3, "embedding {4} -> {4, 3}");
    ml_param *w = param(m, "weight");
    const float ids[8] = { 0, 4, 2, 2, 1, 3, 0, 4 };
    const float *y = w ? ml_model_forward(m, ids, 2, &err) : NULL;
    int good = y != NULL;
    for (int i = 0; i < 8 && y; i++)
        good &= memcmp(y + i * 3, w->value + (int)ids[i] * 3, 3 * sizeof(float)) == 0;
    ok(good, "embedding copies the row of each id");
    const float bad[8] = { 0, 1, 2, 5, 0, 0, 0, 0 };
    y = ml_model_forward(m, bad, 2, &err);
    ok(y == NULL && err.code == ML_ERR_INVALID, "embedding: id 5 with vocab 5 is an error");
    like(err.msg, "not an integer id", "embedding: the message names the problem");
    const float frac[8] = { 0, 1.5f, 2, 3, 0, 0, 0, 0 };
    y = ml_model_forward(m, frac, 2, &err);
    ok(y == NULL, "embedding: a fractional id is an error");
    ml_model_free(m);
}

static double sigm(double v)
{
    return 1.0 / (1.0 + exp(-v));
}

static void test_lstm(void)
{
    enum { B = 2, T = 3, E = 2, H = 2, G = 4 * H };
    ml_err err = { 0 };
    ml_model *m = model1(reg, "lstm", "hidden=2", shp(2, T, E, 0), B, &err);
    if (!ok(m != NULL, "lstm builds")) {
        tap_diag("%s", err.msg);
        return;
    }
    const ml_shape *os = ml_model_out_shape(m, 0);
    ok(os->ndim == 2 && os->dim[0] == T && os->dim[1] == H, "lstm {3,2} -> {3,2}");
    ml_param *wih = param(m, "weight_ih"), *whh = param(m, "weight_hh");
    ml_param *bih = param(m, "bias_ih"), *bhh = param(m, "bias_hh");
    if (!ok(wih && whh && bih && bhh, "lstm has PyTorch's four parameters")) {
        ml_model_free(m);
        return;
    }
    /* Fixed weights; expected output from PyTorch 1.13 (python3-torch), offline:
     * torch.nn.LSTM(2, 2, batch_first=True) with weight_ih[i] = 0.5 sin(0.37 i + 0.1),
     * weight_hh[i] = 0.5 sin(0.53 i + 0.2), bias_ih[i] = 0.3 cos(0.71 i),
     * bias_hh[i] = 0.2 sin(0.29 i + 1), x[k] = sin(0.9 k - 0.3), shape (2, 3, 2). */
    static const double torch_y[B * T * H] = {
        -0.06061641, -0.09445079, -0.04648327, -0.18282007, -0.00683609, -0.07129590,
        -0.04368646, 0.07720306, -0.06678665, -0.15136614, -0.04588066, -0.15755235,
    };
    float x[B * T * E];
    for (int i = 0; i < G * E; i++)
        wih->value[i] = 0.5f * sinf(0.37f * i + 0.1f);
    for (int i = 0; i < G * H; i++)
        whh->value[i] = 0.5f * sinf(0.53f * i + 0.2f);
    for (int i = 0; i < G; i++) {
        bih->value[i] = 0.3f * cosf(0.71f * i);
        bhh->value[i] = 0.2f * sinf(0.29f * i + 1.0f);
    }
    for (int k = 0; k < B * T * E; k++)
        x[k] = sinf(0.9f * k - 0.3f);
    const float *y = ml_model_forward(m, x, B, &err);
    ok(y && max_abs_diff(y, torch_y, B * T * H) < 2e-6, "lstm matches PyTorch's nn.LSTM");

    /* A naive reference on random weights (double precision, gate order i, f, g, o). */
    fill(wih->value, G * E, 21);
    fill(whh->value, G * H, 22);
    fill(bih->value, G, 23);
    fill(bhh->value, G, 24);
    fill(x, B * T * E, 25);
    double ref[B * T * H];
    for (int b = 0; b < B; b++) {
        double h[H] = { 0 }, c[H] = { 0 };
        for (int t = 0; t < T; t++) {
            double z[G], hn[H];
            for (int r = 0; r < G; r++) {
                z[r] = bih->value[r] + bhh->value[r];
                for (int e = 0; e < E; e++)
                    z[r] += wih->value[r * E + e] * x[(b * T + t) * E + e];
                for (int j = 0; j < H; j++)
                    z[r] += whh->value[r * H + j] * h[j];
            }
            for (int j = 0; j < H; j++) {
                c[j] = sigm(z[H + j]) * c[j] + sigm(z[j]) * tanh(z[2 * H + j]);
                hn[j] = sigm(z[3 * H + j]) * tanh(c[j]);
            }
            for (int j = 0; j < H; j++) {
                h[j] = hn[j];
                ref[(b * T + t) * H + j] = h[j];
            }
        }
    }
    y = ml_model_forward(m, x, B, &err);
    ok(y && max_abs_diff(y, ref, B * T * H) < 1e-6, "lstm matches a naive reference");
    ml_model_free(m);
    m = model1(reg, "lstm", "hidden=4", shp(1, 8, 0, 0), 2, &err);
    ok(m == NULL && err.code == ML_ERR_SHAPE, "lstm: a {E} input (no time axis) is an error");
    like(err.msg, "{T, E}", "lstm: the message names the expected shape");
}

int main(void)
{
    if (!(reg = tap_registry(ML_ABS_BUILDDIR "/build-plugins", NULL)))
        return 1;
    test_embedding();
    test_lstm();
    ml_registry_free(reg);
    return done_testing();
}
