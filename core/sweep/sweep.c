/* SPDX-License-Identifier: MIT */
/* Sweep files: check a W&B sweep (plus `modlab:`) against its schema and expand the trials. */
#include <ctype.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hash.h"
#include "formats/json.h"
#include "base/mem.h"
#include "formats/yaml_tree.h"
#include <modlab/modlab.h>
#include <modlab/sweep.h>

enum { V_NULL, V_BOOL, V_INT, V_FLOAT, V_STR, V_JSON };

typedef struct sw_val {
    int type;
    int64_t i;      /* V_INT, V_BOOL */
    double d;       /* V_FLOAT */
    char *s;        /* V_STR text, V_JSON text (owned) */
} sw_val;

enum {
    D_CONST, D_CAT, D_INT_UNIFORM, D_UNIFORM, D_Q_UNIFORM, D_LOG_UNIFORM, D_LOG_UNIFORM_V,
    D_Q_LOG_UNIFORM_V, D_NORMAL, D_Q_NORMAL, D_LOG_NORMAL
};
static const char *const dist_names[] = {
    "constant", "categorical", "int_uniform", "uniform", "q_uniform", "log_uniform",
    "log_uniform_values", "q_log_uniform_values", "normal", "q_normal", "log_normal", NULL
};

typedef struct sw_param {
    char *name;                  /* dotted path */
    const ml_yt_node *node;      /* the parameter's mapping */
    int dist;
    sw_val *vals;                /* D_CONST (1), D_CAT (nvals) */
    size_t nvals;
    double *probs;               /* D_CAT with probabilities, else NULL */
    int64_t imin, imax;
    double min, max, q, mu, sigma;
    double kmin, kmax;           /* quantised: the draws are k*q, k in [kmin, kmax] */
    size_t ngrid;                /* grid: the number of values */
} sw_param;

typedef struct sw_trial {
    sw_val *vals;                /* one per column (borrowed from params or owned: see own) */
    unsigned char *own;
    int64_t repeat;
    char id[13];
} sw_trial;

struct ml_sweep {
    ml_yt_doc *doc;
    sw_param *params;
    size_t nparams, cparams;
    sw_trial *trials;
    size_t ntrials;
    char **warnings;
    size_t nwarnings;
    char *json;
    /* settings */
    const char *name, *program, *method, *metric_name, *goal;
    double target;
    int has_target;
    int grid;
    int64_t run_cap, trials_n, workers, retries, repeats, base_seed, k, max_array;
    uint64_t sampler_seed;
    int fail_fast, resume, strict, has_seeds;
    double timeout;
    const char *seed_param, *launcher, *output_dir, *metric_summary;
    const ml_yt_node *seeds, *slurm;
    int hyperband;
    double eta;
    double rungs[16];
    int nrungs;
};

/* ---- small helpers ----------------------------------------------------------------------- */

static int warn(ml_sweep *s, const char *fmt, ...) ML_PRINTF(2, 3);
static int warn(ml_sweep *s, const char *fmt, ...)
{
    char buf[ML_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **w = ml_realloc(s->warnings, (s->nwarnings + 1) * sizeof *w);
    if (!w)
        return ML_ERR_NOMEM;
    s->warnings = w;
    if (!(w[s->nwarnings] = ml_strdup(buf)))
        return ML_ERR_NOMEM;
    s->nwarnings++;
    return 0;
}

/* Reject keys of `map` that are not in the NULL-terminated `allowed` list. */
static int check_keys(const ml_yt_doc *d, const ml_yt_node *map, const char *what,
                      const char *const *allowed, ml_err *err)
{
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->keys[i]->value;
        int found = 0;
        for (size_t j = 0; allowed[j] && !found; j++)
            found = strcmp(k, allowed[j]) == 0;
        if (!found) {
            char list[320] = "";
            size_t len = 0;
            for (size_t j = 0; allowed[j] && len + 2 < sizeof list; j++)
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", j ? ", " : "",
                                        allowed[j]);
            return ml_yt_error(d, map->keys[i], err, ML_ERR_FORMAT,
                               "unknown key '%s' in %s (known: %s)", k, what, list);
        }
    }
    return 0;
}

static void put_json_node(ml_jbuf *b, const ml_yt_doc *d, const ml_yt_node *n)
{
    if (n->kind == ML_YT_MAP || n->kind == ML_YT_SEQ) {
        ml_jbuf_putn(b, n->kind == ML_YT_MAP ? "{" : "[", 1);
        for (size_t i = 0; i < n->n; i++) {
            if (i)
                ml_jbuf_putn(b, ",", 1);
            if (n->kind == ML_YT_MAP) {
                ml_jbuf_str(b, n->keys[i]->value, strlen(n->keys[i]->value));
                ml_jbuf_putn(b, ":", 1);
            }
            put_json_node(b, d, n->items[i]);
        }
        ml_jbuf_putn(b, n->kind == ML_YT_MAP ? "}" : "]", 1);
        return;
    }
    double v;
    switch (n->type) {
    case ML_YT_NULL: ml_jbuf_puts(b, "null"); break;
    case ML_YT_BOOL: {
        int t = 0;
        ml_yt_bool(d, n, "value", &t, NULL);
        ml_jbuf_puts(b, t ? "true" : "false");
        break;
    }
    case ML_YT_INT: case ML_YT_FLOAT:
        if (!ml_yt_float(d, n, "value", &v, NULL) && isfinite(v)) {
            int64_t i;
            /* The value, not the text: YAML ints may be spelled 01, +5, 0o17 or 0x1F. */
            if (n->type == ML_YT_INT && !ml_yt_int(d, n, "value", &i, NULL)) {
                ml_jbuf_printf(b, "%" PRId64, i);
            } else {
                char t[40];
                ml_format_double(t, sizeof t, v);
                ml_jbuf_puts(b, t);
            }
        } else {
            ml_jbuf_puts(b, "null");
        }
        break;
    default: ml_jbuf_str(b, n->value, strlen(n->value)); break;
    }
}

/* A YAML node as a typed value (maps and sequences become JSON text). */
static int node_val(const ml_yt_doc *d, const ml_yt_node *n, const char *what, sw_val *out,
                    ml_err *err)
{
    int rc = 0, t = 0;
    memset(out, 0, sizeof *out);
    if (n->kind != ML_YT_SCALAR) {
        ml_jbuf b;
        ml_jbuf_init(&b);
        put_json_node(&b, d, n);
        if ((rc = ml_jbuf_finish(&b, what, err))) {
            ml_jbuf_free(&b);
            return rc;
        }
        out->type = V_JSON;
        out->s = b.data;
        return 0;
    }
    switch (n->type) {
    case ML_YT_NULL: out->type = V_NULL; return 0;
    case ML_YT_BOOL:
        out->type = V_BOOL;
        rc = ml_yt_bool(d, n, what, &t, err);
        out->i = t;
        return rc;
    case ML_YT_INT: out->type = V_INT; return ml_yt_int(d, n, what, &out->i, err);
    case ML_YT_FLOAT:
        out->type = V_FLOAT;
        if ((rc = ml_yt_float(d, n, what, &out->d, err)))
            return rc;
        if (!isfinite(out->d))
            return ml_yt_error(d, n, err, ML_ERR_FORMAT, "%s: '%s' is not a finite number",
                               what, n->value);
        return 0;
    default:
        out->type = V_STR;
        if (!(out->s = ml_strdup(n->value)))
            return ml_error(err, ML_ERR_NOMEM, "out of memory reading %s", what);
        return 0;
    }
}

static sw_val num_val(double v)
{
    sw_val x = { .type = V_FLOAT, .d = v };
    return x;
}

