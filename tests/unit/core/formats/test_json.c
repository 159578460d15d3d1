/* SPDX-License-Identifier: MIT */
/* Unit tests of core/formats/json_parse.c, json_tree.c and json_write.c: valid documents,
 * malformed input with error offsets, limits, the escaper and writer, allocation failures,
 * and an MB-sized document. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <modlab/modlab.h>

#include "formats/json.h"
#include "base/mem.h"
#include "tap.h"
#include "tap_oom.h"

static ml_json_doc *parse(const char *s, size_t *off, ml_err *err)
{
    return mli_json_parse(s, strlen(s), NULL, off, err);
}

static void test_values(void)
{
    ml_err err = {0};
    const char *text =
        " {\"b\": 1, \"a\": [true, false, null, -2.5e-3, \"x\"],\n"
        "  \"c\": {\"nested\": {}}, \"d\": [], \"b\": 2} ";
    ml_json_doc *doc = parse(text, NULL, &err);
    if (!ok(doc != NULL, "object parses")) {
        tap_diag("%s", err.msg);
        return;
    }
    const ml_json *r = mli_json_root(doc);
    is_int(r->type, ML_JSON_OBJECT, "root is an object");
    is_int(r->count, 5, "five members, duplicates kept");
    is_str(mli_json_at(r, 0)->key, "b", "key order kept: first is b");
    is_str(mli_json_at(r, 1)->key, "a", "key order kept: second is a");
    is_str(mli_json_at(r, 4)->key, "b", "key order kept: last is the duplicate b");
    is_int(mli_json_get(r, "b")->i, 1, "get returns the first duplicate");
    is_int(r->offset, 1, "root offset after leading space");
    const ml_json *a = mli_json_get(r, "a");
    is_int(a->type, ML_JSON_ARRAY, "a is an array");
    is_int(a->count, 5, "a has 5 elements");
    is_int(a->offset, 15, "offset of a's value");
    is_int(mli_json_at(a, 0)->type, ML_JSON_TRUE, "true");
    is_int(mli_json_at(a, 1)->type, ML_JSON_FALSE, "false");
    is_int(mli_json_at(a, 2)->type, ML_JSON_NULL, "null");
    is_near(mli_json_at(a, 3)->num, -2.5e-3, 0, "-2.5e-3 exact");
    ok(!mli_json_at(a, 3)->is_int, "-2.5e-3 is not an integer");
    is_str(mli_json_at(a, 4)->str, "x", "string element");
    ok(mli_json_at(a, 5) == NULL, "at() past the end is NULL");
    const ml_json *c = mli_json_get(r, "c");
    is_int(mli_json_get(c, "nested")->type, ML_JSON_OBJECT, "nested empty object");
    is_int(mli_json_get(c, "nested")->count, 0, "empty object has no members");
    is_int(mli_json_get(r, "d")->count, 0, "empty array");
    ok(mli_json_get(r, "zz") == NULL, "missing key is NULL");
    ok(mli_json_get(a, "b") == NULL, "get on an array is NULL");
    mli_json_free(doc);
}

static void test_numbers(void)
{
    static const struct {
        const char *text;
        int is_int;
        int64_t i;
        double d;
    } cases[] = {
        {"0", 1, 0, 0},
        {"-0", 1, 0, 0},
        {"42", 1, 42, 42},
        {"-17", 1, -17, -17},
        {"9223372036854775807", 1, INT64_MAX, 9223372036854775807.0},
        {"-9223372036854775808", 1, INT64_MIN, -9223372036854775808.0},
        {"9223372036854775808", 0, 0, 9223372036854775808.0},
        {"-9223372036854775809", 0, 0, -9223372036854775809.0},
        {"123456789012345678901234567890", 0, 0, 1.2345678901234568e29},
        {"1.0", 0, 0, 1.0},
        {"1e3", 0, 0, 1000.0},
        {"1E+3", 0, 0, 1000.0},
        {"0.1", 0, 0, 0.1},
        {"-0.0", 0, 0, -0.0},
        {"3.141592653589793", 0, 0, 3.141592653589793},
        {"1.7976931348623157e308", 0, 0, 1.7976931348623157e308},
        {"5e-324", 0, 0, 5e-324},
        {"1e-400", 0, 0, 0.0},
        {"2.5E-3", 0, 0, 2.5e-3},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ml_err err = {0};
        ml_json_doc *doc = parse(cases[k].text, NULL, &err);
        if (!ok(doc != NULL, "number %s parses", cases[k].text)) {
            tap_diag("%s", err.msg);
            continue;
        }
        const ml_json *v = mli_json_root(doc);
        ok(v->type == ML_JSON_NUMBER && v->is_int == cases[k].is_int &&
               (!v->is_int || v->i == cases[k].i) && v->num == cases[k].d,
           "number %s: is_int %d, value exact", cases[k].text, cases[k].is_int);
        mli_json_free(doc);
    }
    /* A long literal (past the stack buffer) still parses. */
    char big[400];
    memset(big, '1', sizeof big - 1);
    big[0] = '0';
    big[1] = '.';
    big[sizeof big - 1] = '\0';
    ml_err err = {0};
    ml_json_doc *doc = parse(big, NULL, &err);
    ok(doc && fabs(mli_json_root(doc)->num - 0.1111111111111111) < 1e-16,
       "398-digit fraction parses");
    mli_json_free(doc);
}

