/* SPDX-License-Identifier: MIT */
/* The reader's small helpers: warnings, unknown keys, and parameter values (YAML scalars,
 * lists and maps) with their JSON and command-line forms. */
#include "sweep/sweep_impl.h"

/* ---- small helpers ----------------------------------------------------------------------- */

int mli_sw_warn(ml_sweep *s, const char *fmt, ...)
{
    char buf[ML_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **w = mli_realloc(s->warnings, (s->nwarnings + 1) * sizeof *w);
    if (!w)
        return ML_ERR_NOMEM;
    s->warnings = w;
    if (!(w[s->nwarnings] = mli_strdup(buf)))
        return ML_ERR_NOMEM;
    s->nwarnings++;
    return 0;
}

/* Reject keys of `map` that are not in the NULL-terminated `allowed` list. */
int mli_sw_check_keys(const ml_yt_doc *d, const ml_yt_node *map, const char *what,
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
            return mli_yt_error(d, map->keys[i], err, ML_ERR_FORMAT,
                               "unknown key '%s' in %s (known: %s)", k, what, list);
        }
    }
    return 0;
}

void mli_sw_put_json_node(ml_jbuf *b, const ml_yt_doc *d, const ml_yt_node *n)
{
    if (n->kind == ML_YT_MAP || n->kind == ML_YT_SEQ) {
        mli_jbuf_putn(b, n->kind == ML_YT_MAP ? "{" : "[", 1);
        for (size_t i = 0; i < n->n; i++) {
            if (i)
                mli_jbuf_putn(b, ",", 1);
            if (n->kind == ML_YT_MAP) {
                mli_jbuf_str(b, n->keys[i]->value, strlen(n->keys[i]->value));
                mli_jbuf_putn(b, ":", 1);
            }
            mli_sw_put_json_node(b, d, n->items[i]);
        }
        mli_jbuf_putn(b, n->kind == ML_YT_MAP ? "}" : "]", 1);
        return;
    }
    double v;
    switch (n->type) {
    case ML_YT_NULL: mli_jbuf_puts(b, "null"); break;
    case ML_YT_BOOL: {
        int t = 0;
        mli_yt_bool(d, n, "value", &t, NULL);
        mli_jbuf_puts(b, t ? "true" : "false");
        break;
    }
    case ML_YT_INT: case ML_YT_FLOAT:
        if (!mli_yt_float(d, n, "value", &v, NULL) && isfinite(v)) {
            int64_t i;
            /* The value, not the text: YAML ints may be spelled 01, +5, 0o17 or 0x1F. */
            if (n->type == ML_YT_INT && !mli_yt_int(d, n, "value", &i, NULL)) {
                mli_jbuf_printf(b, "%" PRId64, i);
            } else {
                char t[40];
                ml_format_double(t, sizeof t, v);
                mli_jbuf_puts(b, t);
            }
        } else {
            mli_jbuf_puts(b, "null");
        }
        break;
    default: mli_jbuf_str(b, n->value, strlen(n->value)); break;
    }
}

/* A YAML node as a typed value (maps and sequences become JSON text). */
int mli_sw_node_val(const ml_yt_doc *d, const ml_yt_node *n, const char *what, sw_val *out,
                   ml_err *err)
{
    int rc = 0, t = 0;
    memset(out, 0, sizeof *out);
    if (n->kind != ML_YT_SCALAR) {
        ml_jbuf b;
        mli_jbuf_init(&b);
        mli_sw_put_json_node(&b, d, n);
        if ((rc = mli_jbuf_finish(&b, what, err))) {
            mli_jbuf_free(&b);
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
        rc = mli_yt_bool(d, n, what, &t, err);
        out->i = t;
        return rc;
    case ML_YT_INT: out->type = V_INT; return mli_yt_int(d, n, what, &out->i, err);
    case ML_YT_FLOAT:
        out->type = V_FLOAT;
        if ((rc = mli_yt_float(d, n, what, &out->d, err)))
            return rc;
        if (!isfinite(out->d))
            return mli_yt_error(d, n, err, ML_ERR_FORMAT, "%s: '%s' is not a finite number",
                               what, n->value);
        return 0;
    default:
        out->type = V_STR;
        if (!(out->s = mli_strdup(n->value)))
            return mli_error(err, ML_ERR_NOMEM, "out of memory reading %s", what);
        return 0;
    }
}

sw_val mli_sw_num_val(double v)
{
    sw_val x = { .type = V_FLOAT, .d = v };
    return x;
}

/* Canonical JSON of a value (floats always carry a '.', 'e' or are null). */
void mli_sw_put_val_json(ml_jbuf *b, const sw_val *v)
{
    char t[48];
    switch (v->type) {
    case V_NULL: mli_jbuf_puts(b, "null"); break;
    case V_BOOL: mli_jbuf_puts(b, v->i ? "true" : "false"); break;
    case V_INT: mli_jbuf_printf(b, "%" PRId64, v->i); break;
    case V_FLOAT:
        ml_format_double(t, sizeof t, v->d);
        mli_jbuf_puts(b, t);
        if (!strpbrk(t, ".eE"))
            mli_jbuf_puts(b, ".0");
        break;
    case V_STR: mli_jbuf_str(b, v->s, strlen(v->s)); break;
    default: mli_jbuf_puts(b, v->s); break;
    }
}

/* The text a recipe's ml.arg sees (like a --set value). */
void mli_sw_put_val_arg(ml_jbuf *b, const sw_val *v)
{
    char t[48];
    if (v->type == V_FLOAT) {
        ml_format_double(t, sizeof t, v->d);   /* as typed: no ".0" added */
        mli_jbuf_puts(b, t);
    } else if (v->type == V_STR) {
        mli_jbuf_puts(b, v->s);                 /* the text itself, not quoted */
    } else {
        mli_sw_put_val_json(b, v);              /* null, booleans, integers, JSON: the same */
    }
}

void mli_sw_val_free(sw_val *v)
{
    if (v->type == V_STR || v->type == V_JSON)
        mli_free(v->s);
    v->s = NULL;
}