/* Canonical JSON of a value (floats always carry a '.', 'e' or are null). */
static void put_val_json(ml_jbuf *b, const sw_val *v)
{
    char t[48];
    switch (v->type) {
    case V_NULL: ml_jbuf_puts(b, "null"); break;
    case V_BOOL: ml_jbuf_puts(b, v->i ? "true" : "false"); break;
    case V_INT: ml_jbuf_printf(b, "%" PRId64, v->i); break;
    case V_FLOAT:
        ml_format_double(t, sizeof t, v->d);
        ml_jbuf_puts(b, t);
        if (!strpbrk(t, ".eE"))
            ml_jbuf_puts(b, ".0");
        break;
    case V_STR: ml_jbuf_str(b, v->s, strlen(v->s)); break;
    default: ml_jbuf_puts(b, v->s); break;
    }
}

/* The text a recipe's ml.arg sees (like a --set value). */
static void put_val_arg(ml_jbuf *b, const sw_val *v)
{
    char t[48];
    switch (v->type) {
    case V_NULL: ml_jbuf_puts(b, "null"); break;
    case V_BOOL: ml_jbuf_puts(b, v->i ? "true" : "false"); break;
    case V_INT: ml_jbuf_printf(b, "%" PRId64, v->i); break;
    case V_FLOAT: ml_format_double(t, sizeof t, v->d); ml_jbuf_puts(b, t); break;
    default: ml_jbuf_puts(b, v->s); break;
    }
}

static void val_free(sw_val *v)
{
    if (v->type == V_STR || v->type == V_JSON)
        ml_free(v->s);
    v->s = NULL;
}

/* ---- parameters ------------------------------------------------------------------------- */

static const char *const param_keys[] = {
    "value", "values", "probabilities", "distribution", "min", "max", "q", "mu", "sigma",
    "a", "b", "parameters", NULL
};

static int num_key(const ml_yt_doc *d, const ml_yt_node *map, const char *key,
                   const char *pname, double def, double *out, ml_err *err)
{
    char what[200];
    const ml_yt_node *n = ml_yt_get(map, key);
    *out = def;
    if (!n)
        return 0;
    snprintf(what, sizeof what, "%s of parameter '%s'", key, pname);
    if (n->kind != ML_YT_SCALAR || (n->type != ML_YT_INT && n->type != ML_YT_FLOAT))
        return ml_yt_error(d, n, err, ML_ERR_FORMAT, "%s must be a number, not %s%s%s", what,
                           n->kind == ML_YT_SCALAR ? "'" : ml_yt_kind_name(n->kind),
                           n->kind == ML_YT_SCALAR ? n->value : "",
                           n->kind == ML_YT_SCALAR ? "'" : "");
    int rc = ml_yt_float(d, n, what, out, err);
    if (!rc && !isfinite(*out))
        return ml_yt_error(d, n, err, ML_ERR_FORMAT, "%s must be finite", what);
    return rc;
}

static int add_param(ml_sweep *s, const char *name, const ml_yt_node *spec, ml_err *err);

static int read_params(ml_sweep *s, const ml_yt_node *map, const char *prefix, ml_err *err)
{
    const ml_yt_doc *d = s->doc;
    int rc;
    if ((rc = ml_yt_expect(d, map, ML_YT_MAP, "parameters", err)))
        return rc;
    if (map->n == 0)
        return ml_yt_error(d, map, err, ML_ERR_FORMAT,
                           "parameters is empty: give at least one parameter");
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->keys[i]->value;
        char name[256];
        if (!(isalpha((unsigned char)k[0]) || k[0] == '_'))
            return ml_yt_error(d, map->keys[i], err, ML_ERR_FORMAT,
                               "parameter name '%s' must start with a letter or '_'", k);
        for (const char *c = k; *c; c++)
            if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '.' || *c == '-'))
                return ml_yt_error(d, map->keys[i], err, ML_ERR_FORMAT,
                                   "parameter name '%s' may hold only letters, digits, "
                                   "'_', '.' and '-'", k);
        if ((size_t)snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", k) >=
            sizeof name)
            return ml_yt_error(d, map->keys[i], err, ML_ERR_FORMAT, "parameter name too long");
        const ml_yt_node *spec = map->items[i];
        char what[300];
        snprintf(what, sizeof what, "parameter '%s'", name);
        if ((rc = ml_yt_expect(d, spec, ML_YT_MAP, what, err)))
            return rc;
        if ((rc = check_keys(d, spec, what, param_keys, err)))
            return rc;
        const ml_yt_node *nested = ml_yt_get(spec, "parameters");
        if (nested) {
            if (spec->n != 1)
                return ml_yt_error(d, spec, err, ML_ERR_FORMAT,
                                   "%s has nested 'parameters' and other keys: use one", what);
            if ((rc = read_params(s, nested, name, err)))
                return rc;
            continue;
        }
        if ((rc = add_param(s, name, spec, err)))
            return rc;
    }
    return 0;
}

/* ---- numeric checks: every draw of an accepted parameter is finite ---------------------- */

/* |gauss()| <= sqrt(-2 ln 2^-53) = 8.57: its uniform is a multiple of 2^-53, clamped > 0. */
#define GAUSS_MAX 8.6
/* Beyond 2^53 consecutive multiples of q are no longer distinct doubles. */
#define EXACT_MAX 9007199254740992.0

/* The multiples of q inside [lo, hi] (the values a quantised draw may take). */
static int check_q(const ml_yt_doc *d, const ml_yt_node *spec, sw_param *p, const char *what,
                   double lo, double hi, ml_err *err)
{
    const ml_yt_node *nq = ml_yt_get(spec, "q") ? ml_yt_get(spec, "q") : spec;
    double a = lo / p->q, b = hi / p->q;
    if (!(fabs(a) <= EXACT_MAX && fabs(b) <= EXACT_MAX))
        return ml_yt_error(d, nq, err, ML_ERR_FORMAT,
                           "q of %s is too small for its range: %g / q = %g is beyond 2^53 "
                           "multiples, where quantising does nothing; use a larger q", what,
                           fabs(a) > fabs(b) ? lo : hi, fabs(a) > fabs(b) ? a : b);
    p->kmin = ceil(a);
    p->kmax = floor(b);
    if (p->kmin > p->kmax)
        return ml_yt_error(d, nq, err, ML_ERR_FORMAT,
                           "no multiple of q = %g lies in [%g, %g] of %s: use a smaller q or "
                           "a wider range", p->q, lo, hi, what);
    return 0;
}

static int check_range(const ml_yt_doc *d, const ml_yt_node *spec, sw_param *p,
                       const char *what, ml_err *err)
{
    const ml_yt_node *nmax = ml_yt_get(spec, "max");
    if (p->dist == D_INT_UNIFORM)
        return 0;
    if (!isfinite(p->max - p->min))
        return ml_yt_error(d, nmax, err, ML_ERR_FORMAT,
                           "min and max of %s are too far apart: max - min overflows a double; "
                           "narrow the range", what);
    if (p->dist == D_LOG_UNIFORM && !isfinite(exp(p->max)))
        return ml_yt_error(d, nmax, err, ML_ERR_FORMAT,
                           "max of %s is %g, and exp(max) overflows a double (log_uniform takes "
                           "the logarithms of its bounds; for the values themselves use "
                           "log_uniform_values)", what, p->max);
    if (p->dist == D_Q_UNIFORM || p->dist == D_Q_LOG_UNIFORM_V)
        return check_q(d, spec, p, what, p->min, p->max, err);
    return 0;
}

