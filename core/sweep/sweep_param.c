/* SPDX-License-Identifier: MIT */
/* The `parameters:` section: each parameter's distribution, checked so that every draw
 * of an accepted parameter is finite and inside its range. */
#include "sweep/sweep_impl.h"

/* ---- parameters ------------------------------------------------------------------------- */

static const char *const param_keys[] = {
    "value", "values", "probabilities", "distribution", "min", "max", "q", "mu", "sigma",
    "a", "b", "parameters", NULL
};

int mli_sw_num_key(const ml_yt_doc *d, const ml_yt_node *map, const char *key,
                  const char *pname, double def, double *out, ml_err *err)
{
    char what[200];
    const ml_yt_node *n = mli_yt_get(map, key);
    *out = def;
    if (!n)
        return 0;
    snprintf(what, sizeof what, "%s of parameter '%s'", key, pname);
    if (n->kind != ML_YT_SCALAR || (n->type != ML_YT_INT && n->type != ML_YT_FLOAT))
        return mli_yt_error(d, n, err, ML_ERR_FORMAT, "%s must be a number, not %s%s%s", what,
                           n->kind == ML_YT_SCALAR ? "'" : mli_yt_kind_name(n->kind),
                           n->kind == ML_YT_SCALAR ? n->value : "",
                           n->kind == ML_YT_SCALAR ? "'" : "");
    int rc = mli_yt_float(d, n, what, out, err);
    if (!rc && !isfinite(*out))
        return mli_yt_error(d, n, err, ML_ERR_FORMAT, "%s must be finite", what);
    return rc;
}

static int add_param(ml_sweep *s, const char *name, const ml_yt_node *spec, ml_err *err);

int mli_sw_read_params(ml_sweep *s, const ml_yt_node *map, const char *prefix, ml_err *err)
{
    const ml_yt_doc *d = s->doc;
    int rc;
    if ((rc = mli_yt_expect(d, map, ML_YT_MAP, "parameters", err)))
        return rc;
    if (map->n == 0)
        return mli_yt_error(d, map, err, ML_ERR_FORMAT,
                           "parameters is empty: give at least one parameter");
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->keys[i]->value;
        char name[256];
        if (!(isalpha((unsigned char)k[0]) || k[0] == '_'))
            return mli_yt_error(d, map->keys[i], err, ML_ERR_FORMAT,
                               "parameter name '%s' must start with a letter or '_'", k);
        for (const char *c = k; *c; c++)
            if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '.' || *c == '-'))
                return mli_yt_error(d, map->keys[i], err, ML_ERR_FORMAT,
                                   "parameter name '%s' may hold only letters, digits, "
                                   "'_', '.' and '-'", k);
        if ((size_t)snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", k) >=
            sizeof name)
            return mli_yt_error(d, map->keys[i], err, ML_ERR_FORMAT, "parameter name too long");
        const ml_yt_node *spec = map->items[i];
        char what[300];
        snprintf(what, sizeof what, "parameter '%s'", name);
        if ((rc = mli_yt_expect(d, spec, ML_YT_MAP, what, err)))
            return rc;
        if ((rc = mli_sw_check_keys(d, spec, what, param_keys, err)))
            return rc;
        const ml_yt_node *nested = mli_yt_get(spec, "parameters");
        if (nested) {
            if (spec->n != 1)
                return mli_yt_error(d, spec, err, ML_ERR_FORMAT,
                                   "%s has nested 'parameters' and other keys: use one", what);
            if ((rc = mli_sw_read_params(s, nested, name, err)))
                return rc;
            continue;
        }
        if ((rc = add_param(s, name, spec, err)))
            return rc;
    }
    return 0;
}

/* ---- numeric checks: every draw of an accepted parameter is finite ---------------------- */

/* The multiples of q inside [lo, hi] (the values a quantised draw may take). */
static int check_q(const ml_yt_doc *d, const ml_yt_node *spec, sw_param *p, const char *what,
                   double lo, double hi, ml_err *err)
{
    const ml_yt_node *nq = mli_yt_get(spec, "q") ? mli_yt_get(spec, "q") : spec;
    double a = lo / p->q, b = hi / p->q;
    if (!(fabs(a) <= EXACT_MAX && fabs(b) <= EXACT_MAX))
        return mli_yt_error(d, nq, err, ML_ERR_FORMAT,
                           "q of %s is too small for its range: %g / q = %g is beyond 2^53 "
                           "multiples, where quantising does nothing; use a larger q", what,
                           fabs(a) > fabs(b) ? lo : hi, fabs(a) > fabs(b) ? a : b);
    p->kmin = ceil(a);
    p->kmax = floor(b);
    if (p->kmin > p->kmax)
        return mli_yt_error(d, nq, err, ML_ERR_FORMAT,
                           "no multiple of q = %g lies in [%g, %g] of %s: use a smaller q or "
                           "a wider range", p->q, lo, hi, what);
    return 0;
}