static void test_strings(void)
{
    ml_err err = {0};
    const char *text = "[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\", "
                       "\"\\ud83d\\ude00\", \"nul\\u0000byte\", \"caf\xc3\xa9 \xe2\x82\xac "
                       "\xf0\x9f\x98\x80\", \"\"]";
    ml_json_doc *doc = parse(text, NULL, &err);
    if (!ok(doc != NULL, "strings parse")) {
        tap_diag("%s", err.msg);
        return;
    }
    const ml_json *r = mli_json_root(doc);
    is_str(mli_json_at(r, 0)->str, "a\"b\\c/d\b\f\n\r\t", "simple escapes decoded");
    is_str(mli_json_at(r, 1)->str, "\xc3\xa9\xe2\x82\xac", "\\u escapes to 2 and 3 bytes");
    is_str(mli_json_at(r, 2)->str, "\xf0\x9f\x98\x80", "surrogate pair to 4-byte UTF-8");
    const ml_json *nul = mli_json_at(r, 3);
    ok(nul->len == 8 && memcmp(nul->str, "nul\0byte", 8) == 0, "\\u0000 kept, len 8");
    is_str(mli_json_at(r, 4)->str, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
           "raw UTF-8 passes through");
    is_int(mli_json_at(r, 5)->len, 0, "empty string");
    mli_json_free(doc);

    doc = parse("{\"k\\u00e9y\": 1}", NULL, &err);
    ok(doc && mli_json_get(mli_json_root(doc), "k\xc3\xa9y"), "escaped key decoded");
    mli_json_free(doc);
}

