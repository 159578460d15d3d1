/* SPDX-License-Identifier: MIT */
/* Option values checked against a plugin's schema before anything is created: unknown
 * names, wrong types, bad choices and missing required options are errors that name the
 * owner and the option. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "runtime/opts.h"
#include <modlab/modlab.h>

typedef struct opt_item {
    char *key, *text;
    int given;        /* type the caller had */
    int type;         /* schema type after validation */
    int64_t i;
    double f;
    int b;
} opt_item;

struct ml_opts {
    int32_t n, cap;
    opt_item *items;
    int validated;
    char *json;
};

static const char *type_name(int t)
{
    switch (t) {
    case ML_OPT_INT: return "an integer";
    case ML_OPT_FLOAT: return "a number";
    case ML_OPT_BOOL: return "a boolean";
    case ML_OPT_STRING: return "a string";
    default: return "?";
    }
}

ml_opts *ml_opts_new(ml_err *err)
{
    return mli_znew(sizeof(ml_opts), "options", err);
}

void ml_opts_free(ml_opts *o)
{
    if (!o)
        return;
    for (int32_t i = 0; i < o->n; i++) {
        mli_free(o->items[i].key);
        mli_free(o->items[i].text);
    }
    mli_free(o->items);
    mli_free(o->json);
    mli_free(o);
}

static opt_item *find(const ml_opts *o, const char *key)
{
    for (int32_t i = 0; i < o->n; i++)
        if (strcmp(o->items[i].key, key) == 0)
            return &o->items[i];
    return NULL;
}

int ml_opts_set(ml_opts *o, const char *key, int type, const char *text, ml_err *err)
{
    opt_item *it;
    char *k, *t;
    if (type < ML_OPT_INT || type > ML_OPT_STRING)
        return mli_error(err, ML_ERR_INVALID, "option '%s': unknown value type %d", key, type);
    k = mli_strdup(key);
    t = mli_strdup(text);
    if (!k || !t)
        goto nomem;
    it = find(o, key);
    if (it) {   /* later settings win */
        mli_free(it->key);
        mli_free(it->text);
    } else {
        if (o->n == o->cap) {
            int32_t cap = o->cap ? 2 * o->cap : 8;
            opt_item *items = mli_realloc(o->items, (size_t)cap * sizeof *items);
            if (!items)
                goto nomem;
            o->items = items;
            o->cap = cap;
        }
        it = &o->items[o->n++];
    }
    memset(it, 0, sizeof *it);
    it->key = k;
    it->text = t;
    it->given = type;
    o->validated = 0;
    return ML_OK;
nomem:
    mli_free(k);
    mli_free(t);
    return mli_error(err, ML_ERR_NOMEM, "options: out of memory");
}

static int infer_type(const char *v)
{
    char *end;
    if (!strcmp(v, "true") || !strcmp(v, "false"))
        return ML_OPT_BOOL;
    errno = 0;
    strtod(v, &end);
    if (*v && !*end && !errno)
        return ML_OPT_FLOAT;
    return ML_OPT_STRING;
}

int ml_opts_parse(ml_opts *o, const char *text, ml_err *err)
{
    char buf[1024];
    const char *p = text;
    while (*p) {
        const char *start, *eq;
        size_t len;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        start = p;
        while (*p && *p != ' ' && *p != '\t' && *p != ',')
            p++;
        len = (size_t)(p - start);
        if (len >= sizeof buf)
            return mli_error(err, ML_ERR_INVALID, "options: item too long in '%s'", text);
        memcpy(buf, start, len);
        buf[len] = '\0';
        eq = strchr(buf, '=');
        if (!eq || eq == buf)
            return mli_error(err, ML_ERR_INVALID, "options: '%s' is not key=value", buf);
        buf[eq - buf] = '\0';
        int rc = ml_opts_set(o, buf, infer_type(eq + 1), eq + 1, err);
        if (rc)
            return rc;
    }
    return ML_OK;
}

