/* SPDX-License-Identifier: MIT */
/* The plan as JSON: the settings and every trial, for the Lua driver and `--dry-run`. */
#include "sweep/sweep_impl.h"

/* ---- the plan as JSON ------------------------------------------------------------------- */

/* A JSON string, or null for a setting the sweep file leaves out. */
static void put_str_or_null(ml_jbuf *b, const char *s)
{
    if (s)
        mli_jbuf_str(b, s, strlen(s));
    else
        mli_jbuf_puts(b, "null");
}

int mli_sw_build_json(ml_sweep *s, ml_err *err)
{
    ml_jbuf b;
    const ml_yt_doc *d = s->doc;
    size_t n = mli_sw_ncols(s);
    char t[48];
    mli_jbuf_init(&b);
    mli_jbuf_puts(&b, "{\"source\":");
    mli_jbuf_str(&b, d->name, strlen(d->name));
    mli_jbuf_puts(&b, ",\"name\":");
    put_str_or_null(&b, s->name);
    mli_jbuf_puts(&b, ",\"program\":");
    put_str_or_null(&b, s->program);
    mli_jbuf_printf(&b, ",\"method\":\"%s\",\"metric\":", s->method);
    if (s->metric_name) {
        mli_jbuf_puts(&b, "{\"name\":");
        mli_jbuf_str(&b, s->metric_name, strlen(s->metric_name));
        mli_jbuf_printf(&b, ",\"goal\":\"%s\"", s->goal ? s->goal : "minimize");
        if (s->has_target) {
            ml_format_double(t, sizeof t, s->target);
            mli_jbuf_printf(&b, ",\"target\":%s", t);
        }
        mli_jbuf_puts(&b, "}");
    } else {
        mli_jbuf_puts(&b, "null");
    }
    mli_jbuf_puts(&b, ",\"early_terminate\":");
    if (s->hyperband) {
        ml_format_double(t, sizeof t, s->eta);
        mli_jbuf_printf(&b, "{\"type\":\"hyperband\",\"eta\":%s,\"rungs\":[", t);
        for (int i = 0; i < s->nrungs; i++)
            mli_jbuf_printf(&b, "%s%.0f", i ? "," : "", s->rungs[i]);
        mli_jbuf_puts(&b, "]}");
    } else {
        mli_jbuf_puts(&b, "null");
    }
    mli_jbuf_printf(&b, ",\"settings\":{\"workers\":%" PRId64 ",\"retries\":%" PRId64
                   ",\"fail_fast\":%s,\"resume\":%s,\"strict\":%s,\"repeats\":%" PRId64
                   ",\"sampler_seed\":%" PRIu64 ",\"metric_summary\":\"%s\",\"k\":%" PRId64
                   ",\"launcher\":\"%s\",\"max_array_size\":%" PRId64,
                   s->workers, s->retries, s->fail_fast ? "true" : "false",
                   s->resume ? "true" : "false", s->strict ? "true" : "false", s->repeats,
                   s->sampler_seed, s->metric_summary, s->k, s->launcher, s->max_array);
    ml_format_double(t, sizeof t, s->timeout);
    mli_jbuf_printf(&b, ",\"timeout\":%s,\"seed_param\":", t);
    put_str_or_null(&b, s->seed_param);
    mli_jbuf_puts(&b, ",\"output_dir\":");
    put_str_or_null(&b, s->output_dir);
    mli_jbuf_puts(&b, ",\"slurm\":");
    if (s->slurm)
        mli_sw_put_json_node(&b, d, s->slurm);
    else
        mli_jbuf_puts(&b, "{}");
    mli_jbuf_puts(&b, "},\"columns\":[");
    for (size_t j = 0; j < n; j++) {
        if (j)
            mli_jbuf_putn(&b, ",", 1);
        mli_jbuf_str(&b, mli_sw_col_name(s, j), strlen(mli_sw_col_name(s, j)));
    }
    mli_jbuf_puts(&b, "],\"trials\":[");
    for (size_t i = 0; i < s->ntrials; i++) {
        const sw_trial *tr = &s->trials[i];
        mli_jbuf_printf(&b, "%s\n{\"index\":%zu,\"id\":\"%s\",\"repeat\":%" PRId64 ",\"args\":[",
                       i ? "," : "", i, tr->id, tr->repeat);
        for (size_t j = 0; j < n; j++) {
            ml_jbuf b2;
            mli_jbuf_init(&b2);
            mli_sw_put_val_arg(&b2, &tr->vals[j]);
            mli_jbuf_puts(&b, j ? "," : "");
            if (b2.failed)
                b.failed = 1;
            else
                mli_jbuf_str(&b, b2.data, b2.len);
            mli_jbuf_free(&b2);
        }
        mli_jbuf_puts(&b, "],\"params\":[");
        for (size_t j = 0; j < n; j++) {
            mli_jbuf_puts(&b, j ? "," : "");
            mli_sw_put_val_json(&b, &tr->vals[j]);
        }
        mli_jbuf_puts(&b, "]}");
    }
    mli_jbuf_puts(&b, "],\"warnings\":[");
    for (size_t i = 0; i < s->nwarnings; i++) {
        mli_jbuf_puts(&b, i ? "," : "");
        mli_jbuf_str(&b, s->warnings[i], strlen(s->warnings[i]));
    }
    mli_jbuf_puts(&b, "]}\n");
    int rc = mli_jbuf_finish(&b, "the sweep plan", err);
    if (rc) {
        mli_jbuf_free(&b);
        return rc;
    }
    s->json = b.data;
    return 0;
}