static const struct bad {
    const char *text;
    size_t len;       /* 0 = strlen */
    size_t offset;
    const char *msg;
} bad_cases[] = {
    {"", 0, 0, "unexpected end of input"},
    {"   ", 0, 3, "unexpected end of input"},
    {"{", 0, 1, "end of input, expected a string key"},
    {"[", 0, 1, "end of input, expected a value"},
    {"[1,2", 0, 4, "expected ',' or ']'"},
    {"{\"a\":1", 0, 6, "expected ',' or '}'"},
    {"{\"a\":", 0, 5, "expected a value"},
    {"[1,2]x", 0, 5, "trailing 'x' after the JSON value"},
    {"{} {}", 0, 3, "trailing '{'"},
    {"{\"a\":1}}", 0, 7, "trailing '}'"},
    {"[1]\0", 4, 3, "trailing byte 0x00"},
    {"[1,]", 0, 3, "trailing comma in array"},
    {"{\"a\":1,}", 0, 7, "trailing comma in object"},
    {"{\"a\" 1}", 0, 5, "expected ':' after object key"},
    {"{a:1}", 0, 1, "expected a string key"},
    {"{\"a\":}", 0, 5, "unexpected '}', expected a value"},
    {"[1 2]", 0, 3, "expected ',' or ']'"},
    {"{\"a\":1 \"b\":2}", 0, 7, "expected ',' or '}'"},
    {"'a'", 0, 0, "unexpected ''', expected a value"},
    {"/* c */ {}", 0, 0, "unexpected '/'"},
    {"\"abc", 0, 4, "unterminated string (opened at byte 0)"},
    {"\"\\", 0, 2, "unterminated string"},
    {"\"a\\x\"", 0, 2, "bad escape '\\' then 'x'"},
    {"\"a\\'\"", 0, 2, "bad escape"},
    {"\"\\u12g4\"", 0, 5, "'g' is not a hex digit"},
    {"[\"\\u12\", 1]", 0, 6, "'\"' is not a hex digit"},
    {"\"\\u12\"", 0, 6, "truncated \\u escape"},
    {"\"\\ud800\"", 0, 1, "high surrogate \\uD800 not followed by a low surrogate"},
    {"\"\\ud800x\"", 0, 1, "not followed by a low surrogate"},
    {"\"\\udc00\"", 0, 1, "lone low surrogate \\uDC00"},
    {"\"\\ud800\\u0041\"", 0, 7, "followed by \\u0041, which is not a low surrogate"},
    {"\"\\ud800\\ud800\"", 0, 7, "not a low surrogate"},
    {"\"a\nb\"", 0, 2, "control character 0x0a in string"},
    {"\"\x01\"", 0, 1, "control character 0x01"},
    {"\"\t\"", 0, 1, "control character 0x09"},
    {"\"\xff\"", 0, 1, "invalid UTF-8 byte 0xff"},
    {"\"\xc0\xaf\"", 0, 1, "invalid UTF-8 byte 0xc0"},
    {"\"\xe0\x80\xaf\"", 0, 1, "invalid UTF-8"},
    {"\"\xed\xa0\x80\"", 0, 1, "invalid UTF-8 byte 0xed"},
    {"\"\xf4\x90\x80\x80\"", 0, 1, "invalid UTF-8 byte 0xf4"},
    {"\"ab\xe2\x82\"", 0, 3, "invalid UTF-8 byte 0xe2"},
    {"\"\x80\"", 0, 1, "invalid UTF-8 byte 0x80"},
    {"\xc3\xa9", 0, 0, "unexpected byte 0xc3, expected a value"},
    {"01", 0, 1, "leading zero"},
    {"-", 0, 1, "end of input, expected a digit"},
    {"-a", 0, 1, "unexpected 'a', expected a digit"},
    {"1.", 0, 2, "expected a digit after the decimal point"},
    {"1.e5", 0, 2, "digit after the decimal point"},
    {"1e", 0, 2, "digit in the exponent"},
    {"1e+", 0, 3, "digit in the exponent"},
    {".5", 0, 0, "number must start with '-' or a digit"},
    {"+1", 0, 0, "number must start with '-' or a digit"},
    {"[0x10]", 0, 2, "expected ',' or ']'"},
    {"1e400", 0, 0, "number 1e400 is out of range of a double"},
    {"[-1e400]", 0, 1, "out of range"},
    {"NaN", 0, 0, "NaN and Infinity are not JSON"},
    {"[Infinity]", 0, 1, "NaN and Infinity"},
    {"tru", 0, 3, "truncated literal, expected 'true'"},
    {"trUe", 0, 0, "invalid literal, expected 'true'"},
    {"nul", 0, 3, "expected 'null'"},
    {"fals e", 0, 0, "expected 'false'"},
    {"\xef\xbb\xbf{}", 0, 0, "byte order mark"},
    {"[\"a\",\n  x]", 0, 8, "at byte 8 (line 2, column 3)"},
};

