/* SPDX-License-Identifier: MIT */
/* The sweep file's top level: method, metric, early termination (Hyperband rungs), run
 * cap, and the `modlab:` section (workers, retries, seeds, launcher, Slurm). */
#include "sweep/sweep_impl.h"

/* ---- top level ------------------------------------------------------------------------ */

static const char *const top_keys[] = {
    "program", "method", "metric", "parameters", "name", "description", "entity", "project",
    "command", "run_cap", "early_terminate", "controller", "apiVersion", "kind", "job",
    "image_uri", "modlab", NULL
};
static const char *const metric_keys[] = {
    "name", "goal", "target", "impute", "impute_while_running", NULL
};
static const char *const et_keys[] = { "type", "min_iter", "max_iter", "s", "eta", "strict",
                                       NULL };
static const char *const modlab_keys[] = {
    "trials", "sampler", "repeats", "metric_summary", "k", "workers", "retries", "fail_fast",
    "timeout", "timeout_per_trial", "resume", "launcher", "slurm", "output_dir", "strict",
    NULL
};
static const char *const slurm_keys[] = {
    "partition", "time", "cpus_per_task", "mem", "array_parallelism", "max_array_size",
    "setup", "extra", "job_name", NULL
};

static int get_int(const ml_yt_doc *d, const ml_yt_node *map, const char *key, const char *what,
                   int64_t lo, int64_t *out, ml_err *err)
{
    const ml_yt_node *n = mli_yt_get(map, key);
    int64_t v;
    int rc;
    if (!n)
        return 0;
    if ((rc = mli_yt_int(d, n, what, &v, err)))
        return rc;
    if (v < lo)
        return mli_yt_error(d, n, err, ML_ERR_FORMAT, "%s must be >= %" PRId64 ", not %" PRId64,
                           what, lo, v);
    *out = v;
    return 0;
}

static int get_bool(const ml_yt_doc *d, const ml_yt_node *map, const char *key,
                    const char *what, int *out, ml_err *err)
{
    const ml_yt_node *n = mli_yt_get(map, key);
    return n ? mli_yt_bool(d, n, what, out, err) : 0;
}

static int get_str(const ml_yt_doc *d, const ml_yt_node *map, const char *key, const char *what,
                   const char **out, ml_err *err)
{
    const ml_yt_node *n = mli_yt_get(map, key);
    if (!n)
        return 0;
    if (n->kind != ML_YT_SCALAR || n->type != ML_YT_STR)
        return mli_yt_expect(d, n, ML_YT_SCALAR, what, err) ? err->code
               : mli_yt_error(d, n, err, ML_ERR_FORMAT, "%s must be a string, not %s '%s'",
                             what, mli_yt_type_name(n->type), n->value);
    *out = n->value;
    return 0;
}

static int one_of(const ml_yt_doc *d, const ml_yt_node *map, const char *key, const char *what,
                  const char *const *choices, const char **out, ml_err *err)
{
    const ml_yt_node *n = mli_yt_get(map, key);
    int rc;
    if (!n)
        return 0;
    if ((rc = get_str(d, map, key, what, out, err)))
        return rc;
    for (size_t i = 0; choices[i]; i++)
        if (strcmp(*out, choices[i]) == 0)
            return 0;
    return mli_yt_error(d, n, err, ML_ERR_FORMAT, "%s must be one of %s%s%s%s%s, not '%s'", what,
                       choices[0], choices[1] ? ", " : "", choices[1] ? choices[1] : "",
                       choices[1] && choices[2] ? ", " : "",
                       choices[1] && choices[2] ? choices[2] : "", *out);
}

/* "90", 90, "90s", "15m", "2h", "1d" -> seconds. */
static int get_duration(const ml_yt_doc *d, const ml_yt_node *n, double *out, ml_err *err)
{
    char *end;
    double v;
    if (n->kind != ML_YT_SCALAR || n->type == ML_YT_NULL || n->type == ML_YT_BOOL)
        goto bad;
    v = strtod(n->value, &end);
    /* Plain decimal only: strtod also reads "inf", "nan" and hex. */
    if (end == n->value || strspn(n->value, "0123456789.eE+-") != (size_t)(end - n->value) ||
        !(v >= 0))
        goto bad;
    if (*end == 's' || *end == 0)
        ;
    else if (*end == 'm')
        v *= 60;
    else if (*end == 'h')
        v *= 3600;
    else if (*end == 'd')
        v *= 86400;
    else
        goto bad;
    if ((*end && end[1]) || !isfinite(v))
        goto bad;
    *out = v;
    return 0;
bad:
    return mli_yt_error(d, n, err, ML_ERR_FORMAT,
                       "timeout must be seconds or a duration like 90s, 15m, 2h, not '%s'",
                       n->kind == ML_YT_SCALAR ? n->value : mli_yt_kind_name(n->kind));
}

