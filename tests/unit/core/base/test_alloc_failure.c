/* SPDX-License-Identifier: MIT */
/* Allocation-failure injection over whole operations (curl's torture tests): for n = 1, 2,
 * ... each scenario runs again with its n-th allocation failing, until a run reaches no n-th
 * allocation. Every failing run must end in a clean error (a negative code, ML_ERR_NOMEM and
 * a message saying what ran out of memory), no crash, and leave modlab's live counters where
 * they were; the run without a failure must succeed. Scenarios: building models of the
 * standard layers and of each structure plugin, one training step with Adam and with SGD
 * momentum, a checkpoint save and load, sweep files with grid, random and bayes plans. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/mem.h"
#include "tap.h"
#include "tap_model.h"
#include "tap_fs.h"
#include <modlab/modlab.h>
#include <modlab/sweep.h>

enum { BATCH = 4, MAX_RUNS = 20000, MAX_REPORTS = 5 };

static ml_registry *reg;
static char dir[64];

/* ---- models from "layer k=v ...|layer ..." ------------------------------------------- */

static ml_model *build(const char *spec, const ml_shape *in, ml_err *err)
{
    return tap_model(reg, 7, spec, in, BATCH, err);
}

typedef struct model_case {
    const char *spec;
    ml_shape in;
    int int_inputs;        /* > 0: inputs are ids below this (embedding) */
    const char *optimizer; /* training scenarios */
    const char *opt_opts;
} model_case;

static int build_only(const void *arg, ml_err *err)
{
    const model_case *c = arg;
    ml_model *m = build(c->spec, &c->in, err);
    ml_model_free(m);
    return m ? 0 : err->code;
}

/* Build, make a trainer, run one whole step (E-step included, so through a dataset that
 * gives the batch's indices) on a synthetic batch, free everything. */
static int train_step(const void *arg, ml_err *err)
{
    const model_case *c = arg;
    static const int64_t order[] = {0, 1, 2, 3, 4, 5, 6, 7};
    char dopts_text[96];
    ml_shape target = {0, {0}};
    ml_trainer *t = NULL;
    ml_dataset *d = NULL;
    ml_opts *lo = NULL, *oo = NULL, *dopts = NULL;
    int rc;
    ml_model *m = build(c->spec, &c->in, err);
    if (!m)
        return err->code;
    const ml_shape *out = ml_model_out_shape(m, -1);
    snprintf(dopts_text, sizeof dopts_text, "kind=blobs size=%d classes=%d dims=%lld", BATCH,
             (int)out->dim[out->ndim - 1], (long long)ml_shape_numel(&c->in));
    if (!(dopts = ml_opts_new(err)) || ml_opts_parse(dopts, dopts_text, err)) {
        ml_opts_free(dopts);
        ml_model_free(m);
        return err->code;
    }
    if (!(d = ml_dataset_open(reg, "synthetic", dopts, err))) {   /* owns dopts */
        ml_model_free(m);
        return err->code;
    }
    if (!(lo = ml_opts_new(err)) || !(oo = ml_opts_new(err)) ||
        ml_opts_parse(oo, c->opt_opts, err)) {
        ml_opts_free(lo);
        ml_opts_free(oo);
        ml_dataset_close(d);
        ml_model_free(m);
        return err->code;
    }
    /* The trainer owns both option sets, also on failure. */
    t = ml_trainer_new(m, &target, "cross_entropy", lo, c->optimizer, oo, err);
    ml_step_stats st = {0};
    rc = t ? ml_trainer_run(t, d, order, BATCH, BATCH, 0, 1, 1, &st, err) : err->code;
    ml_trainer_free(t);
    ml_dataset_close(d);
    ml_model_free(m);
    return rc;
}

