/* SPDX-License-Identifier: MIT */
/* Sweep files: W&B files read unchanged, expansion, stable ids, errors with positions, export,
 * the journal under concurrent writers, and trial processes. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "formats/json.h"
#include <modlab/modlab.h>
#include "sweep_test.h"
#include "tap.h"
#include "tap_oom.h"
#include <modlab/sweep.h>

/* Load text and expect an error whose message contains want. */
static void bad(const char *text, const char *want, const char *name)
{
    ml_err err = {0};
    ml_sweep *s = load(text, &err);
    ok(!s && strstr(err.msg, want), "%s", name);
    if (s || !strstr(err.msg, want))
        tap_diag("got '%s', want '%s'", s ? "(loaded)" : err.msg, want);
    ml_sweep_free(s);
}

static const ml_json *trial(const ml_json_doc *doc, size_t i)
{
    return mli_json_at(mli_json_get(mli_json_root(doc), "trials"), i);
}

static const char *arg_of(const ml_json_doc *d, size_t t, const char *name)
{
    const ml_json *cols = mli_json_get(mli_json_root(d), "columns");
    for (size_t j = 0; j < cols->count; j++)
        if (strcmp(mli_json_at(cols, j)->str, name) == 0)
            return mli_json_at(mli_json_get(trial(d, t), "args"), j)->str;
    return NULL;
}

static const ml_json *param_of(const ml_json_doc *d, size_t t, const char *name)
{
    const ml_json *cols = mli_json_get(mli_json_root(d), "columns");
    for (size_t j = 0; j < cols->count; j++)
        if (strcmp(mli_json_at(cols, j)->str, name) == 0)
            return mli_json_at(mli_json_get(trial(d, t), "params"), j);
    return NULL;
}

static void test_wandb_file(const char *srcdir)
{
    char path[4096];
    ml_err err = {0};
    snprintf(path, sizeof path, "%s/tests/fixtures/sweep/wandb_example.yaml", srcdir);
    ml_sweep *a = ml_sweep_load(path, &err), *b = ml_sweep_load(path, &err);
    ok(a && b, "the W&B example file (nested parameters, distributions) loads unchanged");
    if (!a || !b) {
        tap_diag("%s", err.msg);
        ml_sweep_free(a);
        ml_sweep_free(b);
        return;
    }
    is_int(ml_sweep_ntrials(a), 6, "run_cap 6 gives 6 random trials");
    is_str(ml_sweep_json(a), ml_sweep_json(b), "the same file gives the same trials");
    ml_json_doc *d = plan_of(a);
    int all_ok = 1;
    for (size_t t = 0; d && t < 6; t++) {
        double lr = atof(arg_of(d, t, "optimizer.lr"));
        double w = atof(arg_of(d, t, "model.width"));
        const ml_json *depth = param_of(d, t, "model.depth");
        const char *act = arg_of(d, t, "model.activation");
        all_ok &= lr >= 1e-3 && lr <= 0.3;
        all_ok &= w >= 8 && w <= 64 && (int)w % 8 == 0;
        all_ok &= depth->is_int && depth->i >= 1 && depth->i <= 3;
        all_ok &= strcmp(act, "relu") == 0 || strcmp(act, "tanh") == 0;
        all_ok &= strcmp(arg_of(d, t, "epochs"), "2") == 0;
    }
    ok(d && all_ok, "draws stay in range; integer min/max give integers (YAML 1.2 typing)");
    like(mli_json_get(mli_json_get(mli_json_root(d), "metric"), "name")->str, "valid_accuracy",
         "metric name read");
    const ml_json *et = mli_json_get(mli_json_root(d), "early_terminate");
    ok(et && mli_json_get(et, "rungs") && mli_json_at(mli_json_get(et, "rungs"), 1)->num == 3,
       "hyperband min_iter 1, eta 3: rungs 1, 3, ...");
    mli_json_free(d);
    ml_sweep_free(a);
    ml_sweep_free(b);

    char *out = ml_sweep_export_wandb(path, &err);
    ok(out != NULL, "export of a file without modlab: works");
    FILE *f = fopen(path, "rb");
    char orig[8192] = "";
    size_t n = f ? fread(orig, 1, sizeof orig - 1, f) : 0;
    orig[n] = 0;
    if (f)
        fclose(f);
    ok(out && strcmp(out, orig) == 0, "... and gives the file back byte for byte");
    ml_sweep_text_free(out);
}

