/* SPDX-License-Identifier: MIT */
/* The strict JSON parser: bytes in, an arena tree (json_tree.c) out, and on failure one
 * error naming the byte, line and column. It reads untrusted input: every index is checked
 * against the length, nesting and size are capped, numbers must fit a double. */
#define _GNU_SOURCE
#include "formats/json_doc.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

enum { DEFAULT_MAX_DEPTH = 512, NUM_STACK = 64 };
#define DEFAULT_MAX_BYTES ((size_t)1 << 30)

/* ---- locale-independent strtod ---------------------------------------------------------- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static double strtod_c(const char *s)
{
    pthread_once(&c_locale_once, c_locale_init);
    if (c_locale)
        return strtod_l(s, NULL, c_locale);
    return strtod(s, NULL);
}

/* ---- parser ----------------------------------------------------------------------------- */

typedef struct parser {
    const unsigned char *s;
    size_t len, pos;
    size_t depth, max_depth;
    ml_json_doc *doc;
    int failed;
    int code;
    size_t err_pos;
    char msg[160];
} parser;

static int fail(parser *p, size_t at, int code, const char *fmt, ...) ML_PRINTF(4, 5);
static int fail(parser *p, size_t at, int code, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof p->msg, fmt, ap);
    va_end(ap);
    p->failed = 1;
    p->code = code;
    p->err_pos = at;
    return -1;
}

static int nomem(parser *p)
{
    return fail(p, p->pos, ML_ERR_NOMEM, "out of memory");
}

static void skip_ws(parser *p)
{
    const unsigned char *s = p->s;
    size_t i = p->pos, n = p->len;
    while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
        i++;
    p->pos = i;
}

/* Describe the byte at `at` for an error message. */
static const char *describe(parser *p, size_t at, char *buf, size_t cap)
{
    if (at >= p->len)
        return "end of input";
    unsigned c = p->s[at];
    if (c >= 0x21 && c < 0x7f)
        snprintf(buf, cap, "'%c'", (char)c);
    else
        snprintf(buf, cap, "byte 0x%02x", c);
    return buf;
}

static int unexpected(parser *p, size_t at, const char *wanted)
{
    char d[16];
    if (at >= p->len)
        return fail(p, at, ML_ERR_FORMAT, "unexpected end of input, expected %s", wanted);
    return fail(p, at, ML_ERR_FORMAT, "unexpected %s, expected %s",
                describe(p, at, d, sizeof d), wanted);
}

static ml_json *new_node(parser *p, ml_json_type type, size_t offset)
{
    ml_json *v = mli_json_arena_alloc(p->doc, sizeof *v);
    if (!v) {
        nomem(p);
        return NULL;
    }
    memset(v, 0, sizeof *v);
    v->type = type;
    v->offset = offset;
    return v;
}

static int hex4(parser *p, size_t at, unsigned *out)
{
    if (p->len - at < 4)
        return fail(p, p->len, ML_ERR_FORMAT, "truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned c = p->s[at + k], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else {
            char b[16];
            return fail(p, at + k, ML_ERR_FORMAT, "bad \\u escape: %s is not a hex digit",
                        describe(p, at + k, b, sizeof b));
        }
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

/* Length of a valid UTF-8 sequence starting at s[i] (i < n, s[i] >= 0x80), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t i, size_t n)
{
    unsigned c = s[i];
    size_t need;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;   /* no UTF-16 surrogates encoded in UTF-8 */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;   /* nothing above U+10FFFF */
    } else
        return 0;
    if (n - i - 1 < need)
        return 0;
    if (s[i + 1] < lo || s[i + 1] > hi)
        return 0;
    for (size_t k = 2; k <= need; k++)
        if ((s[i + k] & 0xc0) != 0x80)
            return 0;
    return need + 1;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* p->pos is at the opening quote. Decodes into the arena. */
