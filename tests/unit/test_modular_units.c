/* SPDX-License-Identifier: MIT */
/* The `modular` layer without a dataset: conv modules run only where selected (an
 * unselected module is not run and gets no weight gradient). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../plugins/modular/modular.h"
#include "model.h"
#include "registry.h"
#include "tap.h"

enum { B = 4, N = 10 };

static ml_registry *reg;
static ml_err err;
static char dir[512];

static ml_model *build(const char *opts, ml_shape in, uint64_t seed)
{
    ml_opts *o = ml_opts_new(&err);
    ml_model *m = ml_model_new(reg, seed, &err);
    if (!o || !m || ml_opts_parse(o, opts, &err) || ml_model_add(m, "modular", o, &err) ||
        ml_model_build(m, &in, B, &err)) {
        tap_diag("build [%s]: %s", opts, err.msg);
        ml_model_free(m);
        return NULL;
    }
    return m;
}

static ml_param *param(ml_model *m, const char *suffix)
{
    for (int32_t i = 0; i < m->np; i++) {
        const char *n = ml_model_param_name(m, i);
        size_t ln = strlen(n), ls = strlen(suffix);
        if (ln >= ls && !strcmp(n + ln - ls, suffix))
            return ml_model_param(m, i);
    }
    return NULL;
}

static void fill(float *x, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((i * 2654435761u + salt) % 1000) / 500.0f - 1.0f;
}

/* K=1 conv modules, module 3 made unattractive to the controller: no example selects it,
 * so its GEMM never runs (module_runs in the diagnostics) and its weight gradient is 0. */
static void test_unused_module(void)
{
    ml_shape in = {3, {2, 6, 6}};
    ml_model *m = build("op=conv out=3 modules=4 select=1 kernel=3 padding=1", in, 5);
    if (!ok(m != NULL, "conv modular layer builds"))
        return;
    ml_layer_slot *l = &m->layers[0];
    ml_param *cb = param(m, "controller.bias"), *w = param(m, "modules.weight");
    cb->value[3] = -1e4f;
    static float x[B * 72];
    fill(x, B * 72, 3);
    ml_model_set_training(m, 1);
    l->diag->reset(l->self);
    int rc = !ml_model_forward(m, x, B, &err);
    for (int64_t i = 0; i < (int64_t)B * l->out_numel; i++)
        l->gact[i] = 1.0f;
    ml_model_zero_grad(m);
    rc = rc || ml_model_backward(m, x, B, 1, &err);
    if (!ok(!rc, "forward and backward run"))
        tap_diag("  %s", err.msg);
    char rep[4096];
    l->diag->report(l->self, rep, sizeof rep);
    const char *r = strstr(rep, "\"module_runs\":[");
    int runs[4] = {-1, -1, -1, -1};
    if (r)
        sscanf(r + 15, "%d,%d,%d,%d", &runs[0], &runs[1], &runs[2], &runs[3]);
    int64_t per = w->numel / 4, used = 0;
    double g3 = 0.0, gused = 0.0;
    for (int64_t i = 0; i < per; i++)
        g3 += fabs(w->grad[3 * per + i]);
    for (int mod = 0; mod < 3; mod++)
        if (runs[mod] > 0) {
            used += runs[mod];
            for (int64_t i = 0; i < per; i++)
                gused += fabs(w->grad[mod * per + i]);
        }
    ok(runs[3] == 0 && used >= 1 && runs[0] <= 1 && runs[1] <= 1 && runs[2] <= 1,
       "the unselected module's GEMM does not run (runs %d %d %d %d)", runs[0], runs[1],
       runs[2], runs[3]);
    ok(g3 == 0.0 && gused > 0.0, "its weight gradient is zero (%g), the used ones' not (%g)",
       g3, gused);
    ml_model_free(m);
}

int main(void)
{
    reg = ml_registry_new(&err);
    if (!reg || ml_registry_load_default(reg, NULL, &err) != 0) {
        printf("Bail out! registry: %s\n", err.msg);
        return 1;
    }
    const char *top = getenv("top_builddir");
    snprintf(dir, sizeof dir, "%s/tests/out/modular_units.%ld", top ? top : ".",
             (long)getpid());
    if (ml_mkdirs(dir, &err)) {
        printf("Bail out! %s\n", err.msg);
        return 1;
    }
    test_unused_module();
    rmdir(dir);
    ml_registry_free(reg);
    return done_testing();
}
