/* SPDX-License-Identifier: MIT */
/* YAML -> tree on libyaml's event parser, with YAML 1.2 core-schema scalar typing. */
#include "formats/yaml_tree.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/err.h"
#include "base/mem.h"

enum { MAX_DEPTH = 64 };

static void node_free(ml_yt_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            node_free(n->keys[i]);
        node_free(n->items[i]);
    }
    if (n->keys)
        node_free(n->keys[n->n]); /* a key still waiting for its value */
    mli_free(n->keys);
    mli_free(n->items);
    mli_free(n->value);
    mli_free(n);
}

void mli_yt_free(ml_yt_doc *doc)
{
    if (!doc)
        return;
    node_free(doc->root);
    mli_free(doc->name);
    mli_free(doc);
}

int mli_yt_error(const ml_yt_doc *doc, const ml_yt_node *n, ml_err *err, int code,
                const char *fmt, ...)
{
    char msg[ML_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n)
        return mli_error(err, code, "%s:%d:%d: %s", doc->name, n->line, n->col, msg);
    return mli_error(err, code, "%s: %s", doc->name, msg);
}

/* ---- scalar typing (YAML 1.2 core schema, section 10.3.2) ------------------------------ */

static int is_int_text(const char *s)
{
    if (s[0] == '0' && s[1] == 'o') {
        s += 2;
        if (!*s)
            return 0;
        for (; *s; s++)
            if (*s < '0' || *s > '7')
                return 0;
        return 1;
    }
    if (s[0] == '0' && s[1] == 'x') {
        s += 2;
        if (!*s)
            return 0;
        for (; *s; s++)
            if (!isxdigit((unsigned char)*s))
                return 0;
        return 1;
    }
    if (*s == '-' || *s == '+')
        s++;
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

static int is_float_text(const char *s)
{
    int digits = 0;
    if (*s == '-' || *s == '+')
        s++;
    if (!strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF"))
        return 1;
    for (; isdigit((unsigned char)*s); s++)
        digits++;
    if (*s == '.')
        for (s++; isdigit((unsigned char)*s); s++)
            digits++;
    if (!digits)
        return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        if (!isdigit((unsigned char)*s))
            return 0;
        while (isdigit((unsigned char)*s))
            s++;
    }
    return *s == '\0';
}

int mli_yt_resolve(const char *s)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    static const char *const bools[] = {"true", "True", "TRUE", "false", "False", "FALSE"};
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
        if (!strcmp(s, nulls[i]))
            return ML_YT_NULL;
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++)
        if (!strcmp(s, bools[i]))
            return ML_YT_BOOL;
    if (is_int_text(s))
        return ML_YT_INT;
    if (is_float_text(s) || !strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))
        return ML_YT_FLOAT;
    return ML_YT_STR;
}

const char *mli_yt_kind_name(int kind)
{
    switch (kind) {
    case ML_YT_MAP: return "a mapping";
    case ML_YT_SEQ: return "a sequence";
    case ML_YT_SCALAR: return "a scalar";
    default: return "nothing";
    }
}

const char *mli_yt_type_name(int type)
{
    switch (type) {
    case ML_YT_NULL: return "null";
    case ML_YT_BOOL: return "a boolean";
    case ML_YT_INT: return "an integer";
    case ML_YT_FLOAT: return "a float";
    case ML_YT_STR: return "a string";
    default: return "?";
    }
}

static const char *node_desc(const ml_yt_node *n, char *buf, size_t cap)
{
    if (n->kind != ML_YT_SCALAR)
        return mli_yt_kind_name(n->kind);
    snprintf(buf, cap, "%s '%.40s'", mli_yt_type_name(n->type), n->value);
    return buf;
}