static int parse_string(parser *p, const char **out, size_t *out_len)
{
    const unsigned char *s = p->s;
    size_t n = p->len, start = p->pos + 1, i = start;
    int escapes = 0;

    /* Pass 1: find the closing quote, validating UTF-8 and control characters. */
    for (;;) {
        if (i >= n)
            return fail(p, n, ML_ERR_FORMAT,
                        "unterminated string (opened at byte %zu)", p->pos);
        unsigned c = s[i];
        if (c == '"')
            break;
        if (c == '\\') {
            escapes = 1;
            if (i + 1 >= n)
                return fail(p, n, ML_ERR_FORMAT,
                            "unterminated string (opened at byte %zu)", p->pos);
            if (!strchr("\"\\/bfnrtu", s[i + 1]) || s[i + 1] == '\0') {
                char b[16];
                return fail(p, i, ML_ERR_FORMAT,
                            "bad escape '\\' then %s in string (valid: \\\" \\\\ \\/ "
                            "\\b \\f \\n \\r \\t \\uXXXX)", describe(p, i + 1, b, sizeof b));
            }
            i += 2;   /* \u's hex digits are checked in pass 2 */
            continue;
        }
        if (c < 0x20)
            return fail(p, i, ML_ERR_FORMAT,
                        "control character 0x%02x in string: escape it (\\n, \\t, \\u00XX)",
                        c);
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(s, i, n);
        if (!k)
            return fail(p, i, ML_ERR_FORMAT, "invalid UTF-8 byte 0x%02x in string", c);
        i += k;
    }
    size_t raw = i - start;
    char *o = mli_json_arena_alloc(p->doc, raw + 1);
    if (!o)
        return nomem(p);
    if (!escapes) {
        memcpy(o, s + start, raw);
        o[raw] = '\0';
        *out = o;
        *out_len = raw;
        p->pos = i + 1;
        return 0;
    }

    /* Pass 2: decode escapes (the result is never longer than the raw text). */
    size_t w = 0, end = i;
    for (i = start; i < end;) {
        unsigned c = s[i];
        if (c != '\\') {
            o[w++] = (char)c;
            i++;
            continue;
        }
        unsigned e = s[i + 1];
        switch (e) {
        case '"': o[w++] = '"'; break;
        case '\\': o[w++] = '\\'; break;
        case '/': o[w++] = '/'; break;
        case 'b': o[w++] = '\b'; break;
        case 'f': o[w++] = '\f'; break;
        case 'n': o[w++] = '\n'; break;
        case 'r': o[w++] = '\r'; break;
        case 't': o[w++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(p, i + 2, &cp) < 0)
                return -1;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return fail(p, i, ML_ERR_FORMAT,
                            "lone low surrogate \\u%04X in string", cp);
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (i + 7 >= end || s[i + 6] != '\\' || s[i + 7] != 'u')
                    return fail(p, i, ML_ERR_FORMAT,
                                "high surrogate \\u%04X not followed by a low surrogate",
                                cp);
                if (hex4(p, i + 8, &lo) < 0)
                    return -1;
                if (lo < 0xdc00 || lo > 0xdfff)
                    return fail(p, i + 6, ML_ERR_FORMAT,
                                "high surrogate \\u%04X followed by \\u%04X, which is not a "
                                "low surrogate", cp, lo);
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }
            w += put_utf8(o + w, cp);
            i += 6;
            continue;
        }
        default:
            return fail(p, i, ML_ERR_INTERNAL, "escape not caught in pass 1");
        }
        i += 2;
    }
    o[w] = '\0';
    *out = o;
    *out_len = w;
    p->pos = end + 1;
    return 0;
}

static int is_digit(unsigned c)
{
    return c >= '0' && c <= '9';
}