/* Open a synthetic dataset and run one training batch from it through ml_trainer_run. */
static int train_run(const void *arg, ml_err *err)
{
    (void)arg;
    static const int64_t order[] = {0, 1, 2, 3, 4, 5, 6, 7};
    ml_shape in = {1, {2}}, target = {0, {0}};
    ml_trainer *t = NULL;
    ml_dataset *d = NULL;
    ml_opts *dopts = ml_opts_new(err), *lo = NULL, *oo = NULL;
    int rc;
    if (!dopts || ml_opts_parse(dopts, "kind=spirals size=8 classes=2", err)) {
        ml_opts_free(dopts);
        return err->code;
    }
    if (!(d = ml_dataset_open(reg, "synthetic", dopts, err)))   /* owns dopts */
        return err->code;
    ml_model *m = build("linear out=8|tanh|linear out=2", &in, err);
    if (m && (lo = ml_opts_new(err)) && (oo = ml_opts_new(err)) &&
        !ml_opts_parse(oo, "lr=0.05 momentum=0.5", err))
        t = ml_trainer_new(m, &target, "cross_entropy", lo, "sgd", oo, err);
    else {
        ml_opts_free(lo);
        ml_opts_free(oo);
    }
    ml_step_stats st = {0};
    rc = t ? ml_trainer_run(t, d, order, 8, BATCH, 0, 2, 1, &st, err) : err->code;
    ml_trainer_free(t);
    ml_model_free(m);
    ml_dataset_close(d);
    return rc;
}

/* ---- checkpoints: save one prebuilt model, load into another ------------------------- */

static const model_case ckpt_model = {
    "graphsync units=8 steps=2 modules=2|batchnorm|relu|modular out=5 modules=3 select=2|"
    "linear out=3", {1, {6}}, 0, NULL, NULL};
static ml_model *ckpt_src, *ckpt_dst;
static char ckpt_path[96];

static int ckpt_save(const void *arg, ml_err *err)
{
    (void)arg;
    return ml_model_save(ckpt_src, ckpt_path, err);
}

static int ckpt_load(const void *arg, ml_err *err)
{
    (void)arg;
    return ml_model_load(ckpt_dst, ckpt_path, err);
}

/* ---- sweeps ------------------------------------------------------------------------ */

typedef struct sweep_case {
    const char *file;   /* in dir when text is given, else a path as it is */
    const char *text;   /* written to dir/file */
    int want;           /* what the run without a failure returns (bayes: unsupported) */
} sweep_case;

static int sweep_load(const void *arg, ml_err *err)
{
    const sweep_case *c = arg;
    char path[512];
    if (!c->text)
        snprintf(path, sizeof path, "%s", c->file);
    else
        snprintf(path, sizeof path, "%s/%s", dir, c->file);
    ml_sweep *s = ml_sweep_load(path, err);
    int rc = s ? 0 : err->code;
    if (s && !ml_sweep_json(s))
        rc = ML_ERR_INTERNAL;
    ml_sweep_free(s);
    /* The planned refusal counts as the scenario's success; a NOMEM stays a NOMEM. */
    if (c->want && rc == c->want)
        return 0;
    return rc;
}

/* ---- plugins: a plugin whose init fails is skipped with a warning, the others load, so the
 * first warning is this scenario's error ---------------------------------------------- */

static int registry_load(const void *arg, ml_err *err)
{
    (void)arg;
    ml_registry *r = ml_registry_new(err);
    int rc = r ? ml_registry_load_default(r, NULL, err) : err->code;
    if (!rc && ml_registry_nwarnings(r) > 0) {
        const char *w = ml_registry_warning(r, 0);
        rc = err->code = strstr(w, "out of memory") ? ML_ERR_NOMEM : ML_ERR_INTERNAL;
        snprintf(err->msg, sizeof err->msg, "%s", w);
    }
    ml_registry_free(r);
    return rc;
}

/* ---- the driver ---------------------------------------------------------------------- */

typedef int (*scenario_fn)(const void *arg, ml_err *err);

/* Starts argv[0] (PATH search) with its stdout on the returned stream and its stderr on
 * /dev/null; NULL when it cannot start. The caller closes the stream and reaps *pid. */
static FILE *run_reader(char *const *argv, pid_t *pid)
{
    int fds[2];
    posix_spawn_file_actions_t fa;
    if (pipe(fds) != 0)
        return NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    FILE *f = rc == 0 ? fdopen(fds[0], "r") : NULL;
    if (!f)
        close(fds[0]);
    if (rc == 0 && !f)
        waitpid(*pid, NULL, 0);
    return f;
}