static int read_modlab(ml_sweep *s, const ml_yt_node *m, ml_err *err)
{
    const ml_yt_doc *d = s->doc;
    const ml_yt_node *n;
    int rc;
    static const char *const summaries[] = { "last", "best", "mean_last_k", NULL };
    static const char *const launchers[] = { "local", "slurm", NULL };
    if ((rc = mli_yt_expect(d, m, ML_YT_MAP, "modlab", err)) ||
        (rc = mli_sw_check_keys(d, m, "modlab", modlab_keys, err)) ||
        (rc = get_int(d, m, "trials", "modlab.trials", 1, &s->trials_n, err)) ||
        (rc = one_of(d, m, "metric_summary", "modlab.metric_summary", summaries,
                     &s->metric_summary, err)) ||
        (rc = get_int(d, m, "k", "modlab.k", 1, &s->k, err)) ||
        (rc = get_int(d, m, "workers", "modlab.workers", 1, &s->workers, err)) ||
        (rc = get_int(d, m, "retries", "modlab.retries", 0, &s->retries, err)) ||
        (rc = get_bool(d, m, "fail_fast", "modlab.fail_fast", &s->fail_fast, err)) ||
        (rc = get_bool(d, m, "resume", "modlab.resume", &s->resume, err)) ||
        (rc = get_bool(d, m, "strict", "modlab.strict", &s->strict, err)) ||
        (rc = one_of(d, m, "launcher", "modlab.launcher", launchers, &s->launcher, err)) ||
        (rc = get_str(d, m, "output_dir", "modlab.output_dir", &s->output_dir, err)))
        return rc;
    if (mli_yt_get(m, "timeout") && mli_yt_get(m, "timeout_per_trial"))
        return mli_yt_error(d, mli_yt_get(m, "timeout_per_trial"), err, ML_ERR_FORMAT,
                           "give modlab.timeout or modlab.timeout_per_trial, not both");
    if ((n = mli_yt_get(m, "timeout")) && (rc = get_duration(d, n, &s->timeout, err)))
        return rc;
    if ((n = mli_yt_get(m, "timeout_per_trial")) && (rc = get_duration(d, n, &s->timeout, err)))
        return rc;
    if ((n = mli_yt_get(m, "sampler"))) {
        static const char *const keys[] = { "seed", NULL };
        int64_t seed = 0;
        if ((rc = mli_yt_expect(d, n, ML_YT_MAP, "modlab.sampler", err)) ||
            (rc = mli_sw_check_keys(d, n, "modlab.sampler", keys, err)) ||
            (rc = get_int(d, n, "seed", "modlab.sampler.seed", 0, &seed, err)))
            return rc;
        s->sampler_seed = (uint64_t)seed;
    }
    if ((n = mli_yt_get(m, "repeats"))) {
        static const char *const keys[] = { "count", "seed_param", "base_seed", "seeds", NULL };
        if (n->kind == ML_YT_SCALAR) {
            if ((rc = mli_yt_int(d, n, "modlab.repeats", &s->repeats, err)))
                return rc;
        } else {
            if ((rc = mli_yt_expect(d, n, ML_YT_MAP, "modlab.repeats", err)) ||
                (rc = mli_sw_check_keys(d, n, "modlab.repeats", keys, err)) ||
                (rc = get_int(d, n, "count", "modlab.repeats.count", 1, &s->repeats, err)) ||
                (rc = get_str(d, n, "seed_param", "modlab.repeats.seed_param", &s->seed_param,
                              err)) ||
                (rc = get_int(d, n, "base_seed", "modlab.repeats.base_seed", 0, &s->base_seed,
                              err)))
                return rc;
            if ((s->seeds = mli_yt_get(n, "seeds"))) {
                if ((rc = mli_yt_expect(d, s->seeds, ML_YT_SEQ, "modlab.repeats.seeds", err)))
                    return rc;
                if (s->seeds->n == 0)
                    return mli_yt_error(d, s->seeds, err, ML_ERR_FORMAT,
                                       "modlab.repeats.seeds is empty");
                if (!mli_yt_get(n, "count"))
                    s->repeats = (int64_t)s->seeds->n;
                else if ((size_t)s->repeats != s->seeds->n)
                    return mli_yt_error(d, s->seeds, err, ML_ERR_FORMAT,
                                       "modlab.repeats has count %" PRId64 " but %zu seeds",
                                       s->repeats, s->seeds->n);
                s->has_seeds = 1;
            }
            if ((s->seeds || mli_yt_get(n, "base_seed")) && !s->seed_param)
                return mli_yt_error(d, n, err, ML_ERR_FORMAT,
                                   "modlab.repeats gives seeds but no seed_param (the recipe "
                                   "argument that receives them, e.g. seed_param: seed)");
        }
        if (s->repeats < 1)
            return mli_yt_error(d, n, err, ML_ERR_FORMAT, "modlab.repeats must be >= 1");
        if (s->seed_param && !s->has_seeds && !mli_yt_get(n, "base_seed"))
            s->base_seed = 1;
        int64_t last;
        if (s->seed_param && !s->has_seeds &&
            __builtin_add_overflow(s->base_seed, s->repeats - 1, &last))
            return mli_yt_error(d, mli_yt_get(n, "base_seed") ? mli_yt_get(n, "base_seed") : n,
                               err, ML_ERR_FORMAT,
                               "modlab.repeats.base_seed %" PRId64 " + count %" PRId64
                               " overflows int64: use a smaller base_seed", s->base_seed,
                               s->repeats);
    }
    if ((n = mli_yt_get(m, "slurm"))) {
        if ((rc = mli_yt_expect(d, n, ML_YT_MAP, "modlab.slurm", err)) ||
            (rc = mli_sw_check_keys(d, n, "modlab.slurm", slurm_keys, err)) ||
            (rc = get_int(d, n, "max_array_size", "modlab.slurm.max_array_size", 1,
                          &s->max_array, err)))
            return rc;
        static const char *const lists[] = { "setup", "extra", NULL };
        for (size_t i = 0; lists[i]; i++) {
            const ml_yt_node *l = mli_yt_get(n, lists[i]);
            char what[64];
            snprintf(what, sizeof what, "modlab.slurm.%s", lists[i]);
            if (l && (rc = mli_yt_expect(d, l, ML_YT_SEQ, what, err)))
                return rc;
            for (size_t j = 0; l && j < l->n; j++) {
                const char *t;
                if ((rc = mli_yt_str(d, l->items[j], what, &t, err)))
                    return rc;
            }
        }
        s->slurm = n;
    }
    return 0;
}

