/* SPDX-License-Identifier: MIT */
/* Strict JSON (RFC 8259) parser into a read-only tree, and a small JSON writer. */
#ifndef MODLAB_CORE_JSON_H
#define MODLAB_CORE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <modlab/plugin.h>

/* Parsing is strict: UTF-8 only (no BOM), no comments, no trailing commas, no NaN/Infinity,
 * no leading zeros or '+', no control characters in strings, no lone surrogates, nothing but
 * whitespace after the value, numbers must fit a double (1e400 is an error). Duplicate keys
 * are kept (mli_json_get returns the first); callers that care check for them.
 *
 * A document owns every node and string (one arena); mli_json_free frees them all at once. */

typedef enum ml_json_type {
    ML_JSON_NULL = 0,
    ML_JSON_FALSE,
    ML_JSON_TRUE,
    ML_JSON_NUMBER,
    ML_JSON_STRING,
    ML_JSON_ARRAY,
    ML_JSON_OBJECT
} ml_json_type;

typedef struct ml_json ml_json;
struct ml_json {
    ml_json_type type;
    /* NUMBER: `num` always; `is_int` when the literal has no fraction or exponent and fits
     * an int64, then `i` holds it exactly ("1.0" and "1e3" are not integers). */
    int is_int;
    int64_t i;
    double num;
    /* STRING: UTF-8, NUL-terminated, `len` bytes (may contain "\u0000" as a NUL byte).
     * ARRAY / OBJECT: `count` children in document order, from `first` through `next`. */
    union {
        const char *str;
        ml_json *first;
    };
    union {
        size_t len;
        size_t count;
    };
    ml_json *next;
    /* Member of an OBJECT: its key (NUL-terminated, `key_len` bytes); NULL otherwise. */
    const char *key;
    size_t key_len;
    size_t offset;   /* byte offset of the value in the input */
};

typedef struct ml_json_doc ml_json_doc;

typedef struct ml_json_limits {
    size_t max_depth;   /* nesting of arrays/objects; 0 = default (512) */
    size_t max_bytes;   /* input size; 0 = default (1 GiB) */
} ml_json_limits;

/* Parse `len` bytes of `text` (need not be NUL-terminated). `limits` may be NULL.
 * On failure returns NULL, fills err ("JSON: <what> at byte N (line L, column C)") and,
 * when err_offset is not NULL, stores the byte offset of the error there. */
ml_json_doc *mli_json_parse(const char *text, size_t len, const ml_json_limits *limits,
                           size_t *err_offset, ml_err *err);
void mli_json_free(ml_json_doc *doc);
const ml_json *mli_json_root(const ml_json_doc *doc);

/* First member of `obj` named `key` (NULL if none or obj is not an object). */
const ml_json *mli_json_get(const ml_json *obj, const char *key);
/* Element i of an array or object (O(i)); NULL when out of range. */
const ml_json *mli_json_at(const ml_json *arr, size_t i);
/* Name of a type for messages: "null", "boolean", "number", "string", "array", "object". */
const char *mli_json_type_name(ml_json_type type);

/* Write `s` (len bytes of UTF-8) as a quoted JSON string into buf (cap bytes, always
 * NUL-terminated when cap > 0, truncated if short). Returns the length the full result needs
 * (excluding the NUL), like snprintf. Escapes '"', '\\' and control characters; other bytes
 * pass through unchanged. */
size_t mli_json_escape(char *buf, size_t cap, const char *s, size_t len);

/* A growable output buffer for writing JSON (or any text). Errors are sticky: after a failed
 * allocation every append is a no-op and mli_jbuf_finish reports ML_ERR_NOMEM once. */
typedef struct ml_jbuf {
    char *data;     /* NUL-terminated while ok */
    size_t len;
    size_t cap;
    int failed;
} ml_jbuf;

void mli_jbuf_init(ml_jbuf *b);
void mli_jbuf_free(ml_jbuf *b);
void mli_jbuf_putn(ml_jbuf *b, const char *s, size_t n);
void mli_jbuf_puts(ml_jbuf *b, const char *s);
void mli_jbuf_printf(ml_jbuf *b, const char *fmt, ...) ML_PRINTF(2, 3);
/* Append `s` as a quoted, escaped JSON string. */
void mli_jbuf_str(ml_jbuf *b, const char *s, size_t n);
/* 0, or ML_ERR_NOMEM (with err filled, naming `what`) when an append failed. */
int mli_jbuf_finish(ml_jbuf *b, const char *what, ml_err *err);

#endif