/* "sweep.c:91 warn (libmodlab.so.0+0x1386a)": addr2line turns the object and offset that
 * mli_mem_site_name gives into a source line, when binutils is there (only for reports). */
static void site_name(const void *site, char *buf, size_t n)
{
    Dl_info info;
    char offset[32], fn[256] = "", line[512] = "";
    if (!site) {
        snprintf(buf, n, "?");
        return;
    }
    mli_mem_site_name(site, buf, n);
    if (!dladdr((const char *)site - 1, &info) || !info.dli_fname)
        return;
    snprintf(offset, sizeof offset, "%#zx",
             (size_t)((const char *)site - 1 - (const char *)info.dli_fbase));
    /* An argv array, no shell: the object's name is passed as it is. */
    char *argv[] = {"addr2line", "-f", "-e", (char *)info.dli_fname, offset, NULL};
    pid_t pid;
    FILE *p = run_reader(argv, &pid);
    if (!p)
        return;
    int got = fgets(fn, sizeof fn, p) && fgets(line, sizeof line, p);
    fclose(p);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    if (!got || line[0] == '?')
        return;
    fn[strcspn(fn, "\n")] = '\0';
    line[strcspn(line, "\n")] = '\0';
    const char *file = strrchr(line, '/');
    char obj[160];
    snprintf(obj, sizeof obj, "%s", buf);
    snprintf(buf, n, "%s %s (%s)", file ? file + 1 : line, fn, obj);
}

/* Reports at most MAX_REPORTS problems per scenario as diagnostics. */
static void problem(int *count, const char *name, int64_t n, const char *what)
{
    char where[400];
    if ((*count)++ >= MAX_REPORTS)
        return;
    site_name(mli_mem_failed_site(), where, sizeof where);
    tap_diag("%s: allocation %lld failing (at %s): %s", name, (long long)n, where, what);
}

static void torture(const char *name, scenario_fn fn, const void *arg)
{
    int64_t blocks = ml_mem_live_blocks(), bytes = ml_mem_live_bytes(), n;
    int unclean = 0, leaks = 0, silent = 0, vague = 0, done = 0, final_rc = 0;
    char final_msg[ML_ERR_MSG_MAX] = "";
    mli_mem_sites_record(1);
    for (n = 1; n <= MAX_RUNS && !done; n++) {
        ml_err err = {0};
        ml_mem_fail_at(n);
        int rc = fn(arg, &err);
        int injected = mli_mem_fail_pending() == 0;
        ml_mem_fail_at(0);
        if (ml_mem_live_blocks() != blocks || ml_mem_live_bytes() != bytes) {
            char what[96];
            snprintf(what, sizeof what, "%lld blocks (%lld bytes) leaked",
                     (long long)(ml_mem_live_blocks() - blocks),
                     (long long)(ml_mem_live_bytes() - bytes));
            problem(&leaks, name, n, what);
            /* Count from the new level, so one leak is not reported on every later run. */
            blocks = ml_mem_live_blocks();
            bytes = ml_mem_live_bytes();
        }
        if (!injected) {
            done = 1;
            final_rc = rc;
            snprintf(final_msg, sizeof final_msg, "%s", err.msg);
        } else if (rc == 0) {
            problem(&silent, name, n, "succeeded although an allocation failed");
        } else if (rc > 0 || err.code != ML_ERR_NOMEM) {
            char what[ML_ERR_MSG_MAX + 64];
            snprintf(what, sizeof what, "not a clean out-of-memory error: rc %d, '%s'", rc,
                     err.msg);
            problem(&unclean, name, n, what);
        } else if (!strstr(err.msg, "out of memory") || strcmp(err.msg, "out of memory") == 0) {
            char what[ML_ERR_MSG_MAX + 64];
            snprintf(what, sizeof what, "the message does not say what ran out: '%s'", err.msg);
            problem(&vague, name, n, what);
        }
    }
    mli_mem_sites_record(0);
    int64_t allocs = n - 2;
    if (!ok(done && final_rc == 0, "%s: runs without a failure once %lld allocations pass",
            name, (long long)allocs))
        tap_diag("  rc %d: %s", final_rc, final_msg);
    ok(unclean == 0, "%s: each of %lld injected failures ends in a clean NOMEM error (%d not)",
       name, (long long)allocs, unclean);
    ok(vague == 0, "%s: every message says what ran out of memory (%d do not)", name, vague);
    ok(silent == 0, "%s: no run succeeds past a failed allocation (%d did)", name, silent);
    ok(leaks == 0, "%s: live blocks back to the baseline after every run (%d runs leaked)",
       name, leaks);
    int32_t nsites = mli_mem_sites_count(), ninj = mli_mem_sites_injected();
    tap_diag("%s: %lld allocations, %d distinct sites reached, %d injected", name,
             (long long)allocs, (int)nsites, (int)ninj);
    /* Sites reached only on error paths never had their failure injected: name them. */
    for (int32_t i = 0; i < nsites; i++) {
        const void *site;
        int64_t calls, inj;
        char where[400];
        if (mli_mem_site_get(i, &site, &calls, &inj) == 0 && inj == 0) {
            site_name(site, where, sizeof where);
            tap_diag("  not injected: %s (%lld calls)", where, (long long)calls);
        }
    }
}