static const char *grid_text =
    "program: r.lua\n"
    "method: grid\n"
    "parameters:\n"
    "  a: {values: [1, 2, 3]}\n"
    "  opt:\n"
    "    parameters:\n"
    "      lr: {values: [1e-4, 0.1]}\n"
    "  n: {min: 1, max: 2}\n"
    "  name: {value: x}\n";

static void test_grid(void)
{
    ml_err err = {0};
    ml_sweep *s = load(grid_text, &err);
    ok(s != NULL, "a grid loads");
    if (!s) {
        tap_diag("%s", err.msg);
        return;
    }
    is_int(ml_sweep_ntrials(s), 12, "3 x 2 x 2 (integer min/max enumerated) x 1 = 12 trials");
    ml_json_doc *d = plan_of(s);
    is_str(arg_of(d, 0, "opt.lr"), "0.0001", "1e-4 is a float (YAML 1.2), passed as 0.0001");
    ok(!param_of(d, 0, "opt.lr")->is_int, "... and stays a float in params");
    is_str(arg_of(d, 1, "n"), "2", "the last parameter varies fastest");
    is_str(arg_of(d, 2, "opt.lr"), "0.1", "then the one before");
    is_str(arg_of(d, 4, "a"), "2", "the first parameter varies slowest");
    is_str(arg_of(d, 11, "name"), "x", "constants in every trial");
    mli_json_free(d);
    int distinct = 1;
    for (int i = 0; i < 12; i++)
        for (int j = 0; j < i; j++)
            distinct &= strcmp(ml_sweep_trial_id(s, i), ml_sweep_trial_id(s, j)) != 0;
    ok(distinct && strlen(ml_sweep_trial_id(s, 0)) == 12, "12 distinct 12-hex-digit ids");
    char id0[16];
    snprintf(id0, sizeof id0, "%s", ml_sweep_trial_id(s, 0));
    ml_sweep_free(s);

    /* The id hashes the resolved parameters, not the file's order or spelling. */
    const char *other =
        "method: grid\n"
        "program: r.lua\n"
        "parameters:\n"
        "  opt.lr: {values: [0.0001]}\n"
        "  name: {value: x}\n"
        "  n: {values: [1]}\n"
        "  a: {values: [1]}\n";
    s = load(other, &err);
    ok(s && strcmp(ml_sweep_trial_id(s, 0), id0) == 0,
       "same parameters (dotted vs nested, other order, 1e-4 vs 0.0001): same id");
    ml_sweep_free(s);

    const char *rep =
        "method: grid\nprogram: r.lua\nparameters:\n  a: {values: [1, 2]}\n"
        "modlab:\n  repeats: {count: 3, seed_param: seed, base_seed: 10}\n";
    s = load(rep, &err);
    ok(s && ml_sweep_ntrials(s) == 6, "repeats: 2 configs x 3 = 6 trials");
    if (s) {
        d = plan_of(s);
        is_str(arg_of(d, 2, "seed"), "12", "seeds base_seed + repeat");
        is_str(arg_of(d, 3, "a"), "2", "repeats of one config are adjacent");
        mli_json_free(d);
    }
    ml_sweep_free(s);
}

static void test_random(void)
{
    const char *t1 =
        "method: random\nprogram: r.lua\nrun_cap: 20\n"
        "parameters:\n  x: {min: 0.0, max: 1.0}\n  k: {values: [a, b, c]}\n"
        "modlab: {sampler: {seed: 42}}\n";
    const char *t2 =
        "method: random\nprogram: r.lua\nrun_cap: 20\n"
        "parameters:\n  x: {min: 0.0, max: 1.0}\n  k: {values: [a, b, c]}\n"
        "modlab: {sampler: {seed: 43}}\n";
    ml_err err = {0};
    ml_sweep *a = load(t1, &err), *b = load(t1, &err), *c = load(t2, &err);
    ok(a && b && c, "random sweeps load");
    if (a && b && c) {
        is_str(ml_sweep_json(a), ml_sweep_json(b), "a fixed sampler seed gives the same trials");
        ok(strcmp(ml_sweep_json(a), ml_sweep_json(c)) != 0, "another seed, other trials");
        ml_json_doc *d = plan_of(a);
        ok(!param_of(d, 0, "x")->is_int && param_of(d, 0, "x")->num >= 0 &&
           param_of(d, 0, "x")->num <= 1, "float min/max: uniform floats");
        mli_json_free(d);
    }
    ml_sweep_free(a);
    ml_sweep_free(b);
    ml_sweep_free(c);
}

