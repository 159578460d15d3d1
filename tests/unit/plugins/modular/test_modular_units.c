/* SPDX-License-Identifier: MIT */
/* The `modular` layer without a dataset: conv modules run only where selected (an
 * unselected module is not run and gets no weight gradient), and a checkpoint round trip
 * keeps what EM and REINFORCE need to continue training identically (stored selections,
 * step count, baseline), rejecting a state blob of the wrong size, version or layer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../../plugins/modular/modular.h"
#include "runtime/model.h"
#include "runtime/registry.h"
#include "tap.h"
#include "tap_model.h"

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
    for (int64_t i = 0; i < (int64_t)B * m->nodes[0].out_numel; i++)
        m->nodes[0].gact[i] = 1.0f;
    mli_model_zero_grad(m);
    rc = rc || mli_model_backward(m, x, B, 1, &err);
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

/* The layer with small_gemm=true against small_gemm=false (every GEMM through the sgemm)
 * on the same weights, in evaluation and training mode (argmax routing, or noisy top-k's
 * noise drawn alike from the same seed): batches whose buckets go from 1 row to past
 * MOD_SMALL_ROWS, input widths with and without a tail after the last 8, outputs that do not
 * fill the tiles, and the controller's few logits. Max difference relative to 1 + |y|. */
static void test_small_gemm(const char *mode, int32_t in_w, int32_t out_w, int32_t modules,
                            int select)
{
    char o1[128], o2[160];
    snprintf(o1, sizeof o1, "out=%d modules=%d select=%d train=%s", out_w, modules, select,
             mode);
    snprintf(o2, sizeof o2, "%s small_gemm=false", o1);
    enum { BIG = 160, MAXIN = 70, MAXOUT = 33 };
    ml_shape in = {1, {in_w}};
    ml_opts *oa = ml_opts_new(&err), *ob = ml_opts_new(&err);
    ml_model *a = ml_model_new(reg, 9, &err), *b = ml_model_new(reg, 9, &err);
    int rc = !oa || !ob || !a || !b ||
             ml_opts_parse(oa, o1, &err) || ml_opts_parse(ob, o2, &err) ||
             ml_model_add(a, "modular", oa, &err) || ml_model_add(b, "modular", ob, &err) ||
             ml_model_build(a, &in, BIG, &err) || ml_model_build(b, &in, BIG, &err);
    if (!ok(!rc, "[%s] small_gemm on and off build (in=%d)", o1, in_w))
        tap_diag("  %s", err.msg);
    static float x[BIG * MAXIN], ya[BIG * MAXOUT];
    fill(x, BIG * MAXIN, 5);
    double worst = 0.0;
    for (int training = 0; training <= 1 && !rc; training++) {
        ml_model_set_training(a, training);
        ml_model_set_training(b, training);
        for (int32_t batch = 1; batch <= BIG; batch += batch < 40 ? 1 : 13) {
            const float *y = ml_model_forward(a, x, batch, &err);
            if (y)
                memcpy(ya, y, (size_t)batch * out_w * sizeof(float));
            const float *yb = y ? ml_model_forward(b, x, batch, &err) : NULL;
            if (!yb) {
                rc = 1;
                break;
            }
            for (int32_t i = 0; i < batch * out_w; i++) {
                double d = fabs((double)ya[i] - yb[i]) / (1.0 + fabs((double)yb[i]));
                if (!(d <= worst))   /* NaN too */
                    worst = isnan(d) ? INFINITY : d;
            }
        }
    }
    ok(!rc && worst <= 1e-5, "[%s] in=%d: the kernel agrees with the sgemm (max rel diff "
       "%.2g)", o1, in_w, worst);
    ml_model_free(a);
    ml_model_free(b);
}

static ml_layer_slot *slot(ml_model *m) { return &m->layers[0]; }
static modular *self_of(ml_model *m) { return slot(m)->self; }

static const ml_estep_iface *estep(ml_model *m)
{
    return slot(m)->entry.extension(ML_IFACE_ESTEP);
}

/* One training step's protocol by hand: candidates scored so that later ones win (EM keeps
 * the last), REINFORCE gets rewards; then the training forward and the aux loss. */
static int step(ml_model *m, const int64_t *ids, const float *x, double *aux)
{
    const ml_estep_iface *it = estep(m);
    void *self = slot(m)->self;
    int32_t rows = self_of(m)->rows;
    double loglik[B * 8], score[B * 8];
    int32_t n = it->begin_batch(self, ids, B, N);
    ml_model_set_training(m, 1);
    for (int32_t k = 0; k < n; k++) {
        it->set_candidate(self, k);
        if (!ml_model_forward(m, x, B, &err))
            return -1;
        for (int32_t i = 0; i < B * rows; i++)
            loglik[i] = score[i] = -1.0 / (1 + k) - 0.1 * i;
        it->add_log_prior(self, score, B, rows);
        it->take_scores(self, loglik, score, B, rows);
    }
    it->set_candidate(self, ML_ESTEP_TRAIN);
    if (!ml_model_forward(m, x, B, &err) || mli_model_aux_loss(m, 0.0f, aux, &err))
        return -1;
    it->end_batch(self);
    return 0;
}

static int same_state(ml_model *a, ml_model *b)
{
    modular *la = self_of(a), *lb = self_of(b);
    size_t n = (size_t)la->store_ids * la->rows * la->K;
    return la->store_ids == lb->store_ids && la->steps == lb->steps &&
           la->store_seed == lb->store_seed && la->baseline == lb->baseline &&
           la->baseline_set == lb->baseline_set &&
           (!n || !memcmp(la->store, lb->store, n * sizeof(int32_t)));
}