/* ---- scenarios ---------------------------------------------------------------------- */

static const model_case models[] = {
    {"conv2d out=4 kernel=3 padding=1|batchnorm|relu|maxpool2d kernel=2|"
     "conv2d out=4 kernel=3 padding=1 stride=1|leaky_relu|avgpool2d kernel=2|dropout p=0.25|"
     "flatten|linear out=12|layernorm|gelu|tanh|sigmoid|linear out=6|softmax", {3, {2, 8, 8}},
     0, NULL, NULL},
    {"conv2d out=3 kernel=3|global_avgpool|reshape shape=1x3|flatten|linear out=4|log_softmax",
     {3, {1, 6, 6}}, 0, NULL, NULL},
    {"embedding vocab=10 dim=4|lstm hidden=5|flatten|linear out=3", {1, {6}}, 10, NULL, NULL},
    {"graphsync units=16 steps=3 modules=4 reg=assign balance=0.5|relu|"
     "graphsync units=8 steps=2 modules=2 reg=spectral activation=sigmoid|linear out=4",
     {1, {12}}, 0, NULL, NULL},
    {"mp_split paths=3|mp_route_fdcc|multipath paths=3 out=3 routing=fdcc batchnorm=true|"
     "multipath paths=3 out=3 routing=cross_prediction|multipath paths=3 out=2 routing=static|"
     "mp_merge mode=concat|flatten|linear out=4", {3, {2, 6, 6}}, 0, NULL, NULL},
    {"modular out=8 modules=4 select=2 train=em|relu|modular out=6 modules=3 train=reinforce|"
     "modular out=4 modules=3 select=2 train=noisy_topk", {1, {10}}, 0, NULL, NULL},
    {"switcher out=3 wrap=conv2d kernel=2 depth=1 base_channels=2|flatten|"
     "switcher out=4 gate=connections depth=1 base_channels=2", {3, {2, 4, 4}}, 0, NULL, NULL},
};
static const char *model_names[] = {
    "build nn (cnn)", "build nn (pools, reshape)", "build nn (sequence)", "build graphsync",
    "build multipath", "build modular", "build switcher",
};

static const model_case trainings[] = {
    {"conv2d out=3 kernel=3 padding=1|batchnorm|relu|maxpool2d kernel=2|dropout p=0.2|"
     "flatten|linear out=4", {3, {1, 6, 6}}, 0, "adam", "lr=0.01"},
    {"conv2d out=3 kernel=3 padding=1|batchnorm|relu|maxpool2d kernel=2|dropout p=0.2|"
     "flatten|linear out=4", {3, {1, 6, 6}}, 0, "sgd", "lr=0.1 momentum=0.9 nesterov=true"},
    {"modular out=6 modules=3 train=em estep_every=1|relu|linear out=3", {1, {5}}, 0, "adam",
     "lr=0.01"},
    {"graphsync units=8 steps=2 modules=2|linear out=3", {1, {5}}, 0, "sgd",
     "lr=0.1 momentum=0.9"},
};
static const char *training_names[] = {
    "train step cnn (adam)", "train step cnn (sgd momentum)", "train step modular em (adam)",
    "train step graphsync (sgd momentum)",
};