static int parse_number(parser *p, ml_json *v)
{
    const unsigned char *s = p->s;
    size_t n = p->len, start = p->pos, i = start;
    int neg = 0, integral = 1;

    if (i < n && s[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= n || !is_digit(s[i]))
        return unexpected(p, i, "a digit");
    if (s[i] == '0') {
        i++;
        if (i < n && is_digit(s[i]))
            return fail(p, i, ML_ERR_FORMAT, "leading zero in number (write 0.5, not 00.5)");
    } else
        while (i < n && is_digit(s[i]))
            i++;
    size_t int_end = i;
    if (i < n && s[i] == '.') {
        integral = 0;
        i++;
        if (i >= n || !is_digit(s[i]))
            return unexpected(p, i, "a digit after the decimal point");
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        integral = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i]))
            return unexpected(p, i, "a digit in the exponent");
        while (i < n && is_digit(s[i]))
            i++;
    }

    if (integral) {
        /* Exact int64 when it fits; magnitude accumulated as unsigned. */
        uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        int fits = 1;
        for (size_t k = start + neg; k < int_end; k++) {
            unsigned d = s[k] - '0';
            if (mag > (limit - d) / 10) {
                fits = 0;
                break;
            }
            mag = mag * 10 + d;
        }
        if (fits) {
            v->is_int = 1;
            v->i = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag)
                       : (int64_t)mag;
            v->num = (double)v->i;
            p->pos = i;
            return 0;
        }
    }

    size_t len = i - start;
    char stackbuf[NUM_STACK];
    char *buf = stackbuf;
    if (len >= sizeof stackbuf) {
        buf = mli_alloc(len + 1);
        if (!buf)
            return nomem(p);
    }
    memcpy(buf, s + start, len);
    buf[len] = '\0';
    errno = 0;
    double d = strtod_c(buf);
    int range = errno == ERANGE;
    if (buf != stackbuf)
        mli_free(buf);
    if (range && isinf(d))
        return fail(p, start, ML_ERR_FORMAT,
                    "number %.*s%s is out of range of a double", len > 24 ? 24 : (int)len,
                    (const char *)s + start, len > 24 ? "..." : "");
    v->num = d;   /* underflow rounds to a denormal or zero, like every JSON reader */
    p->pos = i;
    return 0;
}

static int match_word(parser *p, const char *word, size_t wlen)
{
    size_t avail = p->len - p->pos;
    size_t k = 0;
    while (k < wlen && k < avail && p->s[p->pos + k] == (unsigned char)word[k])
        k++;
    if (k == wlen) {
        p->pos += wlen;
        return 0;
    }
    if (k == avail)
        return fail(p, p->len, ML_ERR_FORMAT, "truncated literal, expected '%s'", word);
    return fail(p, p->pos, ML_ERR_FORMAT, "invalid literal, expected '%s'", word);
}

static ml_json *parse_value(parser *p);

static int enter(parser *p)
{
    if (++p->depth > p->max_depth)
        return fail(p, p->pos, ML_ERR_FORMAT,
                    "nesting deeper than %zu levels", p->max_depth);
    return 0;
}

static ml_json *parse_array(parser *p)
{
    ml_json *arr = new_node(p, ML_JSON_ARRAY, p->pos);
    if (!arr || enter(p) < 0)
        return NULL;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        p->depth--;
        return arr;
    }
    ml_json **tail = &arr->first;
    for (;;) {
        ml_json *el = parse_value(p);
        if (!el)
            return NULL;
        *tail = el;
        tail = &el->next;
        arr->count++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == ']') {
                fail(p, p->pos, ML_ERR_FORMAT, "trailing comma in array");
                return NULL;
            }
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == ']') {
            p->pos++;
            break;
        }
        unexpected(p, p->pos, "',' or ']' in array");
        return NULL;
    }
    p->depth--;
    return arr;
}

static ml_json *parse_object(parser *p)
{
    ml_json *obj = new_node(p, ML_JSON_OBJECT, p->pos);
    if (!obj || enter(p) < 0)
        return NULL;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        p->depth--;
        return obj;
    }
    ml_json **tail = &obj->first;
    for (;;) {
        if (p->pos >= p->len || p->s[p->pos] != '"') {
            if (p->pos < p->len && p->s[p->pos] == '}' && obj->count)
                fail(p, p->pos, ML_ERR_FORMAT, "trailing comma in object");
            else
                unexpected(p, p->pos, "a string key in object");
            return NULL;
        }
        const char *key;
        size_t key_len;
        if (parse_string(p, &key, &key_len) < 0)
            return NULL;
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':') {
            unexpected(p, p->pos, "':' after object key");
            return NULL;
        }
        p->pos++;
        skip_ws(p);
        ml_json *el = parse_value(p);
        if (!el)
            return NULL;
        el->key = key;
        el->key_len = key_len;
        *tail = el;
        tail = &el->next;
        obj->count++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            skip_ws(p);
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == '}') {
            p->pos++;
            break;
        }
        unexpected(p, p->pos, "',' or '}' in object");
        return NULL;
    }
    p->depth--;
    return obj;
}