int mli_sw_read_top(ml_sweep *s, ml_err *err)
{
    const ml_yt_doc *d = s->doc;
    const ml_yt_node *root = d->root, *n;
    int rc;
    static const char *const methods[] = { "grid", "random", NULL };
    static const char *const goals[] = { "minimize", "maximize", NULL };
    if (!root)
        return mli_yt_error(d, NULL, err, ML_ERR_FORMAT,
                           "the file is empty (a sweep needs method and parameters)");
    if ((rc = mli_yt_expect(d, root, ML_YT_MAP, "a sweep file", err)) ||
        (rc = mli_sw_check_keys(d, root, "the sweep", top_keys, err)))
        return rc;
    if ((rc = get_str(d, root, "name", "name", &s->name, err)) ||
        (rc = get_str(d, root, "program", "program", &s->program, err)))
        return rc;
    if (s->name) {
        ml_err e = {0};
        if (ml_sweep_check_name(s->name, "the sweep's 'name'", &e))
            return mli_yt_error(d, mli_yt_get(root, "name"), err, e.code, "%s", e.msg);
    }
    if (!(n = mli_yt_get(root, "method")))
        return mli_yt_error(d, root, err, ML_ERR_FORMAT,
                           "the sweep has no method (grid or random)");
    if ((rc = get_str(d, root, "method", "method", &s->method, err)))
        return rc;
    if (strcmp(s->method, "bayes") == 0 || strcmp(s->method, "custom") == 0)
        return mli_yt_error(d, n, err, ML_ERR_UNSUPPORTED,
                           "method '%s' is not supported by modlab: use grid or random",
                           s->method);
    if ((rc = one_of(d, root, "method", "method", methods, &s->method, err)))
        return rc;
    s->grid = strcmp(s->method, "grid") == 0;
    if ((rc = get_int(d, root, "run_cap", "run_cap", 1, &s->run_cap, err)))
        return rc;
    if ((n = mli_yt_get(root, "metric"))) {
        if ((rc = mli_yt_expect(d, n, ML_YT_MAP, "metric", err)) ||
            (rc = mli_sw_check_keys(d, n, "metric", metric_keys, err)) ||
            (rc = get_str(d, n, "name", "metric.name", &s->metric_name, err)) ||
            (rc = one_of(d, n, "goal", "metric.goal", goals, &s->goal, err)))
            return rc;
        if (!s->metric_name)
            return mli_yt_error(d, n, err, ML_ERR_FORMAT, "metric needs a name");
        if ((s->has_target = mli_yt_get(n, "target") != NULL) &&
            (rc = mli_sw_num_key(d, n, "target", "metric", 0, &s->target, err)))
            return rc;
    }
    if ((n = mli_yt_get(root, "early_terminate"))) {
        const char *type = NULL;
        int64_t min_iter = 0, max_iter = 0, sb = 0;
        double eta = 3;
        if ((rc = mli_yt_expect(d, n, ML_YT_MAP, "early_terminate", err)) ||
            (rc = mli_sw_check_keys(d, n, "early_terminate", et_keys, err)) ||
            (rc = get_str(d, n, "type", "early_terminate.type", &type, err)) ||
            (rc = get_int(d, n, "min_iter", "early_terminate.min_iter", 1, &min_iter, err)) ||
            (rc = get_int(d, n, "max_iter", "early_terminate.max_iter", 1, &max_iter, err)) ||
            (rc = get_int(d, n, "s", "early_terminate.s", 1, &sb, err)) ||
            (rc = mli_sw_num_key(d, n, "eta", "early_terminate", 3, &eta, err)))
            return rc;
        if (!type || strcmp(type, "hyperband") != 0)
            return mli_yt_error(d, mli_yt_get(n, "type") ? mli_yt_get(n, "type") : n, err,
                               ML_ERR_UNSUPPORTED,
                               "early_terminate type must be hyperband");
        if (!(eta > 1))
            return mli_yt_error(d, mli_yt_get(n, "eta"), err, ML_ERR_FORMAT,
                               "early_terminate.eta must be > 1");
        if (!s->metric_name)
            return mli_yt_error(d, n, err, ML_ERR_FORMAT,
                               "early_terminate needs a metric {name, goal} to compare");
        s->hyperband = 1;
        s->eta = eta;
        /* Rungs are iteration counts: whole numbers, exact as doubles (so never inf). */
        if (min_iter) {
            double r = (double)min_iter;
            for (s->nrungs = 0; s->nrungs < 8; s->nrungs++, r *= eta) {
                if (!(round(r) <= EXACT_MAX))
                    return mli_yt_error(d, mli_yt_get(n, "eta") ? mli_yt_get(n, "eta") : n, err,
                                       ML_ERR_FORMAT,
                                       "early_terminate: rung %d, min_iter x eta^%d = %g "
                                       "iterations, is beyond 2^53; use a smaller "
                                       "early_terminate.eta or min_iter", s->nrungs,
                                       s->nrungs, r);
                s->rungs[s->nrungs] = round(r);
            }
        } else if (max_iter && sb) {
            for (int64_t k = sb; k >= 1 && s->nrungs < 16; k--)
                s->rungs[s->nrungs++] = round((double)max_iter / pow(eta, (double)k));
            if (!(s->rungs[0] >= 1))
                return mli_yt_error(d, n, err, ML_ERR_FORMAT,
                                   "early_terminate: the first rung, max_iter / eta^s = %g, "
                                   "is below one iteration; use a smaller s or eta",
                                   (double)max_iter / pow(eta, (double)sb));
        } else {
            return mli_yt_error(d, n, err, ML_ERR_FORMAT,
                               "early_terminate needs min_iter, or max_iter and s");
        }
    }
    s->workers = 1;
    s->repeats = 1;
    s->k = 1;
    s->resume = 1;
    s->strict = 1;   /* a metric never logged, a parameter never read: errors */
    s->metric_summary = "last";
    s->launcher = "local";
    if ((n = mli_yt_get(root, "modlab")) && (rc = read_modlab(s, n, err)))
        return rc;
    if (mli_yt_get(root, "command") &&
        (rc = mli_sw_warn(s, "'command' is ignored: modlab runs each trial as "
                             "`modlab trial DIR --index I`")))
        return mli_error(err, rc, "out of memory recording the warning about 'command'");
    if (!(n = mli_yt_get(root, "parameters")))
        return mli_yt_error(d, root, err, ML_ERR_FORMAT, "the sweep has no parameters");
    if ((rc = mli_sw_read_params(s, n, "", err)))
        return rc;
    if (s->seed_param)
        for (size_t j = 0; j < s->nparams; j++)
            if (strcmp(s->params[j].name, s->seed_param) == 0)
                return mli_yt_error(d, s->params[j].node, err, ML_ERR_FORMAT,
                                   "parameter '%s' is also modlab.repeats.seed_param: drop "
                                   "one of them", s->seed_param);
    return 0;
}