/* Parse text as the schema type; the given type must be compatible. */
static int convert(opt_item *it, int type, const char *text, int given, const char *owner,
                   ml_err *err)
{
    char *end;
    errno = 0;
    switch (type) {
    case ML_OPT_INT:
        if (given != ML_OPT_INT && given != ML_OPT_FLOAT)
            break;
        double d = strtod(text, &end);
        if (*end || errno || d != floor(d) || fabs(d) > 9.007199254740992e15)
            return mli_error(err, ML_ERR_INVALID,
                            "%s: option '%s' wants an integer, got %s", owner, it->key, text);
        it->i = (int64_t)d;
        it->f = d;
        break;
    case ML_OPT_FLOAT:
        if (given != ML_OPT_INT && given != ML_OPT_FLOAT)
            break;
        it->f = strtod(text, &end);
        if (*end || errno || !isfinite(it->f))
            return mli_error(err, ML_ERR_INVALID, "%s: option '%s' wants a number, got '%s'",
                            owner, it->key, text);
        /* Truncated for opt_int; a double outside int64 saturates (the cast would be UB). */
        it->i = it->f >= 0x1p63 ? INT64_MAX : it->f < -0x1p63 ? INT64_MIN : (int64_t)it->f;
        break;
    case ML_OPT_BOOL:
        if (given != ML_OPT_BOOL)
            break;
        if (strcmp(text, "true") && strcmp(text, "false"))
            return mli_error(err, ML_ERR_INVALID,
                            "%s: option '%s' wants true or false, got '%s'", owner, it->key,
                            text);
        it->b = text[0] == 't';
        break;
    case ML_OPT_STRING:
        /* A number where text is wanted is kept as the text it came as: "mean=0.5" parses
         * as a number, and normalize's mean is a list that may hold one value. */
        break;
    }
    if (type != ML_OPT_STRING && given != type &&
        !(given == ML_OPT_FLOAT && type == ML_OPT_INT) &&
        !(given == ML_OPT_INT && type == ML_OPT_FLOAT))
        return mli_error(err, ML_ERR_INVALID, "%s: option '%s' wants %s, got %s '%s'", owner,
                        it->key, type_name(type), type_name(given), text);
    if (type == ML_OPT_STRING && given == ML_OPT_BOOL)
        return mli_error(err, ML_ERR_INVALID, "%s: option '%s' wants %s, got %s '%s'", owner,
                        it->key, type_name(type), type_name(given), text);
    it->type = type;
    return ML_OK;
}

static int in_choices(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

static void list_names(const ml_opt_spec *schema, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const ml_opt_spec *s = schema; s && s->name && used < cap; s++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", s->name);
    if (!schema || !schema->name)
        snprintf(buf, cap, "none");
}

int ml_opts_validate(ml_opts *o, const ml_opt_spec *schema, const char *owner, ml_err *err)
{
    char names[256];
    int rc;
    for (int32_t i = 0; i < o->n; i++) {
        opt_item *it = &o->items[i];
        const ml_opt_spec *s = schema;
        while (s && s->name && strcmp(s->name, it->key))
            s++;
        if (!s || !s->name) {
            list_names(schema, names, sizeof names);
            return mli_error(err, ML_ERR_INVALID, "%s: unknown option '%s' (options: %s)",
                            owner, it->key, names);
        }
        if ((rc = convert(it, s->type, it->text, it->given, owner, err)))
            return rc;
        if (s->type == ML_OPT_STRING && s->choices && !in_choices(s->choices, it->text))
            return mli_error(err, ML_ERR_INVALID, "%s: option '%s' is '%s'; choose one of %s",
                            owner, it->key, it->text, s->choices);
    }
    for (const ml_opt_spec *s = schema; s && s->name; s++) {
        if (find(o, s->name))
            continue;
        if (!s->def)
            return mli_error(err, ML_ERR_INVALID, "%s: option '%s' is required (%s)", owner,
                            s->name, s->doc ? s->doc : "no description");
        int given = s->type == ML_OPT_STRING ? ML_OPT_STRING
                  : s->type == ML_OPT_BOOL ? ML_OPT_BOOL : ML_OPT_FLOAT;
        if ((rc = ml_opts_set(o, s->name, given, s->def, err)))
            return rc;
        if ((rc = convert(find(o, s->name), s->type, s->def, given, owner, err)))
            return mli_error_prefix(err, "bad default in the plugin's schema");
    }
    o->validated = 1;
    mli_free(o->json);
    o->json = NULL;
    return ML_OK;
}

/* Accessors for the host table: names are the plugin's own schema, already validated. */
int64_t mli_opts_get_int(const ml_opts *o, const char *name)
{
    const opt_item *it = find(o, name);
    return it ? it->i : 0;
}

double mli_opts_get_float(const ml_opts *o, const char *name)
{
    const opt_item *it = find(o, name);
    return it ? it->f : 0.0;
}

int mli_opts_get_bool(const ml_opts *o, const char *name)
{
    const opt_item *it = find(o, name);
    return it ? it->b : 0;
}

const char *mli_opts_get_str(const ml_opts *o, const char *name)
{
    const opt_item *it = find(o, name);
    return it ? it->text : NULL;
}

int32_t mli_opts_count(const ml_opts *o) { return o->n; }
const char *mli_opts_key(const ml_opts *o, int32_t i) { return o->items[i].key; }
const char *mli_opts_text(const ml_opts *o, int32_t i) { return o->items[i].text; }

size_t mli_utf8_len(const unsigned char *s)
{
    const unsigned c = s[0];
    unsigned lo = 0x80, hi = 0xBF;
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < n; k++)
        if (s[k] < 0x80 || s[k] > 0xBF)
            return 0;
    return n;
}

