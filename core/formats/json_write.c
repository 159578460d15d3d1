/* SPDX-License-Identifier: MIT */
/* The JSON writer: string escaping and ml_jbuf, a growable text buffer with sticky
 * out-of-memory. Numbers are the caller's: ml_format_double gives the shortest text that
 * reads back as the same double. */
#include "formats/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

/* ---- writer ----------------------------------------------------------------------------- */

/* The escape for byte c, or NULL when it passes through. */
static const char *escape_of(unsigned char c, char tmp[8])
{
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default:
        if (c < 0x20 || c == 0x7f) {
            snprintf(tmp, 8, "\\u%04x", c);
            return tmp;
        }
        return NULL;
    }
}

size_t mli_json_escape(char *buf, size_t cap, const char *s, size_t len)
{
    size_t w = 0;
    char tmp[8];
#define PUT(ch) do { char c_ = (ch); if (w + 1 < cap) buf[w] = c_; w++; } while (0)
    PUT('"');
    for (size_t i = 0; i < len; i++) {
        const char *e = escape_of((unsigned char)s[i], tmp);
        if (!e)
            PUT(s[i]);
        else
            while (*e)
                PUT(*e++);
    }
    PUT('"');
#undef PUT
    if (cap)
        buf[w < cap ? w : cap - 1] = '\0';
    return w;
}

void mli_jbuf_init(ml_jbuf *b)
{
    memset(b, 0, sizeof *b);
}

void mli_jbuf_free(ml_jbuf *b)
{
    mli_free(b->data);
    memset(b, 0, sizeof *b);
}

static int jbuf_reserve(ml_jbuf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (extra >= (size_t)-1 / 2 - b->len) {
        b->failed = 1;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *d = mli_realloc(b->data, cap);
    if (!d) {
        b->failed = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void mli_jbuf_putn(ml_jbuf *b, const char *s, size_t n)
{
    if (jbuf_reserve(b, n) < 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void mli_jbuf_puts(ml_jbuf *b, const char *s)
{
    mli_jbuf_putn(b, s, strlen(s));
}

void mli_jbuf_printf(ml_jbuf *b, const char *fmt, ...)
{
    va_list ap;
    char tmp[256];
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof tmp) {
        mli_jbuf_putn(b, tmp, (size_t)n);
        return;
    }
    if (jbuf_reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void mli_jbuf_str(ml_jbuf *b, const char *s, size_t n)
{
    size_t need = mli_json_escape(NULL, 0, s, n);
    if (jbuf_reserve(b, need) < 0)
        return;
    mli_json_escape(b->data + b->len, need + 1, s, n);
    b->len += need;
}

int mli_jbuf_finish(ml_jbuf *b, const char *what, ml_err *err)
{
    if (!b->failed)
        return 0;
    return mli_error(err, ML_ERR_NOMEM,
                    "%s: out of memory while writing JSON (%zu bytes so far)", what, b->len);
}