static int check_normal(const ml_yt_doc *d, const ml_yt_node *spec, sw_param *p,
                        const char *what, ml_err *err)
{
    double reach = fabs(p->mu) + GAUSS_MAX * p->sigma;
    if (!isfinite(reach) ||
        (p->dist == D_LOG_NORMAL && p->mu + GAUSS_MAX * p->sigma > log(DBL_MAX)))
        return ml_yt_error(d, spec, err, ML_ERR_FORMAT,
                           "mu and sigma of %s are too large: %sdraws reach mu + %g sigma, "
                           "which overflows a double; use a smaller mu or sigma", what,
                           p->dist == D_LOG_NORMAL ? "exp of " : "", GAUSS_MAX);
    if (p->dist == D_Q_NORMAL)
        return check_q(d, spec, p, what, -reach, reach, err);
    return 0;
}

static int add_param(ml_sweep *s, const char *name, const ml_yt_node *spec, ml_err *err)
{
    const ml_yt_doc *d = s->doc;
    const ml_yt_node *nv = ml_yt_get(spec, "value"), *nvs = ml_yt_get(spec, "values");
    const ml_yt_node *ndist = ml_yt_get(spec, "distribution"), *nmin = ml_yt_get(spec, "min");
    const ml_yt_node *nmax = ml_yt_get(spec, "max"), *nprob = ml_yt_get(spec, "probabilities");
    char what[300];
    int rc;
    snprintf(what, sizeof what, "parameter '%s'", name);
    for (size_t i = 0; i < s->nparams; i++)
        if (strcmp(s->params[i].name, name) == 0)
            return ml_yt_error(d, spec, err, ML_ERR_FORMAT,
                               "%s is given twice (dotted and nested names are the same)",
                               what);
    if (s->nparams == s->cparams) {
        size_t c = s->cparams ? 2 * s->cparams : 8;
        sw_param *p = ml_realloc(s->params, c * sizeof *p);
        if (!p)
            return ml_error(err, ML_ERR_NOMEM, "out of memory reading parameters");
        s->params = p;
        s->cparams = c;
    }
    sw_param *p = &s->params[s->nparams];
    memset(p, 0, sizeof *p);
    if (!(p->name = ml_strdup(name)))
        return ml_error(err, ML_ERR_NOMEM, "out of memory reading parameters");
    s->nparams++;
    p->node = spec;

    const char *dist = NULL;
    if (ndist && (rc = ml_yt_str(d, ndist, "distribution", &dist, err)))
        return rc;
    if (dist) {
        int found = -1;
        for (int i = 0; dist_names[i]; i++)
            if (strcmp(dist, dist_names[i]) == 0)
                found = i;
        if (strcmp(dist, "categorical_w_probabilities") == 0)
            found = D_CAT;
        if (found < 0)
            return ml_yt_error(d, ndist, err, ML_ERR_UNSUPPORTED,
                               "distribution '%s' of %s is not supported (use constant, "
                               "categorical, int_uniform, uniform, q_uniform, log_uniform, "
                               "log_uniform_values, q_log_uniform_values, normal, q_normal "
                               "or log_normal)", dist, what);
        p->dist = found;
    } else if (nvs) {
        p->dist = D_CAT;
    } else if (nv) {
        p->dist = D_CONST;
    } else if (nmin || nmax) {
        if (!nmin || !nmax)
            return ml_yt_error(d, spec, err, ML_ERR_FORMAT, "%s has %s but no %s", what,
                               nmin ? "min" : "max", nmin ? "max" : "min");
        int ints = nmin->kind == ML_YT_SCALAR && nmin->type == ML_YT_INT &&
                   nmax->kind == ML_YT_SCALAR && nmax->type == ML_YT_INT;
        p->dist = ints ? D_INT_UNIFORM : D_UNIFORM;
    } else {
        return ml_yt_error(d, spec, err, ML_ERR_FORMAT,
                           "%s needs one of value, values, min/max or distribution", what);
    }

    if (p->dist == D_CONST) {
        if (!nv)
            return ml_yt_error(d, spec, err, ML_ERR_FORMAT, "%s: constant needs 'value'", what);
        if (!(p->vals = ml_zalloc(sizeof *p->vals)))
            return ml_error(err, ML_ERR_NOMEM, "out of memory reading %s", what);
        p->nvals = 1;
        return node_val(d, nv, what, &p->vals[0], err);
    }
    if (p->dist == D_CAT) {
        if ((rc = ml_yt_expect(d, nvs, ML_YT_SEQ, "values", err)))
            return nvs ? rc : ml_yt_error(d, spec, err, ML_ERR_FORMAT,
                                          "%s: categorical needs 'values'", what);
        if (nvs->n == 0)
            return ml_yt_error(d, nvs, err, ML_ERR_FORMAT,
                               "values of %s is empty: give at least one value", what);
        if (!(p->vals = ml_zalloc(nvs->n * sizeof *p->vals)))
            return ml_error(err, ML_ERR_NOMEM, "out of memory reading %s", what);
        p->nvals = nvs->n;
        for (size_t i = 0; i < nvs->n; i++)
            if ((rc = node_val(d, nvs->items[i], what, &p->vals[i], err)))
                return rc;
        if (nprob) {
            double sum = 0;
            if ((rc = ml_yt_expect(d, nprob, ML_YT_SEQ, "probabilities", err)))
                return rc;
            if (nprob->n != nvs->n)
                return ml_yt_error(d, nprob, err, ML_ERR_FORMAT,
                                   "%s has %zu probabilities for %zu values", what, nprob->n,
                                   nvs->n);
            if (!(p->probs = ml_zalloc(nprob->n * sizeof *p->probs)))
                return ml_error(err, ML_ERR_NOMEM, "out of memory reading %s", what);
            for (size_t i = 0; i < nprob->n; i++) {
                if ((rc = ml_yt_float(d, nprob->items[i], "a probability", &p->probs[i], err)))
                    return rc;
                if (!(p->probs[i] >= 0))
                    return ml_yt_error(d, nprob->items[i], err, ML_ERR_FORMAT,
                                       "probabilities must be >= 0");
                sum += p->probs[i];
            }
            if (fabs(sum - 1.0) > 1e-6)
                return ml_yt_error(d, nprob, err, ML_ERR_FORMAT,
                                   "probabilities of %s sum to %g, not 1", what, sum);
        }
        return 0;
    }
    if (nv || nvs)
        return ml_yt_error(d, nv ? nv : nvs, err, ML_ERR_FORMAT,
                           "%s: distribution '%s' takes no %s", what, dist_names[p->dist],
                           nv ? "value" : "values");
    if ((rc = num_key(d, spec, "q", name, 1.0, &p->q, err)) ||
        (rc = num_key(d, spec, "mu", name, 0.0, &p->mu, err)) ||
        (rc = num_key(d, spec, "sigma", name, 1.0, &p->sigma, err)))
        return rc;
    if (!(p->q > 0))
        return ml_yt_error(d, ml_yt_get(spec, "q"), err, ML_ERR_FORMAT,
                           "q of %s must be > 0", what);
    if (p->dist == D_NORMAL || p->dist == D_Q_NORMAL || p->dist == D_LOG_NORMAL) {
        if (!(p->sigma > 0))
            return ml_yt_error(d, ml_yt_get(spec, "sigma"), err, ML_ERR_FORMAT,
                               "sigma of %s must be > 0", what);
        return check_normal(d, spec, p, what, err);
    }
    if (!nmin || !nmax)
        return ml_yt_error(d, spec, err, ML_ERR_FORMAT,
                           "%s: distribution '%s' needs min and max", what,
                           dist_names[p->dist]);
    if ((rc = num_key(d, spec, "min", name, 0, &p->min, err)) ||
        (rc = num_key(d, spec, "max", name, 0, &p->max, err)))
        return rc;
    if (p->dist == D_INT_UNIFORM) {
        char w[340];
        snprintf(w, sizeof w, "min and max of %.300s (int_uniform)", what);
        if ((rc = ml_yt_int(d, nmin, w, &p->imin, err)) ||
            (rc = ml_yt_int(d, nmax, w, &p->imax, err)))
            return rc;
        /* The integers, not their doubles: 2^63-1 and 2^63-2 are the same double. */
        if (p->imin > p->imax)
            return ml_yt_error(d, nmin, err, ML_ERR_FORMAT,
                               "min of %s is above its max (%" PRId64 " > %" PRId64 ")", what,
                               p->imin, p->imax);
    }
    if (!(p->min <= p->max))
        return ml_yt_error(d, nmin, err, ML_ERR_FORMAT, "min of %s is above its max (%g > %g)",
                           what, p->min, p->max);
    if ((p->dist == D_LOG_UNIFORM_V || p->dist == D_Q_LOG_UNIFORM_V) && !(p->min > 0))
        return ml_yt_error(d, nmin, err, ML_ERR_FORMAT,
                           "min of %s must be > 0 for %s", what, dist_names[p->dist]);
    return check_range(d, spec, p, what, err);
}