static const sweep_case sweeps[] = {
    {"grid.yaml",
     "name: g\nprogram: r.lua\nmethod: grid\nmetric: {name: loss, goal: minimize}\n"
     "parameters:\n  lr: {values: [0.1, 0.01, 1e-3]}\n  layers: {values: [[8, 8], [16]]}\n"
     "  opt:\n    parameters:\n      kind: {values: [adam, sgd]}\n      wd: {value: 0}\n"
     "modlab:\n  repeats: {seeds: [1, 2], seed_param: seed}\n", 0},
    {"random.yaml",
     "name: r\nprogram: r.lua\nmethod: random\nrun_cap: 5\n"
     "metric: {name: acc, goal: maximize}\n"
     "parameters:\n  lr: {distribution: log_uniform_values, min: 1e-4, max: 0.1}\n"
     "  width: {distribution: q_uniform, min: 8, max: 64, q: 8}\n"
     "  act: {values: [relu, tanh], probabilities: [0.5, 0.5]}\n"
     "  noise: {distribution: normal, mu: 0, sigma: 1}\n"
     "early_terminate: {type: hyperband, min_iter: 1, eta: 3}\n", 0},
    {"bayes.yaml",
     "name: b\nprogram: r.lua\nmethod: bayes\nmetric: {name: loss, goal: minimize}\n"
     "parameters:\n  lr: {min: 0.001, max: 0.1}\n", ML_ERR_UNSUPPORTED},
    /* Few configurations, many draws: repeated trials are dropped with a warning each. */
    {"repeats.yaml",
     "name: d\nprogram: r.lua\nmethod: random\nrun_cap: 8\n"
     "parameters:\n  a: {values: [x, y]}\n  b: {values: [1, 2]}\n", 0},
};
static const char *sweep_names[] = {
    "sweep grid", "sweep random", "sweep bayes (refused)", "sweep random (repeated draws)",
};

static int write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

int main(void)
{
    ml_err err = {0};
    snprintf(dir, sizeof dir, "/tmp/torture-alloc-XXXXXX");
    if (!mkdtemp(dir)) {
        printf("Bail out! cannot create a temporary directory\n");
        return 1;
    }
    if (!(reg = tap_registry(NULL, NULL)))
        return 1;
    torture("load plugins", registry_load, NULL);
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        torture(model_names[i], build_only, &models[i]);
    for (size_t i = 0; i < sizeof trainings / sizeof trainings[0]; i++)
        torture(training_names[i], train_step, &trainings[i]);
    torture("train run synthetic data (sgd momentum)", train_run, NULL);

    snprintf(ckpt_path, sizeof ckpt_path, "%s/model.safetensors", dir);
    ckpt_src = build(ckpt_model.spec, &ckpt_model.in, &err);
    ckpt_dst = ckpt_src ? build(ckpt_model.spec, &ckpt_model.in, &err) : NULL;
    if (ok(ckpt_dst && ml_model_save(ckpt_src, ckpt_path, &err) == 0,
           "checkpoint models build and save")) {
        torture("checkpoint save", ckpt_save, NULL);
        torture("checkpoint load", ckpt_load, NULL);
    } else {
        tap_diag("  %s", err.msg);
    }
    ml_model_free(ckpt_src);
    ml_model_free(ckpt_dst);

    for (size_t i = 0; i < sizeof sweeps / sizeof sweeps[0]; i++) {
        if (!ok(write_file(sweeps[i].file, sweeps[i].text) == 0, "write %s", sweeps[i].file))
            continue;
        torture(sweep_names[i], sweep_load, &sweeps[i]);
    }
    const char *src = getenv("top_srcdir");
    char wandb[512];
    snprintf(wandb, sizeof wandb, "%s/tests/fixtures/sweep/wandb_example.yaml", src ? src : ".");
    sweep_case example = {wandb, NULL, 0};
    torture("sweep W&B example (random, nested)", sweep_load, &example);

    ml_registry_free(reg);
    tap_cleanup_dir(dir);
    return done_testing();
}