/* A JSON string. Bytes that are not UTF-8 become U+FFFD: JSON has no way to carry them, and
 * config.json must stay readable by strict parsers (Python's json, core/formats/json_parse.c). */
static size_t json_str(char *out, size_t cap, const char *s)
{
    size_t n = 0;
#define PUT(c) do { if (n + 1 < cap) out[n] = (c); n++; } while (0)
    PUT('"');
    while (*s) {
        unsigned char c = (unsigned char)*s;
        size_t u = mli_utf8_len((const unsigned char *)s);
        if (c == '"' || c == '\\') {
            PUT('\\');
            PUT((char)c);
        } else if (c < 0x20 || u == 0) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", u ? c : 0xFFFDu);
            for (char *e = esc; *e; e++)
                PUT(*e);
        } else {
            for (size_t k = 0; k < u; k++)
                PUT(s[k]);
        }
        s += u ? u : 1;
    }
    PUT('"');
#undef PUT
    if (cap)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}

/* Does text follow JSON's number grammar (-?int frac? exp?, no leading zeros)? */
static int json_number_ok(const char *t)
{
    if (*t == '-')
        t++;
    if (*t == '0')
        t++;
    else if (*t >= '1' && *t <= '9')
        while (*t >= '0' && *t <= '9')
            t++;
    else
        return 0;
    if (*t == '.') {
        if (!(*++t >= '0' && *t <= '9'))
            return 0;
        while (*t >= '0' && *t <= '9')
            t++;
    }
    if (*t == 'e' || *t == 'E') {
        t++;
        if (*t == '+' || *t == '-')
            t++;
        if (!(*t >= '0' && *t <= '9'))
            return 0;
        while (*t >= '0' && *t <= '9')
            t++;
    }
    return *t == '\0';
}

/* A number or boolean option as JSON. The text is what the caller gave, which strtod
 * accepted but JSON may not (".5", "0x10", "1.", "+2", "inf"): such text is written as the
 * number it denotes, and as a string when that is not finite or it is not a number. */
static size_t json_scalar(char *out, size_t cap, const char *text, int type)
{
    if (type == ML_OPT_BOOL)
        return !strcmp(text, "true") || !strcmp(text, "false")
                   ? (size_t)snprintf(out, cap, "%s", text) : json_str(out, cap, text);
    if (json_number_ok(text))
        return (size_t)snprintf(out, cap, "%s", text);
    char *end;
    double d = strtod(text, &end);
    int n;
    if (*text && !*end && isfinite(d) && (n = ml_format_double(out, cap, d)) >= 0)
        return (size_t)n;
    return json_str(out, cap, text);
}

const char *ml_opts_json(ml_opts *o)
{
    size_t cap = 64;
    for (int32_t i = 0; i < o->n; i++)
        cap += 8 * (strlen(o->items[i].key) + strlen(o->items[i].text)) + 16;
    mli_free(o->json);
    o->json = mli_alloc(cap);
    if (!o->json)
        return "{}";
    size_t n = 0;
    o->json[n++] = '{';
    for (int32_t i = 0; i < o->n; i++) {
        const opt_item *it = &o->items[i];
        int type = o->validated ? it->type : it->given;
        if (i)
            o->json[n++] = ',';
        n += json_str(o->json + n, cap - n, it->key);
        o->json[n++] = ':';
        if (type == ML_OPT_STRING)
            n += json_str(o->json + n, cap - n, it->text);
        else if (type == ML_OPT_INT && o->validated)
            n += (size_t)snprintf(o->json + n, cap - n, "%lld", (long long)it->i);
        else
            n += json_scalar(o->json + n, cap - n, it->text, type);
    }
    o->json[n++] = '}';
    o->json[n] = '\0';
    return o->json;
}