/* ---- sampling ------------------------------------------------------------------------- */

static double u01(uint64_t seed, uint64_t stream, uint64_t k)
{
    return (double)(ml_rng_at(seed, stream, k) >> 11) * (1.0 / 9007199254740992.0);
}

static double gauss(uint64_t seed, uint64_t stream, uint64_t k)
{
    double u1 = u01(seed, stream, k), u2 = u01(seed, stream, k + 1);
    if (u1 < 0x1p-53)       /* log(0): keeps |result| <= GAUSS_MAX */
        u1 = 0x1p-53;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static double clamp(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* The multiple of q nearest x among those check_q found inside the parameter's bounds. */
static double quantise(const sw_param *p, double x)
{
    return clamp(round(x / p->q), p->kmin, p->kmax) * p->q;
}

/* Draw parameter p for trial stream `t`; *borrowed set when the value points into p. The
 * bounds were checked (check_range, check_normal): nothing here overflows, and the clamps
 * keep rounding (exp(log(max)) > max by an ulp) inside [min, max]. */
static sw_val sample(const sw_param *p, uint64_t seed, uint64_t t, uint64_t k, int *borrowed)
{
    double u = u01(seed, t, k), x;
    *borrowed = 0;
    switch (p->dist) {
    case D_CONST: *borrowed = 1; return p->vals[0];
    case D_CAT: {
        size_t i = (size_t)(u * (double)p->nvals);
        if (p->probs) {
            double acc = 0;
            for (i = 0; i + 1 < p->nvals; i++) {
                acc += p->probs[i];
                if (u < acc)
                    break;
            }
        }
        if (i >= p->nvals)
            i = p->nvals - 1;
        *borrowed = 1;
        return p->vals[i];
    }
    case D_INT_UNIFORM: {
        /* In uint64: imax - imin overflows int64 for wide ranges; the full range has
         * 2^64 values, one per draw. The modulo's bias is at most span / 2^64. */
        uint64_t last = (uint64_t)p->imax - (uint64_t)p->imin, r = ml_rng_at(seed, t, k);
        sw_val v = { .type = V_INT };
        v.i = (int64_t)((uint64_t)p->imin + (last == UINT64_MAX ? r : r % (last + 1)));
        return v;
    }
    case D_UNIFORM: return num_val(clamp(p->min + u * (p->max - p->min), p->min, p->max));
    case D_Q_UNIFORM:
        return num_val(clamp(quantise(p, p->min + u * (p->max - p->min)), p->min, p->max));
    case D_LOG_UNIFORM:
        return num_val(clamp(exp(p->min + u * (p->max - p->min)), exp(p->min), exp(p->max)));
    case D_LOG_UNIFORM_V:
        x = exp(log(p->min) + u * (log(p->max) - log(p->min)));
        return num_val(clamp(x, p->min, p->max));
    case D_Q_LOG_UNIFORM_V:
        x = exp(log(p->min) + u * (log(p->max) - log(p->min)));
        return num_val(clamp(quantise(p, x), p->min, p->max));
    case D_NORMAL: return num_val(p->mu + p->sigma * gauss(seed, t, k));
    case D_Q_NORMAL: return num_val(quantise(p, p->mu + p->sigma * gauss(seed, t, k)));
    default: return num_val(exp(p->mu + p->sigma * gauss(seed, t, k)));
    }
}

/* ---- trials ------------------------------------------------------------------------------ */

static size_t ncols(const ml_sweep *s) { return s->nparams + (s->seed_param ? 1 : 0); }

static const char *col_name(const ml_sweep *s, size_t j)
{
    return j < s->nparams ? s->params[j].name : s->seed_param;
}

static int push_trial(ml_sweep *s, size_t *cap, sw_val *vals, unsigned char *own,
                      int64_t repeat, ml_err *err)
{
    if (s->ntrials == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        sw_trial *t = ml_realloc(s->trials, c * sizeof *t);
        if (!t)
            return ml_error(err, ML_ERR_NOMEM, "out of memory expanding the sweep");
        s->trials = t;
        *cap = c;
    }
    sw_trial *t = &s->trials[s->ntrials++];
    memset(t, 0, sizeof *t);
    t->vals = vals;
    t->own = own;
    t->repeat = repeat;
    return 0;
}

/* Canonical JSON of a trial's columns, keys sorted (the identity hashed into the id). */
static int cmp_cols(const void *a, const void *b, void *ctx);
static const ml_sweep *sort_ctx;
static int cmp_idx(const void *a, const void *b)
{
    return cmp_cols(a, b, (void *)sort_ctx);
}
static int cmp_cols(const void *a, const void *b, void *ctx)
{
    const ml_sweep *s = ctx;
    return strcmp(col_name(s, *(const size_t *)a), col_name(s, *(const size_t *)b));
}

static int trial_ids(ml_sweep *s, ml_err *err)
{
    size_t n = ncols(s), *order = ml_alloc((n ? n : 1) * sizeof *order);
    int rc = 0;
    if (!order)
        return ml_error(err, ML_ERR_NOMEM, "out of memory hashing trials");
    for (size_t j = 0; j < n; j++)
        order[j] = j;
    sort_ctx = s;
    qsort(order, n, sizeof *order, cmp_idx);
    for (size_t i = 0; i < s->ntrials; i++) {
        ml_jbuf b;
        uint8_t h[ML_SHA256_LEN];
        char hex[ML_SHA256_HEX];
        ml_sha256_ctx c;
        ml_jbuf_init(&b);
        ml_jbuf_putn(&b, "{", 1);
        for (size_t j = 0; j < n; j++) {
            const char *name = col_name(s, order[j]);
            if (j)
                ml_jbuf_putn(&b, ",", 1);
            ml_jbuf_str(&b, name, strlen(name));
            ml_jbuf_putn(&b, ":", 1);
            put_val_json(&b, &s->trials[i].vals[order[j]]);
        }
        ml_jbuf_printf(&b, "}\nrepeat=%" PRId64, s->trials[i].repeat);
        if ((rc = ml_jbuf_finish(&b, "trial ids", err))) {
            ml_jbuf_free(&b);
            break;
        }
        ml_sha256_init(&c);
        ml_sha256_update(&c, b.data, b.len);
        ml_sha256_final(&c, h);
        ml_hex(h, 6, hex);
        memcpy(s->trials[i].id, hex, 13);
        ml_jbuf_free(&b);
    }
    ml_free(order);
    return rc;
}

typedef struct id_ref {
    const char *id;
    size_t i;
} id_ref;

static int cmp_id_ref(const void *a, const void *b)
{
    const id_ref *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

static int expand(ml_sweep *s, ml_err *err)
{
    size_t n = ncols(s), cap = 0, nconf = 1;
    int64_t reps = s->repeats;
    const ml_yt_doc *d = s->doc;
    int rc;
    if (s->grid) {
        for (size_t j = 0; j < s->nparams; j++) {
            sw_param *p = &s->params[j];
            size_t m;
            if (p->dist == D_INT_UNIFORM) {
                /* Checked: imax - imin overflows int64 for a range wider than 2^63. */
                int64_t last;
                if (__builtin_sub_overflow(p->imax, p->imin, &last) || last >= 100000)
                    return ml_yt_error(d, p->node, err, ML_ERR_FORMAT,
                                       "grid over parameter '%s' is too large: [%" PRId64
                                       ", %" PRId64 "] has more than 100000 values; narrow "
                                       "min/max or list values", p->name, p->imin, p->imax);
                m = (size_t)last + 1;
            } else if (p->dist == D_CONST || p->dist == D_CAT) {
                m = p->nvals;
            } else {
                return ml_yt_error(d, p->node, err, ML_ERR_FORMAT,
                                   "grid search needs values, value or integer min/max for "
                                   "parameter '%s' (distribution %s): list values, or use "
                                   "method: random", p->name, dist_names[p->dist]);
            }
            p->ngrid = m;
            if (__builtin_mul_overflow(nconf, m, &nconf) || nconf > 10000000)
                return ml_yt_error(d, p->node, err, ML_ERR_FORMAT,
                                   "the grid has more than 10 million points at parameter '%s'",
                                   p->name);
        }
    } else {
        int64_t t = s->trials_n > 0 ? s->trials_n : s->run_cap / (reps > 0 ? reps : 1);
        if (t <= 0)
            return ml_yt_error(d, ml_yt_get(d->root, "method"), err, ML_ERR_FORMAT,
                               "method random needs a trial count: set run_cap or "
                               "modlab: {trials: N}");
        nconf = (size_t)t;
    }
    /* Every trial is allocated here, up front, hashed and checked: bound the plan. 100000
     * trials (each a training run) is far beyond any real sweep and loads in a second. */
    uint64_t total;
    if (__builtin_mul_overflow((uint64_t)nconf, (uint64_t)(reps > 0 ? reps : 1), &total))
        total = UINT64_MAX;
    if (s->run_cap > 0 && (uint64_t)s->run_cap < total)
        total = (uint64_t)s->run_cap;
    if (total > 100000)
        return ml_yt_error(d, NULL, err, ML_ERR_FORMAT,
                           "the sweep would have more than 100000 trials (configurations "
                           "x modlab.repeats.count, capped by run_cap); list fewer values, "
                           "fewer repeats or a smaller run_cap");
    for (size_t c = 0; c < nconf; c++) {
        if (s->run_cap > 0 && (int64_t)s->ntrials >= s->run_cap)
            break;
        for (int64_t r = 0; r < reps; r++) {
            if (s->run_cap > 0 && (int64_t)s->ntrials >= s->run_cap)
                break;
            sw_val *vals = ml_zalloc((n ? n : 1) * sizeof *vals);
            unsigned char *own = ml_zalloc(n ? n : 1);
            if (!vals || !own) {
                ml_free(vals);
                ml_free(own);
                return ml_error(err, ML_ERR_NOMEM, "out of memory expanding the sweep");
            }
            size_t rest = c;
            for (size_t jj = s->nparams; jj-- > 0;) {     /* last parameter varies fastest */
                sw_param *p = &s->params[jj];
                if (s->grid) {
                    size_t m = p->ngrid, k = rest % m;
                    rest /= m;
                    if (p->dist == D_INT_UNIFORM) {
                        vals[jj].type = V_INT;
                        vals[jj].i = p->imin + (int64_t)k;
                    } else {
                        vals[jj] = p->vals[k];
                    }
                } else {
                    int borrowed;
                    vals[jj] = sample(p, s->sampler_seed, c, 4 * jj, &borrowed);
                    /* The checks of add_param make this impossible; a plan with inf or
                     * nan would be invalid JSON, so a gap in them must not pass. */
                    if (vals[jj].type == V_FLOAT && !isfinite(vals[jj].d)) {
                        ml_free(vals);
                        ml_free(own);
                        return ml_yt_error(d, p->node, err, ML_ERR_INTERNAL,
                                           "parameter '%s' drew %g in trial %zu: a bug in "
                                           "modlab's checks, please report it with this "
                                           "file", p->name, vals[jj].d, c);
                    }
                }
            }
            if (s->seed_param) {
                vals[n - 1].type = V_INT;
                if (s->has_seeds) {
                    sw_val sv;
                    if ((rc = node_val(d, s->seeds->items[r], "seeds", &sv, err))) {
                        ml_free(vals);
                        ml_free(own);
                        return rc;
                    }
                    vals[n - 1] = sv;
                    own[n - 1] = sv.type == V_STR || sv.type == V_JSON;
                } else {
                    vals[n - 1].i = s->base_seed + r;     /* checked in read_modlab */
                }
            }
            if ((rc = push_trial(s, &cap, vals, own, r, err))) {
                for (size_t j = 0; j < n; j++)
                    if (own[j])
                        val_free(&vals[j]);
                ml_free(vals);
                ml_free(own);
                return rc;
            }
        }
    }
    if (s->ntrials == 0)
        return ml_yt_error(d, ml_yt_get(d->root, "run_cap"), err, ML_ERR_FORMAT,
                           "the sweep has no trials (run_cap is 0?)");
    if ((rc = trial_ids(s, err)))
        return rc;
    /* Random draws can repeat a configuration: the same id runs once. Sorting finds the
     * repeats (comparing every pair took minutes for a million trials). */
    id_ref *refs = ml_alloc(s->ntrials * sizeof *refs);
    unsigned char *dup = ml_zalloc(s->ntrials);
    if (!refs || !dup) {
        ml_free(refs);
        ml_free(dup);
        return ml_error(err, ML_ERR_NOMEM, "out of memory checking the trials for repeats");
    }
    for (size_t i = 0; i < s->ntrials; i++)
        refs[i] = (id_ref){s->trials[i].id, i};
    qsort(refs, s->ntrials, sizeof *refs, cmp_id_ref);
    for (size_t k = 1; k < s->ntrials; k++)
        if (strcmp(refs[k].id, refs[k - 1].id) == 0)
            dup[refs[k].i] = 1;   /* the first of equal ids sorts first and stays */
    ml_free(refs);
    size_t w = 0;
    for (size_t i = 0; i < s->ntrials; i++) {
        if (dup[i]) {
            /* Finish the compaction even when the warning cannot be kept: returning in the
             * middle would leave moved trials in two slots for ml_sweep_free. */
            if (!rc)
                rc = warn(s, "trial %zu repeats the parameters of an earlier trial; it runs "
                             "once", i);
            for (size_t j = 0; j < n; j++)
                if (s->trials[i].own[j])
                    val_free(&s->trials[i].vals[j]);
            ml_free(s->trials[i].vals);
            ml_free(s->trials[i].own);
            continue;
        }
        s->trials[w++] = s->trials[i];
    }
    ml_free(dup);
    s->ntrials = w;
    if (rc)
        return ml_error(err, rc, "out of memory recording a repeated trial's warning");
    return 0;
}

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
    const ml_yt_node *n = ml_yt_get(map, key);
    int64_t v;
    int rc;
    if (!n)
        return 0;
    if ((rc = ml_yt_int(d, n, what, &v, err)))
        return rc;
    if (v < lo)
        return ml_yt_error(d, n, err, ML_ERR_FORMAT, "%s must be >= %" PRId64 ", not %" PRId64,
                           what, lo, v);
    *out = v;
    return 0;
}

static int get_bool(const ml_yt_doc *d, const ml_yt_node *map, const char *key,
                    const char *what, int *out, ml_err *err)
{
    const ml_yt_node *n = ml_yt_get(map, key);
    return n ? ml_yt_bool(d, n, what, out, err) : 0;
}

static int get_str(const ml_yt_doc *d, const ml_yt_node *map, const char *key, const char *what,
                   const char **out, ml_err *err)
{
    const ml_yt_node *n = ml_yt_get(map, key);
    if (!n)
        return 0;
    if (n->kind != ML_YT_SCALAR || n->type != ML_YT_STR)
        return ml_yt_expect(d, n, ML_YT_SCALAR, what, err) ? err->code
               : ml_yt_error(d, n, err, ML_ERR_FORMAT, "%s must be a string, not %s '%s'",
                             what, ml_yt_type_name(n->type), n->value);
    *out = n->value;
    return 0;
}

static int one_of(const ml_yt_doc *d, const ml_yt_node *map, const char *key, const char *what,
                  const char *const *choices, const char **out, ml_err *err)
{
    const ml_yt_node *n = ml_yt_get(map, key);
    int rc;
    if (!n)
        return 0;
    if ((rc = get_str(d, map, key, what, out, err)))
        return rc;
    for (size_t i = 0; choices[i]; i++)
        if (strcmp(*out, choices[i]) == 0)
            return 0;
    return ml_yt_error(d, n, err, ML_ERR_FORMAT, "%s must be one of %s%s%s%s%s, not '%s'", what,
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
    return ml_yt_error(d, n, err, ML_ERR_FORMAT,
                       "timeout must be seconds or a duration like 90s, 15m, 2h, not '%s'",
                       n->kind == ML_YT_SCALAR ? n->value : ml_yt_kind_name(n->kind));
}

static int read_modlab(ml_sweep *s, const ml_yt_node *m, ml_err *err)
{
    const ml_yt_doc *d = s->doc;
    const ml_yt_node *n;
    int rc;
    static const char *const summaries[] = { "last", "best", "mean_last_k", NULL };
    static const char *const launchers[] = { "local", "slurm", NULL };
    if ((rc = ml_yt_expect(d, m, ML_YT_MAP, "modlab", err)) ||
        (rc = check_keys(d, m, "modlab", modlab_keys, err)) ||
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
    if (ml_yt_get(m, "timeout") && ml_yt_get(m, "timeout_per_trial"))
        return ml_yt_error(d, ml_yt_get(m, "timeout_per_trial"), err, ML_ERR_FORMAT,
                           "give modlab.timeout or modlab.timeout_per_trial, not both");
    if ((n = ml_yt_get(m, "timeout")) && (rc = get_duration(d, n, &s->timeout, err)))
        return rc;
    if ((n = ml_yt_get(m, "timeout_per_trial")) && (rc = get_duration(d, n, &s->timeout, err)))
        return rc;
    if ((n = ml_yt_get(m, "sampler"))) {
        static const char *const keys[] = { "seed", NULL };
        int64_t seed = 0;
        if ((rc = ml_yt_expect(d, n, ML_YT_MAP, "modlab.sampler", err)) ||
            (rc = check_keys(d, n, "modlab.sampler", keys, err)) ||
            (rc = get_int(d, n, "seed", "modlab.sampler.seed", 0, &seed, err)))
            return rc;
        s->sampler_seed = (uint64_t)seed;
    }
    if ((n = ml_yt_get(m, "repeats"))) {
        static const char *const keys[] = { "count", "seed_param", "base_seed", "seeds", NULL };
        if (n->kind == ML_YT_SCALAR) {
            if ((rc = ml_yt_int(d, n, "modlab.repeats", &s->repeats, err)))
                return rc;
        } else {
            if ((rc = ml_yt_expect(d, n, ML_YT_MAP, "modlab.repeats", err)) ||
                (rc = check_keys(d, n, "modlab.repeats", keys, err)) ||
                (rc = get_int(d, n, "count", "modlab.repeats.count", 1, &s->repeats, err)) ||
                (rc = get_str(d, n, "seed_param", "modlab.repeats.seed_param", &s->seed_param,
                              err)) ||
                (rc = get_int(d, n, "base_seed", "modlab.repeats.base_seed", 0, &s->base_seed,
                              err)))
                return rc;
            if ((s->seeds = ml_yt_get(n, "seeds"))) {
                if ((rc = ml_yt_expect(d, s->seeds, ML_YT_SEQ, "modlab.repeats.seeds", err)))
                    return rc;
                if (s->seeds->n == 0)
                    return ml_yt_error(d, s->seeds, err, ML_ERR_FORMAT,
                                       "modlab.repeats.seeds is empty");
                if (!ml_yt_get(n, "count"))
                    s->repeats = (int64_t)s->seeds->n;
                else if ((size_t)s->repeats != s->seeds->n)
                    return ml_yt_error(d, s->seeds, err, ML_ERR_FORMAT,
                                       "modlab.repeats has count %" PRId64 " but %zu seeds",
                                       s->repeats, s->seeds->n);
                s->has_seeds = 1;
            }
            if ((s->seeds || ml_yt_get(n, "base_seed")) && !s->seed_param)
                return ml_yt_error(d, n, err, ML_ERR_FORMAT,
                                   "modlab.repeats gives seeds but no seed_param (the recipe "
                                   "argument that receives them, e.g. seed_param: seed)");
        }
        if (s->repeats < 1)
            return ml_yt_error(d, n, err, ML_ERR_FORMAT, "modlab.repeats must be >= 1");
        if (s->seed_param && !s->has_seeds && !ml_yt_get(n, "base_seed"))
            s->base_seed = 1;
        int64_t last;
        if (s->seed_param && !s->has_seeds &&
            __builtin_add_overflow(s->base_seed, s->repeats - 1, &last))
            return ml_yt_error(d, ml_yt_get(n, "base_seed") ? ml_yt_get(n, "base_seed") : n,
                               err, ML_ERR_FORMAT,
                               "modlab.repeats.base_seed %" PRId64 " + count %" PRId64
                               " overflows int64: use a smaller base_seed", s->base_seed,
                               s->repeats);
    }
    if ((n = ml_yt_get(m, "slurm"))) {
        if ((rc = ml_yt_expect(d, n, ML_YT_MAP, "modlab.slurm", err)) ||
            (rc = check_keys(d, n, "modlab.slurm", slurm_keys, err)) ||
            (rc = get_int(d, n, "max_array_size", "modlab.slurm.max_array_size", 1,
                          &s->max_array, err)))
            return rc;
        static const char *const lists[] = { "setup", "extra", NULL };
        for (size_t i = 0; lists[i]; i++) {
            const ml_yt_node *l = ml_yt_get(n, lists[i]);
            char what[64];
            snprintf(what, sizeof what, "modlab.slurm.%s", lists[i]);
            if (l && (rc = ml_yt_expect(d, l, ML_YT_SEQ, what, err)))
                return rc;
            for (size_t j = 0; l && j < l->n; j++) {
                const char *t;
                if ((rc = ml_yt_str(d, l->items[j], what, &t, err)))
                    return rc;
            }
        }
        s->slurm = n;
    }
    return 0;
}

static int read_top(ml_sweep *s, ml_err *err)
{
    const ml_yt_doc *d = s->doc;
    const ml_yt_node *root = d->root, *n;
    int rc;
    static const char *const methods[] = { "grid", "random", NULL };
    static const char *const goals[] = { "minimize", "maximize", NULL };
    if (!root)
        return ml_yt_error(d, NULL, err, ML_ERR_FORMAT,
                           "the file is empty (a sweep needs method and parameters)");
    if ((rc = ml_yt_expect(d, root, ML_YT_MAP, "a sweep file", err)) ||
        (rc = check_keys(d, root, "the sweep", top_keys, err)))
        return rc;
    if ((rc = get_str(d, root, "name", "name", &s->name, err)) ||
        (rc = get_str(d, root, "program", "program", &s->program, err)))
        return rc;
    if (s->name) {
        ml_err e = {0};
        if (ml_sweep_check_name(s->name, "the sweep's 'name'", &e))
            return ml_yt_error(d, ml_yt_get(root, "name"), err, e.code, "%s", e.msg);
    }
    if (!(n = ml_yt_get(root, "method")))
        return ml_yt_error(d, root, err, ML_ERR_FORMAT,
                           "the sweep has no method (grid or random)");
    if ((rc = get_str(d, root, "method", "method", &s->method, err)))
        return rc;
    if (strcmp(s->method, "bayes") == 0 || strcmp(s->method, "custom") == 0)
        return ml_yt_error(d, n, err, ML_ERR_UNSUPPORTED,
                           "method '%s' is not supported by modlab: use grid or random",
                           s->method);
    if ((rc = one_of(d, root, "method", "method", methods, &s->method, err)))
        return rc;
    s->grid = strcmp(s->method, "grid") == 0;
    if ((rc = get_int(d, root, "run_cap", "run_cap", 1, &s->run_cap, err)))
        return rc;
    if ((n = ml_yt_get(root, "metric"))) {
        if ((rc = ml_yt_expect(d, n, ML_YT_MAP, "metric", err)) ||
            (rc = check_keys(d, n, "metric", metric_keys, err)) ||
            (rc = get_str(d, n, "name", "metric.name", &s->metric_name, err)) ||
            (rc = one_of(d, n, "goal", "metric.goal", goals, &s->goal, err)))
            return rc;
        if (!s->metric_name)
            return ml_yt_error(d, n, err, ML_ERR_FORMAT, "metric needs a name");
        if ((s->has_target = ml_yt_get(n, "target") != NULL) &&
            (rc = num_key(d, n, "target", "metric", 0, &s->target, err)))
            return rc;
    }
    if ((n = ml_yt_get(root, "early_terminate"))) {
        const char *type = NULL;
        int64_t min_iter = 0, max_iter = 0, sb = 0;
        double eta = 3;
        if ((rc = ml_yt_expect(d, n, ML_YT_MAP, "early_terminate", err)) ||
            (rc = check_keys(d, n, "early_terminate", et_keys, err)) ||
            (rc = get_str(d, n, "type", "early_terminate.type", &type, err)) ||
            (rc = get_int(d, n, "min_iter", "early_terminate.min_iter", 1, &min_iter, err)) ||
            (rc = get_int(d, n, "max_iter", "early_terminate.max_iter", 1, &max_iter, err)) ||
            (rc = get_int(d, n, "s", "early_terminate.s", 1, &sb, err)) ||
            (rc = num_key(d, n, "eta", "early_terminate", 3, &eta, err)))
            return rc;
        if (!type || strcmp(type, "hyperband") != 0)
            return ml_yt_error(d, ml_yt_get(n, "type") ? ml_yt_get(n, "type") : n, err,
                               ML_ERR_UNSUPPORTED,
                               "early_terminate type must be hyperband");
        if (!(eta > 1))
            return ml_yt_error(d, ml_yt_get(n, "eta"), err, ML_ERR_FORMAT,
                               "early_terminate.eta must be > 1");
        if (!s->metric_name)
            return ml_yt_error(d, n, err, ML_ERR_FORMAT,
                               "early_terminate needs a metric {name, goal} to compare");
        s->hyperband = 1;
        s->eta = eta;
        /* Rungs are iteration counts: whole numbers, exact as doubles (so never inf). */
        if (min_iter) {
            double r = (double)min_iter;
            for (s->nrungs = 0; s->nrungs < 8; s->nrungs++, r *= eta) {
                if (!(round(r) <= EXACT_MAX))
                    return ml_yt_error(d, ml_yt_get(n, "eta") ? ml_yt_get(n, "eta") : n, err,
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
                return ml_yt_error(d, n, err, ML_ERR_FORMAT,
                                   "early_terminate: the first rung, max_iter / eta^s = %g, "
                                   "is below one iteration; use a smaller s or eta",
                                   (double)max_iter / pow(eta, (double)sb));
        } else {
            return ml_yt_error(d, n, err, ML_ERR_FORMAT,
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
    if ((n = ml_yt_get(root, "modlab")) && (rc = read_modlab(s, n, err)))
        return rc;
    if (ml_yt_get(root, "command") && (rc = warn(s, "'command' is ignored: modlab runs each "
                                                    "trial as `modlab trial DIR --index I`")))
        return ml_error(err, rc, "out of memory recording the warning about 'command'");
    if (!(n = ml_yt_get(root, "parameters")))
        return ml_yt_error(d, root, err, ML_ERR_FORMAT, "the sweep has no parameters");
    if ((rc = read_params(s, n, "", err)))
        return rc;
    if (s->seed_param)
        for (size_t j = 0; j < s->nparams; j++)
            if (strcmp(s->params[j].name, s->seed_param) == 0)
                return ml_yt_error(d, s->params[j].node, err, ML_ERR_FORMAT,
                                   "parameter '%s' is also modlab.repeats.seed_param: drop "
                                   "one of them", s->seed_param);
    return 0;
}

/* ---- the plan as JSON ------------------------------------------------------------------- */

static int build_json(ml_sweep *s, ml_err *err)
{
    ml_jbuf b;
    const ml_yt_doc *d = s->doc;
    size_t n = ncols(s);
    char t[48];
    ml_jbuf_init(&b);
    ml_jbuf_puts(&b, "{\"source\":");
    ml_jbuf_str(&b, d->name, strlen(d->name));
    ml_jbuf_puts(&b, ",\"name\":");
    if (s->name)
        ml_jbuf_str(&b, s->name, strlen(s->name));
    else
        ml_jbuf_puts(&b, "null");
    ml_jbuf_puts(&b, ",\"program\":");
    if (s->program)
        ml_jbuf_str(&b, s->program, strlen(s->program));
    else
        ml_jbuf_puts(&b, "null");
    ml_jbuf_printf(&b, ",\"method\":\"%s\",\"metric\":", s->method);
    if (s->metric_name) {
        ml_jbuf_puts(&b, "{\"name\":");
        ml_jbuf_str(&b, s->metric_name, strlen(s->metric_name));
        ml_jbuf_printf(&b, ",\"goal\":\"%s\"", s->goal ? s->goal : "minimize");
        if (s->has_target) {
            ml_format_double(t, sizeof t, s->target);
            ml_jbuf_printf(&b, ",\"target\":%s", t);
        }
        ml_jbuf_puts(&b, "}");
    } else {
        ml_jbuf_puts(&b, "null");
    }
    ml_jbuf_puts(&b, ",\"early_terminate\":");
    if (s->hyperband) {
        ml_format_double(t, sizeof t, s->eta);
        ml_jbuf_printf(&b, "{\"type\":\"hyperband\",\"eta\":%s,\"rungs\":[", t);
        for (int i = 0; i < s->nrungs; i++)
            ml_jbuf_printf(&b, "%s%.0f", i ? "," : "", s->rungs[i]);
        ml_jbuf_puts(&b, "]}");
    } else {
        ml_jbuf_puts(&b, "null");
    }
    ml_jbuf_printf(&b, ",\"settings\":{\"workers\":%" PRId64 ",\"retries\":%" PRId64
                   ",\"fail_fast\":%s,\"resume\":%s,\"strict\":%s,\"repeats\":%" PRId64
                   ",\"sampler_seed\":%" PRIu64 ",\"metric_summary\":\"%s\",\"k\":%" PRId64
                   ",\"launcher\":\"%s\",\"max_array_size\":%" PRId64,
                   s->workers, s->retries, s->fail_fast ? "true" : "false",
                   s->resume ? "true" : "false", s->strict ? "true" : "false", s->repeats,
                   s->sampler_seed, s->metric_summary, s->k, s->launcher, s->max_array);
    ml_format_double(t, sizeof t, s->timeout);
    ml_jbuf_printf(&b, ",\"timeout\":%s,\"seed_param\":", t);
    if (s->seed_param)
        ml_jbuf_str(&b, s->seed_param, strlen(s->seed_param));
    else
        ml_jbuf_puts(&b, "null");
    ml_jbuf_puts(&b, ",\"output_dir\":");
    if (s->output_dir)
        ml_jbuf_str(&b, s->output_dir, strlen(s->output_dir));
    else
        ml_jbuf_puts(&b, "null");
    ml_jbuf_puts(&b, ",\"slurm\":");
    if (s->slurm)
        put_json_node(&b, d, s->slurm);
    else
        ml_jbuf_puts(&b, "{}");
    ml_jbuf_puts(&b, "},\"columns\":[");
    for (size_t j = 0; j < n; j++) {
        if (j)
            ml_jbuf_putn(&b, ",", 1);
        ml_jbuf_str(&b, col_name(s, j), strlen(col_name(s, j)));
    }
    ml_jbuf_puts(&b, "],\"trials\":[");
    for (size_t i = 0; i < s->ntrials; i++) {
        const sw_trial *tr = &s->trials[i];
        ml_jbuf_printf(&b, "%s\n{\"index\":%zu,\"id\":\"%s\",\"repeat\":%" PRId64 ",\"args\":[",
                       i ? "," : "", i, tr->id, tr->repeat);
        for (size_t j = 0; j < n; j++) {
            ml_jbuf b2;
            ml_jbuf_init(&b2);
            put_val_arg(&b2, &tr->vals[j]);
            ml_jbuf_puts(&b, j ? "," : "");
            if (b2.failed)
                b.failed = 1;
            else
                ml_jbuf_str(&b, b2.data, b2.len);
            ml_jbuf_free(&b2);
        }
        ml_jbuf_puts(&b, "],\"params\":[");
        for (size_t j = 0; j < n; j++) {
            ml_jbuf_puts(&b, j ? "," : "");
            put_val_json(&b, &tr->vals[j]);
        }
        ml_jbuf_puts(&b, "]}");
    }
    ml_jbuf_puts(&b, "],\"warnings\":[");
    for (size_t i = 0; i < s->nwarnings; i++) {
        ml_jbuf_puts(&b, i ? "," : "");
        ml_jbuf_str(&b, s->warnings[i], strlen(s->warnings[i]));
    }
    ml_jbuf_puts(&b, "]}\n");
    int rc = ml_jbuf_finish(&b, "the sweep plan", err);
    if (rc) {
        ml_jbuf_free(&b);
        return rc;
    }
    s->json = b.data;
    return 0;
}

/* ---- public ----------------------------------------------------------------------------- */

static ml_sweep *finish_load(ml_yt_doc *doc, ml_err *err)
{
    ml_sweep *s;
    if (!doc)
        return NULL;
    if (!(s = ml_zalloc(sizeof *s))) {
        ml_error(err, ML_ERR_NOMEM, "out of memory reading %s", doc->name);
        ml_yt_free(doc);
        return NULL;
    }
    s->doc = doc;
    if (read_top(s, err) || expand(s, err) || build_json(s, err))
        goto fail;
    return s;
fail:
    ml_sweep_free(s);
    return NULL;
}

ml_sweep *ml_sweep_load(const char *path, ml_err *err)
{
    if (!path)
        return ml_error(err, ML_ERR_INVALID, "ml_sweep_load: path is NULL"), NULL;
    return finish_load(ml_yt_load_file(path, err), err);
}

ml_sweep *ml_sweep_load_string(const char *text, size_t len, const char *name, ml_err *err)
{
    if (!text || !name)
        return ml_error(err, ML_ERR_INVALID, "ml_sweep_load_string: text or name is NULL"),
               NULL;
    return finish_load(ml_yt_load_string(text, len, name, err), err);
}

void ml_sweep_free(ml_sweep *s)
{
    if (!s)
        return;
    size_t n = ncols(s);
    for (size_t i = 0; i < s->ntrials; i++) {
        for (size_t j = 0; j < n; j++)
            if (s->trials[i].own[j])
                val_free(&s->trials[i].vals[j]);
        ml_free(s->trials[i].vals);
        ml_free(s->trials[i].own);
    }
    ml_free(s->trials);
    for (size_t i = 0; i < s->nparams; i++) {
        for (size_t j = 0; j < s->params[i].nvals; j++)
            val_free(&s->params[i].vals[j]);
        ml_free(s->params[i].vals);
        ml_free(s->params[i].probs);
        ml_free(s->params[i].name);
    }
    ml_free(s->params);
    for (size_t i = 0; i < s->nwarnings; i++)
        ml_free(s->warnings[i]);
    ml_free(s->warnings);
    ml_free(s->json);
    ml_yt_free(s->doc);
    ml_free(s);
}

const char *ml_sweep_json(const ml_sweep *s) { return s ? s->json : NULL; }
int32_t ml_sweep_ntrials(const ml_sweep *s) { return s ? (int32_t)s->ntrials : 0; }

const char *ml_sweep_trial_id(const ml_sweep *s, int32_t i)
{
    if (!s || i < 0 || (size_t)i >= s->ntrials)
        return NULL;
    return s->trials[i].id;
}

char *ml_sweep_export_wandb(const char *path, ml_err *err)
{
    ml_yt_doc *doc = NULL;
    char *text = NULL, *out = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        ml_error(err, ML_ERR_NOT_FOUND, "%s: cannot open the sweep file", path);
        return NULL;
    }
    long sz = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (sz < 0 || fseek(f, 0, SEEK_SET) != 0 || !(text = ml_alloc((size_t)sz + 1)) ||
        fread(text, 1, (size_t)sz, f) != (size_t)sz) {
        ml_error(err, ML_ERR_IO, "%s: cannot read the sweep file", path);
        goto fail;
    }
    len = (size_t)sz;
    text[len] = 0;
    {
        ml_sweep *s = ml_sweep_load(path, err);    /* export only what modlab accepts */
        if (!s)
            goto fail;
        ml_sweep_free(s);
    }
    if (!(doc = ml_yt_load_string(text, len, path, err)))
        goto fail;
    const ml_yt_node *root = doc->root;
    int from = 0, to = 0;
    for (size_t i = 0; i < root->n; i++)
        if (strcmp(root->keys[i]->value, "modlab") == 0) {
            if (root->keys[i]->col != 1) {
                ml_yt_error(doc, root->keys[i], err, ML_ERR_UNSUPPORTED,
                            "export needs the top-level mapping in block style");
                goto fail;
            }
            from = root->keys[i]->line;
            to = i + 1 < root->n ? root->keys[i + 1]->line : 0;
        }
    if (!(out = ml_alloc(len + 1))) {
        ml_error(err, ML_ERR_NOMEM, "out of memory exporting %s", path);
        goto fail;
    }
    size_t o = 0;
    int line = 1;
    for (size_t i = 0; i < len; i++) {
        int drop = from && line >= from && (to == 0 || line < to);
        if (!drop)
            out[o++] = text[i];
        if (text[i] == '\n')
            line++;
    }
    out[o] = 0;
    ml_yt_free(doc);
    ml_free(text);
    fclose(f);
    return out;
fail:
    ml_yt_free(doc);
    ml_free(text);
    ml_free(out);
    fclose(f);
    return NULL;
}

void ml_sweep_text_free(char *text) { ml_free(text); }