static void test_malformed(void)
{
    for (size_t k = 0; k < sizeof bad_cases / sizeof bad_cases[0]; k++) {
        const struct bad *b = &bad_cases[k];
        size_t len = b->len ? b->len : strlen(b->text);
        size_t off = (size_t)-1;
        ml_err err = {0};
        ml_json_doc *doc = mli_json_parse(b->text, len, NULL, &off, &err);
        char shown[40];
        mli_json_escape(shown, sizeof shown, b->text, len);
        int good = !doc && err.code == ML_ERR_FORMAT && off == b->offset &&
                   strstr(err.msg, b->msg) != NULL;
        char at[48];
        snprintf(at, sizeof at, "at byte %zu ", b->offset);
        good = good && strstr(err.msg, at) != NULL;
        if (!ok(good, "malformed %s: offset %zu, '%s'", shown, b->offset, b->msg))
            tap_diag("  got offset %zu code %d: %s", off, err.code, err.msg);
        mli_json_free(doc);
    }
}

static char *nested(size_t depth)
{
    char *s = malloc(2 * depth + 1);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    s[2 * depth] = '\0';
    return s;
}

static void test_limits(void)
{
    ml_err err = {0};
    size_t off = 0;
    char *s = nested(512);
    ml_json_doc *doc = parse(s, NULL, &err);
    ok(doc != NULL, "512 levels parse with the default limit");
    mli_json_free(doc);
    free(s);

    s = nested(100000);
    doc = parse(s, &off, &err);
    ok(!doc && off == 512, "100000 levels fail at the 513th '[' (offset %zu)", off);
    like(err.msg, "nesting deeper than 512 levels", "depth message");
    free(s);

    ml_json_limits lim = {.max_depth = 3};
    doc = mli_json_parse("[[[1]]]", 7, &lim, &off, &err);
    ok(doc != NULL, "depth 3 within max_depth 3");
    mli_json_free(doc);
    doc = mli_json_parse("{\"a\":[{}]}", 10, &lim, &off, &err);
    ok(doc != NULL, "objects count toward depth too (3 levels)");
    mli_json_free(doc);
    doc = mli_json_parse("[[[[1]]]]", 9, &lim, &off, &err);
    ok(!doc && off == 3, "depth 4 over max_depth 3 fails at offset 3");

    lim = (ml_json_limits){.max_bytes = 8};
    doc = mli_json_parse("[1,2,3,4]", 9, &lim, &off, &err);
    ok(!doc && err.code == ML_ERR_FORMAT, "input over max_bytes is rejected");
    like(err.msg, "input of 9 bytes exceeds the limit of 8", "size message");
    doc = mli_json_parse("[1,2,3]", 7, &lim, &off, &err);
    ok(doc != NULL, "input within max_bytes parses");
    mli_json_free(doc);

    doc = mli_json_parse("[1]xyz", 3, NULL, &off, &err);
    ok(doc != NULL, "length bounds the input (no NUL needed)");
    mli_json_free(doc);
    doc = mli_json_parse("\"abc\"", 4, NULL, &off, &err);
    ok(!doc && off == 4, "string cut by the length is unterminated");
}

static void test_escape(void)
{
    char buf[64];
    size_t n = mli_json_escape(buf, sizeof buf, "a\"b\\c\n\x01\x7f\xc3\xa9", 10);
    is_str(buf, "\"a\\\"b\\\\c\\n\\u0001\\u007f\xc3\xa9\"", "escape output");
    is_int(n, strlen(buf), "escape returns the length");
    n = mli_json_escape(buf, 5, "abcdef", 6);
    is_int(n, 8, "truncated escape still returns the full length");
    is_str(buf, "\"abc", "truncated output is NUL-terminated");
    is_int(mli_json_escape(NULL, 0, "\t", 1), 4, "length query with a NULL buffer");

    /* Every byte value survives escape + parse, including NUL. */
    char all[256];
    for (int k = 0; k < 128; k++)
        all[k] = (char)k;
    ml_jbuf b;
    mli_jbuf_init(&b);
    mli_jbuf_puts(&b, "{");
    mli_jbuf_str(&b, "key", 3);
    mli_jbuf_printf(&b, ":[%d,", 7);
    mli_jbuf_str(&b, all, 128);
    char longfmt[600];
    memset(longfmt, 'z', sizeof longfmt - 1);
    longfmt[sizeof longfmt - 1] = '\0';
    mli_jbuf_printf(&b, ",\"%s\"]}", longfmt);
    ml_err err = {0};
    is_int(mli_jbuf_finish(&b, "test", &err), 0, "jbuf finishes ok");
    ml_json_doc *doc = mli_json_parse(b.data, b.len, NULL, NULL, &err);
    const ml_json *arr = doc ? mli_json_get(mli_json_root(doc), "key") : NULL;
    ok(arr && mli_json_at(arr, 0)->i == 7, "jbuf_printf number");
    ok(arr && mli_json_at(arr, 1)->len == 128 && memcmp(mli_json_at(arr, 1)->str, all, 128) == 0,
       "bytes 0..127 round-trip through escape and parse");
    ok(arr && mli_json_at(arr, 2)->len == 599, "long printf (past the stack buffer)");
    mli_json_free(doc);
    mli_jbuf_free(&b);
}