static int check_range(const ml_yt_doc *d, const ml_yt_node *spec, sw_param *p,
                       const char *what, ml_err *err)
{
    const ml_yt_node *nmax = mli_yt_get(spec, "max");
    if (p->dist == D_INT_UNIFORM)
        return 0;
    if (!isfinite(p->max - p->min))
        return mli_yt_error(d, nmax, err, ML_ERR_FORMAT,
                           "min and max of %s are too far apart: max - min overflows a double; "
                           "narrow the range", what);
    if (p->dist == D_LOG_UNIFORM && !isfinite(exp(p->max)))
        return mli_yt_error(d, nmax, err, ML_ERR_FORMAT,
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
        return mli_yt_error(d, spec, err, ML_ERR_FORMAT,
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
    const ml_yt_node *nv = mli_yt_get(spec, "value"), *nvs = mli_yt_get(spec, "values");
    const ml_yt_node *ndist = mli_yt_get(spec, "distribution"), *nmin = mli_yt_get(spec, "min");
    const ml_yt_node *nmax = mli_yt_get(spec, "max"), *nprob = mli_yt_get(spec, "probabilities");
    char what[300];
    int rc;
    snprintf(what, sizeof what, "parameter '%s'", name);
    for (size_t i = 0; i < s->nparams; i++)
        if (strcmp(s->params[i].name, name) == 0)
            return mli_yt_error(d, spec, err, ML_ERR_FORMAT,
                               "%s is given twice (dotted and nested names are the same)",
                               what);
    if (s->nparams == s->cparams) {
        size_t c = s->cparams ? 2 * s->cparams : 8;
        sw_param *p = mli_realloc(s->params, c * sizeof *p);
        if (!p)
            return mli_error(err, ML_ERR_NOMEM, "out of memory reading parameters");
        s->params = p;
        s->cparams = c;
    }
    sw_param *p = &s->params[s->nparams];
    memset(p, 0, sizeof *p);
    if (!(p->name = mli_strdup(name)))
        return mli_error(err, ML_ERR_NOMEM, "out of memory reading parameters");
    s->nparams++;
    p->node = spec;

    const char *dist = NULL;
    if (ndist && (rc = mli_yt_str(d, ndist, "distribution", &dist, err)))
        return rc;
    if (dist) {
        int found = -1;
        for (int i = 0; dist_names[i]; i++)
            if (strcmp(dist, dist_names[i]) == 0)
                found = i;
        if (strcmp(dist, "categorical_w_probabilities") == 0)
            found = D_CAT;
        if (found < 0)
            return mli_yt_error(d, ndist, err, ML_ERR_UNSUPPORTED,
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
            return mli_yt_error(d, spec, err, ML_ERR_FORMAT, "%s has %s but no %s", what,
                               nmin ? "min" : "max", nmin ? "max" : "min");
        int ints = nmin->kind == ML_YT_SCALAR && nmin->type == ML_YT_INT &&
                   nmax->kind == ML_YT_SCALAR && nmax->type == ML_YT_INT;
        p->dist = ints ? D_INT_UNIFORM : D_UNIFORM;
    } else {
        return mli_yt_error(d, spec, err, ML_ERR_FORMAT,
                           "%s needs one of value, values, min/max or distribution", what);
    }

    if (p->dist == D_CONST) {
        if (!nv)
            return mli_yt_error(d, spec, err, ML_ERR_FORMAT, "%s: constant needs 'value'", what);
        if (!(p->vals = mli_zalloc(sizeof *p->vals)))
            return mli_error(err, ML_ERR_NOMEM, "out of memory reading %s", what);
        p->nvals = 1;
        return mli_sw_node_val(d, nv, what, &p->vals[0], err);
    }
    if (p->dist == D_CAT) {
        if ((rc = mli_yt_expect(d, nvs, ML_YT_SEQ, "values", err)))
            return nvs ? rc : mli_yt_error(d, spec, err, ML_ERR_FORMAT,
                                          "%s: categorical needs 'values'", what);
        if (nvs->n == 0)
            return mli_yt_error(d, nvs, err, ML_ERR_FORMAT,
                               "values of %s is empty: give at least one value", what);
        if (!(p->vals = mli_zalloc(nvs->n * sizeof *p->vals)))
            return mli_error(err, ML_ERR_NOMEM, "out of memory reading %s", what);
        p->nvals = nvs->n;
        for (size_t i = 0; i < nvs->n; i++)
            if ((rc = mli_sw_node_val(d, nvs->items[i], what, &p->vals[i], err)))
                return rc;
        if (nprob) {
            double sum = 0;
            if ((rc = mli_yt_expect(d, nprob, ML_YT_SEQ, "probabilities", err)))
                return rc;
            if (nprob->n != nvs->n)
                return mli_yt_error(d, nprob, err, ML_ERR_FORMAT,
                                   "%s has %zu probabilities for %zu values", what, nprob->n,
                                   nvs->n);
            if (!(p->probs = mli_zalloc(nprob->n * sizeof *p->probs)))
                return mli_error(err, ML_ERR_NOMEM, "out of memory reading %s", what);
            for (size_t i = 0; i < nprob->n; i++) {
                if ((rc = mli_yt_float(d, nprob->items[i], "a probability", &p->probs[i], err)))
                    return rc;
                if (!(p->probs[i] >= 0))
                    return mli_yt_error(d, nprob->items[i], err, ML_ERR_FORMAT,
                                       "probabilities must be >= 0");
                sum += p->probs[i];
            }
            if (fabs(sum - 1.0) > 1e-6)
                return mli_yt_error(d, nprob, err, ML_ERR_FORMAT,
                                   "probabilities of %s sum to %g, not 1", what, sum);
        }
        return 0;
    }
    if (nv || nvs)
        return mli_yt_error(d, nv ? nv : nvs, err, ML_ERR_FORMAT,
                           "%s: distribution '%s' takes no %s", what, dist_names[p->dist],
                           nv ? "value" : "values");
    if ((rc = mli_sw_num_key(d, spec, "q", name, 1.0, &p->q, err)) ||
        (rc = mli_sw_num_key(d, spec, "mu", name, 0.0, &p->mu, err)) ||
        (rc = mli_sw_num_key(d, spec, "sigma", name, 1.0, &p->sigma, err)))
        return rc;
    if (!(p->q > 0))
        return mli_yt_error(d, mli_yt_get(spec, "q"), err, ML_ERR_FORMAT,
                           "q of %s must be > 0", what);
    if (p->dist == D_NORMAL || p->dist == D_Q_NORMAL || p->dist == D_LOG_NORMAL) {
        if (!(p->sigma > 0))
            return mli_yt_error(d, mli_yt_get(spec, "sigma"), err, ML_ERR_FORMAT,
                               "sigma of %s must be > 0", what);
        return check_normal(d, spec, p, what, err);
    }
    if (!nmin || !nmax)
        return mli_yt_error(d, spec, err, ML_ERR_FORMAT,
                           "%s: distribution '%s' needs min and max", what,
                           dist_names[p->dist]);
    if ((rc = mli_sw_num_key(d, spec, "min", name, 0, &p->min, err)) ||
        (rc = mli_sw_num_key(d, spec, "max", name, 0, &p->max, err)))
        return rc;
    if (p->dist == D_INT_UNIFORM) {
        char w[340];
        snprintf(w, sizeof w, "min and max of %.300s (int_uniform)", what);
        if ((rc = mli_yt_int(d, nmin, w, &p->imin, err)) ||
            (rc = mli_yt_int(d, nmax, w, &p->imax, err)))
            return rc;
        /* The integers, not their doubles: 2^63-1 and 2^63-2 are the same double. */
        if (p->imin > p->imax)
            return mli_yt_error(d, nmin, err, ML_ERR_FORMAT,
                               "min of %s is above its max (%" PRId64 " > %" PRId64 ")", what,
                               p->imin, p->imax);
    }
    if (!(p->min <= p->max))
        return mli_yt_error(d, nmin, err, ML_ERR_FORMAT, "min of %s is above its max (%g > %g)",
                           what, p->min, p->max);
    if ((p->dist == D_LOG_UNIFORM_V || p->dist == D_Q_LOG_UNIFORM_V) && !(p->min > 0))
        return mli_yt_error(d, nmin, err, ML_ERR_FORMAT,
                           "min of %s must be > 0 for %s", what, dist_names[p->dist]);
    return check_range(d, spec, p, what, err);
}
