/* SPDX-License-Identifier: MIT */
/* The YAML tree reader: structure, positions, YAML 1.2 typing, and clear errors. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "formats/yaml_tree.h"

static ml_yt_doc *load(const char *text, ml_err *err)
{
    return mli_yt_load_string(text, strlen(text), "t.yaml", err);
}

int main(void)
{
    ml_err err = {0};
    const char *text = "name: sweep\n"
                       "lr: 1e-4\n"
                       "steps: 0x10\n"
                       "on: true\n"
                       "off: False\n"
                       "nothing: ~\n"
                       "quoted: '12'\n"
                       "tagged: !!str 13\n"
                       "inf: -.inf\n"
                       "list:\n"
                       "  - 1\n"
                       "  - {a: 2.5, b: [x, y]}\n";
    ml_yt_doc *d = load(text, &err);
    ok(d && d->root, "a document loads");
    if (!d) {
        tap_diag("%s", err.msg);
        return done_testing();
    }
    is_int(d->root->kind, ML_YT_MAP, "the root is a mapping");
    is_int(d->root->n, 10, "ten pairs");
    const ml_yt_node *n = mli_yt_get(d->root, "lr");
    is_int(n->type, ML_YT_FLOAT, "1e-4 is a float (YAML 1.2)");
    double f = 0;
    is_int(mli_yt_float(d, n, "lr", &f, &err), 0, "float converts");
    is_near(f, 1e-4, 1e-12, "float value");
    int64_t i = 0;
    is_int(mli_yt_int(d, mli_yt_get(d->root, "steps"), "steps", &i, &err), 0, "hex int");
    is_int(i, 16, "0x10 is 16");
    int b = 0;
    is_int(mli_yt_bool(d, mli_yt_get(d->root, "on"), "on", &b, &err), 0, "bool converts");
    is_int(b, 1, "true");
    mli_yt_bool(d, mli_yt_get(d->root, "off"), "off", &b, &err);
    is_int(b, 0, "False");
    is_int(mli_yt_get(d->root, "nothing")->type, ML_YT_NULL, "~ is null");
    is_int(mli_yt_get(d->root, "quoted")->type, ML_YT_STR, "a quoted number is a string");
    is_int(mli_yt_get(d->root, "tagged")->type, ML_YT_STR, "!!str forces a string");
    mli_yt_float(d, mli_yt_get(d->root, "inf"), "inf", &f, &err);
    ok(isinf(f) && f < 0, "-.inf is minus infinity");
    const ml_yt_node *list = mli_yt_get(d->root, "list");
    is_int(list->kind, ML_YT_SEQ, "list is a sequence");
    is_int(list->n, 2, "two items");
    is_int(list->items[1]->kind, ML_YT_MAP, "a flow mapping inside");
    is_int(list->items[1]->line, 12, "its line");
    is_int(mli_yt_get(list->items[1], "b")->n, 2, "nested flow sequence");
    is_int(mli_yt_int(d, mli_yt_get(d->root, "name"), "steps", &i, &err), ML_ERR_FORMAT,
           "a string is not an int");
    is_str(err.msg, "t.yaml:1:7: steps must be an integer, not a string 'sweep'",
           "the error names file, line, column, and what was found");
    is_int(mli_yt_expect(d, list, ML_YT_MAP, "list", &err), ML_ERR_FORMAT, "kind check");
    like(err.msg, "t.yaml:11:3: list must be a mapping, not a sequence", "kind message");
    ok(mli_yt_get(d->root, "absent") == NULL, "absent key");
    mli_yt_free(d);

    /* YAML 1.2 resolution table. */
    static const struct {
        const char *s;
        int t;
    } r[] = {{"", ML_YT_NULL},       {"null", ML_YT_NULL},   {"yes", ML_YT_STR},
             {"no", ML_YT_STR},      {"on", ML_YT_STR},      {"TRUE", ML_YT_BOOL},
             {"-12", ML_YT_INT},     {"+3", ML_YT_INT},      {"0o17", ML_YT_INT},
             {"012", ML_YT_INT},     {"1.", ML_YT_FLOAT},    {".5", ML_YT_FLOAT},
             {"1e3", ML_YT_FLOAT},   {".NaN", ML_YT_FLOAT},  {"1e", ML_YT_STR},
             {"0x", ML_YT_STR},      {"1_000", ML_YT_STR},   {"-", ML_YT_STR},
             {".", ML_YT_STR},       {"+.inf", ML_YT_FLOAT}, {"3.0.1", ML_YT_STR}};
    for (size_t k = 0; k < sizeof r / sizeof r[0]; k++)
        if (!tap_ok(mli_yt_resolve(r[k].s) == r[k].t, "resolve '%s'", r[k].s))
            tap_diag("got %d want %d", mli_yt_resolve(r[k].s), r[k].t);

    /* Errors. */
    ok(!load("a: [1, 2\nb: 3\n", &err), "unclosed flow sequence fails");
    like(err.msg, "t.yaml:", "syntax error names the file");
    is_int(err.code, ML_ERR_FORMAT, "syntax error is a format error");
    ok(!load("a: 1\nb: 2\na: 3\n", &err), "duplicate key fails");
    is_str(err.msg, "t.yaml:3:1: duplicate key 'a' (first at line 1)", "duplicate key message");
    ok(!load("a: &x 1\nb: *x\n", &err), "aliases are refused");
    like(err.msg, "t.yaml:2:4: aliases", "alias message");
    ok(!load("? [1, 2]\n: 3\n", &err), "non-scalar key fails");
    like(err.msg, "mapping keys must be scalars", "non-scalar key message");
    ok(!load("a: 1\n---\nb: 2\n", &err), "two documents fail");
    like(err.msg, "t.yaml:2:1: only one YAML document", "two documents message");
    d = load("", &err);
    ok(d && !d->root, "empty input is an empty document");
    mli_yt_free(d);
    ok(!load("a:\n  - [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1"
             "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
             &err),
       "deep nesting is refused");
    like(err.msg, "nesting deeper", "depth message");
    ok(!mli_yt_load_file("/nonexistent/x.yaml", &err), "missing file");
    is_int(err.code, ML_ERR_NOT_FOUND, "missing file code");
    like(err.msg, "/nonexistent/x.yaml", "missing file message names it");
    return done_testing();
}