static void test_errors(void)
{
    bad("method: grid\nparameters:\n  a: {values: [1, 2]\n", "s.yaml:4:1: did not find",
        "malformed YAML: file and line");
    bad("method: grid\nprogram: r.lua\nparamters:\n  a: {value: 1}\n",
        "s.yaml:3:1: unknown key 'paramters' in the sweep", "unknown top-level key: file:line:col");
    bad("method: grid\nprogram: r.lua\nparameters:\n  a:\n    valuse: [1]\n",
        "s.yaml:5:5: unknown key 'valuse' in parameter 'a'", "unknown parameter key");
    bad("method: grid\nprogram: r.lua\nparameters:\n  a: {values: []}\n",
        "s.yaml:4:15: values of parameter 'a' is empty", "empty grid: file:line:col");
    bad("method: grid\nprogram: r.lua\nparameters: {}\n", "s.yaml:3:13: parameters is empty",
        "no parameters");
    bad("method: random\nprogram: r.lua\nrun_cap: ten\nparameters:\n  a: {value: 1}\n",
        "s.yaml:3:10: run_cap must be an integer", "wrong type: run_cap");
    bad("method: random\nprogram: r.lua\nrun_cap: 3\nparameters:\n  a: {min: 1, max: x}\n",
        "s.yaml:5:20: max of parameter 'a' must be a number", "wrong type: max");
    bad("method: grid\nprogram: r.lua\nparameters:\n  a: {values: 3}\n",
        "s.yaml:4:15: values must be a sequence", "wrong type: values");
    bad("method: bayes\nprogram: r.lua\nparameters:\n  a: {value: 1}\n",
        "s.yaml:1:9: method 'bayes' is not supported", "bayes: a clear not-supported error");
    bad("method: grid\nprogram: r.lua\nparameters:\n  a: {min: 0.1, max: 1.0}\n",
        "s.yaml:4:6: grid search needs values", "grid over a continuous range");
    bad("method: random\nprogram: r.lua\nparameters:\n  a: {min: 0.1, max: 1.0}\n",
        "s.yaml:1:9: method random needs a trial count", "random without run_cap");
    bad("method: random\nprogram: r.lua\nrun_cap: 2\nparameters:\n"
        "  a: {distribution: beta, min: 0, max: 1}\n",
        "s.yaml:5:21: distribution 'beta' of parameter 'a' is not supported",
        "unsupported distribution");
    bad("method: random\nprogram: r.lua\nrun_cap: 2\nparameters:\n  a: {min: 3, max: 1}\n",
        "s.yaml:5:12: min of parameter 'a' is above its max", "min > max");
    bad("method: grid\nprogram: r.lua\nparameters:\n  a: {value: 1}\nmodlab:\n  workers: 0\n",
        "s.yaml:6:12: modlab.workers must be >= 1", "modlab.workers range");
    bad("method: grid\nprogram: r.lua\nparameters:\n  a: {value: 1}\nmodlab:\n  worker: 2\n",
        "s.yaml:6:3: unknown key 'worker' in modlab", "unknown modlab key");
    bad("method: grid\nprogram: r.lua\nparameters:\n  a: {value: 1}\nmodlab:\n"
        "  timeout: soon\n", "s.yaml:6:12: timeout must be seconds", "bad timeout");
    bad("method: grid\nprogram: r.lua\nparameters:\n  a: {value: 1}\n  b:\n    parameters:\n"
        "      c: {value: 1}\n  b.c: {value: 2}\n", "given twice",
        "dotted and nested names collide");
    bad("method: grid\nprogram: r.lua\nparameters:\n  a: {values: [1], probabilities: [0.5]}\n",
        "probabilities of parameter 'a' sum to 0.5", "probabilities must sum to 1");
    bad("method: grid\nprogram: r.lua\nparameters:\n  a: {value: 1}\nearly_terminate:\n"
        "  type: hyperband\n  min_iter: 1\n", "early_terminate needs a metric",
        "hyperband without a metric");
    bad("", "s.yaml: the file is empty", "empty file");
}

static void test_export(void)
{
    const char *text = "# top\nmethod: grid\nprogram: r.lua\nmodlab:\n  workers: 2\n"
                       "  repeats: 3\nparameters:\n  a: {values: [1, 2]}  # keep me\n";
    char path[] = "/tmp/modlab-sweep-XXXXXX";
    int fd = mkstemp(path);
    ml_err err = {0};
    ok(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "temp file written");
    close(fd);
    char *out = ml_sweep_export_wandb(path, &err);
    is_str(out ? out : err.msg,
           "# top\nmethod: grid\nprogram: r.lua\nparameters:\n  a: {values: [1, 2]}  # keep me\n",
           "export --format wandb strips the modlab: block and keeps the rest verbatim");
    ml_sweep_text_free(out);
    unlink(path);
}