static void test_roundtrip(const char *train)
{
    char opts[160], path[600];
    ml_shape in = {2, {2, 6}};
    snprintf(opts, sizeof opts, "out=3 modules=4 select=2 samples=3 estep_every=2 train=%s",
             train);
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, train);
    ml_model *a = build(opts, in, 11), *b = build(opts, in, 12);
    if (!ok(a && b, "%s: two models build", train)) {
        ml_model_free(a);
        ml_model_free(b);
        return;
    }
    static float x[B * 12];
    int64_t ids[B];
    double aux_a = 0, aux_b = 0;
    int rc = 0;
    for (int s = 0; s < 3 && !rc; s++) {   /* train a on several batches of N ids */
        for (int i = 0; i < B; i++)
            ids[i] = (s * B + i) % N;
        fill(x, B * 12, (unsigned)s);
        rc = step(a, ids, x, &aux_a);
    }
    ok(!rc && self_of(a)->store_ids == N, "%s: three steps run and fill the store", train);
    ok(!same_state(a, b), "%s: a fresh model's state differs", train);
    rc = ml_model_save(a, path, &err) || ml_model_load(b, path, &err);
    if (!ok(!rc, "%s: checkpoint saves and loads", train))
        tap_diag("  %s", err.msg);
    ok(same_state(a, b), "%s: stored selections, step count, seed and baseline survive",
       train);
    /* Continue both: the same next step gives the same routing, output and aux loss. The
     * random stream (REINFORCE's samples) is the host's, not the layer's state: it follows
     * the model seed and forward count, which b takes from a. */
    b->seed = a->seed;
    b->forward_count = a->forward_count;
    for (int i = 0; i < B; i++)
        ids[i] = (7 * i + 3) % N;
    fill(x, B * 12, 99);
    rc = step(a, ids, x, &aux_a) || step(b, ids, x, &aux_b);
    const float *ya = mli_model_output(a), *yb = mli_model_output(b);
    ok(!rc && !memcmp(ya, yb, (size_t)B * 6 * sizeof(float)) && aux_a == aux_b &&
       same_state(a, b), "%s: the next training step is identical (aux %.6f / %.6f)", train,
       aux_a, aux_b);
    ml_model_free(a);
    ml_model_free(b);
    remove(path);
}

static int expect(ml_layer_slot *l, const void *buf, size_t len, int code, const char *word,
                  const char *what)
{
    ml_err e = {0};
    int rc = l->vt.load(l->self, buf, len, "1.0.0", &e);
    int good = rc == code && strstr(e.msg, word) != NULL;
    if (!ok(good, "a state blob with %s is rejected", what))
        tap_diag("  rc %d: %s", rc, e.msg);
    else
        tap_diag("  %s", e.msg);
    return good;
}

static void test_rejects(void)
{
    ml_shape in = {1, {5}};
    ml_model *a = build("out=2 modules=4 select=1 estep_every=1", in, 3);
    ml_model *c = build("out=2 modules=5 select=1 estep_every=1", in, 3);
    if (!ok(a && c, "models for the rejection checks build")) {
        ml_model_free(a);
        ml_model_free(c);
        return;
    }
    static float x[B * 5];
    int64_t ids[B] = {0, 1, 2, 3};
    double aux;
    fill(x, B * 5, 1);
    step(a, ids, x, &aux);
    ml_layer_slot *l = slot(a);
    size_t len = 0;
    l->vt.save(l->self, NULL, 0, &len, &err);
    char *buf = malloc(len);
    ok(l->vt.save(l->self, buf, len, &len, &err) == 0, "save writes %zu bytes", len);
    expect(l, buf, len - 4, ML_ERR_FORMAT, "truncated", "a missing tail");
    expect(l, buf, 16, ML_ERR_FORMAT, "header", "a cut header");
    buf[4] ^= 0x7f;   /* the version field follows the 4-byte magic */
    expect(l, buf, len, ML_ERR_UNSUPPORTED, "version", "another format version");
    buf[4] ^= 0x7f;
    buf[0] = 'X';
    expect(l, buf, len, ML_ERR_FORMAT, "magic", "a wrong magic");
    buf[0] = 'M';
    expect(slot(c), buf, len, ML_ERR_SHAPE, "modules=4", "another layer's configuration");
    ok(l->vt.load(l->self, buf, len, "1.0.0", &err) == 0, "the intact blob still loads");
    free(buf);
    ml_model_free(a);
    ml_model_free(c);
}

int main(void)
{
    if (!(reg = tap_registry(NULL, NULL)))
        return 1;
    const char *top = getenv("top_builddir");
    snprintf(dir, sizeof dir, "%s/tests/out/modular_units.%ld", top ? top : ".",
             (long)getpid());
    if (ml_mkdirs(dir, &err)) {
        printf("Bail out! %s\n", err.msg);
        return 1;
    }
    test_unused_module();
    test_small_gemm("em", 21, 7, 3, 1);
    test_small_gemm("em", 21, 7, 3, 2);
    test_small_gemm("em", 8, 1, 2, 1);
    test_small_gemm("em", 70, 33, 4, 2);
    test_small_gemm("em", 13, 20, 8, 1);
    test_small_gemm("reinforce", 64, 12, 5, 1);
    test_small_gemm("noisy_topk", 37, 9, 6, 2);
    test_small_gemm("noisy_topk", 16, 5, 8, 1);
    test_roundtrip("em");
    test_roundtrip("reinforce");
    test_rejects();
    rmdir(dir);
    ml_registry_free(reg);
    is_int(ml_mem_live_blocks(), 0, "no memory left allocated (stores, loaded state)");
    return done_testing();
}
