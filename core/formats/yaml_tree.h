/* SPDX-License-Identifier: MIT */
/* A small generic YAML reader (libyaml events -> tree) with YAML 1.2 core-schema typing and
 * line/column positions for error messages. Used by dataset manifests and sweeps. */
#ifndef MODLAB_CORE_YAML_TREE_H
#define MODLAB_CORE_YAML_TREE_H

#include <stddef.h>
#include <stdint.h>

#include <modlab/plugin.h>

enum { ML_YT_SCALAR = 1, ML_YT_MAP = 2, ML_YT_SEQ = 3 };
/* Resolved type of a scalar (YAML 1.2 core schema; quoted scalars and !!str are strings). */
enum { ML_YT_NULL = 1, ML_YT_BOOL = 2, ML_YT_INT = 3, ML_YT_FLOAT = 4, ML_YT_STR = 5 };

typedef struct ml_yt_node ml_yt_node;
struct ml_yt_node {
    int kind;            /* ML_YT_SCALAR, _MAP, _SEQ */
    int line, col;       /* 1-based position of the node's start */
    char *value;         /* scalar text (never NULL for scalars) */
    int type;            /* scalar: resolved ML_YT_NULL.._STR */
    size_t n;            /* map: number of pairs; sequence: number of items */
    ml_yt_node **keys;   /* map: the keys (scalars), in document order */
    ml_yt_node **items;  /* map: the values; sequence: the items */
};

typedef struct ml_yt_doc {
    char *name;          /* the file name (or given name) used in messages */
    ml_yt_node *root;    /* NULL for an empty document */
} ml_yt_doc;

/* Parse one YAML document. Aliases, and duplicate keys, are errors; so are non-scalar keys.
 * Errors are ML_ERR_FORMAT ("FILE:LINE:COL: problem") or ML_ERR_IO/NOT_FOUND. */
ml_yt_doc *mli_yt_load_file(const char *path, ml_err *err);
ml_yt_doc *mli_yt_load_string(const char *text, size_t len, const char *name, ml_err *err);
void mli_yt_free(ml_yt_doc *doc);

/* Value for `key` in a map node, or NULL (also when `map` is not a map). */
const ml_yt_node *mli_yt_get(const ml_yt_node *map, const char *key);
const char *mli_yt_kind_name(int kind);   /* "a mapping", "a sequence", "a scalar" */
const char *mli_yt_type_name(int type);   /* "null", "a boolean", "an integer", ... */

/* Typing helpers: ML_YT_NULL.._STR for a plain scalar's text (YAML 1.2 core schema). */
int mli_yt_resolve(const char *text);
/* Converters: 0 on success, else ML_ERR_FORMAT with "FILE:LINE:COL: <what> must be ...". */
int mli_yt_expect(const ml_yt_doc *doc, const ml_yt_node *n, int kind, const char *what,
                 ml_err *err);
int mli_yt_int(const ml_yt_doc *doc, const ml_yt_node *n, const char *what, int64_t *out,
              ml_err *err);
int mli_yt_float(const ml_yt_doc *doc, const ml_yt_node *n, const char *what, double *out,
                ml_err *err);
int mli_yt_bool(const ml_yt_doc *doc, const ml_yt_node *n, const char *what, int *out,
               ml_err *err);
/* A scalar that is not null (numbers and booleans are accepted as their text). */
int mli_yt_str(const ml_yt_doc *doc, const ml_yt_node *n, const char *what, const char **out,
              ml_err *err);
/* Format an error at a node's position: "FILE:LINE:COL: message". Returns code. */
int mli_yt_error(const ml_yt_doc *doc, const ml_yt_node *n, ml_err *err, int code,
                const char *fmt, ...) ML_PRINTF(5, 6);

#endif