const ml_yt_node *mli_yt_get(const ml_yt_node *map, const char *key)
{
    if (!map || map->kind != ML_YT_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (!strcmp(map->keys[i]->value, key))
            return map->items[i];
    return NULL;
}

int mli_yt_expect(const ml_yt_doc *doc, const ml_yt_node *n, int kind, const char *what,
                 ml_err *err)
{
    char buf[80];
    if (n && n->kind == kind)
        return 0;
    if (!n)
        return mli_yt_error(doc, NULL, err, ML_ERR_FORMAT, "%s is missing (want %s)", what,
                           mli_yt_kind_name(kind));
    return mli_yt_error(doc, n, err, ML_ERR_FORMAT, "%s must be %s, not %s", what,
                       mli_yt_kind_name(kind), node_desc(n, buf, sizeof buf));
}

static int want_scalar(const ml_yt_doc *doc, const ml_yt_node *n, const char *what,
                       int type, ml_err *err)
{
    char buf[80];
    if (n && n->kind == ML_YT_SCALAR && n->type == type)
        return 0;
    if (!n)
        return mli_yt_error(doc, NULL, err, ML_ERR_FORMAT, "%s is missing (want %s)", what,
                           mli_yt_type_name(type));
    return mli_yt_error(doc, n, err, ML_ERR_FORMAT, "%s must be %s, not %s", what,
                       mli_yt_type_name(type), node_desc(n, buf, sizeof buf));
}

int mli_yt_int(const ml_yt_doc *doc, const ml_yt_node *n, const char *what, int64_t *out,
              ml_err *err)
{
    const char *s;
    char *end;
    int base = 10;
    long long v;
    int rc = want_scalar(doc, n, what, ML_YT_INT, err);
    if (rc)
        return rc;
    s = n->value;
    if (s[0] == '0' && (s[1] == 'o' || s[1] == 'x'))
        base = s[1] == 'o' ? 8 : 16, s += 2;
    errno = 0;
    v = strtoll(s, &end, base);
    if (errno || *end)
        return mli_yt_error(doc, n, err, ML_ERR_FORMAT, "%s: '%s' is out of range", what,
                           n->value);
    *out = v;
    return 0;
}

int mli_yt_float(const ml_yt_doc *doc, const ml_yt_node *n, const char *what, double *out,
                ml_err *err)
{
    const char *s;
    int neg = 0;
    if (n && n->kind == ML_YT_SCALAR && n->type == ML_YT_INT) {
        int64_t i;
        int rc = mli_yt_int(doc, n, what, &i, err);
        if (!rc)
            *out = (double)i;
        return rc;
    }
    int rc = want_scalar(doc, n, what, ML_YT_FLOAT, err);
    if (rc)
        return rc;
    s = n->value;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (s[0] == '.' && (s[1] == 'i' || s[1] == 'I'))
        *out = neg ? -HUGE_VAL : HUGE_VAL;
    else if (s[0] == '.' && (s[1] == 'n' || s[1] == 'N'))
        *out = NAN;
    else
        *out = strtod(n->value, NULL);
    return 0;
}

int mli_yt_bool(const ml_yt_doc *doc, const ml_yt_node *n, const char *what, int *out,
               ml_err *err)
{
    int rc = want_scalar(doc, n, what, ML_YT_BOOL, err);
    if (rc)
        return rc;
    *out = n->value[0] == 't' || n->value[0] == 'T';
    return 0;
}

int mli_yt_str(const ml_yt_doc *doc, const ml_yt_node *n, const char *what, const char **out,
              ml_err *err)
{
    char buf[80];
    if (!n)
        return mli_yt_error(doc, NULL, err, ML_ERR_FORMAT, "%s is missing (want a string)",
                           what);
    if (n->kind != ML_YT_SCALAR || n->type == ML_YT_NULL)
        return mli_yt_error(doc, n, err, ML_ERR_FORMAT, "%s must be a string, not %s", what,
                           node_desc(n, buf, sizeof buf));
    *out = n->value;
    return 0;
}

/* ---- the event parser --------------------------------------------------------------- */

typedef struct builder {
    ml_yt_doc *doc;
    ml_yt_node *stack[MAX_DEPTH];
    int depth;
    ml_err *err;
} builder;

static int node_push_child(builder *b, ml_yt_node *parent, ml_yt_node *child)
{
    /* Maps collect key, value, key, value...: a pending key sits in keys[n] until its
     * value arrives (then n grows). */
    if (parent->kind == ML_YT_SEQ || (parent->kind == ML_YT_MAP && parent->keys &&
                                      parent->keys[parent->n])) {
        if (parent->kind == ML_YT_MAP) {
            ml_yt_node **keys = mli_realloc(parent->keys, (parent->n + 2) * sizeof *keys);
            if (!keys)
                return mli_error(b->err, ML_ERR_NOMEM, "%s: out of memory", b->doc->name);
            parent->keys = keys;
            keys[parent->n + 1] = NULL;
        }
        ml_yt_node **items = mli_realloc(parent->items, (parent->n + 1) * sizeof *items);
        if (!items)
            return mli_error(b->err, ML_ERR_NOMEM, "%s: out of memory", b->doc->name);
        parent->items = items;
        items[parent->n++] = child;
        return 0;
    }
    /* A key. */
    if (child->kind != ML_YT_SCALAR) {
        int rc = mli_yt_error(b->doc, child, b->err, ML_ERR_FORMAT,
                             "mapping keys must be scalars, not %s",
                             mli_yt_kind_name(child->kind));
        node_free(child);
        return rc;
    }
    for (size_t i = 0; i < parent->n; i++)
        if (!strcmp(parent->keys[i]->value, child->value)) {
            int rc = mli_yt_error(b->doc, child, b->err, ML_ERR_FORMAT,
                                 "duplicate key '%s' (first at line %d)", child->value,
                                 parent->keys[i]->line);
            node_free(child);
            return rc;
        }
    parent->keys[parent->n] = child;
    return 0;
}

static ml_yt_node *node_new(builder *b, int kind, const yaml_event_t *ev)
{
    ml_yt_node *n = mli_zalloc(sizeof *n);
    if (!n) {
        mli_error(b->err, ML_ERR_NOMEM, "%s: out of memory", b->doc->name);
        return NULL;
    }
    n->kind = kind;
    n->line = (int)ev->start_mark.line + 1;
    n->col = (int)ev->start_mark.column + 1;
    if (kind == ML_YT_MAP) {
        n->keys = mli_zalloc(sizeof *n->keys);
        if (!n->keys) {
            mli_free(n);
            mli_error(b->err, ML_ERR_NOMEM, "%s: out of memory", b->doc->name);
            return NULL;
        }
    }
    return n;
}

/* Attach a finished node to its parent (or make it the root). Takes ownership. */
static int attach(builder *b, ml_yt_node *n)
{
    if (b->depth == 0) {
        b->doc->root = n;
        return 0;
    }
    int rc = node_push_child(b, b->stack[b->depth - 1], n);
    if (rc && rc != ML_ERR_FORMAT)
        node_free(n);
    return rc;
}

static int parse(builder *b, yaml_parser_t *p)
{
    yaml_event_t ev;
    int rc = 0, done = 0, docs = 0;
    while (!done) {
        if (!yaml_parser_parse(p, &ev)) {
            const char *ctx = p->context ? p->context : "";
            return mli_error(b->err, ML_ERR_FORMAT, "%s:%zu:%zu: %s%s%s", b->doc->name,
                            p->problem_mark.line + 1, p->problem_mark.column + 1,
                            p->problem ? p->problem : "syntax error", *ctx ? " " : "", ctx);
        }
        ml_yt_node tmp = {.line = (int)ev.start_mark.line + 1,
                          .col = (int)ev.start_mark.column + 1};
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                rc = mli_yt_error(b->doc, &tmp, b->err, ML_ERR_FORMAT,
                                 "only one YAML document is expected here");
            break;
        case YAML_ALIAS_EVENT:
            rc = mli_yt_error(b->doc, &tmp, b->err, ML_ERR_FORMAT,
                             "aliases (*%s) are not supported; repeat the value",
                             (const char *)ev.data.alias.anchor);
            break;
        case YAML_SCALAR_EVENT: {
            ml_yt_node *n = node_new(b, ML_YT_SCALAR, &ev);
            const char *tag = (const char *)ev.data.scalar.tag;
            if (!n) {
                rc = ML_ERR_NOMEM;
                break;
            }
            n->value = mli_alloc(ev.data.scalar.length + 1);
            if (!n->value) {
                node_free(n);
                rc = mli_error(b->err, ML_ERR_NOMEM, "%s: out of memory", b->doc->name);
                break;
            }
            memcpy(n->value, ev.data.scalar.value, ev.data.scalar.length);
            n->value[ev.data.scalar.length] = '\0';
            if (strlen(n->value) != ev.data.scalar.length) {
                rc = mli_yt_error(b->doc, n, b->err, ML_ERR_FORMAT, "NUL byte in a scalar");
                node_free(n);
                break;
            }
            if (tag && !strcmp(tag, YAML_STR_TAG))
                n->type = ML_YT_STR;
            else if (ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                n->type = ML_YT_STR;
            else
                n->type = mli_yt_resolve(n->value);
            rc = attach(b, n);
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            int kind = ev.type == YAML_MAPPING_START_EVENT ? ML_YT_MAP : ML_YT_SEQ;
            if (b->depth == MAX_DEPTH) {
                rc = mli_yt_error(b->doc, &tmp, b->err, ML_ERR_FORMAT,
                                 "nesting deeper than %d levels", MAX_DEPTH);
                break;
            }
            ml_yt_node *n = node_new(b, kind, &ev);
            if (!n) {
                rc = ML_ERR_NOMEM;
                break;
            }
            b->stack[b->depth++] = n;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
            ml_yt_node *n = b->stack[--b->depth];
            rc = attach(b, n);
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc)
            return rc;
    }
    return 0;
}

static ml_yt_doc *load(yaml_parser_t *p, const char *name, ml_err *err)
{
    builder b = {.err = err};
    ml_yt_doc *doc = mli_zalloc(sizeof *doc);
    if (!doc || !(doc->name = mli_strdup(name))) {
        mli_error(err, ML_ERR_NOMEM, "%s: out of memory", name);
        goto fail;
    }
    b.doc = doc;
    if (parse(&b, p))
        goto fail;
    return doc;
fail:
    while (b.depth > 0)
        node_free(b.stack[--b.depth]);
    mli_yt_free(doc);
    return NULL;
}

ml_yt_doc *mli_yt_load_string(const char *text, size_t len, const char *name, ml_err *err)
{
    yaml_parser_t p;
    ml_yt_doc *doc;
    if (!yaml_parser_initialize(&p)) {
        mli_error(err, ML_ERR_NOMEM, "%s: cannot initialise the YAML parser", name);
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    doc = load(&p, name, err);
    yaml_parser_delete(&p);
    return doc;
}

ml_yt_doc *mli_yt_load_file(const char *path, ml_err *err)
{
    yaml_parser_t p;
    ml_yt_doc *doc;
    FILE *f = fopen(path, "rb");
    if (!f) {
        mli_error(err, errno == ENOENT ? ML_ERR_NOT_FOUND : ML_ERR_IO, "%s: %s", path,
                 strerror(errno));
        return NULL;
    }
    if (!yaml_parser_initialize(&p)) {
        fclose(f);
        mli_error(err, ML_ERR_NOMEM, "%s: cannot initialise the YAML parser", path);
        return NULL;
    }
    yaml_parser_set_input_file(&p, f);
    doc = load(&p, path, err);
    yaml_parser_delete(&p);
    fclose(f);
    return doc;
}