/* p->pos is at the first byte of the value (whitespace already skipped). */
static ml_json *parse_value(parser *p)
{
    if (p->pos >= p->len) {
        unexpected(p, p->pos, "a value");
        return NULL;
    }
    size_t at = p->pos;
    unsigned c = p->s[at];
    ml_json *v;
    switch (c) {
    case '{':
        return parse_object(p);
    case '[':
        return parse_array(p);
    case '"':
        if (!(v = new_node(p, ML_JSON_STRING, at)))
            return NULL;
        return parse_string(p, &v->str, &v->len) < 0 ? NULL : v;
    case 't':
        if (!(v = new_node(p, ML_JSON_TRUE, at)))
            return NULL;
        return match_word(p, "true", 4) < 0 ? NULL : v;
    case 'f':
        if (!(v = new_node(p, ML_JSON_FALSE, at)))
            return NULL;
        return match_word(p, "false", 5) < 0 ? NULL : v;
    case 'n':
        if (!(v = new_node(p, ML_JSON_NULL, at)))
            return NULL;
        return match_word(p, "null", 4) < 0 ? NULL : v;
    default:
        if (c == '-' || is_digit(c)) {
            if (!(v = new_node(p, ML_JSON_NUMBER, at)))
                return NULL;
            return parse_number(p, v) < 0 ? NULL : v;
        }
        if (c == 0xef && p->len - at >= 3 && p->s[at + 1] == 0xbb && p->s[at + 2] == 0xbf)
            fail(p, at, ML_ERR_FORMAT, "byte order mark: save the file as UTF-8 without BOM");
        else if (c == '+' || c == '.')
            fail(p, at, ML_ERR_FORMAT, "number must start with '-' or a digit");
        else if (c == 'N' || c == 'I')
            fail(p, at, ML_ERR_FORMAT, "NaN and Infinity are not JSON: write null");
        else
            unexpected(p, at, "a value");
        return NULL;
    }
}

ml_json_doc *mli_json_parse(const char *text, size_t len, const ml_json_limits *limits,
                           size_t *err_offset, ml_err *err)
{
    size_t max_bytes = limits && limits->max_bytes ? limits->max_bytes : DEFAULT_MAX_BYTES;
    parser p = {
        .s = (const unsigned char *)text,
        .len = len,
        .max_depth = limits && limits->max_depth ? limits->max_depth : DEFAULT_MAX_DEPTH,
    };
    ml_json_doc *doc = NULL;

    if (!text && len) {
        fail(&p, 0, ML_ERR_INVALID, "NULL text with length %zu", len);
        goto fail;
    }
    if (len > max_bytes) {
        fail(&p, max_bytes, ML_ERR_FORMAT, "input of %zu bytes exceeds the limit of %zu",
             len, max_bytes);
        goto fail;
    }
    doc = mli_zalloc(sizeof *doc);
    if (!doc) {
        nomem(&p);
        goto fail;
    }
    p.doc = doc;
    skip_ws(&p);
    doc->root = parse_value(&p);
    if (!doc->root)
        goto fail;
    skip_ws(&p);
    if (p.pos != p.len) {
        char d[16];
        fail(&p, p.pos, ML_ERR_FORMAT, "trailing %s after the JSON value",
             describe(&p, p.pos, d, sizeof d));
        goto fail;
    }
    return doc;

fail:
    mli_json_free(doc);
    {
        size_t line = 1, col = 1;
        size_t upto = p.err_pos < len ? p.err_pos : len;
        for (size_t k = 0; k < upto; k++) {
            if (p.s[k] == '\n') {
                line++;
                col = 1;
            } else
                col++;
        }
        if (err_offset)
            *err_offset = p.err_pos;
        if (p.code == ML_ERR_NOMEM)
            mli_error(err, ML_ERR_NOMEM, "JSON: out of memory at byte %zu", p.err_pos);
        else
            mli_error(err, p.code, "JSON: %s at byte %zu (line %zu, column %zu)", p.msg,
                     p.err_pos, line, col);
    }
    return NULL;
}
