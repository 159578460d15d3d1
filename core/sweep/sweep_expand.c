/* SPDX-License-Identifier: MIT */
/* From parameters to trials: seeded draws (random), the cross product (grid), repeats
 * and seeds, and each trial's id. */
#include "sweep/sweep_impl.h"

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
    case D_UNIFORM: return mli_sw_num_val(clamp(p->min + u * (p->max - p->min), p->min, p->max));
    case D_Q_UNIFORM:
        return mli_sw_num_val(clamp(quantise(p, p->min + u * (p->max - p->min)), p->min, p->max));
    case D_LOG_UNIFORM:
        return mli_sw_num_val(clamp(exp(p->min + u * (p->max - p->min)), exp(p->min), exp(p->max)));
    case D_LOG_UNIFORM_V:
        x = exp(log(p->min) + u * (log(p->max) - log(p->min)));
        return mli_sw_num_val(clamp(x, p->min, p->max));
    case D_Q_LOG_UNIFORM_V:
        x = exp(log(p->min) + u * (log(p->max) - log(p->min)));
        return mli_sw_num_val(clamp(quantise(p, x), p->min, p->max));
    case D_NORMAL: return mli_sw_num_val(p->mu + p->sigma * gauss(seed, t, k));
    case D_Q_NORMAL: return mli_sw_num_val(quantise(p, p->mu + p->sigma * gauss(seed, t, k)));
    default: return mli_sw_num_val(exp(p->mu + p->sigma * gauss(seed, t, k)));
    }
}

/* ---- trials ------------------------------------------------------------------------------ */

size_t mli_sw_ncols(const ml_sweep *s) { return s->nparams + (s->seed_param ? 1 : 0); }

const char *mli_sw_col_name(const ml_sweep *s, size_t j)
{
    return j < s->nparams ? s->params[j].name : s->seed_param;
}

