/* SPDX-License-Identifier: MIT */
/* graphsync beyond the registry-walking gradient check: forward values against a naive
 * reference (dense, fixed mask, after pruning, with stale cross-module values that the
 * blocked passes must ignore), the regularisers' gradients with a relative criterion (the
 * registry walk's error has an absolute floor of 1, too loose for their small gradients),
 * the diagnostics report, and bad options as errors before anything runs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/model.h"
#include "runtime/registry.h"
#include "base/rng.h"
#include "tap.h"

enum { B = 3 };

static ml_registry *reg;

static ml_model *build(const char *options, int d, ml_err *err)
{
    ml_model *m = ml_model_new(reg, 7, err);
    ml_opts *o = m ? ml_opts_new(err) : NULL;
    ml_shape in = {1, {d}};
    if (!o || ml_opts_parse(o, options, err) || ml_model_add(m, "graphsync", o, err) ||
        ml_model_build(m, &in, B, err)) {
        ml_model_free(m);
        return NULL;
    }
    return m;
}

static ml_param *param(ml_model *m, const char *suffix)
{
    for (int32_t i = 0; i < m->np; i++) {
        const char *n = m->param_names[i];
        size_t ln = strlen(n), ls = strlen(suffix);
        if (ln >= ls && !strcmp(n + ln - ls, suffix) && (ln == ls || n[ln - ls - 1] == '.'))
            return m->params[i];
    }
    return NULL;
}

/* h = tanh(h A + x U + b), T times from h = 0, with A's cross-module entries masked when a
 * labelling is given. */
static void reference(ml_model *m, const float *x, int n, int d, int t, const int32_t *label,
                      float *out)
{
    const float *a = param(m, "adjacency")->value, *u = param(m, "input_weight")->value;
    const float *b = param(m, "bias")->value;
    double h[64], z[64];
    for (int r = 0; r < B; r++) {
        for (int j = 0; j < n; j++)
            h[j] = 0.0;
        for (int s = 0; s < t; s++) {
            for (int j = 0; j < n; j++) {
                z[j] = b[j];
                for (int i = 0; i < d; i++)
                    z[j] += (double)x[r * d + i] * u[i * n + j];
                for (int i = 0; i < n; i++)
                    if (!label || label[i] == label[j])
                        z[j] += h[i] * a[i * n + j];
            }
            for (int j = 0; j < n; j++)
                h[j] = tanh(z[j]);
        }
        for (int j = 0; j < n; j++)
            out[r * n + j] = (float)h[j];
    }
}

static double max_diff(const float *x, const float *y, int n)
{
    double w = 0.0;
    for (int i = 0; i < n; i++)
        w = fmax(w, fabs((double)x[i] - y[i]));
    return w;
}

static void fill(float *x, int n, uint64_t seed)
{
    ml_rng r;
    mli_rng_init(&r, seed, 3);
    mli_rng_fill_uniform(&r, x, n, -1.0f, 1.0f);
}