/* One parse of the text, for tap_fail_each_alloc. */
static int parse_once(void *text)
{
    ml_err err = {0};
    ml_json_doc *doc = mli_json_parse(text, strlen(text), NULL, NULL, &err);
    mli_json_free(doc);
    return doc ? 0 : tap_oom_code(err.code);
}

static void test_nomem(void)
{
    char text[] = "{\"a\": [1, 2.5, \"s\\u00e9\", {\"b\": null}], \"c\": true}";
    int64_t before = ml_mem_live_blocks();
    tap_oom r = tap_fail_each_alloc(parse_once, text, 100);
    ok(r.worked && r.failures >= 2 && r.nomem == r.failures,
       "allocation failure n -> ML_ERR_NOMEM (%d points)", r.failures);
    is_int(ml_mem_live_blocks(), before, "no leak after allocation failures");

    ml_jbuf b;
    mli_jbuf_init(&b);
    ml_mem_fail_at(1);
    mli_jbuf_puts(&b, "x");
    ml_mem_fail_at(0);
    mli_jbuf_puts(&b, "y");
    ml_err err = {0};
    is_int(mli_jbuf_finish(&b, "writer", &err), ML_ERR_NOMEM, "jbuf failure is sticky");
    like(err.msg, "writer: out of memory", "jbuf message names the writer");
    mli_jbuf_free(&b);
}

static void test_big(void)
{
    /* ~3.3 MB: 30k objects with strings, numbers and nesting. */
    ml_jbuf b;
    mli_jbuf_init(&b);
    mli_jbuf_puts(&b, "[");
    for (int k = 0; k < 30000; k++)
        mli_jbuf_printf(&b, "%s{\"step\": %d, \"loss\": %.17g, "
                       "\"tag\": \"r\\u00e9sum\\u00e9 %d\", \"v\": [1, 2, 3, {\"x\": null}]}",
                       k ? ",\n" : "", k, 1.0 / (k + 1), k);
    mli_jbuf_puts(&b, "]");
    ml_err err = {0};
    ok(mli_jbuf_finish(&b, "big", &err) == 0, "built %zu bytes", b.len);
    struct timespec t0, t1;
    mli_json_free(mli_json_parse(b.data, b.len, NULL, NULL, &err));   /* warm the allocator */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ml_json_doc *doc = mli_json_parse(b.data, b.len, NULL, NULL, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    ok(doc != NULL, "big document parses");
    tap_diag("parsed %.1f MB in %.3f s (%.0f MB/s)", (double)b.len / 1e6, secs,
             (double)b.len / 1e6 / secs);
    /* Loose on purpose (sanitizers, valgrind): this catches quadratic behaviour only. */
    ok(secs < 20.0, "no quadratic slowdown (%.3f s)", secs);
    const ml_json *r = mli_json_root(doc);
    int good = r && r->count == 30000;
    size_t k = 0;
    for (const ml_json *e = r ? r->first : NULL; e && good; e = e->next, k++)
        good = mli_json_get(e, "step")->i == (int64_t)k &&
               mli_json_get(e, "loss")->num == 1.0 / (double)(k + 1);
    ok(good, "every step and loss read back exactly");
    mli_json_free(doc);
    mli_jbuf_free(&b);
}

int main(void)
{
    test_values();
    test_numbers();
    test_strings();
    test_malformed();
    test_limits();
    test_escape();
    test_nomem();
    test_big();
    return done_testing();
}