static int push_trial(ml_sweep *s, size_t *cap, sw_val *vals, unsigned char *own,
                      int64_t repeat, ml_err *err)
{
    if (s->ntrials == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        sw_trial *t = mli_realloc(s->trials, c * sizeof *t);
        if (!t)
            return mli_error(err, ML_ERR_NOMEM, "out of memory expanding the sweep");
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
    return strcmp(mli_sw_col_name(s, *(const size_t *)a), mli_sw_col_name(s, *(const size_t *)b));
}

static int trial_ids(ml_sweep *s, ml_err *err)
{
    size_t n = mli_sw_ncols(s), *order = mli_alloc((n ? n : 1) * sizeof *order);
    int rc = 0;
    if (!order)
        return mli_error(err, ML_ERR_NOMEM, "out of memory hashing trials");
    for (size_t j = 0; j < n; j++)
        order[j] = j;
    sort_ctx = s;
    qsort(order, n, sizeof *order, cmp_idx);
    for (size_t i = 0; i < s->ntrials; i++) {
        ml_jbuf b;
        uint8_t h[ML_SHA256_LEN];
        char hex[ML_SHA256_HEX];
        ml_sha256_ctx c;
        mli_jbuf_init(&b);
        mli_jbuf_putn(&b, "{", 1);
        for (size_t j = 0; j < n; j++) {
            const char *name = mli_sw_col_name(s, order[j]);
            if (j)
                mli_jbuf_putn(&b, ",", 1);
            mli_jbuf_str(&b, name, strlen(name));
            mli_jbuf_putn(&b, ":", 1);
            mli_sw_put_val_json(&b, &s->trials[i].vals[order[j]]);
        }
        mli_jbuf_printf(&b, "}\nrepeat=%" PRId64, s->trials[i].repeat);
        if ((rc = mli_jbuf_finish(&b, "trial ids", err))) {
            mli_jbuf_free(&b);
            break;
        }
        mli_sha256_init(&c);
        mli_sha256_update(&c, b.data, b.len);
        mli_sha256_final(&c, h);
        mli_hex(h, 6, hex);
        memcpy(s->trials[i].id, hex, 13);
        mli_jbuf_free(&b);
    }
    mli_free(order);
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

int mli_sw_expand(ml_sweep *s, ml_err *err)
{
    size_t n = mli_sw_ncols(s), cap = 0, nconf = 1;
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
                    return mli_yt_error(d, p->node, err, ML_ERR_FORMAT,
                                       "grid over parameter '%s' is too large: [%" PRId64
                                       ", %" PRId64 "] has more than 100000 values; narrow "
                                       "min/max or list values", p->name, p->imin, p->imax);
                m = (size_t)last + 1;
            } else if (p->dist == D_CONST || p->dist == D_CAT) {
                m = p->nvals;
            } else {
                return mli_yt_error(d, p->node, err, ML_ERR_FORMAT,
                                   "grid search needs values, value or integer min/max for "
                                   "parameter '%s' (distribution %s): list values, or use "
                                   "method: random", p->name, dist_names[p->dist]);
            }
            p->ngrid = m;
            if (__builtin_mul_overflow(nconf, m, &nconf) || nconf > 10000000)
                return mli_yt_error(d, p->node, err, ML_ERR_FORMAT,
                                   "the grid has more than 10 million points at parameter '%s'",
                                   p->name);
        }
    } else {
        int64_t t = s->trials_n > 0 ? s->trials_n : s->run_cap / (reps > 0 ? reps : 1);
        if (t <= 0)
            return mli_yt_error(d, mli_yt_get(d->root, "method"), err, ML_ERR_FORMAT,
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
        return mli_yt_error(d, NULL, err, ML_ERR_FORMAT,
                           "the sweep would have more than 100000 trials (configurations "
                           "x modlab.repeats.count, capped by run_cap); list fewer values, "
                           "fewer repeats or a smaller run_cap");
    for (size_t c = 0; c < nconf; c++) {
        if (s->run_cap > 0 && (int64_t)s->ntrials >= s->run_cap)
            break;
        for (int64_t r = 0; r < reps; r++) {
            if (s->run_cap > 0 && (int64_t)s->ntrials >= s->run_cap)
                break;
            sw_val *vals = mli_zalloc((n ? n : 1) * sizeof *vals);
            unsigned char *own = mli_zalloc(n ? n : 1);
            if (!vals || !own) {
                mli_free(vals);
                mli_free(own);
                return mli_error(err, ML_ERR_NOMEM, "out of memory expanding the sweep");
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
                        mli_free(vals);
                        mli_free(own);
                        return mli_yt_error(d, p->node, err, ML_ERR_INTERNAL,
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
                    if ((rc = mli_sw_node_val(d, s->seeds->items[r], "seeds", &sv, err))) {
                        mli_free(vals);
                        mli_free(own);
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
                        mli_sw_val_free(&vals[j]);
                mli_free(vals);
                mli_free(own);
                return rc;
            }
        }
    }
    if (s->ntrials == 0)
        return mli_yt_error(d, mli_yt_get(d->root, "run_cap"), err, ML_ERR_FORMAT,
                           "the sweep has no trials (run_cap is 0?)");
    if ((rc = trial_ids(s, err)))
        return rc;
    /* Random draws can repeat a configuration: the same id runs once. Sorting finds the
     * repeats (comparing every pair took minutes for a million trials). */
    id_ref *refs = mli_alloc(s->ntrials * sizeof *refs);
    unsigned char *dup = mli_zalloc(s->ntrials);
    if (!refs || !dup) {
        mli_free(refs);
        mli_free(dup);
        return mli_error(err, ML_ERR_NOMEM, "out of memory checking the trials for repeats");
    }
    for (size_t i = 0; i < s->ntrials; i++)
        refs[i] = (id_ref){s->trials[i].id, i};
    qsort(refs, s->ntrials, sizeof *refs, cmp_id_ref);
    for (size_t k = 1; k < s->ntrials; k++)
        if (strcmp(refs[k].id, refs[k - 1].id) == 0)
            dup[refs[k].i] = 1;   /* the first of equal ids sorts first and stays */
    mli_free(refs);
    size_t w = 0;
    for (size_t i = 0; i < s->ntrials; i++) {
        if (dup[i]) {
            /* Finish the compaction even when the warning cannot be kept: returning in the
             * middle would leave moved trials in two slots for ml_sweep_free. */
            if (!rc)
                rc = mli_sw_warn(s, "trial %zu repeats the parameters of an earlier trial; it runs "
                                   "once", i);
            for (size_t j = 0; j < n; j++)
                if (s->trials[i].own[j])
                    mli_sw_val_free(&s->trials[i].vals[j]);
            mli_free(s->trials[i].vals);
            mli_free(s->trials[i].own);
            continue;
        }
        s->trials[w++] = s->trials[i];
    }
    mli_free(dup);
    s->ntrials = w;
    if (rc)
        return mli_error(err, rc, "out of memory recording a repeated trial's warning");
    return 0;
}