static void test_forward_values(void)
{
    enum { N = 10, D = 5, T = 3 };
    float x[B * D], want[B * N];
    int32_t label[N];
    ml_err err;
    fill(x, B * D, 1);
    ml_model *m = build("units=10 steps=3 modules=3 reg=none prune_after=1", D, &err);
    if (!ok(m != NULL, "dense graphsync builds")) {
        tap_diag("%s", err.msg);
        return;
    }
    m->training = 1;
    ok(!mli_model_forward_into(m, x, B, &err), "dense forward runs");
    reference(m, x, N, D, T, NULL, want);
    ok(max_diff(mli_model_output(m), want, B * N) < 1e-5, "dense forward matches the reference");
    ok(param(m, "assignment")->value[0] == -1.0f, "no modules before pruning");
    /* One backward pass makes prune_after=1 due: the next training forward prunes. */
    fill(m->nodes[0].gact, B * N, 2);
    ok(!mli_model_backward(m, x, B, 0, &err), "backward runs");
    ok(!mli_model_forward_into(m, x, B, &err), "the pruning forward runs");
    const float *asg = param(m, "assignment")->value, *a = param(m, "adjacency")->value;
    int labelled = 1, cross_zero = 1;
    for (int i = 0; i < N; i++) {
        label[i] = (int32_t)asg[i];
        labelled &= asg[i] >= 0.0f && asg[i] < 3.0f && asg[i] == (float)label[i];
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            cross_zero &= label[i] == label[j] || a[i * N + j] == 0.0f;
    ok(labelled, "pruning assigned every unit to one of the 3 modules");
    ok(cross_zero, "pruning dropped every cross-module edge");
    const float *snap = param(m, "adjacency_at_prune")->value;
    ok(snap[0] != 0.0f && snap[1] != 0.0f, "the graph before pruning is kept as a snapshot");
    reference(m, x, N, D, T, label, want);
    ok(max_diff(mli_model_output(m), want, B * N) < 1e-5,
       "block-diagonal forward matches the masked reference");
    /* Momentum may move dropped entries later: the blocked passes must never read them. */
    float *aw = param(m, "adjacency")->value;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (label[i] != label[j])
                aw[i * N + j] = 5.0f;
    ok(!mli_model_forward_into(m, x, B, &err), "blocked forward runs");
    ok(max_diff(mli_model_output(m), want, B * N) < 1e-5,
       "stale cross-module values do not leak into the blocked forward");
    ml_model_free(m);

    m = build("units=10 steps=3 modules=4 reg=none mask=random_blocks", D, &err);
    if (!ok(m != NULL, "random_blocks builds"))
        return;
    int sizes[4] = {0};
    for (int i = 0; i < N; i++) {
        label[i] = (int32_t)param(m, "assignment")->value[i];
        if (label[i] >= 0 && label[i] < 4)
            sizes[label[i]]++;
    }
    ok(sizes[0] >= 2 && sizes[0] <= 3 && sizes[1] >= 2 && sizes[1] <= 3 && sizes[2] >= 2 &&
       sizes[2] <= 3 && sizes[3] >= 2 && sizes[3] <= 3 &&
       sizes[0] + sizes[1] + sizes[2] + sizes[3] == N,
       "random_blocks: balanced modules (%d,%d,%d,%d)", sizes[0], sizes[1], sizes[2], sizes[3]);
    ok(!mli_model_forward_into(m, x, B, &err), "random_blocks forward runs");
    reference(m, x, N, D, T, label, want);
    ok(max_diff(mli_model_output(m), want, B * N) < 1e-5,
       "random_blocks forward matches the masked reference");
    ml_model_free(m);
}

/* The aux gradient against central differences, as one relative error over all entries of
 * A (and Q): |g - g_fd| / |g_fd|. */
static void check_aux(const char *options, int with_q)
{
    ml_err err;
    ml_model *m = build(options, 4, &err);
    if (!ok(m != NULL, "%s builds", options)) {
        tap_diag("%s", err.msg);
        return;
    }
    ml_param *ps[2] = {param(m, "adjacency"), with_q ? param(m, "assign_logits") : NULL};
    double num = 0.0, den = 0.0, v, hi, lo;
    for (int p = 0; p < 2 && ps[p]; p++) {
        mli_model_zero_grad(m);
        mli_model_aux_loss(m, 1.0f, &v, &err);
        float *g = malloc(sizeof(float) * (size_t)ps[p]->numel);
        memcpy(g, ps[p]->grad, sizeof(float) * (size_t)ps[p]->numel);
        for (int64_t i = 0; i < ps[p]->numel; i++) {
            float keep = ps[p]->value[i];
            const float eps = 1e-3f;
            ps[p]->value[i] = keep + eps;
            mli_model_aux_loss(m, 0.0f, &hi, &err);
            ps[p]->value[i] = keep - eps;
            mli_model_aux_loss(m, 0.0f, &lo, &err);
            ps[p]->value[i] = keep;
            double fd = (hi - lo) / (2.0 * eps);
            num += (g[i] - fd) * (g[i] - fd);
            den += fd * fd;
        }
        free(g);
    }
    double rel = sqrt(num / fmax(den, 1e-300));
    ok(den > 1e-8 && rel < 1e-2, "%s: aux gradient relative error %.2e (|g| %.2e)", options,
       rel, sqrt(den));
    ml_model_free(m);
}

static void test_report(void)
{
    ml_err err;
    char buf[512];
    ml_model *m = build("units=12 steps=2 modules=3", 4, &err);
    if (!ok(m != NULL, "spectral layer builds"))
        return;
    const ml_diagnostics_iface *di = m->layers[0].entry.extension(ML_IFACE_DIAGNOSTICS);
    if (!ok(di && di->report, "graphsync offers modlab.diagnostics/1")) {
        ml_model_free(m);
        return;
    }
    size_t need = di->report(m->layers[0].self, NULL, 0);
    size_t len = di->report(m->layers[0].self, buf, sizeof buf);
    ok(len == need && len < sizeof buf && strstr(buf, "\"module_sizes\":[") &&
       strstr(buf, "\"in_module_mass\":") && buf[len - 1] == '}', "report: %s", buf);
    ml_model_free(m);
}

static void bad(const char *options, const char *want)
{
    ml_err err;
    ml_model *m = build(options, 4, &err);
    ok(!m && strstr(err.msg, want), "[%s] is an error naming '%s'", options, want);
    if (m || !strstr(err.msg, want))
        tap_diag("got: %s", m ? "no error" : err.msg);
    ml_model_free(m);
}

int main(void)
{
    ml_err err;
    reg = ml_registry_new(&err);
    if (!reg || ml_registry_load_default(reg, getenv("MODLAB_PLUGIN_PATH"), &err) ||
        !mli_registry_lookup(reg, ML_KIND_LAYER, "graphsync", &err)) {
        printf("1..0 # SKIP graphsync plugin not found: %s\n", err.msg);
        return 0;
    }
    test_forward_values();
    check_aux("units=12 steps=2 modules=3 reg=spectral", 0);
    check_aux("units=16 steps=2 modules=4 reg=spectral", 0);
    check_aux("units=12 steps=2 modules=3 reg=assign balance=2", 1);
    check_aux("units=16 steps=2 modules=4 reg=assign balance=0", 1);
    test_report();
    bad("units=4 modules=5", "modules must be in 1..units");
    bad("units=4 modules=0", "modules must be in 1..units");
    bad("units=4 steps=0", "steps must be in");
    bad("units=0", "units must be in");
    bad("units=4 reg=louvain", "choose one of spectral|assign|none");
    bad("units=4 mask=random_blocks", "reg=none");
    bad("units=4 balance=-1", "balance must be >= 0");
    bad("units=4 prune_after=-2", "prune_after must be >= 0");
    bad("steps=2", "units");
    ml_registry_free(reg);
    return done_testing();
}