static void test_journal(void)
{
    char path[] = "/tmp/modlab-journal-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    enum { WRITERS = 4, LINES = 100 };
    for (int w = 0; w < WRITERS; w++) {
        if (fork() == 0) {
            ml_err err = {0};
            char line[200];
            for (int i = 0; i < LINES; i++) {
                snprintf(line, sizeof line, "{\"writer\":%d,\"i\":%d,\"pad\":\"%0100d\"}", w, i, 0);
                if (ml_journal_append(path, line, &err))
                    _exit(1);
            }
            _exit(0);
        }
    }
    int st, all = 1;
    for (int w = 0; w < WRITERS; w++) {
        wait(&st);
        all &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    ok(all, "%d processes appended %d lines each", WRITERS, LINES);
    FILE *f = fopen(path, "r");
    char line[512];
    int n = 0, good = 0;
    while (f && fgets(line, sizeof line, f)) {
        ml_err err = {0};
        ml_json_doc *d = mli_json_parse(line, strlen(line), NULL, NULL, &err);
        n++;
        good += d != NULL;
        mli_json_free(d);
    }
    if (f)
        fclose(f);
    is_int(n, WRITERS * LINES, "no line lost");
    is_int(good, WRITERS * LINES, "no line torn or interleaved");
    ml_err err = {0};
    ok(ml_journal_append(path, "a\nb", &err) == ML_ERR_INVALID, "a newline in a line is refused");
    unlink(path);
}

static void test_proc(void)
{
    ml_err err = {0};
    const char *exit3[] = { "sh", "-c", "exit 3", NULL };
    const char *killed[] = { "sh", "-c", "kill -9 $$", NULL };
    const char *sleeper[] = { "sleep", "30", NULL };
    const char *missing[] = { "/nonexistent/modlab-no-such-program", NULL };
    int32_t st = 0;
    int32_t pid = ml_proc_spawn(exit3, NULL, &err);
    ok(pid > 0, "spawn sh");
    while (ml_proc_poll(pid, &st, &err) == 0)
        ml_sleep(0.01);
    is_int(st, 3, "exit status 3 seen");
    pid = ml_proc_spawn(killed, NULL, &err);
    while (ml_proc_poll(pid, &st, &err) == 0)
        ml_sleep(0.01);
    is_int(st, -9, "death by SIGKILL seen as -9");
    pid = ml_proc_spawn(sleeper, "/dev/null", &err);
    ml_sleep(0.05);
    is_int(ml_proc_poll(pid, &st, &err), 0, "a running trial polls as running");
    ok(ml_proc_signal(pid, SIGTERM) == 0, "signal its process group");
    while (ml_proc_poll(pid, &st, &err) == 0)
        ml_sleep(0.01);
    is_int(st, -SIGTERM, "ended by SIGTERM");
    pid = ml_proc_spawn(missing, "/dev/null", &err);
    while (pid > 0 && ml_proc_poll(pid, &st, &err) == 0)
        ml_sleep(0.01);
    is_int(st, 127, "a program that cannot run exits 127");
}

/* One load of the sweep text, for tap_fail_each_alloc. */
static int load_once(void *text)
{
    ml_err err = {0};
    ml_sweep *s = load(text, &err);
    ml_sweep_free(s);
    return s ? 0 : tap_oom_code(err.code);
}

/* Every allocation failing in turn: a clean ML_ERR_NOMEM (or success), never a crash or leak. */
static void test_nomem(void)
{
    const char *text =
        "method: random\nprogram: r.lua\nrun_cap: 4\n"
        "parameters:\n  a: {values: [x, [1, 2], {k: v}]}\n  b:\n    parameters:\n"
        "      c: {min: 1, max: 9}\nmodlab:\n  repeats: {seeds: [s1, s2], seed_param: seed}\n"
        "  slurm: {setup: [a, b]}\n";
    int64_t live = ml_mem_live_blocks();
    tap_oom r = tap_fail_each_alloc(load_once, (void *)text, 2000);
    ok(r.worked && r.nomem == r.failures,
       "allocation failures 1..%d: each a clean out-of-memory error", r.runs);
    is_int(ml_mem_live_blocks(), live, "... and nothing leaked");
}

int main(void)
{
    const char *srcdir = getenv("top_srcdir");
    test_wandb_file(srcdir ? srcdir : ".");
    test_grid();
    test_random();
    test_errors();
    test_export();
    test_journal();
    test_proc();
    test_nomem();
    return done_testing();
}
